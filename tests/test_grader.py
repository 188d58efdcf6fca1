"""The labs end to end: the solutions score full marks, the released labs score zero and hide the solutions,
partial solutions score exactly their exercises (the kit's autograde, which writes nbgrader's gradebook).
`grader check` and its failure reports are in test_grader_cli.py."""

import shutil
from pathlib import Path

import nbformat
import pytest

from grader.autograde import autograde
from grader.checks import exercise_scores
from grader.course import Course
from grader.notebooks import exercises, fill_solutions, read_notebook
from grader.workspace import CELL_TIMEOUT_SECONDS, Workspace
from probe_course import release_labs

pytestmark = pytest.mark.slow

COURSE = Course.locate(Path(__file__).resolve().parent.parent)
ASSIGNMENTS = COURSE.assignments()


# blank: the released lab scores zero; first 3: exactly the solved exercises' points, the rest zero; all: 100
STUDENTS = {"blank": lambda count: 0, "solved-first-3": lambda count: min(3, count), "solved-all": lambda count: count}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """Every lab released into one course and a class of simulated students graded in one run of the kit's
    autograde (nbgrader's own autograde is exercised by the `check` tests in test_grader_cli.py): per lab, students who
    solved the first k exercises, for k = 0 (blank), 3 and all."""
    root = tmp_path_factory.mktemp("class") / "course"
    shutil.copytree(COURSE.solutions, root / "solutions")
    release_labs(root)
    course = Course.locate(root)
    cases = {}
    for assignment in ASSIGNMENTS:
        (released_path,) = (course.labs / assignment).glob("*.ipynb")  # one notebook per lab
        released = read_notebook(released_path)
        source = read_notebook(course.solutions / assignment / released_path.name)
        all_exercises = exercises(released)
        solved_by = {student: solved(len(all_exercises)) for student, solved in STUDENTS.items()}
        for student, k in solved_by.items():
            ids = {sid for exercise in all_exercises[:k] for sid in exercise.solution_ids}
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(fill_solutions(released, source, ids), str(folder / released_path.name))
        cases[assignment] = (released_path.name, released, all_exercises, solved_by)
    # the kit's own solutions are trusted code: no sandbox needed (and none required of the machine)
    report = autograde(course, jobs=2, cell_timeout=CELL_TIMEOUT_SECONDS, sandboxed=False, progress=False)
    assert not report.grader_errors, report.grader_errors
    workspace = Workspace(root)
    notes = {(record.assignment, record.student): record.notes for record in report.graded}
    return {
        assignment: (all_exercises, solved_by, {
            student: exercise_scores(workspace, assignment, student, {name: released}) for student in solved_by},
            {student: notes[assignment, student] for student in solved_by})
        for assignment, (name, released, all_exercises, solved_by) in cases.items()
    }


@pytest.fixture(params=ASSIGNMENTS)
def graded(request, graded_class):
    return graded_class[request.param]


def test_lab_points_total_100(graded):
    all_exercises, _, _, _ = graded
    assert len(all_exercises) >= 5
    assert sum(exercise.points for exercise in all_exercises) == 100


def test_each_student_gets_exactly_the_points_of_the_exercises_solved(graded):
    all_exercises, students, scores, notes = graded
    for student, k in students.items():
        per_exercise = list(scores[student].values())
        expected = [exercise.points if index < k else 0.0 for index, exercise in enumerate(all_exercises)]
        assert [score for score, _ in per_exercise] == expected, f"{student}: grader notes {notes[student]}"


def test_released_lab_is_zero_and_solution_is_full(graded):
    _, students, scores, _ = graded
    totals = {student: sum(score for score, _ in scores[student].values()) for student in students}
    assert totals["blank"] == 0
    assert max(totals.values()) == 100


def test_released_lab_hides_solutions_and_hidden_tests():
    for assignment in ASSIGNMENTS:
        for path in (COURSE.labs / assignment).glob("*.ipynb"):
            text = path.read_text()
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
            assert "raise NotImplementedError()" in text
