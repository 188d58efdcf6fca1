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
import re
from datetime import datetime
from pathlib import Path

from grader.collect_matching import Candidate, Match, Matcher
from grader.collect_report import CollectReport, Skipped, display_time
from grader.collect_roster import Roster, add_to_gradebook, read_roster
from grader.collect_sources import CollectError, Entry, open_source
from grader.collect_store import store_submission
from grader.deadlines import CourseFileError, read_course_file
from grader.exchange import Exchange, collect_entries
from grader.layout import TIMESTAMP_FILE, Course
from grader.release import is_registered
from grader.timestamps import parse_timestamp

__all__ = ["CollectError", "CollectReport", "Roster", "collect", "read_roster"]

MAX_FILE_BYTES = 100 * 1024 * 1024  # nbgrader's own CourseDirectory.max_file_size
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")


def collect(
    course: Course,
    assignment: str,
    source: Path | Exchange,
    roster: Roster | None = None,
    pattern: str | None = None,
    dry_run: bool = False,
) -> CollectReport:
    """Copy every matched submission of ``assignment`` from ``source`` (a folder, a zip, or the course server's
    exchange) into ``submitted/``."""
    (assignment,) = course.resolve([assignment])
    released = [path.name for path in course.source_notebooks(assignment)]
    matcher = Matcher(assignment, course.assignments(), released, pattern)
    if isinstance(source, Exchange):
        report = CollectReport(assignment, f"the exchange {source.inbound}", dry_run)
        exchange_entries, report.skipped = collect_entries(source, assignment)
        opened = contextlib.nullcontext(exchange_entries)
    else:
        source = Path(source).resolve()
        _refuse_own_folders(course, source)
        report = CollectReport(assignment, str(source), dry_run)
        opened = open_source(source)

    with opened as entries:
        by_student = _group_by_student(entries, matcher, roster, report)
        for student in sorted(by_student):
            chosen = _choose(by_student[student], matcher, report)
            if chosen:
                store_submission(course, assignment, student, chosen, report)
    if roster is not None and not dry_run:
        report.gradebook_students = add_to_gradebook(course, roster, report.students())
    if report.collected and not isinstance(source, Exchange) and _has_due_date(course, assignment):
        report.notes.append(
            f"note: course.toml gives {assignment} a due date, and these times come from {source.name}'s entries and "
            "files, not from when each student submitted (Canvas dates its zip's entries when it packs them; a file's "
            "time is whatever wrote it last): check them against the LMS before exporting, or take the assignment out "
            "of course.toml and let the LMS apply its own late policy")
    if not dry_run and report.collected and not is_registered(course, assignment):
        report.notes.append(
            f"note: gradebook.db does not know {assignment} yet; run `python -m grader release {assignment}` "
            "before `nbgrader autograde`"
        )
    return report


def _has_due_date(course: Course, assignment: str) -> bool:
    try:
        return assignment in read_course_file(course.course_file).assignments
    except CourseFileError:
        return False  # autograde and export say what is wrong with it


def _refuse_own_folders(course: Course, source: Path) -> None:
    if source == course.root or source == course.submitted or course.submitted in source.parents:
        raise CollectError(f"{source}: collect from an export, not from the course's own submitted/ folder")


def _group_by_student(
    entries: list[Entry], matcher: Matcher, roster: Roster | None, report: CollectReport
) -> dict[str, list[Candidate]]:
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

    by_student: dict[str, list[Candidate]] = {}
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
            by_student.setdefault(student, []).append(Candidate(entry, match, target, timestamp, renamed))
    return by_student


def _is_timestamp_file(entry: Entry, match: Match | str | None) -> bool:
    """nbgrader's ``timestamp.txt`` at the top of a submission folder (not a loose file of that name, and not one a
    student uploaded to an LMS beside their notebook: that would let a late student name their own time)."""
    return (
        isinstance(match, Match)
        and match.name == TIMESTAMP_FILE
        and entry.path != match.container
        and not match.nested
        and not match.uploaded
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


def _choose(candidates: list[Candidate], matcher: Matcher, report: CollectReport) -> dict[str, Candidate]:
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
                f"older duplicate ({display_time(older.timestamp)}) of {target}; "
                f"kept {newest.entry.path!r} ({display_time(newest.timestamp)})"
            )
            report.skipped.append(Skipped(older.entry.path, reason, newest.match.student))
    return chosen
