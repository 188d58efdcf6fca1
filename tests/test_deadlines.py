"""grader.deadlines: the course file's due dates, late rule and extensions, and what they do to a real nbgrader
gradebook, the exported sheet and the feedback's note."""

import csv
import subprocess
import sys
import io
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from nbgrader.api import Gradebook

from course.language import speaking
from grader.translation import translated
from grader.deadlines import DAY, CourseFileError, LateRule, apply_deadlines, late_note, read_course_file
from grader.export import export_grades

LAB = "01_backprop"
DUE_LOCAL = datetime(2026, 12, 10, 23, 59)  # Zurich, winter: UTC+1
DUE_UTC = datetime(2026, 12, 10, 22, 59, tzinfo=timezone.utc)


def course_file(tmp_path, text):
    path = tmp_path / "course.toml"
    path.write_text(text)
    return path


def test_the_rule_takes_a_share_per_started_day_up_to_its_cap_and_everything_after_the_cutoff():
    rule = LateRule(percent_per_day=10, cap_percent=25, cutoff_days=7)
    assert rule.fraction_lost(0) == 0 and rule.fraction_lost(-60) == 0
    assert rule.fraction_lost(1) == pytest.approx(0.10)  # a second late is a started day
    assert rule.fraction_lost(DAY) == pytest.approx(0.10)
    assert rule.fraction_lost(DAY + 1) == pytest.approx(0.20)
    assert rule.fraction_lost(3 * DAY) == pytest.approx(0.25)  # capped
    assert rule.fraction_lost(7 * DAY) == pytest.approx(0.25)
    assert rule.fraction_lost(7 * DAY + 1) == 1.0  # past the cut-off
    assert LateRule().fraction_lost(30 * DAY) == 0  # no rule: late, but nothing lost


def test_a_local_due_date_is_read_in_the_course_time_zone_and_an_offset_needs_none(tmp_path):
    zurich = read_course_file(course_file(tmp_path, f'timezone = "Europe/Zurich"\n[assignments.{LAB}]\n'
                                                    "due = 2026-12-10T23:59:00\n"))
    assert zurich.due(LAB, "ada") == DUE_UTC
    assert zurich.shown(DUE_UTC) == "2026-12-10 23:59 Europe/Zurich"
    summer = read_course_file(course_file(tmp_path, 'timezone = "Europe/Zurich"\n[assignments.a]\n'
                                                    "due = 2026-06-10T23:59:00\n"))
    assert summer.due("a", "ada") == datetime(2026, 6, 10, 21, 59, tzinfo=timezone.utc)  # summer time: UTC+2
    offset = read_course_file(course_file(tmp_path, f"[assignments.{LAB}]\ndue = 2026-12-10T23:59:00+01:00\n"))
    assert offset.due(LAB, "ada") == DUE_UTC and offset.shown(DUE_UTC) == "2026-12-10 22:59 UTC"


def test_an_extension_moves_one_students_due_date_and_keeps_the_rule(tmp_path):
    deadlines = read_course_file(course_file(tmp_path, f"""
timezone = "Asia/Shanghai"
[late]
percent_per_day = 10
[assignments.{LAB}]
due = 2026-12-11T06:59:00
late = {{ cap_percent = 30 }}
[[extensions]]
student = "ada"
assignment = "{LAB}"
days = 2
hours = 12
"""))
    assert deadlines.due(LAB, "ada") == DUE_UTC + timedelta(days=2, hours=12)
    assert deadlines.due(LAB, "bo") == DUE_UTC
    assert deadlines.due("02_cnn", "ada") is None
    assert deadlines.assignments[LAB].rule == LateRule(percent_per_day=10, cap_percent=30)


def test_no_course_file_means_no_deadlines(tmp_path):
    assert read_course_file(tmp_path / "course.toml").assignments == {}


@pytest.mark.parametrize("text, says", [
    (f"[assignments.{LAB}]\ndue = 2026-12-10T23:59:00\n", 'write timezone = "Europe/Zurich"'),
    ('timezone = "Mars/Olympus"\n', "not a time zone"),
    (f'timezone = "UTC"\n[assignments.{LAB}]\ndue = 2026-12-10\n', "give the time too"),
    (f'timezone = "UTC"\n[assignments.{LAB}]\ndue = "2026-12-10 23:59"\n', "(not quoted)"),
    (f'timezone = "UTC"\n[assignments.{LAB}]\nlate = {{ percent_per_day = 5 }}\n', "has no due date"),
    ('timezone = "UTC"\n[late]\nper_day = 5\n', "unknown key(s) per_day"),
    ('timezone = "UTC"\n[late]\npercent_per_day = -5\n', "at least 0"),
    ('timezone = "UTC"\n[late]\ncap_percent = 150\n', "at most 100"),
    ('deadline = 1\n', "unknown key(s) deadline"),
    ('timezone = "UTC"\n[[extensions]]\nstudent = "ada"\nassignment = "02_cnn"\ndays = 1\n',
     "'02_cnn' has no due date"),
    (f'timezone = "UTC"\n[assignments.{LAB}]\ndue = 2026-12-10T23:59:00\n[[extensions]]\nstudent = "ada"\n',
     'assignment = "…"'),
    ("timezone = \n", "course.toml"),
])
def test_a_mistake_in_the_course_file_is_refused_with_what_to_write(tmp_path, text, says):
    with pytest.raises(CourseFileError) as refused:
        read_course_file(course_file(tmp_path, text))
    assert says in str(refused.value)


def make_class(path, submitted):
    """Lab 01 (two exercises, 40 + 60 points) and each student's submission time and points."""
    with Gradebook(f"sqlite:///{path}") as gradebook:
        gradebook.add_assignment(LAB)
        gradebook.add_notebook(LAB, LAB)
        for index, maximum in enumerate((40, 60), start=1):
            gradebook.add_grade_cell(f"ex{index}_tests", LAB, LAB, max_score=maximum, cell_type="code")
        for student, (moment, points) in submitted.items():
            gradebook.add_student(student)
            gradebook.add_submission(LAB, student, timestamp=moment.astimezone(timezone.utc).replace(tzinfo=None))
            for index, score in enumerate(points, start=1):
                grade = gradebook.find_grade(f"ex{index}_tests", LAB, LAB, student)
                grade.auto_score, grade.needs_manual_grade = score, False
        gradebook.db.commit()


def exported(gradebook_path, deadlines):
    out = io.StringIO()
    export_grades(gradebook_path, out, deadlines=deadlines)
    return {row["student_id"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}


CLASS = {
    "ada": (DUE_UTC - timedelta(minutes=5), (40, 60)),  # on time
    "bo": (DUE_UTC + timedelta(days=1, hours=2), (40, 20)),  # a day and two hours late: two started days
    "cy": (DUE_UTC + timedelta(days=9), (40, 60)),  # past the cut-off
    "dee": (DUE_UTC + timedelta(hours=30), (40, 60)),  # late, but with a two-day extension
}
RULE = f"""timezone = "Europe/Zurich"
[late]
percent_per_day = 10
cap_percent = 50
cutoff_days = 7
[assignments.{LAB}]
due = {DUE_LOCAL.isoformat()}
"""
EXTENSION = f'[[extensions]]\nstudent = "dee"\nassignment = "{LAB}"\ndays = 2\n'


def test_a_late_submission_loses_exactly_what_the_rule_says_in_the_gradebook_and_the_sheet(tmp_path):
    gradebook = tmp_path / "gradebook.db"
    make_class(gradebook, CLASS)
    rows = exported(gradebook, read_course_file(course_file(tmp_path, RULE + EXTENSION)))
    assert (rows["ada"][LAB], rows["ada"][f"{LAB} raw"], rows["ada"][f"{LAB} late penalty"]) == ("100", "100", "0")
    assert (rows["bo"][LAB], rows["bo"][f"{LAB} raw"], rows["bo"][f"{LAB} late penalty"]) == ("48", "60", "12")
    assert rows["bo"][f"{LAB} days late"] == f"{(26 * 3600) / DAY:.2f}"
    assert (rows["cy"][LAB], rows["cy"][f"{LAB} late penalty"]) == ("0", "100")
    assert (rows["dee"][LAB], rows["dee"][f"{LAB} days late"]) == ("100", "0")
    assert rows["bo"]["total"] == "48"
    with Gradebook(f"sqlite:///{gradebook}") as book:  # nbgrader's own fields, as its formgrader reads them
        assert book.find_assignment(LAB).duedate == DUE_UTC.replace(tzinfo=None)
        assert book.find_submission(LAB, "bo").late_submission_penalty == pytest.approx(12)
        assert book.find_submission(LAB, "dee").extension == timedelta(days=2)


def test_the_course_file_read_again_changes_the_marks_an_extension_granted_after_grading(tmp_path):
    gradebook = tmp_path / "gradebook.db"
    make_class(gradebook, CLASS)
    assert exported(gradebook, read_course_file(course_file(tmp_path, RULE)))["dee"][LAB] == "80"
    assert exported(gradebook, read_course_file(course_file(tmp_path, RULE + EXTENSION)))["dee"][LAB] == "100"


def test_without_deadlines_the_sheet_has_no_late_columns(tmp_path):
    gradebook = tmp_path / "gradebook.db"
    make_class(gradebook, CLASS)
    row = exported(gradebook, None)["cy"]
    assert row[LAB] == "100" and f"{LAB} raw" not in row


def test_the_feedbacks_note_says_how_late_when_it_was_due_and_what_it_cost_in_the_students_language(tmp_path):
    gradebook = tmp_path / "gradebook.db"
    make_class(gradebook, CLASS)
    deadlines = read_course_file(course_file(tmp_path, RULE))
    apply_deadlines(deadlines, f"sqlite:///{gradebook}")
    with Gradebook(f"sqlite:///{gradebook}") as book, speaking("en"):
        note = late_note(deadlines, book.find_submission(LAB, "bo"))
        assert late_note(deadlines, book.find_submission(LAB, "ada")) is None
    assert note == ("Submitted 1 d 2 h after the due date (2026-12-10 23:59 Europe/Zurich); the late penalty "
                    "is 20% of the score earned: 12 of 60 points.")
    chinese = translated(note, "zh_CN")
    assert "Submitted" not in chinese and "迟交" in chinese and "1 天 2 小时" in chinese
    assert all(value in chinese for value in ("2026-12-10 23:59 Europe/Zurich", "12", "60", "20%"))


@pytest.mark.parametrize("command", [["export", "--out", "grades.csv"], ["autograde", "--no-progress"]])
def test_the_grader_refuses_a_broken_course_file_before_it_does_anything(tmp_path, command):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "submitted").mkdir()
    make_class(tmp_path / "gradebook.db", CLASS)
    course_file(tmp_path, f"[assignments.{LAB}]\ndue = 2026-12-10T23:59:00\n")  # no time zone
    done = subprocess.run([sys.executable, "-m", "grader", "--root", str(tmp_path), *command],
                          capture_output=True, text=True)
    assert done.returncode == 2 and 'write timezone = "Europe/Zurich"' in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "grades.csv").exists() and not (tmp_path / "autograded").exists()


def test_an_assignment_taken_out_of_the_course_file_loses_its_due_date_and_penalties(tmp_path):
    gradebook = tmp_path / "gradebook.db"
    make_class(gradebook, CLASS)
    assert exported(gradebook, read_course_file(course_file(tmp_path, RULE)))["bo"][LAB] == "48"
    assert exported(gradebook, read_course_file(course_file(tmp_path, 'timezone = "UTC"\n')))["bo"][LAB] == "60"
    (tmp_path / "course.toml").unlink()
    assert exported(gradebook, read_course_file(tmp_path / "course.toml"))["cy"][LAB] == "100"
    with Gradebook(f"sqlite:///{gradebook}") as book:
        assert book.find_assignment(LAB).duedate is None
        assert book.find_submission(LAB, "cy").late_submission_penalty == 0


def test_an_extension_across_a_change_to_summer_time_is_exact_hours_as_nbgrader_counts_them(tmp_path):
    deadlines = read_course_file(course_file(tmp_path, f"""timezone = "Europe/Zurich"
[assignments.{LAB}]
due = 2026-03-27T23:59:00
[[extensions]]
student = "ada"
assignment = "{LAB}"
days = 2
"""))  # the clocks go forward on 29 March
    assert deadlines.due(LAB, "ada") - deadlines.due(LAB, "bo") == timedelta(hours=48)
    assert deadlines.shown(deadlines.due(LAB, "ada")) == "2026-03-30 00:59 Europe/Zurich"


def test_an_extension_for_a_student_the_gradebook_does_not_know_is_reported(tmp_path):
    gradebook = tmp_path / "gradebook.db"
    make_class(gradebook, CLASS)
    typo = EXTENSION.replace('student = "dee"', 'student = "deee"')
    warnings = apply_deadlines(read_course_file(course_file(tmp_path, RULE + typo)), f"sqlite:///{gradebook}")
    assert warnings == [f"course.toml gives deee an extension on {LAB}, but the gradebook has no student 'deee'"]
