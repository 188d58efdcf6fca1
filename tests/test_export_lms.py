"""grader export --format canvas|moodle: the files read back with the column layout each LMS's gradebook import
documents (Canvas: its own export's columns and Points Possible row; Moodle: the CSV grade import's columns), from
a real nbgrader gradebook, late penalties included."""

import csv
import io
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from nbgrader.api import Gradebook

from grader.deadlines import read_course_file
from grader.export import ExportError, export_grades

LAB, CNN = "01_backprop", "02_cnn"
DUE = datetime(2026, 12, 10, 22, 59)  # UTC, as nbgrader stores it
CLASS = {  # id: (first, last, email, lms_user_id)
    "s001": ("Ada", "Lovelace", "ada@uni.example", "40001"),
    "s002": ("Bo", "Li", "bo@uni.example", "40002"),
    "s003": ("晓明", "王", "wang@uni.example", "40003"),
}


def make_gradebook(path, lms_ids=True):
    """Lab 01 (100 points) submitted by all, s002 a day and a bit late; lab 02 (50 points) by s001 alone."""
    with Gradebook(f"sqlite:///{path}") as gradebook:
        for assignment, points in ((LAB, 100), (CNN, 50)):
            gradebook.add_assignment(assignment)
            gradebook.add_notebook(assignment, assignment)
            gradebook.add_grade_cell("ex1_tests", assignment, assignment, max_score=points, cell_type="code")
        for student, (first, last, email, lms) in CLASS.items():
            gradebook.add_student(student, first_name=first, last_name=last, email=email,
                                  lms_user_id=lms if lms_ids else None)
        submitted = {("s001", LAB): (DUE, 90), ("s002", LAB): (DUE + timedelta(hours=25), 80),
                     ("s003", LAB): (DUE, 100), ("s001", CNN): (DUE, 12.5)}
        for (student, assignment), (moment, score) in submitted.items():
            gradebook.add_submission(assignment, student, timestamp=moment)
            grade = gradebook.find_grade("ex1_tests", assignment, assignment, student)
            grade.auto_score, grade.needs_manual_grade = score, False
        gradebook.db.commit()


def exported(tmp_path, lms, **options):
    (tmp_path / "course.toml").write_text(
        f'timezone = "UTC"\n[late]\npercent_per_day = 10\n[assignments.{LAB}]\ndue = {DUE.isoformat()}\n')
    out = io.StringIO()
    export_grades(tmp_path / "gradebook.db", out, deadlines=read_course_file(tmp_path / "course.toml"), lms=lms,
                  **options)
    return out.getvalue()


def test_canvas_gets_its_own_exports_columns_a_points_possible_row_and_the_penalised_marks(tmp_path):
    make_gradebook(tmp_path / "gradebook.db")
    text = exported(tmp_path, "canvas")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", LAB, CNN]
    assert rows[1] == ["Points Possible", "", "", "", "", "100", "50"]
    by_id = {row[1]: row for row in rows[2:]}
    assert by_id["40001"] == ["Lovelace, Ada", "40001", "", "", "", "90", "12.5"]
    assert by_id["40002"][0] == "Li, Bo" and by_id["40002"][5:] == ["64", ""]  # 80 less 2 started days at 10 %
    assert by_id["40003"][0] == "王, 晓明" and by_id["40003"][5] == "100"
    assert len(rows) == 2 + len(CLASS) and text.endswith("\r\n")


def test_canvas_refuses_a_class_without_canvas_user_ids_and_says_where_to_put_them(tmp_path):
    make_gradebook(tmp_path / "gradebook.db", lms_ids=False)
    with pytest.raises(ExportError) as refused:
        exported(tmp_path, "canvas")
    assert "s001, s002, s003" in str(refused.value) and "lms_user_id" in str(refused.value)


def test_moodle_gets_the_csv_import_columns_with_the_email_to_match_on(tmp_path):
    make_gradebook(tmp_path / "gradebook.db", lms_ids=False)
    rows = list(csv.reader(io.StringIO(exported(tmp_path, "moodle"))))
    assert rows[0] == ["First name", "Last name", "ID number", "Email address", LAB, CNN]
    by_email = {row[3]: row for row in rows[1:]}
    assert by_email["ada@uni.example"] == ["Ada", "Lovelace", "s001", "ada@uni.example", "90", "12.5"]
    assert by_email["bo@uni.example"][4:] == ["64", ""]
    assert by_email["wang@uni.example"][:2] == ["晓明", "王"]


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_the_command_writes_utf8_and_refuses_detail_with_an_lms_format(tmp_path, lms):
    (tmp_path / "solutions").mkdir()
    make_gradebook(tmp_path / "gradebook.db")
    run = [sys.executable, "-m", "grader", "--root", str(tmp_path), "export", "--format", lms]
    done = subprocess.run([*run, "--out", f"{lms}.csv"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "王" in (tmp_path / f"{lms}.csv").read_bytes().decode("utf-8")
    refused = subprocess.run([*run, "--detail"], capture_output=True, text=True)
    assert refused.returncode == 2 and "one column per assignment" in refused.stderr


def test_a_mark_that_still_needs_manual_grading_is_left_blank_and_said(tmp_path):
    make_gradebook(tmp_path / "gradebook.db")
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        gradebook.find_grade("ex1_tests", LAB, LAB, "s003").needs_manual_grade = True
        gradebook.db.commit()
    out = io.StringIO()
    summary = export_grades(tmp_path / "gradebook.db", out, lms="canvas")
    rows = {row[1]: row for row in csv.reader(io.StringIO(out.getvalue()))}
    assert rows["40003"][5] == "" and rows["40001"][5] == "90"
    assert summary.warnings == (f"left blank, as they still need manual grading (grade them, then export again): "
                                f"s003 on {LAB}",)


def test_moodle_refuses_a_class_without_emails(tmp_path):
    make_gradebook(tmp_path / "gradebook.db")
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        gradebook.find_student("s002").email = None
        gradebook.db.commit()
    with pytest.raises(ExportError, match="missing for s002"):
        exported(tmp_path, "moodle")
