"""The course server's exchange with real accounts: an instructor releases lab 01 with nbgrader's own command,
two students fetch and submit it with nbgrader's own commands, each in their box (grader/hub/box.py) as their own
account; one of them then tries what a determined student would. Each attack is a test: they must all fail, and
``grader collect --exchange`` must collect each student's own work under their own name, at the exchange's time.

Needs root (the accounts are made here and removed afterwards) and bubblewrap; skipped elsewhere, required where
``COURSE_SERVER_REQUIRED=1`` (.ci/run)."""

import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import nbformat
import pytest

from grader.collect import collect
from grader.exchange import INBOUND_MODE, ROOT_MODE, Exchange, lay_out, layout_problems
from grader.exchange_release import publish
from grader.hub.box import Account, StudentBox
from course_server import require_course_server
from grader.layout import Course
from grader.timestamps import parse_timestamp, timestamp_text

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.locate(ROOT)
ASSIGNMENT, COURSE_ID = "01_backprop", "dl101"
INSTRUCTOR, ADA, BOB = "dlk-teach", "dlk-ada", "dlk-bob"
SEALED = "--ExchangeFactory.submit=course.exchange_submit.SealedSubmit"  # as the server configures its students


require_course_server()


@pytest.fixture(scope="module")
def server():
    """Three accounts with homes under a fresh folder, the exchange laid out, lab 01 in the instructor's course."""
    base = Path(tempfile.mkdtemp(prefix="dlk-server-", dir="/tmp"))
    base.chmod(0o755)
    names = (INSTRUCTOR, ADA, BOB)
    for name in names:
        subprocess.run(["userdel", "-r", name], capture_output=True)  # a run killed before its clean-up
        subprocess.run(["useradd", "--create-home", "--home-dir", str(base / name), "--shell", "/usr/sbin/nologin",
                        "--user-group", name], check=True, capture_output=True)
    exchange = Exchange(base / "exchange", COURSE_ID)
    exchange.root.mkdir()
    lay_out(exchange, INSTRUCTOR)
    course_root = base / INSTRUCTOR / "course"
    shutil.copytree(COURSE.lab(ASSIGNMENT), course_root / "labs" / ASSIGNMENT)
    subprocess.run(["chown", "-R", f"{INSTRUCTOR}:{INSTRUCTOR}", str(course_root)], check=True)
    try:
        yield base, exchange, course_root
    finally:
        for name in names:
            subprocess.run(["userdel", "-r", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def run_as(name: str, exchange: Exchange, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    account = Account.named(name)
    box = StudentBox(exchange.root)
    completed = subprocess.run(box.command(list(argv), account), env=box.environment(account), capture_output=True,
                               text=True, timeout=120)
    if check:
        assert completed.returncode == 0, f"{name}: {' '.join(argv[:4])}:\n{completed.stderr[-2000:]}"
    return completed


def nbgrader(name: str, exchange: Exchange, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    return run_as(name, exchange, sys.executable, "-m", "nbgrader", *arguments, f"--Exchange.root={exchange.root}",
                  f"--CourseDirectory.course_id={COURSE_ID}", check=check)


def python_as(name: str, exchange: Exchange, code: str) -> str:
    return run_as(name, exchange, sys.executable, "-c", code, check=False).stdout.strip()


@pytest.fixture(scope="module")
def submitted(server):
    """The release, and Ada's and Bob's submissions, made with nbgrader's own commands."""
    base, exchange, course_root = server
    nbgrader(INSTRUCTOR, exchange, "release_assignment", ASSIGNMENT, f"--CourseDirectory.root={course_root}",
             "--CourseDirectory.release_directory=labs")
    for name in (ADA, BOB):
        nbgrader(name, exchange, "fetch_assignment", ASSIGNMENT)
        notebook = base / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        work = nbformat.read(notebook, as_version=4)
        work.cells.append(nbformat.v4.new_markdown_cell(f"written by {name}"))
        nbformat.write(work, notebook)
        nbgrader(name, exchange, "submit", ASSIGNMENT, SEALED)
    return server


def test_the_exchange_is_laid_out_as_documented(server):
    _, exchange, _ = server
    assert layout_problems(exchange, INSTRUCTOR) == []
    assert exchange.root.stat().st_mode & 0o7777 == ROOT_MODE
    assert exchange.inbound.stat().st_mode & 0o7777 == INBOUND_MODE


def test_students_fetch_the_release_and_submit_with_nbgraders_own_commands(submitted):
    base, exchange, _ = submitted
    assert (base / ADA / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    owners = sorted(entry.owner() for entry in exchange.inbound.iterdir())
    assert owners == [ADA, BOB]
    assert {entry.stat().st_mode & 0o777 for entry in exchange.inbound.iterdir()} == {0o755}, "not sealed"


def test_a_student_cannot_list_the_inbound_folder_or_feedback(submitted):
    _, exchange, _ = submitted
    for folder in (exchange.inbound, exchange.feedback):
        said = python_as(BOB, exchange, f"import os\ntry:\n    print(os.listdir({str(folder)!r}))\n"
                                        f"except PermissionError:\n    print('refused')")
        assert said == "refused", f"Bob listed {folder}: {said}"


def test_a_student_cannot_remove_rename_or_change_another_students_submission(submitted):
    _, exchange, _ = submitted
    (adas,) = [entry for entry in exchange.inbound.iterdir() if entry.owner() == ADA]
    attempts = {
        "remove": f"import shutil; shutil.rmtree({str(adas)!r})",
        "rename": f"import os; os.rename({str(adas)!r}, {str(adas) + 'x'!r})",
        "overwrite": f"open({str(adas / (ASSIGNMENT + '.ipynb'))!r}, 'w').write('{{}}')",
        "add a file": f"open({str(adas / 'extra.ipynb')!r}, 'w').write('{{}}')",
    }
    for attempt, code in attempts.items():
        said = python_as(BOB, exchange, f"try:\n    {code}\n    print('done')\nexcept OSError:\n    print('refused')")
        assert said == "refused", f"Bob could {attempt} Ada's submission"
    assert adas.is_dir() and "written by dlk-ada" in (adas / f"{ASSIGNMENT}.ipynb").read_text()


def test_a_student_cannot_change_the_release_or_take_the_course(submitted):
    _, exchange, _ = submitted
    release = exchange.outbound / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for attempt, code in {"overwrite the release": f"open({str(release)!r}, 'w').write('x')",
                          "rename the course": f"import os; os.rename({str(exchange.course)!r}, "
                                               f"{str(exchange.course) + '-old'!r})",
                          "publish a release": f"import os; os.mkdir({str(exchange.outbound / 'fake')!r})"}.items():
        said = python_as(BOB, exchange, f"try:\n    {code}\n    print('done')\nexcept OSError:\n    print('refused')")
        assert said == "refused", f"Bob could {attempt}"


def test_a_submission_in_another_students_name_is_not_collected_as_theirs(submitted, tmp_path):
    """Bob makes an inbound folder named for Ada, with a notebook of his, as nbgrader names them."""
    base, exchange, _ = submitted
    forged = exchange.inbound / f"{ADA}+{ASSIGNMENT}+2020-01-01 00:00:00.000000 UTC+forged"
    notebook = base / BOB / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    python_as(BOB, exchange, f"import os, shutil; os.mkdir({str(forged)!r}); "
                             f"shutil.copy({str(notebook)!r}, {str(forged)!r})")
    assert forged.owner() == BOB
    course = course_copy(tmp_path)
    report = collect(course, ASSIGNMENT, exchange)
    collected = {item.student: (course.root / item.target).read_text() for item in report.collected}
    assert "written by dlk-ada" in collected[ADA] and "written by dlk-bob" in collected[BOB]
    assert any(skip.source == forged.name and "in the name of dlk-ada" in skip.reason for skip in report.skipped)


def test_a_submission_dated_earlier_than_the_exchange_saw_it_keeps_the_exchanges_time(submitted, tmp_path):
    """Bob rewrites the timestamp.txt of his own submission to a day earlier: the exchange's time is kept."""
    _, exchange, _ = submitted
    (bobs,) = [entry for entry in exchange.inbound.iterdir()
               if entry.owner() == BOB and not entry.name.startswith(ADA)]
    claimed = parse_timestamp((bobs / "timestamp.txt").read_text())
    earlier = timestamp_text(claimed - timedelta(days=1))
    time.sleep(1.1)
    python_as(BOB, exchange, f"open({str(bobs / 'timestamp.txt')!r}, 'w').write({earlier!r})")
    course = course_copy(tmp_path)
    report = collect(course, ASSIGNMENT, exchange)
    (bob,) = [item for item in report.collected if item.student == BOB]
    assert bob.timestamp > claimed, "the forged earlier time was believed"
    assert any(skip.student == BOB and "disagrees" in skip.reason for skip in report.skipped)


def course_copy(folder: Path) -> Course:
    root = folder / "course"
    shutil.copytree(COURSE.solution(ASSIGNMENT), root / "solutions" / ASSIGNMENT)
    shutil.copytree(COURSE.lab(ASSIGNMENT), root / "labs" / ASSIGNMENT)
    return Course(root)


def test_a_file_another_account_wrote_into_a_submission_is_refused_at_collection(submitted, tmp_path):
    """nbgrader's own Submit leaves the folder writable by all (hidden by its random name). Suppose Bob learns the
    name of Ada's second submission, made that way, and replaces her notebook: the grader refuses that submission
    and collects her earlier one."""
    base, exchange, _ = submitted
    before = set(exchange.inbound.iterdir())
    nbgrader(ADA, exchange, "submit", ASSIGNMENT)
    (second,) = set(exchange.inbound.iterdir()) - before
    bobs_work = base / BOB / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    python_as(BOB, exchange, f"import os, shutil; os.remove({str(second / (ASSIGNMENT + '.ipynb'))!r}); "
                             f"shutil.copy({str(bobs_work)!r}, {str(second)!r})")
    report = collect(course_copy(tmp_path), ASSIGNMENT, exchange)
    (ada,) = [item for item in report.collected if item.student == ADA]
    assert "written by dlk-ada" in (tmp_path / "course" / ada.target).read_text()
    assert any(skip.source == second.name and "written by another account" in skip.reason and BOB in skip.reason
               for skip in report.skipped)


def test_the_graders_release_is_the_lab_given_to_the_instructor_and_read_only_to_students(submitted, tmp_path):
    _, exchange, _ = submitted
    released = publish(course_copy(tmp_path), ASSIGNMENT, exchange, INSTRUCTOR)
    files = [released, *released.rglob("*")]
    assert {path.owner() for path in files} == {INSTRUCTOR}
    assert {path.stat().st_mode & 0o777 for path in files} == {0o755, 0o644}
    lab = COURSE.lab(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    assert (released / f"{ASSIGNMENT}.ipynb").read_bytes() == lab.read_bytes()


def test_a_class_round_through_the_exchange_hands_each_student_their_own_feedback(submitted, tmp_path):
    """The instructor's round with the grader's commands, as docs/instructors.md gives it: release (the
    gradebook), collect --exchange, autograde (sandboxed), feedback --exchange; then nbgrader's own fetch_feedback,
    run by each student, finds that student's graded notebook and no other."""
    base, exchange, _ = submitted
    course = course_copy(tmp_path)
    (course.root / "pyproject.toml").write_text(
        f'[tool.course.server]\ncourse_id = "{COURSE_ID}"\nexchange_root = "{exchange.root}"\n'
        f'instructor = "{INSTRUCTOR}"\n')
    grader = [sys.executable, "-m", "grader", "--root", str(course.root)]
    seconds = {}
    for step in (["release", ASSIGNMENT], ["collect", ASSIGNMENT, "--exchange"],
                 ["autograde", ASSIGNMENT, "--no-progress"], ["feedback", ASSIGNMENT, "--exchange"]):
        started = time.monotonic()
        completed = subprocess.run([*grader, *step], capture_output=True, text=True, timeout=600)
        seconds[step[0]] = time.monotonic() - started
        assert completed.returncode == 0, f"grader {step[0]}:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}"
    assert "2 feedback page(s) into the exchange" in completed.stdout, completed.stdout
    print("\nthe instructor's round for 2 students: " + ", ".join(f"{step} {took:.1f} s" for step, took in
                                                                  seconds.items() if step != "release"))
    for name, other in ((ADA, BOB), (BOB, ADA)):
        nbgrader(name, exchange, "fetch_feedback", ASSIGNMENT)
        fetched = [path.read_text() for path in (base / name / ASSIGNMENT / "feedback").rglob("*.html")]
        assert fetched and all(f"written by {name}" in page for page in fetched), (name, len(fetched))
        assert not any(f"written by {other}" in page for page in fetched)
