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
from grader.layout import KIT_CHECKOUT, Course

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


def give_the_course(settings: ServerSettings, course: Course) -> list[str]:
    """The course folder and its gradebook the instructor's (the formgrader writes manual grades into it; the
    grader's commands, run as root, keep the owner of what they rewrite), and the empty folder in the instructor's
    home where their box shows the course. Not when the course folder is the kit's checkout: whoever owns that folder
    can swap the code that root runs as ``python -m grader``."""
    instructor = Account.named(settings.instructor)
    shown = instructor.home / COURSE_IN_HOME
    shown.mkdir(exist_ok=True)
    owned = [shown]
    notes = []
    if _is_the_kit(course):
        notes.append(f"{course.root} is the kit's own checkout, so it stays root's and the formgrader can read grades "
                     "but not save manual ones; for that, keep the course in its own folder (grader --root PATH)")
    else:
        if not course.gradebook.exists():
            Gradebook(course.gradebook_url).close()  # nbgrader's empty gradebook, made now so it is the instructor's
        owned += [course.root, course.gradebook]
    for path in owned:
        if path.stat().st_uid != instructor.uid:
            os.chown(path, instructor.uid, instructor.gid)
            notes.append(f"{path} is now {settings.instructor}'s")
    return notes


def _is_the_kit(course: Course) -> bool:
    return course.root.resolve() == KIT_CHECKOUT.resolve()


def course_problems(settings: ServerSettings, course: Course) -> list[str]:
    """What keeps the instructor's formgrader from the course, in words."""
    try:
        instructor = Account.named(settings.instructor)
    except KeyError:
        return [f"no account {settings.instructor!r} for the instructor: python -m grader hub setup"]
    theirs = [instructor.home / COURSE_IN_HOME] + ([] if _is_the_kit(course) else [course.root, course.gradebook])
    return [f"{path} is not {settings.instructor}'s, so the formgrader cannot write grades: python -m grader hub setup"
            for path in theirs if not path.exists() or path.stat().st_uid != instructor.uid]
