"""``grader autograde`` survives being killed: a rerun finishes the rest and changes no recorded grade.

Also: a resubmission is regraded by itself, and a ledger whose scores never reached the gradebook (a crash
between the two writes) is applied on the next run without running the notebook again.
"""

import json
import tempfile
from pathlib import Path
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from nbgrader.api import Gradebook

from probe_course import ANSWERS, ASSIGNMENT, NOTEBOOK, ledger, make_course, student_notebook, submit
from sandbox_required import requires_sandbox

pytestmark = [pytest.mark.slow, requires_sandbox]

SOLVED_FIRST = {"s0": 0, "s1": 1, "s2": 2, "s3": 3, "s4": 1, "s5": 3}
EXPECTED_TOTAL = {student: 10 * solved for student, solved in SOLVED_FIRST.items()}


def grader_command(root, *arguments):
    return [sys.executable, "-m", "grader", "--root", str(root), *arguments]


def totals(root):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        return {submission.student.id: submission.score
                for submission in gradebook.assignment_submissions(ASSIGNMENT)}


def graded_ledgers(root):
    return {path.parent.parent.name: json.loads(path.read_text())
            for path in (root / "autograded").glob(f"*/{ASSIGNMENT}/.grader.json")}


def sandbox_processes(scratch):
    """Kernels still running from the grader whose scratch folder is ``scratch``."""
    listing = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if str(scratch) in line]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("resume") / "course")
    for student, solved in SOLVED_FIRST.items():
        answers = {f"ex{number}_answer": ANSWERS[f"ex{number}_answer"] for number in range(1, solved + 1)}
        submit(root, student, {NOTEBOOK: student_notebook(root, answers)})
    return root


def test_kill_9_then_rerun_finishes_the_rest_and_keeps_recorded_grades(course):
    # the grader's temporary folder, which every kernel's command line names (short, for Unix sockets)
    scratch = Path(tempfile.mkdtemp(prefix="resume-", dir="/tmp"))
    run = subprocess.Popen(grader_command(course, "autograde", "--jobs", "1", "--no-progress"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**os.environ, "TMPDIR": str(scratch)})
    deadline = time.monotonic() + 300
    while len(graded_ledgers(course)) < 2 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    run.send_signal(signal.SIGKILL)
    run.wait()
    before_kill = graded_ledgers(course)
    assert 2 <= len(before_kill) < len(SOLVED_FIRST), "the run should be killed part-way"
    time.sleep(3)
    assert sandbox_processes(scratch) == [], "a kernel outlived the killed grader"
    shutil.rmtree(scratch, ignore_errors=True)

    rerun = subprocess.run(grader_command(course, "autograde", "--jobs", "2", "--no-progress"),
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr[-2000:]
    assert f"{len(before_kill)} already graded" in rerun.stdout
    after = graded_ledgers(course)
    assert set(after) == set(SOLVED_FIRST)
    # a grade is recorded once its ledger is written; the kill may come before it reaches the gradebook,
    # so the gradebook as it was after the kill may still lack it, and the rerun must add it unchanged
    for student, record in before_kill.items():
        assert after[student]["graded_at"] == record["graded_at"], f"{student} was graded again"
        assert totals(course)[student] == record["score"], f"{student}'s recorded grade changed"
    assert totals(course) == EXPECTED_TOTAL


def test_a_resubmission_is_regraded_alone(course):
    submit(course, "s0", {NOTEBOOK: student_notebook(course, ANSWERS)})
    untouched = {student: ledger(course, student)["graded_at"] for student in SOLVED_FIRST if student != "s0"}
    result = subprocess.run(grader_command(course, "autograde", "--no-progress"), capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"1 graded, {len(untouched)} already graded" in result.stdout
    assert totals(course)["s0"] == 30
    assert {student: ledger(course, student)["graded_at"] for student in untouched} == untouched


def test_a_ledger_that_missed_the_gradebook_is_applied_without_rerunning(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.remove_submission(ASSIGNMENT, "s3")
    graded_at = ledger(course, "s3")["graded_at"]
    result = subprocess.run(grader_command(course, "autograde", "--no-progress"), capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"0 graded, {len(SOLVED_FIRST)} already graded" in result.stdout
    assert totals(course)["s3"] == 30 and ledger(course, "s3")["graded_at"] == graded_at
