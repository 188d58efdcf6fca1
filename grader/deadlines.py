"""Due dates, late penalties and extensions, from the course file ``course.toml`` in the course folder.

.. code-block:: toml

    timezone = "Europe/Zurich"      # what a date without an offset means; required for such dates

    [late]                          # the rule for every assignment, unless one has its own
    percent_per_day = 10            # of the score earned, for each day or part of a day late
    cap_percent = 50                # never more than this
    cutoff_days = 7                 # later than this, the submission scores 0

    [assignments.01_backprop]
    due = 2026-12-10T23:59:00       # a TOML date-time; with an offset (…+01:00) it needs no timezone
    late = { percent_per_day = 20 } # this assignment's own rule (the rest from [late])

    [[extensions]]
    student = "ada"
    assignment = "01_backprop"
    days = 2                        # or hours = …; the due date moves, the rule stays

The file is read into nbgrader's own gradebook fields, so that nbgrader's tools agree with the grader: the
assignment's ``duedate`` (UTC), the submission's ``extension``, and each submitted notebook's
``late_submission_penalty`` (nbgrader's score minus it is the student's mark). :func:`apply_deadlines` writes them
again whenever the grader records, exports or gives feedback, so an extension granted after grading counts.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.api import Gradebook

from course.language import tr

DAY = 86400.0


class CourseFileError(ValueError):
    """The course file says something the grader cannot use; the message says what to write instead."""


@dataclass(frozen=True)
class LateRule:
    percent_per_day: float = 0.0  # of the score earned, per started day late
    cap_percent: float = 100.0
    cutoff_days: float | None = None  # later than this: everything is lost

    def fraction_lost(self, seconds_late: float) -> float:
        """The share of the earned score a submission ``seconds_late`` after its due date loses (0 to 1)."""
        if seconds_late <= 0:
            return 0.0
        if self.cutoff_days is not None and seconds_late > self.cutoff_days * DAY:
            return 1.0
        days = math.ceil(seconds_late / DAY)
        return min(days * self.percent_per_day, self.cap_percent) / 100.0


@dataclass(frozen=True)
class Deadline:
    due: datetime  # timezone-aware
    rule: LateRule


@dataclass(frozen=True)
class Deadlines:
    zone: ZoneInfo | None = None
    assignments: dict[str, Deadline] = field(default_factory=dict)
    extensions: dict[tuple[str, str], timedelta] = field(default_factory=dict)  # (student, assignment)

    def due(self, assignment: str, student: str) -> datetime | None:
        """When ``student``'s ``assignment`` is due, their extension included; None when it has no due date."""
        deadline = self.assignments.get(assignment)
        if deadline is None:
            return None
        # in UTC, as nbgrader adds it: two days across a change to summer time are 48 hours, not 47
        return deadline.due.astimezone(timezone.utc) + self.extensions.get((student, assignment), timedelta(0))

    def shown(self, moment: datetime) -> str:
        """``moment`` as the course file's time zone writes it (UTC when the file named none)."""
        zone = self.zone or timezone.utc
        local = moment.astimezone(zone)
        return f"{local:%Y-%m-%d %H:%M} {self.zone.key if self.zone else 'UTC'}"


def read_course_file(path: Path) -> Deadlines:
    """The deadlines of the course file at ``path``; none when there is no such file."""
    if not path.is_file():
        return Deadlines()
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CourseFileError(f"{path}: {error}") from None
    _only(table, {"timezone", "late", "assignments", "extensions"}, str(path))
    zone = _zone(table.get("timezone"), path)
    default_rule = _rule(table.get("late", {}), LateRule(), f"{path} [late]")
    assignments = {}
    for name, entry in _table(table.get("assignments", {}), f"{path} [assignments]").items():
        where = f"{path} [assignments.{name}]"
        _only(_table(entry, where), {"due", "late"}, where)
        if "due" not in entry:
            raise CourseFileError(f"{where} has no due date: write due = 2026-12-10T23:59:00")
        assignments[name] = Deadline(_moment(entry["due"], zone, f"{where} due"),
                                     _rule(entry.get("late", {}), default_rule, f"{where} late"))
    extensions = {}
    listed = table.get("extensions", [])
    if not isinstance(listed, list):
        raise CourseFileError(f"{path}: extensions are [[extensions]] entries, one per student and assignment")
    for number, entry in enumerate(listed, start=1):
        where = f"{path} [[extensions]] entry {number}"
        _only(_table(entry, where), {"student", "assignment", "days", "hours"}, where)
        student, assignment = entry.get("student"), entry.get("assignment")
        if not isinstance(student, str) or not isinstance(assignment, str):
            raise CourseFileError(f'{where} needs student = "…" and assignment = "…"')
        if assignment not in assignments:
            raise CourseFileError(f"{where}: {assignment!r} has no due date in [assignments] to extend")
        length = timedelta(days=_number(entry.get("days", 0), f"{where} days"),
                           hours=_number(entry.get("hours", 0), f"{where} hours"))
        if (student, assignment) in extensions:
            raise CourseFileError(f"{where}: a second extension for {student} on {assignment}; keep one")
        extensions[(student, assignment)] = length
    return Deadlines(zone, assignments, extensions)


def _only(table: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise CourseFileError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def _table(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise CourseFileError(f"{where} must be a table")
    return value


def _number(value, where: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise CourseFileError(f"{where} = {value!r}: a number, at least {minimum:g}")
    return float(value)


def _zone(name, path: Path) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise CourseFileError(f'{path}: timezone = {name!r} is not a time zone; write an IANA name such as '
                              '"Europe/Zurich", "Asia/Shanghai" or "UTC"') from None


def _moment(value, zone: ZoneInfo | None, where: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value
        if zone is None:
            raise CourseFileError(f'{where} = {value} has no time zone: write timezone = "Europe/Zurich" (your '
                                  f"course's) at the top of the file, or an offset: {value.isoformat()}+01:00")
        return value.replace(tzinfo=zone)
    if isinstance(value, date):
        raise CourseFileError(f"{where} = {value}: give the time too, for example {value}T23:59:00")
    raise CourseFileError(f"{where} = {value!r}: a date and time, for example 2026-12-10T23:59:00 (not quoted)")


def _rule(table, base: LateRule, where: str) -> LateRule:
    _only(_table(table, where), {field.name for field in fields(LateRule)}, where)
    values = {name: _number(value, f"{where} {name}") for name, value in table.items()}
    rule = replace(base, **values)
    if rule.cap_percent > 100 or rule.percent_per_day > 100:
        raise CourseFileError(f"{where}: percentages are at most 100")
    return rule


# -- nbgrader's gradebook ---------------------------------------------------------------------------------------
def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)  # how nbgrader stores times


def apply_deadlines(deadlines: Deadlines, gradebook_url: str, assignment: str | None = None,
                    student: str | None = None) -> list[str]:
    """Write the due dates, extensions and late penalties of ``deadlines`` into nbgrader's gradebook, for every
    submission (or the one of ``student`` on ``assignment``). The course file is the one source: an assignment it
    does not list has no due date and no penalty (one removed from the file loses the penalties it gave). Returns
    what the file says that the gradebook does not know (an extension for a student it has not heard of)."""
    with Gradebook(gradebook_url) as gradebook:
        released = [gradebook.find_assignment(assignment)] if assignment else list(gradebook.assignments)
        for entry in released:
            deadline = deadlines.assignments.get(entry.name)
            entry.duedate = _naive_utc(deadline.due) if deadline else None
            for submission in entry.submissions:
                if student is not None and submission.student.id != student:
                    continue
                submission.extension = deadlines.extensions.get((submission.student.id, entry.name))
                gradebook.db.flush()
                fraction = deadline.rule.fraction_lost(submission.total_seconds_late) if deadline else 0.0
                for notebook in submission.notebooks:
                    notebook.late_submission_penalty = notebook.score * fraction if fraction else None
        gradebook.db.commit()
        known = {entry.id for entry in gradebook.students}
    return [f"course.toml gives {who} an extension on {name}, but the gradebook has no student {who!r}"
            for who, name in deadlines.extensions if who not in known]


def mark(submission) -> float:
    """A submission's (nbgrader's) score less its late penalty: the student's mark."""
    return submission.score - (submission.late_submission_penalty or 0.0)


def late_note(deadlines: Deadlines, submission) -> str | None:
    """What a late ``submission`` (nbgrader's) cost, in one sentence in the grader's language (English, translated
    for the student by the feedback); None when it was on time or its assignment has no due date."""
    deadline = deadlines.assignments.get(submission.assignment.name)
    if deadline is None or not submission.total_seconds_late:
        return None
    due = deadlines.due(submission.assignment.name, submission.student.id)
    percent = deadline.rule.fraction_lost(submission.total_seconds_late) * 100
    return tr("Submitted {late} after the due date ({due}); the late penalty is {percent}% of the score earned: "
              "{lost} of {earned} points.").format(
        late=_how_long(submission.total_seconds_late), due=deadlines.shown(due), percent=f"{percent:g}",
        lost=f"{submission.late_submission_penalty or 0:.4g}", earned=f"{submission.score:.4g}")


def _how_long(seconds: float) -> str:
    """``seconds`` in days and hours, hours and minutes, or minutes (started ones), as one translatable phrase."""
    minutes = max(1, math.ceil(seconds / 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return tr("{days} d {hours} h").format(days=days, hours=hours)
    if hours:
        return tr("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    return tr("{minutes} min").format(minutes=minutes)
