"""``python -m grader export --format canvas|moodle``: the marks in the file an LMS's gradebook import takes as it is.

Both files are UTF-8 CSV with one row per student and one column per assignment, holding the mark after any late
penalty (:mod:`grader.deadlines`); a student who submitted nothing, or whose mark still needs manual grading, has an
empty cell, which both LMSs read as "no grade" rather than 0.

- **Canvas** (*Grades > Import*): the columns of Canvas's own gradebook export, ``Student`` ("Last, First"),
  ``ID`` (the Canvas user id: the roster's ``lms_user_id``, required), ``SIS User ID``, ``SIS Login ID``,
  ``Section``, then the assignments, and a second row ``Points Possible`` with each assignment's points. An
  assignment column Canvas does not know yet becomes a new assignment of those points.
- **Moodle** (*Grades > Import > CSV file*): ``First name``, ``Last name``, ``ID number``, ``Email address``
  (required), then the assignments; on import, map "Identify user by" to ``Email address`` -> ``email`` (or ``ID number`` ->
  ``idnumber``) and each assignment column to its grade item or a new one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import TextIO


class LmsExportError(Exception):
    """The class cannot be written for this LMS (the message says what the roster lacks and how to add it)."""


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str


@dataclass
class ClassMarks:
    """Each student's mark per assignment (None: nothing submitted) and each assignment's points."""

    assignments: dict[str, float] = field(default_factory=dict)  # name -> points possible
    students: list[Student] = field(default_factory=list)
    marks: dict[tuple[str, str], float | None] = field(default_factory=dict)  # (student, assignment) -> mark
    unfinished: list[tuple[str, str]] = field(default_factory=list)  # (student, assignment) needing manual grading


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if value == round(value, 2) else f"{value:.2f}"


def write_canvas(marks: ClassMarks, out: TextIO) -> None:
    unknown = [student.id for student in marks.students if not student.lms_user_id]
    if unknown:
        raise LmsExportError(
            f"Canvas matches students by their Canvas user id, and the gradebook has none for {', '.join(unknown)}: "
            "add an lms_user_id column to the roster (Canvas's own gradebook export lists it as ID) and run "
            "`python -m grader collect ASSIGNMENT SOURCE --roster students.csv` again")
    writer = csv.writer(out)
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *marks.assignments])
    writer.writerow(["Points Possible", "", "", "", "", *map(_number, marks.assignments.values())])
    for student in marks.students:
        name = f"{student.last_name}, {student.first_name}" if student.last_name else student.id
        writer.writerow([name, student.lms_user_id, "", "", "",
                         *(_number(marks.marks.get((student.id, assignment))) for assignment in marks.assignments)])


def write_moodle(marks: ClassMarks, out: TextIO) -> None:
    unknown = [student.id for student in marks.students if not student.email]
    if unknown:
        raise LmsExportError(
            f"Moodle's grade import matches students by a column the instructor picks, and the email the kit "
            f"offers is missing for {', '.join(unknown)}: add an email column to the roster and run `python -m "
            "grader collect ASSIGNMENT SOURCE --roster students.csv` again")
    writer = csv.writer(out)
    writer.writerow(["First name", "Last name", "ID number", "Email address", *marks.assignments])
    for student in marks.students:
        writer.writerow([student.first_name, student.last_name, student.id, student.email,
                         *(_number(marks.marks.get((student.id, assignment))) for assignment in marks.assignments)])


WRITERS = {"canvas": write_canvas, "moodle": write_moodle}
