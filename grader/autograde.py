"""``python -m grader autograde``: every collected submission graded in parallel, sandboxed, resumable.

A *unit* is one student's submission of one assignment (``submitted/<student>/<assignment>/``). This module plans
the run (which units need grading, from the gradebook and the ledgers), schedules them longest first, and runs them
in parallel in worker processes (:mod:`grader.workers`: a worker that dies costs only the unit it held); each worker
grades its unit in a sandboxed kernel (:mod:`grader.unit`). Workers never touch the course: the parent process is
the only writer of ``autograded/`` and of nbgrader's ``gradebook.db`` (:mod:`grader.ledger`, which also says what
survives a crash). ``--force`` regrades everything; a resubmission (a different sha256) is regraded by itself.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from grader.deadlines import CourseFileError, read_course_file
from grader.layout import Course, CourseError
from grader.ledger import UnitRecord, reconcile, store
from grader.notebooks import is_judged
from grader.sandbox import Limits, bwrap_path, draw_uid_base
from grader.submission import submission_digest
from grader.unit import NotebookSpec, UnitJob, grade_unit
from grader.workers import ProcessDied, run_isolated

DEFAULT_CELL_TIMEOUT = 120


class AutogradeError(Exception):
    """The run cannot start (no gradebook, unknown assignment, no sandbox); nothing was graded."""


@dataclass
class Plan:
    jobs: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (student, assignment, why)
    up_to_date: list = field(default_factory=list)  # UnitRecord, ...
    not_judged: list = field(default_factory=list)  # assignments whose tests run in the student's kernel


@dataclass
class AutogradeReport:
    graded: list = field(default_factory=list)  # UnitRecord, ...
    up_to_date: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    grader_errors: list = field(default_factory=list)  # (student, assignment, message)
    not_judged: list = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        lines = [f"note     {assignment}: not in the judged format (notebook metadata \"grader\": {{\"judge\": "
                 "\"outside\"}), so its tests ran in each student's kernel, as under nbgrader, where a student "
                 "set on it can forge a pass" for assignment in self.not_judged]
        for record in sorted(self.graded, key=lambda r: (r.assignment, r.student)):
            notes = [f"{name}: {reason}" for name, reason in record.rejected.items()]
            notes += [note for notebook_notes in record.notes.values() for note in notebook_notes]
            lines.append(f"graded   {record.assignment} {record.student}: {record.score:g}/{record.max_score:g}")
            lines += [f"           - {note}" for note in notes]
        for record in self.up_to_date:
            lines.append(f"kept     {record.assignment} {record.student}: {record.score:g}/{record.max_score:g} "
                         "(already graded, unchanged since)")
        lines += [f"skipped  {assignment} {student}: {why}" for student, assignment, why in self.skipped]
        lines += [f"ERROR    {assignment} {student}: the grader failed, nothing recorded (rerun to retry): "
                  f"{message.strip().splitlines()[-1]}" for student, assignment, message in self.grader_errors]
        lines.append(f"{len(self.graded)} graded, {len(self.up_to_date)} already graded, {len(self.skipped)} "
                     f"skipped, {len(self.grader_errors)} grader errors in {self.seconds:.1f} s")
        return lines


def _assignment_specs(course: Course, gradebook: Gradebook, assignment: str) -> tuple:
    specs = []
    for notebook in sorted(gradebook.find_assignment(assignment).notebooks, key=lambda nb: nb.name):
        release_path = course.lab(assignment) / f"{notebook.name}.ipynb"
        if not release_path.is_file():
            raise AutogradeError(f"{release_path} is missing: run `python -m grader release {assignment}`")
        locked = {cell.name: cell.source for cell in notebook.source_cells if cell.locked}
        tests = tuple(cell.name for cell in notebook.grade_cells
                      if cell.cell_type == "code" and cell.name in locked)
        release_json = release_path.read_text(encoding="utf-8")
        specs.append(NotebookSpec(release_path.name, release_json, locked, tests, float(notebook.max_score),
                                  is_judged(nbformat.reads(release_json, as_version=4))))
    return tuple(specs)


def plan(course: Course, assignments: list[str] | None, force: bool, cell_timeout: int, limits: Limits,
         sandboxed: bool, scratch: Path, roster_only: bool, warm_kernels: bool = True) -> Plan:
    if not course.gradebook.is_file():
        raise AutogradeError(f"no gradebook at {course.gradebook}: run `python -m grader release` first")
    if not course.submitted.is_dir():
        raise AutogradeError(f"no {course.submitted} folder: run `python -m grader collect ASSIGNMENT SOURCE` "
                             "first")
    try:  # read here, so that a mistake in it stops the run before anything is graded
        read_course_file(course.course_file)
    except CourseFileError as error:
        raise AutogradeError(str(error)) from None
    result = Plan()
    uid_base = draw_uid_base()
    with Gradebook(course.gradebook_url) as gradebook:
        released = {assignment.name for assignment in gradebook.assignments}
        wanted = sorted(released) if not assignments else assignments
        unknown = [name for name in wanted if name not in released]
        if unknown:
            raise AutogradeError(f"not released (not in gradebook.db): {', '.join(unknown)}; "
                                 f"released: {', '.join(sorted(released)) or 'none'}")
        specs = {assignment: _assignment_specs(course, gradebook, assignment) for assignment in wanted}
        roster = {student.id for student in gradebook.students}
    result.not_judged = [assignment for assignment in wanted if not all(spec.judged for spec in specs[assignment])]
    took: dict[str, list[float]] = {}  # assignment -> seconds its units took when last graded
    for student_folder in sorted(p for p in course.submitted.iterdir() if p.is_dir()):
        student = student_folder.name
        for folder in sorted(p for p in student_folder.iterdir() if p.is_dir()):
            assignment = folder.name
            if assignment not in released:
                result.skipped.append((student, assignment, "no such assignment was released"))
                continue
            if assignment not in wanted:
                continue
            if roster_only and student not in roster:
                result.skipped.append((student, assignment, "not a student in gradebook.db (--roster-only; "
                                       "add them with `collect --roster`)"))
                continue
            record = UnitRecord.load(course.ledger(student, assignment))
            if record is not None and record.seconds:
                took.setdefault(assignment, []).append(record.seconds)
            if not force and record is not None and record.digest == submission_digest(folder):
                result.up_to_date.append(record)
                continue
            result.jobs.append(UnitJob(len(result.jobs), student, assignment, str(folder), specs[assignment],
                                       cell_timeout, limits, sandboxed, str(course.root), str(scratch),
                                       uid_base, warm_kernels))
    result.jobs = longest_first(result.jobs, took)
    return result


def longest_first(jobs: list, took: dict[str, list[float]]) -> list:
    """The units likely to take longest first, so that no worker is left grading a long one alone at the end: by
    the mean time the assignment's units took when last graded (none yet: 0), then by the bytes of the submitted
    notebooks (a lab with more answers filled in runs more of its checks; the file is not read)."""
    typical = {assignment: sum(seconds) / len(seconds) for assignment, seconds in took.items()}

    def submitted_bytes(job) -> int:
        return sum(path.lstat().st_size for path in Path(job.folder).glob("*.ipynb") if path.is_file())

    return sorted(jobs, key=lambda job: (typical.get(job.assignment, 0.0), submitted_bytes(job)), reverse=True)


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def autograde(course: Course, assignments: list[str] | None = None, jobs: int | None = None,
              cell_timeout: int = DEFAULT_CELL_TIMEOUT, force: bool = False, sandboxed: bool = True,
              limits: Limits | None = None, roster_only: bool = False, progress: bool = True,
              warm_kernels: bool = True) -> AutogradeReport:
    """Grade every collected submission of ``assignments`` (all released ones when None); ``warm_kernels``:
    fork each kernel from a template that imported torch and the kit once (:mod:`grader.kernel_template`),
    rather than start a new interpreter for each."""
    started = time.monotonic()
    jobs = max(1, jobs or default_jobs())
    if sandboxed:
        try:
            bwrap_path()
        except Exception as error:
            raise AutogradeError(str(error)) from error
    # one thread per kernel when the jobs fill the cores, so that parallel kernels do not fight for them
    limits = dataclasses.replace(limits or Limits(), threads_per_kernel=max(1, default_jobs() // jobs))
    scratch = Path(tempfile.mkdtemp(prefix="grader-run-"))
    report = AutogradeReport()
    try:
        work = plan(course, assignments, force, cell_timeout, limits, sandboxed, scratch, roster_only, warm_kernels)
        report.skipped, report.up_to_date = work.skipped, work.up_to_date
        report.not_judged = [assignment for assignment in work.not_judged
                             if any(job.assignment == assignment for job in work.jobs)]
        for record in work.up_to_date:
            reconcile(course, record)
        _run_pool(course, work.jobs, jobs, report, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def _run_pool(course: Course, unit_jobs: list, jobs: int, report: AutogradeReport, progress: bool) -> None:
    if not unit_jobs:
        return
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    bar = tqdm(total=len(unit_jobs), unit="submission", desc="autograde", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    try:
        for job, result in run_isolated(grade_unit, unit_jobs, min(jobs, len(unit_jobs))):
            if isinstance(result, ProcessDied):  # the grader is at fault, not the student
                report.grader_errors.append((job.student, job.assignment, str(result)))
            elif result.grader_error:
                report.grader_errors.append((job.student, job.assignment, result.grader_error))
            else:
                record = store(course, result, job)
                report.graded.append(record)
                bar.set_postfix_str(f"{job.assignment} {job.student} {record.score:g}/{record.max_score:g}")
            bar.update()
    finally:
        bar.close()


def assignments_argument(course: Course, names: list[str]) -> list[str] | None:
    """Named assignments must exist in solutions/; none named means every released one."""
    if not names:
        return None
    try:
        return course.resolve(names)
    except CourseError as error:
        raise AutogradeError(str(error)) from error
