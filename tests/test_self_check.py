"""``python -m grader self-check``: a self-learner's own notebook graded with the hidden tests, each exercise's
points and every failing test's message, in a scratch course that leaves the checkout as it was."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.layout import Course, CourseError
from grader.notebooks import nbgrader_metadata, read_notebook
from grader.self_check import assignment_of, self_check

ROOT = Path(__file__).resolve().parent.parent
LAB = "01_backprop"


def my_answers(folder: Path) -> Path:
    """The solution with exercise 3's gradients all zero: a self-learner's notebook with one mistake."""
    notebook = read_notebook(ROOT / "solutions" / LAB / f"{LAB}.ipynb")
    (answer,) = [cell for cell in notebook.cells if nbgrader_metadata(cell).get("grade_id") == "ex3_gradients"]
    answer.source = "def gradients_221(w, x, z):\n    return torch.zeros(6)\n"
    path = folder / "labs" / LAB / f"{LAB}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, str(path))
    return path


def grading_state() -> dict:
    """What a course's grading writes at the checkout's root, with when it last changed."""
    paths = [ROOT / name for name in ("gradebook.db", "submitted", "autograded", "feedback", "release")]
    return {path.name: path.stat().st_mtime_ns if path.exists() else None for path in paths}


@pytest.mark.slow
def test_a_mistake_costs_its_exercise_and_says_what_failed(tmp_path):
    course = Course(ROOT)
    before = grading_state()
    report = self_check(course, my_answers(tmp_path))
    scores = {result.test: (result.score, result.points) for result in report.exercises}
    assert scores["ex3_gradients_tests"] == (0.0, 20.0), scores
    assert all(score == points for test, (score, points) in scores.items() if test != "ex3_gradients_tests"), scores
    (ex3,) = [result for result in report.exercises if result.test == "ex3_gradients_tests"]
    assert ex3.errors and "AssertionError" in ex3.errors[0], ex3.errors
    lines = "\n".join(report.lines())
    assert f"{LAB}: 80 / 100 points, hidden tests included" in lines and "### BEGIN HIDDEN TESTS" not in lines, lines
    assert grading_state() == before, "self-check wrote into the checkout's own grading files"


def test_a_notebook_that_is_no_lab_is_refused_with_the_labs_named(tmp_path):
    stray = tmp_path / "homework.ipynb"
    stray.write_text("{}")
    with pytest.raises(CourseError, match="01_backprop"):
        assignment_of(Course(ROOT), stray)


def test_the_command_refuses_a_missing_notebook(tmp_path):
    done = subprocess.run([sys.executable, "-m", "grader", "self-check", str(tmp_path / "missing.ipynb")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "no such notebook" in done.stderr, done.stderr
