"""Lab 01 judged outside the student's kernel, against students who try what once forged a grade.

The tricks are the ones an attack review used against the in-kernel checks: rebinding ``torch`` and the
tests' reference helpers to objects whose comparisons always succeed (in the kernel's tests that scored
100/100 with no answer at all), a tensor subclass that says it is close to anything, and calling
``torch.sigmoid`` in the exercise that forbids it. Each earns nothing, and a trick in one exercise of an
otherwise solved lab costs that exercise and nothing else.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course import Course
from grader.notebooks import fill_solutions, grade_id, is_solution_cell, read_notebook
from sandbox_required import requires_sandbox

pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "01_backprop"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
REPO = Course.locate(Path(__file__).resolve().parent.parent)

ALWAYS_TRUE = """
class AlwaysTrue:
    def __getattr__(self, name):
        return lambda *args, **kwargs: True
    def __call__(self, *args, **kwargs):
        return self
torch = torch_221 = torch_mlp = AlwaysTrue()
"""
LYING_DERIVATIVE = """
class Close(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.isfinite, torch.Tensor.all):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

def sigmoid_prime(x):
    return x.as_subclass(Close)
"""
TORCH_SIGMOID = """
def sigmoid(x):
    return torch.sigmoid(x)

def sigmoid_prime(x):
    return torch.sigmoid(x) * (1 - torch.sigmoid(x))
"""


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose: None for all of them)."""
    solved = fill_solutions(released, source)
    answers = {grade_id(cell): cell.source for cell in solved.cells if is_solution_cell(cell)}

    def with_answer(answer_id, code):
        notebook = fill_solutions(released, source)
        for cell in notebook.cells:
            if is_solution_cell(cell) and grade_id(cell) == answer_id:
                cell.source = code
        return notebook

    forger = nbformat.from_dict(released)  # nothing answered, the comparisons rigged at the end
    forger.cells.append(nbformat.v4.new_code_cell(ALWAYS_TRUE))
    honest_sigmoid = answers["ex1_sigmoid"].split("def sigmoid_prime")[0]
    return {
        "rebinds-torch": (forger, None),
        "lying-tensor": (with_answer("ex1_sigmoid", honest_sigmoid + LYING_DERIVATIVE), {"ex1_sigmoid_tests"}),
        "calls-torch-sigmoid": (with_answer("ex1_sigmoid", TORCH_SIGMOID), {"ex1_sigmoid_tests"}),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab01") / "course"
    shutil.copytree(REPO.solutions / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    run = [sys.executable, "-m", "grader", "--root", str(root)]
    subprocess.run([*run, "release", ASSIGNMENT], check=True, capture_output=True, timeout=600)
    released = read_notebook(root / "labs" / ASSIGNMENT / NOTEBOOK)
    students = student_notebooks(released, read_notebook(root / "solutions" / ASSIGNMENT / NOTEBOOK))
    for student, (notebook, _) in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / NOTEBOOK))
    result = subprocess.run([*run, "autograde", "--no-progress", "--jobs", "2"], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        scores = {student: {grade.name: (grade.score, grade.max_score) for notebook in
                            gradebook.find_submission(ASSIGNMENT, student).notebooks for grade in notebook.grades
                            if grade.name.endswith("_tests")} for student in students}
    return students, scores, root


@pytest.mark.parametrize("student", ["rebinds-torch", "lying-tensor", "calls-torch-sigmoid"])
def test_a_trick_earns_nothing_and_costs_only_its_exercise(graded, student):
    students, scores, _ = graded
    lost = students[student][1]
    for test_id, (score, points) in scores[student].items():
        assert score == (0 if lost is None or test_id in lost else points), (test_id, score)


def test_the_forbidden_call_is_named_in_the_feedback(graded):
    _, _, root = graded
    graded_notebook = nbformat.read(str(root / "autograded" / "calls-torch-sigmoid" / ASSIGNMENT / NOTEBOOK),
                                    as_version=4)
    (test_cell,) = [cell for cell in graded_notebook.cells if cell.get("metadata", {}).get("nbgrader", {})
                    .get("grade_id") == "ex1_sigmoid_tests"]
    assert [output.evalue for output in test_cell.outputs] == [
        "write the sigmoid formula yourself instead of calling torch's sigmoid"]
