"""``grader release`` and ``grader collect`` on a one-lab copy of the course: release equals build
and registers the assignment in the gradebook, nbgrader's autograde then grades what collect copied,
and collect matches folders and LMS zips, reports what it cannot match, and writes nowhere else."""

import os
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from grader.cli import main
from grader.collect import CollectError, collect, read_roster
from grader.layout import Course
from grader.notebooks import is_test_cell, grade_id, read_notebook

ASSIGNMENT = "01_backprop"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
REPO = Course.locate(Path(__file__).resolve().parent.parent)

pytestmark = pytest.mark.slow  # every test starts from a course that nbgrader's generate_assignment released


def run_grader(*arguments, root):
    command = [sys.executable, "-m", "grader", "--root", str(root), *arguments]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A course with one lab, released once through the command line (the slow part: nbgrader twice)."""
    root = tmp_path_factory.mktemp("released") / "course"
    for folder in ("solutions", "labs"):
        shutil.copytree(REPO.root / folder / ASSIGNMENT, root / folder / ASSIGNMENT)
    shutil.rmtree(root / "labs" / ASSIGNMENT)  # release must make it again
    result = run_grader("release", root=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, result.stdout


@pytest.fixture
def course(released, tmp_path):
    """A private copy of the released course that a test may fill with submissions."""
    root = tmp_path / "course"
    shutil.copytree(released[0], root)
    return Course(root)


@pytest.fixture
def lab_bytes(course):
    return (course.labs / ASSIGNMENT / NOTEBOOK).read_bytes()


def utc(*fields):
    return datetime(*fields, tzinfo=timezone.utc)


def write_zip(path, files):
    """``files``: {name in the zip: (bytes, local time tuple)}, as an LMS would pack them."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, when) in files.items():
            archive.writestr(zipfile.ZipInfo(name, when), data)
    return path


def zip_time(*fields):
    """What collect reads from a zip entry's time: the packing machine's local time, in UTC."""
    return datetime(*fields).astimezone(timezone.utc)


def submitted(course, student):
    return course.root / "submitted" / student / ASSIGNMENT


def recorded_time(course, student):
    """The submission time nbgrader itself will read from timestamp.txt."""
    text = (submitted(course, student) / "timestamp.txt").read_text()
    return parse_utc(text).replace(tzinfo=timezone.utc)


def listing(folder, skip=()):
    """{relative path: bytes} of every file under ``folder`` except the top-level names in ``skip``."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).parts[0] not in skip
    }


def reasons(report):
    return {item.source: item.reason for item in report.skipped}


# -- release ---------------------------------------------------------------------------------


def test_release_equals_build_and_records_the_hidden_tests_in_the_gradebook(released):
    root, output = released
    assert f"released labs/{ASSIGNMENT}" in output
    assert listing(root / "labs") == listing(REPO.labs, skip=set(os.listdir(REPO.labs)) - {ASSIGNMENT})
    source = read_notebook(root / "solutions" / ASSIGNMENT / NOTEBOOK)
    tests = {grade_id(cell): cell.source for cell in source.cells if is_test_cell(cell)}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_notebook(ASSIGNMENT, ASSIGNMENT)
        stored = {cell.name: gradebook.find_source_cell(cell.name, ASSIGNMENT, ASSIGNMENT).source
                  for cell in notebook.grade_cells}
        assert stored == tests  # hidden tests included: autograde restores test cells from here
        assert sum(cell.max_score for cell in notebook.grade_cells) == 100


def test_nbgrader_autograde_grades_a_collected_submission_without_force(course, lab_bytes, tmp_path):
    student = tmp_path / "export" / "alice"
    student.mkdir(parents=True)
    (student / NOTEBOOK).write_bytes(lab_bytes)
    when = utc(2024, 3, 1, 9, 30)
    os.utime(student / NOTEBOOK, (when.timestamp(), when.timestamp()))
    collect(course, ASSIGNMENT, tmp_path / "export")
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT,
               f"--CourseDirectory.root={course.root}", "--CourseDirectory.source_directory=solutions"]
    result = subprocess.run(command, cwd=course.root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        graded = gradebook.find_submission(ASSIGNMENT, "alice")
        assert (graded.score, graded.max_score) == (0, 100)  # the released lab, unsolved
        assert graded.timestamp.replace(tzinfo=timezone.utc) == when


# -- collect: layouts --------------------------------------------------------------------------


def test_nbgrader_folder_layout_keeps_its_timestamps(course, lab_bytes, tmp_path):
    export = tmp_path / "export"
    alice = export / "submitted" / "alice" / ASSIGNMENT
    alice.mkdir(parents=True)
    (alice / NOTEBOOK).write_bytes(lab_bytes)
    (alice / "timestamp.txt").write_text("2024-03-01 10:00:00.000000 UTC")
    other = export / "submitted" / "alice" / "02_cnn"  # another assignment of the course: not reported
    other.mkdir(parents=True)
    (other / "02_cnn.ipynb").write_bytes(lab_bytes)
    shutil.copytree(other, course.solutions / "02_cnn")
    bob = export / "submitted" / "bob"
    (bob / NOTEBOOK).parent.mkdir(parents=True)
    (bob / NOTEBOOK).write_bytes(lab_bytes)
    os.utime(bob / NOTEBOOK, (utc(2024, 3, 2).timestamp(),) * 2)

    report = collect(course, ASSIGNMENT, export)

    assert report.students() == ["alice", "bob"]
    assert (submitted(course, "alice") / NOTEBOOK).read_bytes() == lab_bytes
    assert recorded_time(course, "alice") == utc(2024, 3, 1, 10)
    assert recorded_time(course, "bob") == utc(2024, 3, 2)
    assert report.other_assignments == 1 and not report.skipped


def test_moodle_zip_folders_and_flat_files(course, lab_bytes, tmp_path):
    archive = write_zip(tmp_path / "moodle.zip", {
        f"Ann Lee_101_assignsubmission_file_/{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        "Ann Lee_101_assignsubmission_onlinetext_/onlinetext.html": (b"<p>done</p>", (2024, 3, 1, 12, 0, 0)),
        f"Bo Chen_102_assignsubmission_file_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 13, 0, 0)),
    })
    report = collect(course, ASSIGNMENT, archive)
    assert report.students() == ["101", "102"]
    assert recorded_time(course, "101") == zip_time(2024, 3, 1, 12, 0, 0)
    assert reasons(report) == {"Ann Lee_101_assignsubmission_onlinetext_/onlinetext.html": "extra file, ignored"}


def test_a_timestamp_uploaded_to_moodle_beside_the_notebook_is_not_believed(course, lab_bytes, tmp_path):
    """A late student uploads an nbgrader-style timestamp.txt dated before the deadline: Moodle's time is kept."""
    archive = write_zip(tmp_path / "moodle.zip", {
        f"Ann Lee_101_assignsubmission_file_/{NOTEBOOK}": (lab_bytes, (2024, 3, 9, 12, 0, 0)),
        "Ann Lee_101_assignsubmission_file_/timestamp.txt": (b"2024-03-01 09:00:00.000000 UTC", (2024, 3, 9, 12, 0, 0)),
    })
    report = collect(course, ASSIGNMENT, archive)
    assert report.students() == ["101"]
    assert recorded_time(course, "101") == zip_time(2024, 3, 9, 12, 0, 0)
    assert "Ann Lee_101_assignsubmission_file_/timestamp.txt" in reasons(report)


@pytest.mark.parametrize("pattern", [None, r"^(?P<student>\d+)/"])
def test_a_timestamp_beside_the_notebook_outside_nbgraders_folders_is_not_believed(course, lab_bytes, tmp_path,
                                                                                   pattern):
    """<student>/timestamp.txt (no assignment folder: not nbgrader's layout), read plainly or with --pattern."""
    archive = write_zip(tmp_path / "folders.zip", {
        f"101/{NOTEBOOK}": (lab_bytes, (2024, 3, 9, 12, 0, 0)),
        "101/timestamp.txt": (b"2024-03-01 09:00:00.000000 UTC", (2024, 3, 9, 12, 0, 0)),
    })
    collect(course, ASSIGNMENT, archive, pattern=pattern)
    assert recorded_time(course, "101") == zip_time(2024, 3, 9, 12, 0, 0)


def test_collecting_an_assignment_with_a_due_date_from_a_zip_says_whose_times_these_are(course, lab_bytes, tmp_path):
    (course.root / "course.toml").write_text(f'timezone = "UTC"\n[assignments.{ASSIGNMENT}]\n'
                                             "due = 2024-03-05T12:00:00\n")
    archive = write_zip(tmp_path / "canvas.zip", {
        f"lee_ann_101_9001_{NOTEBOOK}": (lab_bytes, (2024, 3, 9, 12, 0, 0))})
    report = collect(course, ASSIGNMENT, archive)
    assert any("Canvas dates its zip's entries when it packs them" in note for note in report.notes)


def test_canvas_zip_keeps_the_newest_of_two_submissions(course, lab_bytes, tmp_path):
    newer = lab_bytes.replace(b"raise NotImplementedError()", b"return 0", 1)
    archive = write_zip(tmp_path / "canvas.zip", {
        f"lee_ann_101_5001_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        "lee_ann_LATE_101_5002_01_backprop-1.ipynb": (newer, (2024, 3, 2, 12, 0, 0)),
        f"chen_bo_102_5003_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 8, 0, 0)),
    })
    report = collect(course, ASSIGNMENT, archive)
    assert report.students() == ["101", "102"]
    assert (submitted(course, "101") / NOTEBOOK).read_bytes() == newer
    assert recorded_time(course, "101") == zip_time(2024, 3, 2, 12, 0, 0)
    kept = next(item for item in report.collected if item.student == "101")
    assert kept.source == "lee_ann_LATE_101_5002_01_backprop-1.ipynb"
    assert "the newest of 2 submissions" in kept.notes
    assert "older duplicate" in reasons(report)[f"lee_ann_101_5001_{NOTEBOOK}"]


def test_plain_zip_allows_underscores_in_student_ids(course, lab_bytes, tmp_path):
    archive = write_zip(tmp_path / "plain.zip", {
        f"jdoe_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        f"jane_doe_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
    })
    assert collect(course, ASSIGNMENT, archive).students() == ["jane_doe", "jdoe"]


def test_custom_pattern(course, lab_bytes, tmp_path):
    archive = write_zip(tmp_path / "other.zip", {
        f"ps1_bitdiddle_attempt_2016-01-30_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        "readme.txt": (b"", (2024, 3, 1, 12, 0, 0)),
    })
    report = collect(course, ASSIGNMENT, archive, pattern=r"^ps1_(?P<student>[a-z]+)_attempt_[0-9-]+_(?P<file>.+)$")
    assert report.students() == ["bitdiddle"]
    assert "--pattern does not match" in reasons(report)["readme.txt"]
    with pytest.raises(CollectError, match="named group"):
        collect(course, ASSIGNMENT, archive, pattern=r"^ps1_(\w+)_")


# -- collect: what it cannot match ---------------------------------------------------------


def test_roster_filters_maps_lms_ids_and_fills_the_gradebook(course, lab_bytes, tmp_path):
    roster_file = tmp_path / "students.csv"
    roster_file.write_text("id,first_name,last_name,email,lms_user_id\nann.lee,Ann,Lee,ann@example.org,101\n")
    archive = write_zip(tmp_path / "canvas.zip", {
        f"lee_ann_101_5001_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        f"nobody_no_999_5002_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
    })
    report = collect(course, ASSIGNMENT, archive, roster=read_roster(roster_file))
    assert report.students() == ["ann.lee"] and report.gradebook_students == ["ann.lee"]
    assert reasons(report)[f"nobody_no_999_5002_{NOTEBOOK}"] == "student 999 is not in the roster"
    assert not (course.root / "submitted" / "999").exists()
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        student = gradebook.find_student("ann.lee")
        assert (student.first_name, student.email, student.lms_user_id) == ("Ann", "ann@example.org", "101")


def test_notebook_names_that_differ(course, lab_bytes, tmp_path):
    export = tmp_path / "export"
    for student, names in {"alice": ["mywork.ipynb"], "bob": ["a.ipynb", "b.ipynb"],
                           "carol": [NOTEBOOK, "scratch.ipynb"]}.items():
        (export / student).mkdir(parents=True)
        for name in names:
            (export / student / name).write_bytes(lab_bytes)
    report = collect(course, ASSIGNMENT, export)
    assert report.students() == ["alice", "carol"]  # alice's only notebook takes the released name
    renamed = next(item for item in report.collected if item.student == "alice")
    assert renamed.target == f"submitted/alice/{ASSIGNMENT}/{NOTEBOOK}"
    assert "renamed from 'mywork.ipynb'" in renamed.notes
    differ = f"notebook name differs from the released {NOTEBOOK}"
    assert reasons(report) == {"bob/a.ipynb": differ, "bob/b.ipynb": differ, "carol/scratch.ipynb": differ}
    assert sorted(os.listdir(submitted(course, "carol"))) == [NOTEBOOK, "timestamp.txt"]


def test_extra_files_and_missing_ids_are_listed_not_copied(course, lab_bytes, tmp_path):
    archive = write_zip(tmp_path / "mixed.zip", {
        f"Ann Lee_101_assignsubmission_file_/{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        "Ann Lee_101_assignsubmission_file_/data.csv": (b"1,2", (2024, 3, 1, 12, 0, 0)),
        "Ann Lee_101_assignsubmission_file_/.ipynb_checkpoints/x.ipynb": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        NOTEBOOK: (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        "notes.ipynb": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
    })
    report = collect(course, ASSIGNMENT, archive)
    assert report.students() == ["101"]
    assert sorted(os.listdir(submitted(course, "101"))) == [NOTEBOOK, "timestamp.txt"]
    found = reasons(report)
    assert found["Ann Lee_101_assignsubmission_file_/data.csv"] == "extra file, ignored"
    nested = "Ann Lee_101_assignsubmission_file_/.ipynb_checkpoints/x.ipynb"
    assert found[nested] == "extra file in a subfolder, ignored"
    assert found[NOTEBOOK].startswith("no student id in the name")
    assert found["notes.ipynb"].startswith("no student id in the name")


def test_broken_notebooks_are_copied_as_they_are_and_flagged(course, tmp_path):
    broken = {"empty": b"", "badjson": b'{"cells": [', "latin1": "caf\u00e9".encode("latin-1"), "nocells": b"{}"}
    export = tmp_path / "export"
    for student, data in broken.items():
        (export / student).mkdir(parents=True)
        (export / student / NOTEBOOK).write_bytes(data)
    report = collect(course, ASSIGNMENT, export)
    assert report.students() == sorted(broken)
    for student, data in broken.items():
        assert (submitted(course, student) / NOTEBOOK).read_bytes() == data
    flags = {item.student: item.reason for item in report.flagged}
    assert flags["empty"] == "empty file" and flags["latin1"] == "not UTF-8 text"
    assert flags["badjson"].startswith("not valid JSON") and flags["nocells"].startswith("JSON but not a notebook")


def test_unknown_assignment_exits_2_with_the_known_ones(course, tmp_path, capsys):
    assert main(["--root", str(course.root), "collect", "no_such_lab", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "unknown assignment(s) no_such_lab; available: 01_backprop" in error


def test_corrupt_empty_or_missing_sources_exit_2(course, lab_bytes, tmp_path, capsys):
    good = write_zip(tmp_path / "good.zip", {f"jdoe_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0))})
    data = bytearray(good.read_bytes())
    data[data.index(b'"cells"')] ^= 0xFF  # stored uncompressed: the CRC no longer matches
    (tmp_path / "crc.zip").write_bytes(bytes(data))
    (tmp_path / "truncated.zip").write_bytes(good.read_bytes()[:200])
    write_zip(tmp_path / "empty.zip", {})
    expected = {"crc.zip": "is corrupt", "truncated.zip": "not a readable zip", "empty.zip": "empty",
                "missing.zip": "no such folder"}
    for name, message in expected.items():
        assert main(["--root", str(course.root), "collect", ASSIGNMENT, str(tmp_path / name)]) == 2
        assert message in capsys.readouterr().err
    assert not (course.root / "submitted").exists()


# -- collect: idempotent, and writes nowhere else ------------------------------------------------


def test_rerun_is_idempotent_and_a_newer_submission_replaces_an_older_one(course, lab_bytes, tmp_path, capsys):
    first = write_zip(tmp_path / "first.zip", {f"jdoe_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0))})
    arguments = ["--root", str(course.root), "collect", ASSIGNMENT]
    assert main([*arguments, str(first)]) == 0
    after_first = listing(course.root / "submitted")
    assert main([*arguments, str(first)]) == 0
    assert listing(course.root / "submitted") == after_first
    assert "already collected" in capsys.readouterr().out

    resubmitted = lab_bytes.replace(b"raise NotImplementedError()", b"return 0", 1)
    second = write_zip(tmp_path / "second.zip", {f"jdoe_{NOTEBOOK}": (resubmitted, (2024, 3, 5, 12, 0, 0))})
    assert main([*arguments, str(second)]) == 0
    assert "replaces an older submission" in capsys.readouterr().out
    assert (submitted(course, "jdoe") / NOTEBOOK).read_bytes() == resubmitted

    assert main([*arguments, str(first)]) == 0  # the old export again: the newer submission stays
    assert "older than the submission already in" in capsys.readouterr().out
    assert (submitted(course, "jdoe") / NOTEBOOK).read_bytes() == resubmitted
    assert sorted(os.listdir(course.root / "submitted" / "jdoe")) == [ASSIGNMENT]  # no staging left behind


def test_nothing_is_written_outside_submitted(course, lab_bytes, tmp_path):
    archive = write_zip(tmp_path / "hostile.zip", {
        f"../../{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        f"jdoe/../../../escape/{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        f"/abs_{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
        f"Ann Lee_101_assignsubmission_file_/{NOTEBOOK}": (lab_bytes, (2024, 3, 1, 12, 0, 0)),
    })
    before = listing(tmp_path, skip={"course"}), listing(course.root)
    collect(course, ASSIGNMENT, archive, dry_run=True)
    assert (listing(tmp_path, skip={"course"}), listing(course.root)) == before  # a dry run writes nothing

    report = collect(course, ASSIGNMENT, archive)
    assert (listing(tmp_path, skip={"course"}), listing(course.root, skip={"submitted"})) == before
    assert sorted(listing(course.root / "submitted")) == sorted(
        f"{student}/{ASSIGNMENT}/{name}" for student in ("101", "abs") for name in (NOTEBOOK, "timestamp.txt")
    )
    assert reasons(report)[f"../../{NOTEBOOK}"].startswith("unusable student id")
