"""What every ``tests/test_judge_lab0*.py`` does: students' answers typed into a released lab, and each student's
scores and failure messages read back (the classes are graded together: tests/shared_class.py)."""

from __future__ import annotations

import re

import nbformat
import pytest

from grader.notebooks import fill_solutions, grade_id, is_solution_cell
from shared_class import failure_messages, graded_class


def graded_fixture(assignment: str, student_notebooks):
    """The module's ``graded`` fixture: the students ``student_notebooks(released, source)`` makes (student ->
    (notebook, the test cells it must lose)) graded once, with the class (``shared_class.graded_class``)."""
    @pytest.fixture(scope="module")
    def graded(graded_course):
        return graded_class(graded_course, assignment, student_notebooks)

    return graded


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


def assert_loses_exactly(scores: dict, lost) -> None:
    """Every test in ``lost`` (None: every test) scored 0, every other one its full points."""
    for test_id, (score, points) in scores.items():
        assert score == (0 if lost is None or test_id in lost else points), (test_id, score)


def assert_student_loses_exactly(graded, student: str, exercises: int) -> None:
    """The student of a ``shared_class.graded_class`` result has a score for each of the lab's ``exercises`` test cells and loses
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


def always_close(name: str, fooled: str) -> str:
    """A student's cell defining ``name``, a tensor subclass that answers True to each torch function of ``fooled``
    (source of a tuple: ``"(torch.allclose, torch.equal)"``) and behaves as a tensor otherwise."""
    return f"""
class {name}(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in {fooled}:
            return True
        return super().__torch_function__(func, types, args, kwargs or {{}})
"""
