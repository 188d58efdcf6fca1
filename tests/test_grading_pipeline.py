"""The instructors' manual (docs/instructors.md), end to end on a real lab: from the solutions to a grade sheet and
feedback for a simulated class, through the command line only.

release -> collect (a Moodle zip) -> autograde -> feedback -> export. Each student's points per exercise
must be exactly those of the exercises they solved, and no feedback page may show a line of the hidden
tests. One student hands in the Chinese copy that ``release --lang zh_CN`` wrote, with a cell of their own added:
graded as the English twin, and told in Chinese (the lab's text, the failures, the grader's notes).
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

from course.language import tr
from course.translations.catalogues import load_catalogue
from grader.layout import Course
from grader.feedback import hidden_lines
from grader.translation import translated
from grader.notebooks import exercises, fill_solutions, read_notebook
from sandbox_required import requires_sandbox

pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "01_backprop"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
REPO = Course.locate(Path(__file__).resolve().parent.parent)
MOODLE_IDS = {"Ada Lovelace": "1001", "Alan Turing": "1002", "Grace Hopper": "1003", "Edsger Dijkstra": "1004",
              "Lu Xun": "1005"}
CHINESE_STUDENT, LANGUAGE = "1005", "zh_CN"
CHINESE = re.compile(r"[\u3400-\u9fff]")


def grader(root, *arguments):
    result = subprocess.run([sys.executable, "-m", "grader", "--root", str(root), *arguments],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"grader {' '.join(arguments)}:\n{result.stdout}\n{result.stderr[-3000:]}"
    return result.stdout


def solved_exercises(all_exercises):
    """Moodle id -> indices of the exercises that student solved (later exercises build on earlier ones)."""
    count = len(all_exercises)
    return {"1001": set(range(count)), "1002": {0, 1, 2}, "1003": set(), "1004": set(range(count - 1)),
            CHINESE_STUDENT: {0, 1, 2}}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline") / "course"
    shutil.copytree(REPO.solutions / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    grader(root, "release", ASSIGNMENT, "--lang", LANGUAGE)

    released = read_notebook(root / "labs" / ASSIGNMENT / NOTEBOOK)
    released_in_chinese = read_notebook(root / "build" / "release" / LANGUAGE / ASSIGNMENT / NOTEBOOK)
    source = read_notebook(root / "solutions" / ASSIGNMENT / NOTEBOOK)
    all_exercises = exercises(released)
    solved = solved_exercises(all_exercises)
    export = root.parent / "moodle-export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        for name, moodle_id in MOODLE_IDS.items():
            ids = {sid for index in solved[moodle_id] for sid in all_exercises[index].solution_ids}
            if moodle_id == CHINESE_STUDENT:
                notebook = fill_solutions(released_in_chinese, source, ids)
                notebook.cells.insert(3, nbformat.v4.new_code_cell("print('my own check')"))
            else:
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
    assert f"{len(MOODLE_IDS)} graded" in outputs["autograde"]
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


def test_a_chinese_submission_is_graded_as_its_twin_and_told_why_in_chinese(graded_course):
    root, _, _, _ = graded_course
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO((root / "grades.csv").read_text()))}
    twin = {column: value for column, value in rows["s1002"].items() if column.startswith(ASSIGNMENT)}
    assert twin == {column: value for column, value in rows[f"s{CHINESE_STUDENT}"].items() if column in twin}
    page = (root / "feedback" / f"s{CHINESE_STUDENT}" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    english_page = (root / "feedback" / "s1002" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    title = load_catalogue(LANGUAGE, f"labs/{ASSIGNMENT}/{ASSIGNMENT}").get(
        read_notebook(root / "labs" / ASSIGNMENT / NOTEBOOK).cells[0].source.splitlines()[0].lstrip("# "))
    assert title is not None and html.escape(title.string, quote=False) in page, "the lab's text is not Chinese"
    heading = translated(tr("Notes from the grader"), LANGUAGE)
    assert CHINESE.search(heading) and heading in page, "the grader's notes are not in Chinese"
    graded = nbformat.read(root / "autograded" / f"s{CHINESE_STUDENT}" / ASSIGNMENT / NOTEBOOK, as_version=4)
    failures = [output.evalue for cell in graded.cells if cell.cell_type == "code"
                for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert failures and all(CHINESE.search(failure) for failure in failures), failures
    assert heading not in english_page and html.escape(title.string, quote=False) not in english_page
