"""``python -m grader autograde`` runs once per course at a time (grader.lock), and works whatever the course
folder is called, ``course`` included (the name of the kit's own package)."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from probe_course import ANSWERS, NOTEBOOK, ledger, make_course, student_notebook, submit
from sandbox_required import requires_sandbox

REPOSITORY = Path(__file__).resolve().parent.parent
LOCK_FILE = ".grader-autograde.lock"
HOLD = """\
import sys, time
from pathlib import Path
from grader.lock import autograde_lock
with autograde_lock(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(600)
"""


def grader(*arguments, cwd):
    return subprocess.run([sys.executable, "-m", "grader", *arguments], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_the_lock_file_is_ignored_by_git():
    for path in (LOCK_FILE, f"some-course/{LOCK_FILE}"):
        assert subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=REPOSITORY).returncode == 0


@pytest.mark.slow
def test_a_second_autograde_on_the_same_course_stops_until_the_first_is_gone(tmp_path):
    """While one run holds the course, another exits 2 and says who holds it; once the holder is killed with
    SIGKILL (no clean-up at all), the next run goes ahead."""
    root = tmp_path / "class"
    (root / "solutions").mkdir(parents=True)
    (root / "submitted").mkdir()
    Gradebook(f"sqlite:///{root / 'gradebook.db'}").close()  # a course with nothing released: a run is instant
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        blocked = grader("--root", str(root), "autograde", "--no-sandbox", "--no-progress", cwd=tmp_path)
        assert blocked.returncode == 2, blocked.stdout + blocked.stderr
        assert (f"another `grader autograde` is running on this course (pid {holder.pid}, since "
                in blocked.stderr)
        assert "wait for it or stop it" in blocked.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert (root / LOCK_FILE).exists()  # left behind by the killed holder, and no obstacle
    after = grader("--root", str(root), "autograde", "--no-sandbox", "--no-progress", cwd=tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "0 graded" in after.stdout


@pytest.mark.slow
@requires_sandbox
def test_a_course_folder_named_course_is_graded_from_its_parent(tmp_path):
    """``python -m`` puts the current folder first on sys.path, where the instructor's ``course`` folder
    would stand in for the kit's ``course`` package in the grader and its workers."""
    root = make_course(tmp_path / "course")
    submit(root, "solver", {NOTEBOOK: student_notebook(root, ANSWERS)})
    result = grader("--root", "course", "autograde", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    record = ledger(root, "solver")
    assert (record["score"], record["max_score"]) == (30, 30), record
