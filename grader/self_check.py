"""``python -m grader self-check NOTEBOOK``: a self-learner's own lab graded with the hidden tests, as a course
grades it.

    python -m grader self-check my-work/labs/01_backprop/01_backprop.ipynb

The lab is released into a scratch course (from this checkout's ``solutions/``), the notebook is submitted there
as student ``me`` and graded by ``autograde`` (in the sandbox where bubblewrap is installed; it is your own code,
so without bubblewrap it runs unsandboxed and says so). What comes back is each exercise's points and the message
of every failing test, hidden ones included; the hidden tests' code is not shown, as in a course's feedback.
Nothing is written outside the scratch folder, and the course's own gradebook is never touched.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.autograde import autograde
from grader.ledger import UnitRecord
from grader.layout import SOLUTIONS, Course, CourseError
from grader.notebooks import grade_id, is_test_cell, nbgrader_metadata
from grader.release import release
from grader.sandbox import bwrap_path

STUDENT = "me"


@dataclass
class ExerciseResult:
    test: str  # the test cell's grade id
    score: float
    points: float
    errors: list[str] = field(default_factory=list)


@dataclass
class SelfCheckReport:
    assignment: str
    sandboxed: bool
    exercises: list[ExerciseResult] = field(default_factory=list)
    rejected: str = ""  # why the notebook could not be graded at all

    def lines(self) -> list[str]:
        if self.rejected:
            return [f"{self.assignment}: not graded: {self.rejected}"]
        score = sum(result.score for result in self.exercises)
        points = sum(result.points for result in self.exercises)
        lines = [f"{self.assignment}: {score:g} / {points:g} points, hidden tests included"
                 + ("" if self.sandboxed else " (graded without the sandbox: bubblewrap is not installed)")]
        width = max((len(result.test) for result in self.exercises), default=0)
        for result in self.exercises:
            lines.append(f"  {result.test:<{width}}  {result.score:g} / {result.points:g}")
            lines += [f"      {error}" for error in result.errors]
        return lines


def assignment_of(course: Course, notebook: Path) -> str:
    """The lab a notebook belongs to: its name (``01_backprop.ipynb``) or its folder's (``labs/01_backprop/``)."""
    known = course.assignments()
    for name in (notebook.stem, notebook.parent.name):
        if name in known:
            return name
    raise CourseError(f"{notebook} is not one of the labs: its name or folder should be one of {', '.join(known)}")


def self_check(course: Course, notebook: Path, timeout: int = 300) -> SelfCheckReport:
    """Grade ``notebook`` with the hidden tests of its lab in a scratch course; the course itself is not touched."""
    if not notebook.is_file():
        raise CourseError(f"no such notebook: {notebook}")
    assignment = assignment_of(course, notebook)
    sandboxed = _sandbox_installed()
    with tempfile.TemporaryDirectory(prefix="grader-self-check-") as scratch:
        root = Path(scratch)
        shutil.copytree(course.solution(assignment), root / SOLUTIONS / assignment)
        local = Course(root)
        release(local, [assignment])
        submitted = local.submission(STUDENT, assignment)
        submitted.mkdir(parents=True)
        shutil.copyfile(notebook, submitted / f"{assignment}.ipynb")
        autograde(local, [assignment], jobs=1, cell_timeout=timeout, sandboxed=sandboxed, progress=False)
        return _results(local, assignment, sandboxed)


def _sandbox_installed() -> bool:
    try:
        bwrap_path()
    except Exception:  # bwrap_path explains what is missing; here that only means "grade unsandboxed"
        return False
    return True


def _results(course: Course, assignment: str, sandboxed: bool) -> SelfCheckReport:
    report = SelfCheckReport(assignment, sandboxed)
    graded = course.autograded_submission(STUDENT, assignment)
    record = UnitRecord.load(course.ledger(STUDENT, assignment))
    notebook_file = f"{assignment}.ipynb"
    if record is None or notebook_file in record.rejected or not (graded / notebook_file).is_file():
        report.rejected = (record.rejected.get(notebook_file) if record else None) or "the grader kept no result"
        return report
    scores = record.scores.get(notebook_file, {})
    for cell in nbformat.read(graded / notebook_file, as_version=4).cells:
        if cell.cell_type != "code" or not is_test_cell(cell):
            continue
        errors = [f"{output.ename}: {output.evalue}" for output in cell.get("outputs", [])
                  if output.get("output_type") == "error"]
        report.exercises.append(ExerciseResult(grade_id(cell), float(scores.get(grade_id(cell), 0.0)),
                                               float(nbgrader_metadata(cell).get("points", 0.0)), errors))
    return report
