"""``collect``'s reading of a file's path in the source: the student id and the notebook name, from the layouts
nbgrader and the LMSs write (the table in :mod:`grader.collect`) or from the instructor's ``--pattern``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Iterable

from grader.collect_sources import CollectError, Entry

_MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<student>\d+)_assignsubmission_(?:file|onlinetext)_?$")
_MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<student>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file>.+)$")
_CANVAS_FILE = re.compile(r"^(?P<name>.+?)_(?:LATE_)?(?P<student>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
_PLAIN_FILE = re.compile(r"^(?P<student>[^_]+)_(?P<file>.+)$")
# Canvas renames a re-upload to name-1.ipynb; browsers save a second download as "name (1).ipynb".
_COPY_SUFFIX = re.compile(r"(?:-\d+| \(\d+\))$")


@dataclass(frozen=True)
class Match:
    """Where a file belongs: the student id found, the file's name inside the submission, the
    submission it came with (a folder, or the file itself), and whether it sits in a subfolder."""

    student: str
    name: str
    container: str
    nested: bool = False
    uploaded: bool = False  # not nbgrader's own folders (an LMS's, a --pattern's): no file in it vouches for a time


@dataclass
class Candidate:
    """A file matched to a student: a candidate for the released notebook ``target`` (the newest is collected)."""

    entry: Entry
    match: Match
    target: str  # the released notebook name it is collected as
    timestamp: datetime
    renamed: bool
    rivals: int = 1


class Matcher:
    """Finds the student id and the notebook name in a file's path inside the source."""

    def __init__(self, assignment: str, assignments: Iterable[str], released: list[str], pattern: str | None):
        self.assignment = assignment
        self.other_assignments = set(assignments) - {assignment}
        self.released = released
        self.pattern = _compile_pattern(pattern) if pattern else None
        self.file_patterns = [_MOODLE_FILE, _CANVAS_FILE, *map(_plain_pattern_for, released), _PLAIN_FILE]

    def released_name(self, name: str) -> str | None:
        """The released notebook ``name`` stands for: the same name, or one with a copy suffix."""
        stem, suffix = os.path.splitext(name)
        if suffix.lower() != ".ipynb":
            return None
        for candidate in (name, _COPY_SUFFIX.sub("", stem) + ".ipynb"):
            if candidate in self.released:
                return candidate
        return None

    def match(self, path: str) -> Match | str | None:
        """A ``Match``, or the reason there is none, or None for a file of another assignment."""
        if self.pattern is not None:
            return self._match_pattern(path)
        parts = path.split("/")
        if len(parts) == 1:
            return self._match_file_name(path)
        moodle = _MOODLE_FOLDER.match(parts[0])
        student = moodle["student"] if moodle else parts[0]
        inside = parts[1:]
        nbgrader_layout = False  # <student>/<assignment>/…: nbgrader's own folders, whose timestamp.txt it wrote
        if not moodle and len(inside) > 1:
            if inside[0] == self.assignment:
                inside = inside[1:]
                nbgrader_layout = True
            elif inside[0] in self.other_assignments:
                return None
        container = "/".join(parts[: len(parts) - len(inside)])
        return Match(student, inside[-1], container, nested=len(inside) > 1, uploaded=not nbgrader_layout)

    def _match_file_name(self, name: str) -> Match | str:
        if any(name.startswith(os.path.splitext(released)[0]) for released in self.released):
            return "no student id in the name (it starts with the notebook's own name)"
        found = [match for match in (pattern.match(name) for pattern in self.file_patterns) if match]
        if not found:
            return "no student id in the name"
        best = next((match for match in found if self.released_name(match["file"])), found[0])
        return Match(best["student"], best["file"], name)

    def _match_pattern(self, path: str) -> Match | str:
        match = self.pattern.search(path)
        if not match:
            return "no student id in the name (--pattern does not match)"
        groups = match.groupdict()
        student = groups.get("student") or groups.get("student_id")
        if not student:
            return "no student id in the name (--pattern matched an empty student group)"
        name = groups.get("file") or groups.get("file_id") or PurePosixPath(path).name
        parent = str(PurePosixPath(path).parent)
        return Match(student, PurePosixPath(name).name, path if parent == "." else parent, uploaded=True)


def _compile_pattern(pattern: str) -> re.Pattern:
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise CollectError(f"--pattern {pattern!r} is not a regular expression ({error})") from error
    if not {"student", "student_id"} & set(compiled.groupindex):
        raise CollectError(f"--pattern {pattern!r} needs a named group (?P<student>...)")
    return compiled


def _plain_pattern_for(released_name: str) -> re.Pattern:
    """``<student>_<released name>``, so that a student id may itself contain underscores."""
    stem = re.escape(os.path.splitext(released_name)[0])
    return re.compile(rf"^(?P<student>.+)_(?P<file>{stem}(?:-\d+| \(\d+\))?\.ipynb)$")
