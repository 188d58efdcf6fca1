"""``python -m grader collect``: the second step of grading a class with nbgrader (the first is
:mod:`grader.release`).

``collect`` copies the students' notebooks from a folder or an LMS zip export
into nbgrader's ``submitted/<student>/<assignment>/`` with a ``timestamp.txt``,
and reports everything it could not match. It only reads the bytes of what it
collects (JSON is parsed to flag broken notebooks, never executed), writes
nothing outside ``submitted/<student>/<assignment>/`` (and the gradebook when a
roster is given), and gives the same result when run twice.

Where the student id comes from, in this order (the first that also names a
released notebook wins, else the first that matches):

=========================  ===================================================================
layout                     example
=========================  ===================================================================
nbgrader folder            ``submitted/<student>/<assignment>/<notebook>`` or ``<student>/<assignment>/<notebook>``
student folder             ``<student>/<notebook>``
Moodle, folders in a zip   ``Full Name_12345_assignsubmission_file_/<notebook>`` (student 12345)
Moodle, flat               ``Full Name_12345_assignsubmission_file_<notebook>``
Canvas                     ``lastname_firstname_12345_67890_<notebook>``, ``..._LATE_12345_67890_<notebook>``
plain                      ``<student>_<notebook>``
=========================  ===================================================================

``--pattern REGEX`` replaces them all: it is searched in each file's path inside
SOURCE and must have a named group ``student`` (or nbgrader's ``student_id``);
an optional group ``file`` (or ``file_id``) gives the notebook name, else the
file's own name is used.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

from nbgrader.api import Gradebook

from grader.files import replace_folder
from grader.layout import SUBMITTED, TIMESTAMP_FILE, Course
from grader.release import is_registered
from grader.submission import NotNotebook, notebook_text
from grader.timestamps import parse_timestamp, read_timestamp, timestamp_text

MAX_FILE_BYTES = 100 * 1024 * 1024  # nbgrader's own CourseDirectory.max_file_size
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
_MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<student>\d+)_assignsubmission_(?:file|onlinetext)_?$")
_MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<student>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file>.+)$")
_CANVAS_FILE = re.compile(r"^(?P<name>.+?)_(?:LATE_)?(?P<student>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
_PLAIN_FILE = re.compile(r"^(?P<student>[^_]+)_(?P<file>.+)$")
# Canvas renames a re-upload to name-1.ipynb; browsers save a second download as "name (1).ipynb".
_COPY_SUFFIX = re.compile(r"(?:-\d+| \(\d+\))$")


class CollectError(Exception):
    """The source, the roster or the pattern cannot be used at all (the command exits 2)."""


# -- reading the source -------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One file of the source: its path inside it ('/'-separated), size, time and a way to read it."""

    path: str
    size: int
    modified: datetime
    read: Callable[[], bytes]
    is_link: bool = False


@contextlib.contextmanager
def open_source(source: Path) -> Iterator[list[Entry]]:
    """Every file of a folder (of its ``submitted/`` folder when it has one) or of a zip archive."""
    if source.is_dir():
        submitted = source / SUBMITTED
        yield _folder_entries(submitted if submitted.is_dir() else source)
    elif source.is_file():
        with _open_zip(source) as archive:
            yield _zip_entries(source, archive)
    else:
        raise CollectError(f"{source}: no such folder or zip file")


def _folder_entries(folder: Path) -> list[Entry]:
    entries = []
    for directory, subfolders, files in os.walk(folder):
        subfolders.sort()
        for name in sorted(files):
            path = Path(directory) / name
            link = path.is_symlink()
            stat = path.lstat()
            entries.append(
                Entry(
                    path=path.relative_to(folder).as_posix(),
                    size=stat.st_size,
                    modified=datetime.fromtimestamp(stat.st_mtime, timezone.utc),
                    read=path.read_bytes,
                    is_link=link,
                )
            )
    return entries


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The archive, checked whole: a corrupt or encrypted one is a ``CollectError`` before anything is written."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CollectError(f"{path}: not a readable zip archive ({error})") from error
    try:
        broken = archive.testzip()  # decompresses every entry once and checks its CRC
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, NotImplementedError, ValueError) as error:
        archive.close()
        raise CollectError(f"{path}: not a readable zip archive ({error})") from error
    if broken is not None:
        archive.close()
        raise CollectError(f"{path}: not a readable zip archive (entry {broken!r} is corrupt)")
    return archive


def _zip_entries(path: Path, archive: zipfile.ZipFile) -> list[Entry]:
    files = [info for info in archive.infolist() if not info.is_dir()]
    if not files:
        raise CollectError(f"{path}: the zip archive is empty")
    return [
        Entry(
            path=info.filename.replace("\\", "/").lstrip("/"),
            size=info.file_size,
            # zip tools store the local time of the machine that packed it, without a zone
            modified=datetime(*info.date_time).astimezone(timezone.utc),
            read=lambda info=info: archive.read(info),
        )
        for info in files
    ]


# -- the roster -----------------------------------------------------------------------------


@dataclass
class Roster:
    """Students from a CSV in nbgrader's ``db student import`` format: ``id`` and optionally
    ``first_name``, ``last_name``, ``email``, ``lms_user_id`` (an LMS number that maps to ``id``)."""

    students: dict[str, dict[str, str]]

    def resolve(self, found: str) -> str | None:
        """The roster id for an id found in a file name: the id itself or an ``lms_user_id``."""
        if found in self.students:
            return found
        for student, fields in self.students.items():
            if fields.get("lms_user_id") == found:
                return student
        return None


ROSTER_FIELDS = ("first_name", "last_name", "email", "lms_user_id")


def read_roster(path: Path) -> Roster:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CollectError(f"{path}: cannot read the roster ({error})") from error
    if not rows or "id" not in rows[0]:
        raise CollectError(f"{path}: the roster needs a header with an 'id' column (and at least one student)")
    students = {}
    for row in rows:
        student = (row.get("id") or "").strip()
        if student:
            students[student] = {key: (row.get(key) or "").strip() for key in ROSTER_FIELDS if row.get(key)}
    return Roster(students)


# -- matching files to students -------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """Where a file belongs: the student id found, the file's name inside the submission, the
    submission it came with (a folder, or the file itself), and whether it sits in a subfolder."""

    student: str
    name: str
    container: str
    nested: bool = False


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
        if not moodle and len(inside) > 1:
            if inside[0] == self.assignment:
                inside = inside[1:]
            elif inside[0] in self.other_assignments:
                return None
        container = "/".join(parts[: len(parts) - len(inside)])
        return Match(student, inside[-1], container, nested=len(inside) > 1)

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
        return Match(student, PurePosixPath(name).name, path if parent == "." else parent)


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


# -- the report ------------------------------------------------------------------------------


@dataclass
class Collected:
    student: str
    target: str  # the path written, relative to the course root
    source: str  # the path inside SOURCE it came from
    timestamp: datetime
    status: str  # "new", "replaced" (an older one was there) or "unchanged" (collected before)
    notes: list[str] = field(default_factory=list)


@dataclass
class Skipped:
    source: str
    reason: str
    student: str | None = None

    def __str__(self) -> str:
        owner = f" ({self.student})" if self.student else ""
        return f"{self.source!r}{owner}: {self.reason}"


@dataclass
class CollectReport:
    assignment: str
    source: str
    dry_run: bool = False
    collected: list[Collected] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    flagged: list[Skipped] = field(default_factory=list)
    other_assignments: int = 0
    gradebook_students: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def students(self) -> list[str]:
        return sorted({item.student for item in self.collected})

    def lines(self) -> list[str]:
        where = "(dry run: nothing written)" if self.dry_run else "into submitted/"
        lines = [f"collect {self.assignment} from {self.source} {where}"]
        lines.append(f"collected ({len(self.collected)}):")
        for item in self.collected:
            details = [_STATUS_TEXT[item.status].format(when=_display(item.timestamp)), *item.notes]
            lines.append(f"  {item.student} -> {item.target}  (from {item.source!r}; {'; '.join(details)})")
        if self.flagged:
            lines.append(f"flagged, copied as they are; autograde will score them 0 ({len(self.flagged)}):")
            lines += [f"  {item}" for item in self.flagged]
        lines.append(f"not collected ({len(self.skipped)}):")
        lines += [f"  {item}" for item in self.skipped]
        if self.other_assignments:
            lines.append(f"ignored {self.other_assignments} file(s) of other assignments")
        if self.gradebook_students:
            lines.append(f"gradebook: added or updated {len(self.gradebook_students)} student(s) from the roster")
        lines += self.notes
        return lines


_STATUS_TEXT = {
    "new": "submitted {when}",
    "replaced": "submitted {when}, replaces an older submission",
    "unchanged": "submitted {when}, already collected",
}


def _display(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- collecting -------------------------------------------------------------------------------


@dataclass
class _Candidate:
    entry: Entry
    match: Match
    target: str  # the released notebook name it is collected as
    timestamp: datetime
    renamed: bool
    rivals: int = 1


def collect(
    course: Course,
    assignment: str,
    source: Path,
    roster: Roster | None = None,
    pattern: str | None = None,
    dry_run: bool = False,
) -> CollectReport:
    """Copy every matched submission of ``assignment`` from ``source`` into ``submitted/``."""
    (assignment,) = course.resolve([assignment])
    source = Path(source).resolve()
    _refuse_own_folders(course, source)
    released = [path.name for path in course.source_notebooks(assignment)]
    matcher = Matcher(assignment, course.assignments(), released, pattern)
    report = CollectReport(assignment, str(source), dry_run)

    with open_source(source) as entries:
        by_student = _group_by_student(entries, matcher, roster, report)
        for student in sorted(by_student):
            chosen = _choose(by_student[student], matcher, report)
            if chosen:
                _store(course, assignment, student, chosen, report)
    if roster is not None and not dry_run:
        report.gradebook_students = _add_to_gradebook(course, roster, report.students())
    if not dry_run and report.collected and not is_registered(course, assignment):
        report.notes.append(
            f"note: gradebook.db does not know {assignment} yet; run `python -m grader release {assignment}` "
            "before `nbgrader autograde`"
        )
    return report


def _refuse_own_folders(course: Course, source: Path) -> None:
    if source == course.root or source == course.submitted or course.submitted in source.parents:
        raise CollectError(f"{source}: collect from an export, not from the course's own submitted/ folder")


def _group_by_student(
    entries: list[Entry], matcher: Matcher, roster: Roster | None, report: CollectReport
) -> dict[str, list[_Candidate]]:
    """Notebooks that belong to a known student, grouped by student; everything else reported."""
    stamps = _container_timestamps(entries, matcher)
    notebooks: dict[tuple[str, str], list[tuple[Entry, Match]]] = {}
    for entry in entries:
        match = matcher.match(entry.path)
        if match is None:
            report.other_assignments += 1
            continue
        if isinstance(match, str):
            report.skipped.append(Skipped(entry.path, match))
            continue
        if _is_timestamp_file(entry, match):
            continue  # read above as the submission's time
        reason, student = _entry_problem(entry, match, matcher, roster)
        if reason:
            report.skipped.append(Skipped(entry.path, reason, student))
            continue
        notebooks.setdefault((student, match.container), []).append((entry, match))

    by_student: dict[str, list[_Candidate]] = {}
    for (student, container), files in sorted(notebooks.items()):
        alone = len(files) == 1 and len(matcher.released) == 1
        for entry, match in files:
            target = matcher.released_name(match.name)
            renamed = target != match.name
            if target is None and alone:
                target = matcher.released[0]
            if target is None:
                reason = f"notebook name differs from the released {', '.join(matcher.released)}"
                report.skipped.append(Skipped(entry.path, reason, student))
                continue
            timestamp = stamps.get(container, entry.modified)
            by_student.setdefault(student, []).append(_Candidate(entry, match, target, timestamp, renamed))
    return by_student


def _is_timestamp_file(entry: Entry, match: Match | str | None) -> bool:
    """nbgrader's ``timestamp.txt`` at the top of a submission folder (not a loose file of that name)."""
    return (
        isinstance(match, Match)
        and match.name == TIMESTAMP_FILE
        and entry.path != match.container
        and not match.nested
        and not entry.is_link
    )


def _container_timestamps(entries: list[Entry], matcher: Matcher) -> dict[str, datetime]:
    """Times from ``timestamp.txt`` files inside submission folders (nbgrader's own layout)."""
    stamps = {}
    for entry in entries:
        match = matcher.match(entry.path)
        if _is_timestamp_file(entry, match) and entry.size < 1000:
            moment = parse_timestamp(entry.read().decode("utf-8", "replace"))
            if moment is not None:
                stamps[match.container] = moment
    return stamps


def _entry_problem(
    entry: Entry, match: Match, matcher: Matcher, roster: Roster | None
) -> tuple[str | None, str | None]:
    """(the reason this file is not a candidate or None, the student it belongs to)."""
    if not _STUDENT_ID.match(match.student) or ".." in match.student:
        return f"unusable student id {match.student!r} (letters, digits and . _ @ + - only)", None
    student = match.student
    if roster is not None:
        student = roster.resolve(match.student)
        if student is None:
            return f"student {match.student} is not in the roster", match.student
    if match.nested:
        return "extra file in a subfolder, ignored", student
    if entry.is_link:
        return "a link, ignored", student
    if not match.name.lower().endswith(".ipynb"):
        return "extra file, ignored", student
    if entry.size > MAX_FILE_BYTES:
        return f"larger than {MAX_FILE_BYTES // 2**20} MB, not collected", student
    return None, student


def _choose(candidates: list[_Candidate], matcher: Matcher, report: CollectReport) -> dict[str, _Candidate]:
    """The newest candidate for each released notebook; the older ones are reported."""
    chosen = {}
    for target in matcher.released:
        rivals = [candidate for candidate in candidates if candidate.target == target]
        if not rivals:
            continue
        rivals.sort(key=lambda c: (c.timestamp, not c.renamed, c.entry.path))
        newest = rivals[-1]
        newest.rivals = len(rivals)
        chosen[target] = newest
        for older in rivals[:-1]:
            reason = (
                f"older duplicate ({_display(older.timestamp)}) of {target}; "
                f"kept {newest.entry.path!r} ({_display(newest.timestamp)})"
            )
            report.skipped.append(Skipped(older.entry.path, reason, newest.match.student))
    return chosen


def _store(
    course: Course, assignment: str, student: str, chosen: dict[str, _Candidate], report: CollectReport
) -> None:
    """Write one student's submission folder, unless an equal or newer one is already there."""
    folder = course.submission(student, assignment)
    timestamp = max(candidate.timestamp for candidate in chosen.values())
    files = {target: candidate.entry.read() for target, candidate in chosen.items()}
    files[TIMESTAMP_FILE] = (timestamp_text(timestamp) + "\n").encode()
    existing = folder.relative_to(course.root)
    status = _compare_with_existing(folder, files, timestamp)
    if status in _REFUSALS:
        for candidate in chosen.values():
            reason = _REFUSALS[status].format(folder=existing, when=_display(candidate.timestamp))
            report.skipped.append(Skipped(candidate.entry.path, reason, student))
        return
    if status != "unchanged" and not report.dry_run:
        replace_folder(folder, files)
    for target, candidate in chosen.items():
        item = Collected(
            student,
            str((folder / target).relative_to(course.root)),
            candidate.entry.path,
            candidate.timestamp,
            status,
        )
        if candidate.renamed:
            item.notes.append(f"renamed from {candidate.match.name!r}")
        if candidate.rivals > 1:
            item.notes.append(f"the newest of {candidate.rivals} submissions")
        if status == "replaced" and course.autograded_submission(student, assignment).exists():
            item.notes.append(f"autograded before: run `nbgrader autograde {assignment} --student {student} --force`")
        report.collected.append(item)
        problem = notebook_text(files[target])
        if isinstance(problem, NotNotebook):
            report.flagged.append(Skipped(item.target, problem.flag, student))


_REFUSALS = {
    "older": "submitted {when}, older than the submission already in {folder}; not copied",
    "no timestamp": f"{{folder}} exists without a readable {TIMESTAMP_FILE}; left alone (move it away to collect)",
}


def _compare_with_existing(folder: Path, files: dict[str, bytes], timestamp: datetime) -> str:
    """One of new, unchanged, replaced, or a key of ``_REFUSALS`` when the folder must stay as it is."""
    if not folder.exists():
        return "new"
    existing = read_timestamp(folder)
    if existing is None:
        return "no timestamp"
    if existing > timestamp:
        return "older"
    present = {path.name for path in folder.iterdir()}
    same = present == set(files) and all((folder / name).read_bytes() == data for name, data in files.items())
    return "unchanged" if same else "replaced"


def _add_to_gradebook(course: Course, roster: Roster, students: list[str]) -> list[str]:
    with Gradebook(course.gradebook_url) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student, **roster.students[student])
    return students

