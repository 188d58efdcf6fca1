"""One simulated class for the whole test run: every lab that a test module asks for released once into one
course, each module's students submitted, and all of them graded in one ``python -m grader autograde`` run (one
warm-up, both cores busy to the end), shared by the pytest-xdist workers (conftest.py's ``graded_course``).

A test module takes part by defining ``student_notebooks(released, source)`` -> {student: (notebook, anything)},
and the labs it applies to: ``ASSIGNMENTS``, or one ``ASSIGNMENT``. Students of different modules need different
names where they sit the same lab.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import nbformat
from nbgrader.api import Gradebook

from grader.layout import Course
from grader.notebooks import read_notebook

REPO = Course.locate(Path(__file__).resolve().parent.parent)


def classes_in(items) -> dict[str, list[Callable]]:
    """assignment -> the ``student_notebooks`` of every taking-part module that has a test among ``items``."""
    modules = sorted({module for module in (getattr(item, "module", None) for item in items)  # notebooks have none
                      if hasattr(module, "student_notebooks")}, key=lambda module: module.__name__)
    classes: dict[str, list[Callable]] = {}
    for module in modules:
        for assignment in getattr(module, "ASSIGNMENTS", None) or [module.ASSIGNMENT]:
            classes.setdefault(assignment, []).append(module.student_notebooks)
    return classes


def grade_classes(root: Path, classes: dict[str, list[Callable]], sandboxed: bool) -> None:
    """A course at ``root`` with every assignment of ``classes`` released and its students submitted and graded."""
    run = [sys.executable, "-m", "grader", "--root", str(root)]
    for assignment in classes:
        shutil.copytree(REPO.solutions / assignment, root / "solutions" / assignment)
    released = subprocess.run([*run, "release", *classes], capture_output=True, text=True, timeout=900, check=False)
    assert released.returncode == 0, released.stdout + released.stderr[-3000:]
    for assignment, makers in classes.items():
        for student_notebooks in makers:
            for student, (notebook, *_) in students_of(root, assignment, student_notebooks).items():
                submitted = root / "submitted" / student / assignment
                submitted.mkdir(parents=True)  # fails on a name two modules share
                nbformat.write(notebook, str(submitted / f"{assignment}.ipynb"))
    sandbox = [] if sandboxed else ["--no-sandbox"]
    result = subprocess.run([*run, "autograde", "--no-progress", "--jobs", "2", *sandbox], capture_output=True,
                            text=True, timeout=1800, check=False)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def students_of(root: Path, assignment: str, student_notebooks: Callable) -> dict:
    """The students ``student_notebooks`` makes of the lab released in the course at ``root``."""
    notebook_name = f"{assignment}.ipynb"
    released = read_notebook(root / "labs" / assignment / notebook_name)
    return student_notebooks(released, read_notebook(root / "solutions" / assignment / notebook_name))


def graded_class(root: Path, assignment: str, student_notebooks: Callable) -> tuple[dict, dict, Path]:
    """(the students of ``student_notebooks``, student -> {test id: (score, points)}, the course root)."""
    students = students_of(root, assignment, student_notebooks)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        scores = {student: {grade.name: (grade.score, grade.max_score) for notebook in
                            gradebook.find_submission(assignment, student).notebooks for grade in notebook.grades
                            if grade.name.endswith("_tests")} for student in students}
    return students, scores, root


def failure_messages(root: Path, assignment: str, student: str, test_id: str) -> list[str]:
    """The error messages in a test cell of the student's autograded notebook (what the feedback shows)."""
    path = root / "autograded" / student / assignment / f"{assignment}.ipynb"
    graded_notebook = nbformat.read(str(path), as_version=4)
    (test_cell,) = [cell for cell in graded_notebook.cells if cell.get("metadata", {}).get("nbgrader", {})
                    .get("grade_id") == test_id]
    return [output.evalue for output in test_cell.outputs if output.get("output_type") == "error"]
