"""grader export: the grade sheet read back from a real nbgrader gradebook."""

import csv
import io
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook

from grader.export import ExportError, export_grades


def make_gradebook(path):
    """Two assignments of two exercises each; ada submitted both, bo only the first, cy nothing."""
    with Gradebook(f"sqlite:///{path}") as gradebook:
        for assignment, points in (("01_backprop", (40, 60)), ("02_cnn", (30, 70))):
            gradebook.add_assignment(assignment)
            gradebook.add_notebook(assignment, assignment)
            for index, maximum in enumerate(points, start=1):
                gradebook.add_grade_cell(f"ex{index}_tests", assignment, assignment, max_score=maximum,
                                         cell_type="code")
        for student, first, last in (("ada", "Ada", "Lovelace"), ("bo", "Bo", "Li"), ("cy", "Cy", "Young")):
            gradebook.add_student(student, first_name=first, last_name=last)
        scores = {("ada", "01_backprop"): (40, 60), ("ada", "02_cnn"): (30, 12.5), ("bo", "01_backprop"): (0, 60)}
        for (student, assignment), points in scores.items():
            gradebook.add_submission(assignment, student)
            for index, score in enumerate(points, start=1):
                grade = gradebook.find_grade(f"ex{index}_tests", assignment, assignment, student)
                grade.auto_score, grade.needs_manual_grade = score, False  # as nbgrader autograde records it
        gradebook.find_grade("ex2_tests", "02_cnn", "02_cnn", "ada").needs_manual_grade = True
        gradebook.db.commit()


def read(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_one_row_per_student_a_column_per_assignment_and_the_total(tmp_path):
    make_gradebook(tmp_path / "gradebook.db")
    out = io.StringIO()
    summary = export_grades(tmp_path / "gradebook.db", out)
    rows = {row["student_id"]: row for row in read(out.getvalue())}
    assert summary.students == 3 and summary.assignments == ("01_backprop", "02_cnn")
    assert rows["ada"]["01_backprop"] == "100" and rows["ada"]["02_cnn"] == "42.5" and rows["ada"]["total"] == "142.5"
    assert rows["bo"]["01_backprop"] == "60" and rows["bo"]["02_cnn"] == "" and rows["bo"]["total"] == "60"
    assert rows["cy"]["total"] == "0" and rows["cy"]["last_name"] == "Young"
    assert {row["max_total"] for row in rows.values()} == {"200"}
    assert rows["ada"]["needs_manual_grade"] == "02_cnn" and rows["bo"]["needs_manual_grade"] == ""
    assert "01_backprop/ex1_tests" not in rows["ada"]


def test_detail_adds_a_column_per_exercise(tmp_path):
    make_gradebook(tmp_path / "gradebook.db")
    out = io.StringIO()
    export_grades(tmp_path / "gradebook.db", out, detail=True)
    rows = {row["student_id"]: row for row in read(out.getvalue())}
    assert rows["ada"]["02_cnn/ex2_tests"] == "12.5" and rows["bo"]["01_backprop/ex1_tests"] == "0"
    assert rows["cy"]["01_backprop/ex1_tests"] == ""


def test_cli_writes_the_sheet_and_keeps_an_old_one_when_there_is_nothing_to_export(tmp_path):
    course = tmp_path / "course"
    for folder in ("solutions", "labs"):
        (course / folder).mkdir(parents=True)
    grader = [sys.executable, "-m", "grader", "--root", str(course), "export"]
    old_sheet = course / "grades.csv"
    old_sheet.write_text("earlier sheet\n")
    missing = subprocess.run(grader, capture_output=True, text=True, cwd=tmp_path)
    assert missing.returncode == 2 and "no gradebook" in missing.stderr and "grader release" in missing.stderr
    assert old_sheet.read_text() == "earlier sheet\n"
    make_gradebook(course / "gradebook.db")
    written = subprocess.run(grader, capture_output=True, text=True, cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert "3 students x 2 assignments" in written.stdout
    assert [row["student_id"] for row in read(old_sheet.read_text())] == ["ada", "bo", "cy"]
    to_terminal = subprocess.run([*grader, "--out", "-", "--detail"], capture_output=True, text=True, cwd=tmp_path)
    assert to_terminal.stdout.startswith("student_id,") and "02_cnn/ex2_tests" in to_terminal.stdout


def test_an_empty_gradebook_is_refused(tmp_path):
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}"):
        pass
    with pytest.raises(ExportError, match="no assignment"):
        export_grades(tmp_path / "gradebook.db", io.StringIO())
