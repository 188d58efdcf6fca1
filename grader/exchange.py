"""The course server's nbgrader exchange: a folder every account on the server shares, laid out so that a student
reads the releases and their own feedback and writes only their own submission, and read back by the grader
trusting the file system rather than what a student wrote.

nbgrader's own layout, so that its Assignments tab works unchanged::

    ROOT/                  root, 1777   nbgrader wants it writable by every account; sticky: none removes or
                                        renames an entry it does not own
    ROOT/COURSE/           instructor, 0755   made here, before any student could take the course's name
    ROOT/COURSE/outbound/  instructor, 0755   the released labs, read by all
    ROOT/COURSE/inbound/   instructor, 3733   a student makes a submission folder there, cannot list the others,
                                              and (sticky) cannot remove or rename one
    ROOT/COURSE/feedback/  instructor, 0711   a student reads the feedback whose name (a hash of their own
                                              submission) they know, and cannot list the others

nbgrader names a submission folder ``<student>+<assignment>+<time>+<random>`` and writes the time into it;
both are the student's words, and it leaves the folder writable by every account, hidden by its random name (the
server's students submit with :class:`course.exchange_submit.SealedSubmit`, which closes it).
:func:`inbound_submissions` reads a folder's student from its owner (the account that made it) and its time from
the file system's change times, which no student can set back: a folder made in another student's name, a file in
it that another account wrote, or a time earlier than the file system saw, is reported, not believed.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from grader.collect_report import Skipped
from grader.collect_sources import Entry
from grader.layout import TIMESTAMP_FILE
from grader.timestamps import parse_timestamp, timestamp_text

ROOT_MODE = 0o1777
COURSE_MODE = OUTBOUND_MODE = 0o755
INBOUND_MODE = 0o3733
FEEDBACK_MODE = 0o711
CLOCK_SLACK = timedelta(minutes=2)  # how far a submission's own time may trail the file system's unreported


class ExchangeError(Exception):
    """The exchange cannot be laid out or read as asked (the command exits 2)."""


@dataclass(frozen=True)
class Exchange:
    """Where the exchange is and which course of it is ours."""

    root: Path
    course_id: str

    @property
    def course(self) -> Path:
        return self.root / self.course_id

    @property
    def inbound(self) -> Path:
        return self.course / "inbound"

    @property
    def outbound(self) -> Path:
        return self.course / "outbound"

    @property
    def feedback(self) -> Path:
        return self.course / "feedback"

    def folders(self) -> list[tuple[Path, int, bool]]:
        """(folder, mode, owned by the instructor) for each folder of the layout, root first."""
        return [(self.root, ROOT_MODE, False), (self.course, COURSE_MODE, True),
                (self.outbound, OUTBOUND_MODE, True), (self.inbound, INBOUND_MODE, True),
                (self.feedback, FEEDBACK_MODE, True)]


def instructor_account(name: str) -> pwd.struct_passwd:
    """The instructor's system account, or an ExchangeError that says how to make it."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise ExchangeError(f"no account named {name!r} on this machine: make the course's accounts first "
                            "(python -m grader hub setup)") from None


def lay_out(exchange: Exchange, instructor: str) -> list[str]:
    """Make (or mend) the exchange's folders with their owners and modes; what was changed, in words.

    Needs the right to change owners (root): the course server's set-up runs it."""
    account = instructor_account(instructor)
    changed = []
    for folder, mode, instructors in exchange.folders():
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise ExchangeError(f"{folder} is not a folder: remove it, then lay the exchange out again")
        if not folder.exists():
            folder.mkdir()
            changed.append(f"made {folder}")
        owner = (account.pw_uid, account.pw_gid) if instructors else (0, 0)
        status = folder.stat()
        if (status.st_uid, status.st_gid) != owner:
            os.chown(folder, *owner)
            changed.append(f"{folder}: owner {_account_name(owner[0])}")
        if stat.S_IMODE(folder.stat().st_mode) != mode:
            os.chmod(folder, mode)  # after chown, which clears the set-group-id bit
            changed.append(f"{folder}: mode {mode:04o}")
    return changed


def layout_problems(exchange: Exchange, instructor: str) -> list[str]:
    """How the exchange differs from its layout (a folder missing, owned by another, or with another mode)."""
    problems = []
    expected_uid = instructor_account(instructor).pw_uid
    for folder, mode, instructors in exchange.folders():
        if not folder.is_dir() or folder.is_symlink():
            problems.append(f"{folder} is missing")
            continue
        status = folder.stat()
        owner = expected_uid if instructors else 0
        if status.st_uid != owner:
            problems.append(f"{folder} is owned by {_account_name(status.st_uid)}, not {_account_name(owner)}")
        if stat.S_IMODE(status.st_mode) != mode:
            problems.append(f"{folder} has mode {stat.S_IMODE(status.st_mode):04o}, not {mode:04o}")
    return problems


@dataclass
class InboundSubmission:
    """One submission folder of the inbound folder, as the file system vouches for it."""

    folder: Path
    claimed_student: str
    owner: str
    received: datetime  # the latest change time of the folder or anything in it
    claimed_time: datetime | None
    notebooks: dict[str, Path] = field(default_factory=dict)
    written_by_others: dict[str, str] = field(default_factory=dict)  # file name: the account that wrote it

    @property
    def forged_name(self) -> bool:
        return self.claimed_student != self.owner

    @property
    def time(self) -> datetime:
        """When the exchange saw the submission complete: what a due date is measured against. The student's own
        ``timestamp.txt`` is written a moment before the notebooks, by a clock and a file the student controls."""
        return self.received

    @property
    def time_disputed(self) -> bool:
        """The student's ``timestamp.txt`` is missing, or further from the exchange's time than clocks drift."""
        return self.claimed_time is None or abs(self.received - self.claimed_time) > CLOCK_SLACK


def inbound_submissions(exchange: Exchange, assignment: str) -> list[InboundSubmission]:
    """Every submission folder of ``assignment`` in the inbound folder, oldest first (read as the instructor)."""
    try:
        names = sorted(os.listdir(exchange.inbound))
    except OSError as error:
        raise ExchangeError(f"cannot list {exchange.inbound}: {error.strerror}; collect as the course's "
                            "instructor (or root)") from None
    found = []
    for name in names:
        parts = name.split("+")
        folder = exchange.inbound / name
        if len(parts) < 3 or parts[1] != assignment or folder.is_symlink() or not folder.is_dir():
            continue
        status = folder.lstat()
        changes = [status.st_ctime]
        notebooks, written_by_others = {}, {}
        for path in folder.iterdir():
            if path.is_symlink() or not path.is_file():
                continue
            file_status = path.lstat()
            changes.append(file_status.st_ctime)
            if file_status.st_uid != status.st_uid:
                written_by_others[path.name] = _account_name(file_status.st_uid)
            if path.suffix == ".ipynb":
                notebooks[path.name] = path
        found.append(InboundSubmission(
            folder, claimed_student=parts[0], owner=_account_name(status.st_uid),
            received=datetime.fromtimestamp(max(changes), timezone.utc), claimed_time=_claimed_time(folder),
            notebooks=notebooks, written_by_others=written_by_others))
    return sorted(found, key=lambda submission: submission.received)


def _claimed_time(folder: Path) -> datetime | None:
    path = folder / TIMESTAMP_FILE
    if path.is_symlink() or not path.is_file() or path.stat().st_size > 1000:
        return None
    return parse_timestamp(path.read_text(encoding="utf-8", errors="replace"))


def _account_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_members(group: str) -> set[str]:
    """The accounts in a system group (its listed members and those whose primary group it is)."""
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return set()
    return set(entry.gr_mem) | {account.pw_name for account in pwd.getpwall() if account.pw_gid == entry.gr_gid}


def collect_entries(exchange: Exchange, assignment: str) -> tuple[list[Entry], list[Skipped]]:
    """The inbound folder as ``collect`` reads a source: each student's newest submission as nbgrader's
    ``<student>/<assignment>/`` folder with a ``timestamp.txt`` of its trusted time; the folders made in another
    student's name and the older submissions, as skipped (with why)."""
    entries, skipped, newest = [], [], {}
    for submission in inbound_submissions(exchange, assignment):
        if submission.forged_name:
            skipped.append(Skipped(submission.folder.name, f"made by the account {submission.owner} in the name of "
                                   f"{submission.claimed_student}: not collected", submission.owner))
            continue
        if submission.written_by_others:
            written = ", ".join(f"{name} by {account}"
                                for name, account in sorted(submission.written_by_others.items()))
            skipped.append(Skipped(submission.folder.name, f"files written by another account ({written}): not "
                                   f"collected; the student's own copy is in their nbgrader cache",
                                   submission.owner))
            continue
        if submission.owner in newest:
            older = newest[submission.owner]
            skipped.append(Skipped(older.folder.name, "an older submission; the newest is collected", older.owner))
        newest[submission.owner] = submission
    for student, submission in sorted(newest.items()):
        container = f"{student}/{assignment}"
        moment = submission.time
        if submission.time_disputed:
            skipped.append(Skipped(submission.folder.name, "its timestamp.txt disagrees with when the exchange "
                                   f"received it; collected with the exchange's time", student))
        entries.append(_text_entry(f"{container}/{TIMESTAMP_FILE}", timestamp_text(moment), moment))
        entries += [_file_entry(f"{container}/{name}", path, moment)
                    for name, path in sorted(submission.notebooks.items())]
    return entries, skipped


def _text_entry(path: str, text: str, moment: datetime) -> Entry:
    data = text.encode("utf-8")
    return Entry(path, len(data), moment, lambda: data)


def _file_entry(path: str, file: Path, moment: datetime) -> Entry:
    return Entry(path, file.lstat().st_size, moment, file.read_bytes)
