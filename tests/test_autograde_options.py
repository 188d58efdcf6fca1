"""``grader autograde``'s ways of running: a lab not in the judged format, no sandbox, cold kernels, and a machine
without bubblewrap; each on a small class of the probe assignment (``tests/probe_course.py``)."""

import os
import subprocess
import sys

import nbformat
import pytest

from probe_course import (ANSWERS, ASSIGNMENT, NOTEBOOK, POINTS, WRONG, cell_index, make_course, run_grader, scores,
                          student_notebook, submit)
from sandbox_required import requires_sandbox

pytestmark = [pytest.mark.slow, requires_sandbox]


def test_a_lab_not_judged_is_graded_in_the_kernel_and_the_run_says_so(tmp_path):
    """An assignment without the judge's metadata (one a course wrote itself) is graded as nbgrader would."""
    root = make_course(tmp_path / "course", judged=False)
    submit(root, "solver", {NOTEBOOK: student_notebook(root, ANSWERS)})
    submit(root, "one-wrong", {NOTEBOOK: student_notebook(root, {**ANSWERS, "ex2_answer": WRONG["ex2_answer"]})})
    result = run_grader(root, "autograde", "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"note     {ASSIGNMENT}: not in the judged format" in result.stdout
    assert scores(root) == {"solver": dict.fromkeys(POINTS, 10), "one-wrong": {**dict.fromkeys(POINTS, 10), "ex2_tests": 0}}
    graded = nbformat.read(str(root / "autograded" / "one-wrong" / ASSIGNMENT / NOTEBOOK), as_version=4)
    (error,) = graded.cells[cell_index(graded, "ex2_tests")].outputs
    assert error.ename == "AssertionError"


@pytest.fixture
def small_class(tmp_path):
    root = make_course(tmp_path / "course")
    submit(root, "solver", {NOTEBOOK: student_notebook(root, ANSWERS)})
    submit(root, "blank", {NOTEBOOK: student_notebook(root, {})})
    return root


def test_without_bubblewrap_it_refuses_and_says_what_to_install(small_class, tmp_path):
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    command = [sys.executable, "-m", "grader", "--root", str(small_class), "autograde", "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PATH": str(empty_path)})
    assert result.returncode == 2
    assert "bubblewrap, which is not installed" in result.stderr and "--no-sandbox" in result.stderr
    assert not (small_class / "autograded").exists()


def test_no_sandbox_grades_the_same(small_class):
    result = run_grader(small_class, "autograde", "--no-sandbox", "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    assert scores(small_class) == {"solver": dict.fromkeys(("ex1_tests", "ex2_tests", "ex3_tests"), 10),
                                   "blank": dict.fromkeys(("ex1_tests", "ex2_tests", "ex3_tests"), 0)}


def test_cold_kernels_grade_the_same(small_class):
    result = run_grader(small_class, "autograde", "--cold-kernels", "--force", "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "kernels start cold" not in result.stderr  # asked for, not a fallback
    assert scores(small_class) == {"solver": dict.fromkeys(("ex1_tests", "ex2_tests", "ex3_tests"), 10),
                                   "blank": dict.fromkeys(("ex1_tests", "ex2_tests", "ex3_tests"), 0)}
