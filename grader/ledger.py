"""The parent's record of what was graded: the ledger beside each autograded submission, and nbgrader's gradebook.

What survives a crash (even ``kill -9``): for each unit the parent writes, in this order, the autograded
notebook, then ``autograded/<student>/<assignment>/.grader.json`` (the ledger: the sha256 of the
submission and the scores, written atomically), then the gradebook, which it fills with nbgrader's own
``SaveAutoGrades`` and with the course file's late penalties (:mod:`grader.deadlines`, in nbgrader's own
fields), so nbgrader's formgrader and ``export`` read the results as if nbgrader had graded them. A rerun skips
every unit whose ledger matches the submission's current sha256 (:mod:`grader.autograde`), and :func:`reconcile` re-applies a ledger's scores where a crash came between ledger
and gradebook; so a rerun finishes the rest and changes no grade already recorded.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy.exc import SAWarning

from grader.deadlines import apply_deadlines, read_course_file
from grader.files import write_atomically
from grader.layout import Course
from grader.timestamps import read_timestamp
from grader.unit import UnitJob, UnitResult


@dataclass
class UnitRecord:
    """What the ledger keeps for one graded unit."""

    student: str
    assignment: str
    digest: str
    scores: dict  # notebook -> {grade id: score}
    max_score: float
    score: float
    notes: dict  # notebook -> [note, ...]
    rejected: dict  # notebook -> reason
    graded_at: float
    seconds: float = 0.0  # how long grading took: the next run schedules the assignment's long units first

    @classmethod
    def load(cls, path: Path) -> "UnitRecord | None":
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
            names = {field.name for field in dataclasses.fields(cls)}
            # the fields it knows; any other a ledger holds is left
            return cls(**{name: value for name, value in kept.items() if name in names})
        except (OSError, ValueError, TypeError, AttributeError):
            return None


def nbgrader_resources(course: Course, student: str, assignment: str, notebook: str) -> dict:
    """What nbgrader's gradebook preprocessors are told of the notebook they handle."""
    return {"nbgrader": {"student": student, "assignment": assignment, "notebook": notebook,
                         "db_url": course.gradebook_url}}


def _record_in_gradebook(course: Course, record: UnitRecord, folder: Path) -> None:
    """The parent's one write path into nbgrader's gradebook (nbgrader's own preprocessors do the work)."""
    with warnings.catch_warnings():
        # nbgrader's own API trips SQLAlchemy's autoflush warnings when it creates a submission
        warnings.simplefilter("ignore", SAWarning)
        _write_gradebook(course, record, folder)


def _write_gradebook(course: Course, record: UnitRecord, folder: Path) -> None:
    with Gradebook(course.gradebook_url) as gradebook:
        gradebook.update_or_create_student(record.student)
        timestamp = read_timestamp(folder)
        if timestamp is not None:  # nbgrader keeps naive UTC times
            gradebook.update_or_create_submission(record.assignment, record.student,
                                                  timestamp=timestamp.replace(tzinfo=None))
        else:
            gradebook.update_or_create_submission(record.assignment, record.student)
    for notebook_file in record.scores:
        name = Path(notebook_file).stem
        resources = nbgrader_resources(course, record.student, record.assignment, name)
        if notebook_file in record.rejected:
            with Gradebook(course.gradebook_url) as gradebook:
                submitted = gradebook.find_submission_notebook(name, record.assignment, record.student)
                for grade in submitted.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gradebook.db.commit()
            continue
        graded_path = course.autograded_submission(record.student, record.assignment) / notebook_file
        graded = nbformat.read(str(graded_path), as_version=4)
        SaveAutoGrades().preprocess(graded, resources)
    apply_deadlines(read_course_file(course.course_file), course.gradebook_url, record.assignment, record.student)


def _gradebook_scores(course: Course, record: UnitRecord) -> dict:
    scores = {}
    with Gradebook(course.gradebook_url) as gradebook:
        for notebook_file in record.scores:
            try:
                submitted = gradebook.find_submission_notebook(Path(notebook_file).stem, record.assignment,
                                                                record.student)
            except MissingEntry:
                return {}
            scores[notebook_file] = {grade.name: grade.auto_score for grade in submitted.grades}
    return scores


def _scores_of(notebook: NotebookNode | None) -> dict:
    from nbgrader.utils import determine_grade, is_grade

    if notebook is None:
        return {}
    return {cell.metadata.nbgrader.grade_id: determine_grade(cell)[0]
            for cell in notebook.cells if is_grade(cell)}


def store(course: Course, result: UnitResult, job: UnitJob) -> UnitRecord:
    """autograded notebook, then ledger, then gradebook: the order that makes a crash recoverable."""
    out_folder = course.autograded_submission(result.student, result.assignment)
    scores, notes, rejected, max_score, score = {}, {}, {}, 0.0, 0.0
    specs = {spec.name: spec for spec in job.notebooks}
    for outcome in result.notebooks:
        notes[outcome.name] = outcome.notes
        notebook = nbformat.reads(outcome.graded_json, as_version=4) if outcome.graded_json else None
        if outcome.rejected:
            rejected[outcome.name] = outcome.rejected
        else:
            write_atomically(out_folder / outcome.name, outcome.graded_json)
        scores[outcome.name] = _scores_of(notebook)
        max_score += specs[outcome.name].max_score
        score += sum(value or 0 for value in scores[outcome.name].values())
    record = UnitRecord(result.student, result.assignment, result.digest, scores, max_score, score, notes,
                        rejected, time.time(), round(result.seconds, 3))
    write_atomically(course.ledger(result.student, result.assignment), json.dumps(asdict(record), indent=1))
    _record_in_gradebook(course, record, Path(job.folder))
    return record


def reconcile(course: Course, record: UnitRecord) -> None:
    """A ledger whose scores never reached the gradebook (a crash in between): apply them now."""
    recorded = _gradebook_scores(course, record)
    expected = {name: {grade: (0 if name in record.rejected else value) for grade, value in grades.items()}
                for name, grades in record.scores.items()}
    if any(recorded.get(name, {}).get(grade, object()) != value
           for name, grades in expected.items() for grade, value in grades.items()) or not recorded:
        _record_in_gradebook(course, record, course.submission(record.student, record.assignment))
