"""A three-exercise nbgrader assignment, small enough to grade a class of misbehaving students quickly.

Its tests compare with torch, like the real labs, and each has a hidden part. ``student_notebook``
types answers into the released notebook the way a student would.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

ASSIGNMENT = "00_probe"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
HIDDEN_MARK = "hidden probe"
POINTS = {"ex1_tests": 10, "ex2_tests": 10, "ex3_tests": 10}
ANSWERS = {
    "ex1_answer": "def double(x):\n    return 2 * x",
    "ex2_answer": "def square(x):\n    return x * x",
    "ex3_answer": "def negate(x):\n    return -x",
}
WRONG = {
    "ex1_answer": "def double(x):\n    return x",
    "ex2_answer": "def square(x):\n    return x",
    "ex3_answer": "def negate(x):\n    return x",
}
_TESTS = {
    "ex1_tests": (
        '"""Exercise 1 (10 points): double(x) equals 2 * x, as torch computes it."""\n'
        "import torch\n"
        "def assert_equal(actual, expected):  # used by the later tests too\n"
        "    assert torch.equal(actual, expected), f'{actual} != {expected}'\n"
        "x = torch.arange(4.0)\n"
        "assert torch.allclose(double(x), 2 * x)\n"
        "### BEGIN HIDDEN TESTS\n"
        "y = torch.tensor([-1.5, 1e6])\n"
        f"assert torch.allclose(double(y), 2 * y)  # {HIDDEN_MARK} 1\n"
        "### END HIDDEN TESTS"
    ),
    "ex2_tests": (
        '"""Exercise 2 (10 points): square(x) equals torch.square(x)."""\n'
        "assert_equal(square(torch.tensor([3.0])), torch.tensor([9.0]))\n"
        "### BEGIN HIDDEN TESTS\n"
        f"assert torch.equal(square(torch.tensor([-2.0, 0.5])), torch.square(torch.tensor([-2.0, 0.5])))  # {HIDDEN_MARK} 2\n"
        "### END HIDDEN TESTS"
    ),
    "ex3_tests": (
        '"""Exercise 3 (10 points): negate(x) equals torch.neg(x)."""\n'
        "def assert_equal(actual, expected):  # a test may define a helper again, as the labs' tests do\n"
        "    assert torch.equal(actual, expected)\n"
        "torch.testing.assert_close(negate(torch.tensor([1.0, -2.0])), torch.tensor([-1.0, 2.0]))\n"
        "### BEGIN HIDDEN TESTS\n"
        f"torch.testing.assert_close(negate(torch.arange(-3.0, 3.0)), torch.neg(torch.arange(-3.0, 3.0)))  # {HIDDEN_MARK} 3\n"
        "### END HIDDEN TESTS"
    ),
}


def _solution_cell(grade_id: str) -> nbformat.NotebookNode:
    name, body = ANSWERS[grade_id].split("\n", 1)
    source = f"{name}\n    ### BEGIN SOLUTION\n{body}\n    ### END SOLUTION"
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": True,
        "task": False}})


def _test_cell(grade_id: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(_TESTS[grade_id], metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": True, "points": POINTS[grade_id], "schema_version": 3,
        "solution": False, "task": False}})


def source_notebook(judged: bool = True) -> nbformat.NotebookNode:
    """The probe's nbgrader source; ``judged=False`` leaves out the metadata that has it judged outside the kernel."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    if judged:
        notebook.metadata["grader"] = {"judge": "outside"}
    notebook.cells = [nbformat.v4.new_markdown_cell("# Probe\n\nThree tiny functions.")]
    for number in (1, 2, 3):
        notebook.cells += [_solution_cell(f"ex{number}_answer"), _test_cell(f"ex{number}_tests")]
    return notebook


def make_course(root: Path, judged: bool = True) -> Path:
    """A course folder with only the probe assignment, released through the grader's command line."""
    (root / "solutions" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(source_notebook(judged), str(root / "solutions" / ASSIGNMENT / NOTEBOOK))
    release_labs(root)
    return root


def release_labs(root: Path) -> None:
    """``python -m grader release`` for the course at ``root``: labs/ built from every assignment in solutions/."""
    result = subprocess.run([sys.executable, "-m", "grader", "--root", str(root), "release"],
                            cwd=root.parent, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def released(root: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(root / "labs" / ASSIGNMENT / NOTEBOOK), as_version=4)


def student_notebook(root: Path, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with ``answers`` (grade id -> code) typed into its answer cells."""
    notebook = copy.deepcopy(released(root))
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def submit(root: Path, student: str, files: dict[str, bytes | nbformat.NotebookNode]) -> Path:
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content if isinstance(content, bytes) else nbformat.writes(content).encode()
        (folder / name).write_bytes(data)
    return folder


def cell_index(notebook: nbformat.NotebookNode, grade_id: str) -> int:
    for index, cell in enumerate(notebook.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)


def ledger(root: Path, student: str) -> dict:
    return json.loads((root / "autograded" / student / ASSIGNMENT / ".grader.json").read_text())


def run_grader(root: Path, *arguments: str, timeout: int = 900) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "grader", "--root", str(root), *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def scores(root: Path) -> dict:
    """student -> {test id: score} of the probe assignment, from the gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        return {submission.student.id: {grade.name: grade.score for notebook in submission.notebooks
                                        for grade in notebook.grades if grade.name.endswith("_tests")}
                for submission in gradebook.assignment_submissions(ASSIGNMENT)}
