"""The labs end to end: the solutions score full marks, the released labs score zero and hide the solutions,
partial solutions score exactly their exercises (the kit's autograde, which writes nbgrader's gradebook, in the
sandbox where the machine has one: these students sit in the run's shared class, shared_class.py).
`grader check` and its failure reports are in test_grader_cli.py."""

from pathlib import Path

import pytest

from grader.checks import exercise_scores
from grader.layout import Course
from grader.notebooks import exercises, fill_solutions, read_notebook
from grader.workspace import Workspace
from shared_class import failure_messages, students_of

pytestmark = pytest.mark.slow

COURSE = Course.locate(Path(__file__).resolve().parent.parent)
ASSIGNMENTS = COURSE.assignments()


# blank: the released lab scores zero; first 3: exactly the solved exercises' points, the rest zero; all: 100
STUDENTS = {"blank": lambda count: 0, "solved-first-3": lambda count: min(3, count), "solved-all": lambda count: count}


def student_notebooks(released, source):
    """student -> (the lab with its first k exercises solved, k): this module's students in the run's shared class
    (shared_class.py), in every lab."""
    all_exercises = exercises(released)
    students = {}
    for student, solved in STUDENTS.items():
        k = solved(len(all_exercises))
        ids = {sid for exercise in all_exercises[:k] for sid in exercise.solution_ids}
        students[student] = (fill_solutions(released, source, ids), k)
    return students


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def assignment(request):
    return request.param


@pytest.fixture(scope="module")
def graded(assignment, graded_course):
    """One lab: its exercises, student -> exercises solved, student -> {exercise: (score, points)}, and
    ``failures(student)``, the failure messages of each test cell (what explains a wrong score)."""
    released = read_notebook(graded_course / "labs" / assignment / f"{assignment}.ipynb")
    all_exercises = exercises(released)
    solved = {student: k for student, (_, k) in students_of(graded_course, assignment, student_notebooks).items()}
    workspace, notebooks = Workspace(graded_course), {f"{assignment}.ipynb": released}
    scores = {student: exercise_scores(workspace, assignment, student, notebooks) for student in solved}

    def failures(student):
        return {test_id: failure_messages(graded_course, assignment, student, test_id)
                for exercise in all_exercises for test_id in exercise.test_ids}

    return all_exercises, solved, scores, failures


def test_lab_points_total_100(graded):
    all_exercises, _, _, _ = graded
    assert len(all_exercises) >= 5
    assert sum(exercise.points for exercise in all_exercises) == 100


def test_each_student_gets_exactly_the_points_of_the_exercises_solved(graded):
    all_exercises, students, scores, failures = graded
    for student, k in students.items():
        per_exercise = list(scores[student].values())
        expected = [exercise.points if index < k else 0.0 for index, exercise in enumerate(all_exercises)]
        assert [score for score, _ in per_exercise] == expected, f"{student}: failures {failures(student)}"


def test_released_lab_is_zero_and_solution_is_full(graded):
    _, students, scores, _ = graded
    totals = {student: sum(score for score, _ in scores[student].values()) for student in students}
    assert totals["blank"] == 0
    assert max(totals.values()) == 100


def test_the_solved_lab_runs_without_an_error_in_any_cell(graded_course, assignment):
    """Every cell, not only the graded ones (this run replaces nbval's run of the solutions: see conftest.py)."""
    notebook = read_notebook(graded_course / "autograded" / "solved-all" / assignment / f"{assignment}.ipynb")
    errors = [(index, output.ename, output.evalue) for index, cell in enumerate(notebook.cells)
              for output in cell.get("outputs", []) if output.output_type == "error"]
    assert not errors, f"{assignment}: errors in cells {errors}"


def test_released_lab_hides_solutions_and_hidden_tests():
    for assignment in ASSIGNMENTS:
        for path in (COURSE.labs / assignment).glob("*.ipynb"):
            text = path.read_text()
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
            assert "raise NotImplementedError()" in text
