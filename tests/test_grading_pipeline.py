"""The instructors' manual (docs/instructors.md), end to end on a real lab: from the solutions to a grade sheet and
feedback for a simulated class, through the command line only.

release -> collect (a Moodle zip) -> autograde -> feedback -> export. Each student's points per exercise
must be exactly those of the exercises they solved, and no feedback page may show a line of the hidden
tests.
"""

import csv
import html
import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.layout import Course
from grader.feedback import hidden_lines
from grader.notebooks import exercises, fill_solutions, read_notebook
from sandbox_required import requires_sandbox

pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "01_backprop"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
REPO = Course.locate(Path(__file__).resolve().parent.parent)
MOODLE_IDS = {"Ada Lovelace": "1001", "Alan Turing": "1002", "Grace Hopper": "1003", "Edsger Dijkstra": "1004"}


def grader(root, *arguments):
    result = subprocess.run([sys.executable, "-m", "grader", "--root", str(root), *arguments],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"grader {' '.join(arguments)}:\n{result.stdout}\n{result.stderr[-3000:]}"
    return result.stdout


def solved_exercises(all_exercises):
    """Moodle id -> indices of the exercises that student solved (later exercises build on earlier ones)."""
    count = len(all_exercises)
    return {"1001": set(range(count)), "1002": {0, 1, 2}, "1003": set(), "1004": set(range(count - 1))}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline") / "course"
    shutil.copytree(REPO.solutions / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    grader(root, "release", ASSIGNMENT)

    released = read_notebook(root / "labs" / ASSIGNMENT / NOTEBOOK)
    source = read_notebook(root / "solutions" / ASSIGNMENT / NOTEBOOK)
    all_exercises = exercises(released)
    solved = solved_exercises(all_exercises)
    export = root.parent / "moodle-export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        for name, moodle_id in MOODLE_IDS.items():
            ids = {sid for index in solved[moodle_id] for sid in all_exercises[index].solution_ids}
            notebook = fill_solutions(released, source, ids)
            archive.writestr(f"{name}_{moodle_id}_assignsubmission_file_{NOTEBOOK}", nbformat.writes(notebook))
    roster = root.parent / "students.csv"
    roster.write_text("id,first_name,last_name,lms_user_id\n" + "".join(
        f"s{moodle_id},{name.split()[0]},{name.split()[1]},{moodle_id}\n" for name, moodle_id in MOODLE_IDS.items()))

    outputs = {
        "collect": grader(root, "collect", ASSIGNMENT, str(export), "--roster", str(roster)),
        "autograde": grader(root, "autograde", "--no-progress"),
        "feedback": grader(root, "feedback"),
        "export": grader(root, "export", "--detail"),
    }
    return root, all_exercises, solved, outputs


def test_grade_sheet_has_exactly_the_points_of_the_solved_exercises(graded_course):
    root, all_exercises, solved, outputs = graded_course
    assert "4 graded" in outputs["autograde"]
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO((root / "grades.csv").read_text()))}
    assert set(rows) == {f"s{moodle_id}" for moodle_id in MOODLE_IDS.values()}
    for moodle_id, indices in solved.items():
        row = rows[f"s{moodle_id}"]
        for index, exercise in enumerate(all_exercises):
            earned = sum(float(row[f"{ASSIGNMENT}/{test_id}"]) for test_id in exercise.test_ids)
            assert earned == (exercise.points if index in indices else 0), (moodle_id, exercise.name)
        assert float(row["total"]) == sum(all_exercises[index].points for index in indices)
        assert row["needs_manual_grade"] == ""
    assert rows["s1002"]["first_name"] == "Alan"


def test_nbgrader_formgrader_sees_the_grades(graded_course):
    root, _, _, _ = graded_course
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "s1001")
        assert submission.score == submission.max_score == 100
    assert (root / "autograded" / "s1001" / ASSIGNMENT / NOTEBOOK).is_file()


def test_feedback_pages_show_scores_but_never_a_hidden_test_line(graded_course):
    root, _, _, _ = graded_course
    released = nbformat.read(str(root / "labs" / ASSIGNMENT / NOTEBOOK), as_version=4)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_notebook(ASSIGNMENT, ASSIGNMENT)
        locked = {cell.name: cell.source for cell in notebook.source_cells if cell.locked}
    hidden = set(hidden_lines(locked, released))
    assert len(hidden) > 20  # the lab does have hidden tests to leak
    for moodle_id in MOODLE_IDS.values():
        page = (root / "feedback" / f"s{moodle_id}" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        shown = {line.strip() for line in text.splitlines()}
        assert shown.isdisjoint(hidden), (moodle_id, sorted(shown & hidden)[:3])
        assert "Score:" in text
    blank = (root / "feedback" / "s1003" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "NotImplementedError" in blank
