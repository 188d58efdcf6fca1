"""What every ``tests/test_judge_lab0*.py`` does: students' answers typed into a released lab, and each student's
scores and failure messages read back. The classes of all those files are graded together, in one course and one
``python -m grader autograde`` run per test session (conftest.py's ``judged_course``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import nbformat
from nbgrader.api import Gradebook

from grader.course import Course
from grader.notebooks import fill_solutions, grade_id, is_solution_cell, read_notebook

REPO = Course.locate(Path(__file__).resolve().parent.parent)


def typed_answers(released, source, **answers) -> nbformat.NotebookNode:
    """The released lab with the solutions typed in, and ``answers`` (answer cell id -> code) in their place."""
    notebook = fill_solutions(released, source)
    for cell in notebook.cells:
        if is_solution_cell(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return notebook


def blank_answer(released, answer_id: str) -> str:
    """The answer cell as the student receives it."""
    return next(cell.source for cell in released.cells if is_solution_cell(cell) and grade_id(cell) == answer_id)


def judged_classes(items) -> dict[str, Callable]:
    """assignment -> ``student_notebooks`` of every judge test module (``tests/test_judge_lab*.py``: an
    ``ASSIGNMENT`` and a ``student_notebooks(released, source)`` giving student -> (notebook, anything)) that has a
    test among ``items``, the session's tests."""
    modules = {item.module for item in items if item.path.name.startswith("test_judge_lab")}
    return {module.ASSIGNMENT: module.student_notebooks for module in sorted(modules, key=lambda m: m.__name__)}


def grade_classes(root: Path, classes: dict[str, Callable]) -> None:
    """A course at ``root`` with every assignment of ``classes`` released, each one's class of students submitted,
    and all of them graded in one ``python -m grader autograde`` run (one warm-up for the whole suite)."""
    run = [sys.executable, "-m", "grader", "--root", str(root)]
    for assignment in classes:
        shutil.copytree(REPO.solutions / assignment, root / "solutions" / assignment)
    subprocess.run([*run, "release", *classes], check=True, capture_output=True, timeout=900)
    for assignment, student_notebooks in classes.items():
        for student, (notebook, *_) in students_of(root, assignment, student_notebooks).items():
            submitted = root / "submitted" / student / assignment
            submitted.mkdir(parents=True)
            nbformat.write(notebook, str(submitted / f"{assignment}.ipynb"))
    result = subprocess.run([*run, "autograde", "--no-progress", "--jobs", "2"], capture_output=True, text=True,
                            timeout=1800, check=False)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def students_of(root: Path, assignment: str, student_notebooks: Callable) -> dict:
    """The class ``student_notebooks`` makes of the lab released in the course at ``root``."""
    notebook_name = f"{assignment}.ipynb"
    released = read_notebook(root / "labs" / assignment / notebook_name)
    return student_notebooks(released, read_notebook(root / "solutions" / assignment / notebook_name))


def graded_class(root: Path, assignment: str, student_notebooks: Callable) -> tuple[dict, dict, Path]:
    """One lab's class in the course ``grade_classes`` graded: (its students, student -> {test id: (score, points)},
    the course root)."""
    students = students_of(root, assignment, student_notebooks)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        scores = {student: {grade.name: (grade.score, grade.max_score) for notebook in
                            gradebook.find_submission(assignment, student).notebooks for grade in notebook.grades
                            if grade.name.endswith("_tests")} for student in students}
    return students, scores, root


def assert_loses_exactly(scores: dict, lost) -> None:
    """Every test in ``lost`` (None: every test) scored 0, every other one its full points."""
    for test_id, (score, points) in scores.items():
        assert score == (0 if lost is None or test_id in lost else points), (test_id, score)


def failure_messages(root: Path, assignment: str, student: str, test_id: str) -> list[str]:
    """The error messages in a test cell of the student's autograded notebook (what the feedback shows)."""
    path = root / "autograded" / student / assignment / f"{assignment}.ipynb"
    graded_notebook = nbformat.read(str(path), as_version=4)
    (test_cell,) = [cell for cell in graded_notebook.cells if cell.get("metadata", {}).get("nbgrader", {})
                    .get("grade_id") == test_id]
    return [output.evalue for output in test_cell.outputs if output.get("output_type") == "error"]


def assert_student_loses_exactly(graded, student: str, exercises: int) -> None:
    """The student of a ``grade_class`` result has a score for each of the lab's ``exercises`` test cells and loses
    exactly the tests the class listed for them."""
    students, scores, _ = graded
    assert len(scores[student]) == exercises
    assert_loses_exactly(scores[student], students[student][1])


def assert_named_in_feedback(graded, assignment: str, student: str, messages: dict) -> None:
    """The one failure message of the test ``messages[student]`` names matches its pattern there."""
    test_id, pattern = messages[student]
    (message,) = failure_messages(graded[2], assignment, student, test_id)
    assert re.fullmatch(pattern, message), message


ALWAYS_TRUE = """
class AlwaysTrue:
    def __getattr__(self, name):
        return lambda *args, **kwargs: True
    def __call__(self, *args, **kwargs):
        return self
    def __iter__(self):
        return iter([])
"""


def forger(released, *names: str) -> nbformat.NotebookNode:
    """The released lab with nothing answered and, at its end, ``names`` (torch, the tests' helpers) rebound to an
    object whose every comparison and call says True: in the student's kernel such a cell once forged a full score."""
    notebook = nbformat.from_dict(released)
    notebook.cells.append(nbformat.v4.new_code_cell(ALWAYS_TRUE + " = ".join(names) + " = AlwaysTrue()\n"))
    return notebook
