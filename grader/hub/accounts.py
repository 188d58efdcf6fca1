"""The course server's accounts: one system account per student (in the students' group) and the instructor's,
each with a home of its own, made with the machine's own tools (``groupadd``, ``useradd``, ``chpasswd``).

A new account gets a random first password, listed for the instructor to hand out; an account that exists keeps
its password. A student id must already be a valid account name (lower-case letters, digits, ``_`` and ``-``).
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook

from grader.hub.box import COURSE_IN_HOME, Account
from grader.hub.settings import NAME, ServerSettings
from grader.layout import Course

PASSWORD_BYTES = 9  # 12 characters of URL-safe base64


class AccountError(Exception):
    """An account cannot be made as asked; the message says why and what to do."""


@dataclass
class AccountsReport:
    made: dict[str, str] = field(default_factory=dict)  # new account: its first password
    kept: list[str] = field(default_factory=list)


def ensure_accounts(settings: ServerSettings, students: list[str]) -> AccountsReport:
    """The students' group, the instructor's account and every student's, made where missing."""
    bad = [name for name in [settings.instructor, *students] if not NAME.fullmatch(name)]
    if bad:
        raise AccountError(f"not usable as account names: {', '.join(bad)} (lower-case letters, digits, _ and -, "
                           "starting with a letter; map the roster's ids first)")
    _ensure_group(settings.students_group)
    report = AccountsReport()
    for name, groups in [(settings.instructor, []), *((student, [settings.students_group]) for student in students)]:
        try:
            pwd.getpwnam(name)
        except KeyError:
            _run(["useradd", "--create-home", "--home-dir", str(Path(settings.homes) / name), "--shell", "/bin/bash",
                  "--user-group", *(["--groups", ",".join(groups)] if groups else []), name])
            report.made[name] = secrets.token_urlsafe(PASSWORD_BYTES)
            continue
        for group in groups:
            if name not in grp.getgrnam(group).gr_mem:
                _run(["usermod", "--append", "--groups", group, name])
        report.kept.append(name)
    if report.made:
        _run(["chpasswd"], "".join(f"{name}:{password}\n" for name, password in report.made.items()))
    return report


def write_passwords(path: Path, made: dict[str, str]) -> None:
    """The new accounts' first passwords, readable by root alone, added to those listed before."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    with path.open("a", encoding="utf-8") as listing:
        for name, password in made.items():
            listing.write(f"{name},{password}\n")


def _ensure_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        _run(["groupadd", name])


def _run(command: list[str], stdin: str | None = None) -> None:
    completed = subprocess.run(command, input=stdin, capture_output=True, text=True)
    if completed.returncode != 0:
        raise AccountError(f"{command[0]} failed: {completed.stderr.strip()} (run the set-up as root)")


COURSE_MODE = 0o750  # root's; the instructor's group reads (the formgrader); nobody else enters


def give_the_course(settings: ServerSettings, course: Course) -> list[str]:
    """The course folder readable by the instructor's group and closed to everyone else, still root's: whoever owns
    it could swap what root reads and runs there (``pyproject.toml``, the code, a link where root writes). And the
    empty folder in the instructor's home where their box shows it, root's too."""
    instructor = Account.named(settings.instructor)
    notes = []
    shown = instructor.home / COURSE_IN_HOME
    if shown.is_symlink() or (shown.exists() and not shown.is_dir()):
        raise AccountError(f"{shown} is not a plain folder; remove it and run the set-up again (the instructor's "
                           "box shows the course there)")
    if not shown.exists():
        shown.mkdir(mode=0o755)
        notes.append(f"made {shown}, where the instructor's server shows the course")
    status = os.lstat(course.root)
    if (status.st_uid, status.st_gid, status.st_mode & 0o7777) != (0, instructor.gid, COURSE_MODE):
        os.chown(course.root, 0, instructor.gid, follow_symlinks=False)
        os.chmod(course.root, COURSE_MODE)
        notes.append(f"{course.root}: root's, readable by {settings.instructor}'s group alone (mode 0750)")
    # the formgrader opens the gradebook under the exchange's course id and would add it, which it cannot
    Gradebook(course.gradebook_url, settings.course_id).close()
    return notes


def course_problems(settings: ServerSettings, course: Course) -> list[str]:
    """What keeps the instructor's formgrader from the course, or the students out of it, in words."""
    try:
        instructor = Account.named(settings.instructor)
    except KeyError:
        return [f"no account {settings.instructor!r} for the instructor: python -m grader hub setup"]
    found = []
    shown = instructor.home / COURSE_IN_HOME
    if shown.is_symlink() or not shown.is_dir():
        found.append(f"{shown} is not a folder for the instructor's server to show the course in: "
                     "python -m grader hub setup")
    status = os.lstat(course.root)
    if (status.st_uid, status.st_gid, status.st_mode & 0o7777) != (0, instructor.gid, COURSE_MODE):
        found.append(f"{course.root} should be root's, of {settings.instructor}'s group, mode 0750 (the formgrader "
                     "reads it, no student enters it): python -m grader hub setup")
    return found
