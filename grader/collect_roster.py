"""``collect --roster``: the class list, in nbgrader's ``db student import`` CSV format, and its students added to
the gradebook."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from grader.collect_sources import CollectError
from grader.layout import Course


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


def add_to_gradebook(course: Course, roster: Roster, students: list[str]) -> list[str]:
    with Gradebook(course.gradebook_url) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student, **roster.students[student])
    return students
