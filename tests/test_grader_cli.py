"""`python -m grader check` and `build`: labs/ in sync with the solutions from any directory, and each
failure (stale labs, a solution losing points, an unknown assignment, a released lab giving points) reported
by name (nbgrader's own generate_assignment and autograde underneath)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.layout import Course

pytestmark = pytest.mark.slow

COURSE = Course.locate(Path(__file__).resolve().parent.parent)
ASSIGNMENTS = COURSE.assignments()


def run_grader(*arguments, cwd):
    return subprocess.run(
        [sys.executable, "-m", "grader", *arguments], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def course_copy(tmp_path):
    """A copy of the course's solutions and labs that a test may break."""
    root = tmp_path / "course"
    for folder in ("solutions", "labs"):
        shutil.copytree(COURSE.root / folder, root / folder)
    return root


def edit_first_cell_containing(notebook_path, old, new):
    notebook = json.loads(notebook_path.read_text())
    for cell in notebook["cells"]:
        if old in "".join(cell["source"]):
            source = "".join(cell["source"])
            cell["source"] = source.replace(old, new)
            break
    else:
        raise AssertionError(f"no cell of {notebook_path} contains {old!r}")
    notebook_path.write_text(json.dumps(notebook, indent=1))


def test_cli_check_passes_from_any_directory(tmp_path):
    """Every lab in labs/ is byte for byte a fresh nbgrader build of its solution."""
    result = run_grader("check", "--no-grading", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "in sync" in result.stdout


def test_cli_check_fails_on_stale_labs(course_copy, tmp_path):
    notebook = course_copy / "solutions" / "01_backprop" / "01_backprop.ipynb"
    edit_first_cell_containing(notebook, "In this lab you build", "In this lab you write")
    result = run_grader("--root", str(course_copy), "check", "--no-grading", "01_backprop", cwd=tmp_path)
    assert result.returncode == 1
    assert "stale" in result.stdout and "python -m grader build 01_backprop" in result.stdout

    rebuilt = run_grader("--root", str(course_copy), "build", "01_backprop", cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert run_grader("--root", str(course_copy), "check", "--no-grading", "01_backprop", cwd=tmp_path).returncode == 0


def test_cli_check_fails_on_a_broken_solution(course_copy, tmp_path):
    notebook = course_copy / "solutions" / "01_backprop" / "01_backprop.ipynb"
    edit_first_cell_containing(notebook, "torch.where(x >= 0, 1 / (1 + e), e / (1 + e))", "1 / (1 + e)")
    assert run_grader("--root", str(course_copy), "build", "01_backprop", cwd=tmp_path).returncode == 0
    result = run_grader("--root", str(course_copy), "check", "01_backprop", cwd=tmp_path)
    assert result.returncode == 1
    assert "FAIL 01_backprop: solution scores full marks" in result.stdout
    assert "ex1_sigmoid 0/10" in result.stdout
    assert "ok   01_backprop: released lab scores zero" in result.stdout


def test_cli_names_unknown_assignments(tmp_path):
    result = run_grader("check", "no_such_lab", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown assignment" in result.stderr and "01_backprop" in result.stderr


def test_a_released_lab_that_gives_points_is_reported(monkeypatch):
    """The failure path of `check`: a blank lab scoring points is a FAIL naming the exercise and its points."""
    import grader.checks as checks

    class NoNbgrader:
        def release(self, assignment):
            return COURSE.labs / assignment

        def submit(self, *arguments):
            pass

        def autograde(self, assignment):
            pass

    monkeypatch.setattr(checks, "exercise_scores", lambda *arguments: {"lab.ipynb:ex1": (10.0, 10.0)})
    findings = checks.check_grading(COURSE, NoNbgrader(), ASSIGNMENTS[0])
    assert not findings[1].ok and "lab.ipynb:ex1 10/10" in findings[1].detail
