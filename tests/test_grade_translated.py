"""A translated lab is graded exactly as the English one: a student who solved the first three exercises of every
lab submits the Chinese copy (course.workspace --lang zh_CN makes it from the English one and the catalogues) and
scores exactly those exercises' points, as test_grader.py's English student with the same answers does; and is told
in Chinese why each other exercise failed. These students sit in the run's shared class (shared_class.py)."""

import re
from pathlib import Path

import pytest

from course.translations.catalogues import load_catalogue
from course.translations.notebooks import translated_notebook
from grader.checks import exercise_scores
from grader.layout import Course
from grader.notebooks import exercises, fill_solutions, read_notebook
from grader.workspace import Workspace
from shared_class import failure_messages, students_of

pytestmark = pytest.mark.slow

COURSE = Course.locate(Path(__file__).resolve().parent.parent)
ASSIGNMENTS = COURSE.assignments()
LANGUAGE = "zh_CN"
STUDENT, ENGLISH_TWIN, SOLVED = "zh-solved-first-3", "solved-first-3", 3
CHINESE = re.compile(r"[\u3400-\u9fff]")


def assignment_of(released) -> str:
    """The lab a released notebook is, from its title ("# Lab 01 — …")."""
    number = released.cells[0].source.removeprefix("# Lab ").split(" ", 1)[0]
    (assignment,) = [name for name in ASSIGNMENTS if name.startswith(f"{number}_")]
    return assignment


def student_notebooks(released, source):
    assignment = assignment_of(released)
    ids = {sid for exercise in exercises(released)[:SOLVED] for sid in exercise.solution_ids}
    english = fill_solutions(released, source, ids)
    catalogue = load_catalogue(LANGUAGE, f"labs/{assignment}/{assignment}")
    return {STUDENT: (translated_notebook(english, catalogue, LANGUAGE), SOLVED)}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_chinese_lab_scores_exactly_the_exercises_solved_as_the_english_one_does(graded_course, assignment):
    released = read_notebook(graded_course / "labs" / assignment / f"{assignment}.ipynb")
    (submitted, _), = students_of(graded_course, assignment, student_notebooks).values()
    assert submitted.cells[0].source != released.cells[0].source, "the submission was not translated"
    workspace, notebooks = Workspace(graded_course), {f"{assignment}.ipynb": released}
    scores = [score for score, _ in exercise_scores(workspace, assignment, STUDENT, notebooks).values()]
    expected = [exercise.points if index < SOLVED else 0.0 for index, exercise in enumerate(exercises(released))]
    failures = {test_id: failure_messages(graded_course, assignment, STUDENT, test_id)
                for exercise in exercises(released) for test_id in exercise.test_ids}
    assert scores == expected, f"failures {failures}"
    english_messages = [message for messages in failures.values() for message in messages
                        if not CHINESE.search(message)]
    assert any(failures.values()) and english_messages == [], "failures explained in English to a Chinese student"
    if (graded_course / "autograded" / ENGLISH_TWIN / assignment).is_dir():  # test_grader.py ran in this session
        english = exercise_scores(workspace, assignment, ENGLISH_TWIN, notebooks)
        assert scores == [score for score, _ in english.values()]
