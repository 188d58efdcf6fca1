"""``python -m grader export``: the grade sheet, read from nbgrader's gradebook.

One row per student in the gradebook, one column per assignment (its score, blank when the student
submitted nothing) and the total (a missing submission counts 0). An assignment with a due date in the course
file (:mod:`grader.deadlines`) is scored after its late penalty, with three more columns: ``<assignment> raw``
(before it), ``<assignment> late penalty`` (the points it took) and ``<assignment> days late``. ``detail=True``
adds a column per exercise, ``<assignment>/<grade id>``. With ``lms``, the marks in an LMS's import format instead
(:mod:`grader.lms_export`). Scores that nbgrader still marks as needing manual grading (for
example a notebook whose kernel died) are listed in ``needs_manual_grade`` so that nobody mistakes them for
final.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from nbgrader.api import Gradebook, MissingEntry

from grader.deadlines import DAY, Deadlines, apply_deadlines, mark
from grader.lms_export import WRITERS, ClassMarks, LmsExportError
from grader.lms_export import Student as LmsStudent

STUDENT_COLUMNS = ("student_id", "last_name", "first_name", "email")


class ExportError(Exception):
    """The gradebook cannot be exported (missing, or empty)."""


@dataclass(frozen=True)
class ExportSummary:
    students: int
    assignments: tuple[str, ...]
    columns: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # what the instructor should know before uploading the file


def _points(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if value == round(value, 2) else f"{value:.2f}"


def _exercise_columns(gradebook: Gradebook, assignment) -> list[tuple[str, str, str]]:
    """(column name, notebook, grade id) for every grade cell of ``assignment``, in notebook order."""
    columns = []
    for notebook in sorted(assignment.notebooks, key=lambda notebook: notebook.name):
        for cell in notebook.grade_cells:
            name = cell.name if len(assignment.notebooks) == 1 else f"{notebook.name}:{cell.name}"
            columns.append((f"{assignment.name}/{name}", notebook.name, cell.name))
    return columns


def _late_columns(assignment: str) -> tuple[str, str, str]:
    return f"{assignment} raw", f"{assignment} late penalty", f"{assignment} days late"


def _grade_rows(gradebook: Gradebook, detail: bool, deadlines: Deadlines) -> tuple[list[str], list[dict[str, str]],
                                                                                 list[str]]:
    assignments = sorted(gradebook.assignments, key=lambda assignment: assignment.name)
    exercise_columns = {a.name: _exercise_columns(gradebook, a) if detail else [] for a in assignments}
    header = [*STUDENT_COLUMNS]
    for assignment in assignments:
        header.append(assignment.name)
        if assignment.name in deadlines.assignments:
            header += _late_columns(assignment.name)
        header += [column for column, _, _ in exercise_columns[assignment.name]]
    header += ["total", "max_total", "needs_manual_grade"]
    max_total = sum(assignment.max_score for assignment in assignments)
    rows = []
    for student in sorted(gradebook.students, key=lambda student: student.id):
        row = {"student_id": student.id, "last_name": student.last_name or "",
               "first_name": student.first_name or "", "email": student.email or ""}
        total, unfinished = 0.0, []
        for assignment in assignments:
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                row[assignment.name] = ""
                continue
            total += mark(submission)
            row[assignment.name] = _points(mark(submission))
            if assignment.name in deadlines.assignments:
                raw, lost, late = _late_columns(assignment.name)
                row.update({raw: _points(submission.score), lost: _points(submission.late_submission_penalty or 0.0),
                            late: _points(submission.total_seconds_late / DAY)})
            if submission.needs_manual_grade:
                unfinished.append(assignment.name)
            for column, notebook, grade_id in exercise_columns[assignment.name]:
                grade = gradebook.find_grade(grade_id, notebook, assignment.name, student.id)
                row[column] = _points(grade.score)
        row.update(total=_points(total), max_total=_points(max_total), needs_manual_grade=" ".join(unfinished))
        rows.append(row)
    return header, rows, [assignment.name for assignment in assignments]


def class_marks(gradebook: Gradebook) -> ClassMarks:
    """Each student's mark (after the late penalty) per assignment, for an LMS (grader.lms_export)."""
    marks = ClassMarks()
    assignments = sorted(gradebook.assignments, key=lambda assignment: assignment.name)
    marks.assignments = {assignment.name: assignment.max_score for assignment in assignments}
    for student in sorted(gradebook.students, key=lambda student: student.id):
        marks.students.append(LmsStudent(student.id, student.first_name or "", student.last_name or "",
                                         student.email or "", student.lms_user_id or ""))
        for assignment in assignments:
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                continue
            if submission.needs_manual_grade:  # not a final mark: an LMS would take it as one
                marks.unfinished.append((student.id, assignment.name))
                continue
            marks.marks[(student.id, assignment.name)] = mark(submission)
    return marks


def export_grades(gradebook_path: Path, out: TextIO, detail: bool = False, deadlines: Deadlines | None = None,
                  lms: str | None = None) -> ExportSummary:
    """Write the grade sheet of the gradebook at ``gradebook_path`` as CSV to ``out`` (in the import format of
    ``lms``, one of grader.lms_export.WRITERS, when given), after writing the late penalties of ``deadlines`` into
    the gradebook."""
    if not gradebook_path.is_file():
        raise ExportError(f"no gradebook at {gradebook_path}: run `python -m grader release`, collect the "
                          "submissions and autograde them first")
    deadlines = deadlines or Deadlines()
    warnings = apply_deadlines(deadlines, f"sqlite:///{gradebook_path}")
    with Gradebook(f"sqlite:///{gradebook_path}") as gradebook:
        if lms is not None:
            marks = class_marks(gradebook)
        else:
            header, rows, assignments = _grade_rows(gradebook, detail, deadlines)
    if lms is not None:
        if not marks.assignments:
            raise ExportError(f"{gradebook_path} records no assignment yet: run `python -m grader release` first")
        try:
            WRITERS[lms](marks, out)
        except LmsExportError as error:
            raise ExportError(str(error)) from None
        if marks.unfinished:
            warnings.append("left blank, as they still need manual grading (grade them, then export again): " +
                            ", ".join(f"{student} on {assignment}" for student, assignment in marks.unfinished))
        return ExportSummary(len(marks.students), tuple(marks.assignments), (), tuple(warnings))
    if not assignments:
        raise ExportError(f"{gradebook_path} records no assignment yet: run `python -m grader release` first")
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return ExportSummary(len(rows), tuple(assignments), tuple(header), tuple(warnings))
