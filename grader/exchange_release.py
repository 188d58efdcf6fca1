"""What the instructor puts into the course server's exchange: a released lab for every student to fetch, and each
student's feedback where only that student can find it. nbgrader's Assignments tab fetches both as it fetches
nbgrader's own: a release is the folder ``outbound/<assignment>/``; a feedback page is
``feedback/<hash>.html``, the hash of the submission's secret (nbgrader's ``submission_secret.txt``, which the
student's submit wrote into the submission and into the student's own cache) and the notebook's name.

The files are written here rather than by nbgrader's release commands, which insist that the exchange's root be
writable by every account and that the instructor's own account run them; as root, the files are given to the
instructor's account.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.utils import notebook_hash

from grader.exchange import Exchange, ExchangeError, inbound_submissions, instructor_account
from grader.layout import Course

FILE_MODE = 0o644
FOLDER_MODE = 0o755
SECRET_FILE = "submission_secret.txt"
MAX_SECRET_BYTES = 1024


def publish(course: Course, assignment: str, exchange: Exchange, instructor: str) -> Path:
    """``labs/<assignment>`` as the exchange's release of it, replaced whole (a student never fetches half)."""
    if not exchange.outbound.is_dir():
        raise ExchangeError(f"{exchange.outbound} is missing: lay the exchange out first (python -m grader hub setup)")
    owner = _owner(instructor)
    staging = Path(tempfile.mkdtemp(prefix=f".{assignment}-", dir=exchange.outbound))
    try:
        for source in sorted(course.lab(assignment).rglob("*")):
            target = staging / source.relative_to(course.lab(assignment))
            if source.is_dir():
                target.mkdir()
            else:
                shutil.copyfile(source, target)
        for path in [staging, *staging.rglob("*")]:
            _hand_over(path, FOLDER_MODE if path.is_dir() else FILE_MODE, owner)
        target = exchange.outbound / assignment
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


@dataclass
class FeedbackRelease:
    released: list[str] = field(default_factory=list)  # "student: notebook"
    not_found: list[str] = field(default_factory=list)  # feedback with no exchange submission it answers


def release_feedback(course: Course, assignment: str, exchange: Exchange, instructor: str) -> FeedbackRelease:
    """Each feedback page of ``assignment`` into the exchange under the name the student's own submission gives it:
    the submission of theirs in the exchange whose notebook is the one graded (byte for byte)."""
    owner = _owner(instructor)
    result = FeedbackRelease()
    inbound = [submission for submission in inbound_submissions(exchange, assignment)
               if not submission.forged_name and not submission.written_by_others]
    for page in sorted(course.root.glob(f"feedback/*/{assignment}/*.html")):
        student, notebook_id = page.parent.parent.name, page.stem
        graded = course.submission(student, assignment) / f"{notebook_id}.ipynb"
        secret = _secret_of(graded, [submission for submission in inbound if submission.owner == student])
        if secret is None:
            result.not_found.append(f"{student}: {notebook_id}")
            continue
        target = exchange.feedback / f"{notebook_hash(secret=secret, notebook_id=notebook_id)}.html"
        staging = target.with_suffix(".tmp")
        shutil.copyfile(page, staging)
        _hand_over(staging, FILE_MODE, owner)
        staging.replace(target)
        result.released.append(f"{student}: {notebook_id}")
    return result


def _secret_of(graded: Path, submissions) -> str | None:
    """The secret of the exchange submission whose notebook the grader graded (None if none is)."""
    if not graded.is_file():
        return None
    graded_bytes = graded.read_bytes()
    for submission in reversed(submissions):  # the newest first
        notebook = submission.notebooks.get(graded.name)
        secret = submission.folder / SECRET_FILE
        if notebook is None or secret.is_symlink() or not secret.is_file():
            continue
        if secret.stat().st_size <= MAX_SECRET_BYTES and notebook.read_bytes() == graded_bytes:
            return secret.read_text(encoding="utf-8", errors="replace")
    return None


def _hand_over(path: Path, mode: int, owner: tuple[int, int]) -> None:
    """Give ``path`` its mode, and (as root) to the instructor's account."""
    path.chmod(mode)
    if os.geteuid() == 0:
        os.chown(path, *owner)


def _owner(instructor: str) -> tuple[int, int]:
    account = instructor_account(instructor)
    return account.pw_uid, account.pw_gid
