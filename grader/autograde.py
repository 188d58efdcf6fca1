"""``python -m grader autograde``: every collected submission graded in parallel, sandboxed, resumable.

A *unit* is one student's submission of one assignment (``submitted/<student>/<assignment>/``). Units
run in parallel in worker processes (:mod:`grader.workers`: a worker that dies costs only the unit it held);
the worker lays the student's notebook back onto the release
(:func:`grader.submission.rebuild`) and runs it in a kernel inside the sandbox (:mod:`grader.kernel`,
:mod:`grader.sandbox`): a judged lab's student cells only, its tests then run in the worker's judge
(:mod:`grader.judged_run`); any other notebook whole, its tests in the student's kernel as under nbgrader.
Workers never touch the course: the parent process is the only writer of ``autograded/`` and of nbgrader's
``gradebook.db``, which it fills with nbgrader's own ``SaveAutoGrades`` and ``AssignLatePenalties``, so
nbgrader's formgrader and ``export`` read the results as if nbgrader had graded them.

What survives a crash (even ``kill -9``): for each unit the parent writes, in this order, the autograded
notebook, then ``autograded/<student>/<assignment>/.grader.json`` (the ledger: the sha256 of the
submission and the scores, written atomically), then the gradebook. A rerun skips every unit whose
ledger matches the submission's current sha256, and re-applies a ledger's scores where a crash came
between ledger and gradebook; so it finishes the rest and changes no grade already recorded.
``--force`` regrades everything; a resubmission (a different sha256) is regraded by itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties, LimitOutput, SaveAutoGrades
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning

from grader.course import Course, CourseError
from grader.notebooks import is_judged
from grader.sandbox import Limits, Sandbox, bwrap_path, draw_uid_base, prepare_folder, sandbox_uid
from grader.submission import Rejected, read_submission, rebuild, submission_digest
from grader.workers import ProcessDied, run_isolated
from grader.workspace import gradebook_url

LEDGER = ".grader.json"
DEFAULT_CELL_TIMEOUT = 120
KERNEL_START_ATTEMPTS = 2
PREAMBLE_TIMEOUT = 60
# The grader's first cell. IPython's exit() stops the kernel's event loop 0.1 s later, which would end the run,
# so graded, it does nothing. (A judged lab's preamble, grader.judged_run.PREAMBLE, does this too.)
PLAIN_PREAMBLE = "get_ipython().ask_exit = lambda: None"


class AutogradeError(Exception):
    """The run cannot start (no gradebook, unknown assignment, no sandbox); nothing was graded."""


# -- what a worker is given and gives back ----------------------------------------------------------


@dataclass(frozen=True)
class NotebookSpec:
    """One released notebook of an assignment, as the grader needs it."""

    name: str  # file name, e.g. 01_backprop.ipynb
    release_json: str  # the student copy from labs/ (layout, metadata, checksums)
    locked_sources: dict  # grade id -> full source from the gradebook (hidden tests included)
    test_ids: tuple  # grade ids of the auto-graded test cells
    max_score: float  # the notebook's points, as the gradebook has them
    judged: bool = False  # its tests run in the grader's judge (grader.judge), not in the student's kernel


@dataclass(frozen=True)
class UnitJob:
    number: int
    student: str
    assignment: str
    folder: str
    notebooks: tuple  # NotebookSpec, ...
    cell_timeout: int
    limits: Limits
    sandboxed: bool
    course_root: str
    scratch: str
    uid_base: int
    warm_kernels: bool = True  # kernels forked from a template (grader.kernel_template), else started cold


@dataclass
class NotebookOutcome:
    name: str
    graded_json: str | None = None  # the executed notebook; None when the file could not be graded
    rejected: str | None = None
    notes: list = field(default_factory=list)


@dataclass
class UnitResult:
    student: str
    assignment: str
    digest: str
    notebooks: list = field(default_factory=list)  # NotebookOutcome, ...
    grader_error: str | None = None  # the grader failed (not the student): nothing is recorded, rerun retries
    seconds: float = 0.0


# -- the worker ------------------------------------------------------------------------------------


def grade_unit(job: UnitJob) -> UnitResult:
    """Grade one submission; never raises (a failure of the grader itself is returned as such)."""
    _warm_up(job)
    started = time.monotonic()
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)  # kept: the kernel's own limit is set below it, or above
    resource.setrlimit(resource.RLIMIT_DATA, (job.limits.grading_process_bytes, hard))
    folder = Path(job.folder)
    result = UnitResult(job.student, job.assignment, submission_digest(folder))
    unit_dir = Path(job.scratch) / f"u{job.number}"  # short: Unix socket paths must stay under 108 bytes
    try:
        for index, spec in enumerate(job.notebooks):
            result.notebooks.append(_grade_notebook(job, spec, folder, unit_dir / f"n{index}"))
    except Exception:
        result.grader_error = traceback.format_exc(limit=6)
    finally:
        shutil.rmtree(unit_dir, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def _warm_up(job: UnitJob) -> None:
    """What a worker pays once, not per submission: its kernel template, and the judge's imports (the lab's own
    cells, hidden tests included, run here)."""
    if job.sandboxed and job.warm_kernels:
        with contextlib.suppress(Exception):  # a template that cannot be had means cold kernels, said by itself
            _template(job, Sandbox(Path(job.course_root), job.limits))
    from grader.kernel_template import imported_modules, modules_imported_by

    for spec in job.notebooks:
        if spec.judged:
            modules = imported_modules(spec.release_json) | modules_imported_by(spec.locked_sources.values())
            for name in sorted(modules):
                with contextlib.suppress(Exception):  # the judge will report a missing module where it matters
                    importlib.import_module(name)


def _find_notebook(folder: Path, spec: NotebookSpec, released_names: set) -> tuple[Path | None, list]:
    path = folder / spec.name
    if path.is_file():
        return path, []
    others = sorted(p for p in folder.glob("*.ipynb") if p.name not in released_names)
    if len(others) == 1 and len(released_names) == 1:
        return others[0], [f"no {spec.name} in the submission: graded {others[0].name} in its place"]
    return None, []


def _grade_notebook(job: UnitJob, spec: NotebookSpec, folder: Path, unit_dir: Path) -> NotebookOutcome:
    outcome = NotebookOutcome(spec.name)
    released_names = {other.name for other in job.notebooks}
    path, outcome.notes = _find_notebook(folder, spec, released_names)
    ignored = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
                     and p.name != "timestamp.txt" and p.name not in released_names and p != path)
    if ignored:
        outcome.notes.append(f"extra files ignored (the kernel does not see them): {', '.join(ignored)}")
    if path is None:
        found = ", ".join(sorted(p.name for p in folder.iterdir() if p.name != "timestamp.txt")) or "nothing"
        outcome.rejected = f"no notebook named {spec.name} in the submission (found: {found})"
        return outcome
    student = read_submission(path)
    if isinstance(student, Rejected):
        outcome.rejected = student.reason
        return outcome
    release = nbformat.reads(spec.release_json, as_version=4)
    rebuilt = rebuild(student, release, spec.locked_sources)
    outcome.notes += rebuilt.notes
    executed, notes = _execute(job, spec, rebuilt.notebook, unit_dir)
    outcome.notes += notes
    outcome.graded_json = nbformat.writes(executed)
    return outcome


def _cell_timeout(limit: int, preamble: NotebookNode):
    """The student's cells get ``limit``; the grader's first cell, which may import torch, at least a minute.

    The preamble is known by identity, never by metadata, which a student's cell could copy.
    """
    def timeout(cell: NotebookNode) -> int:
        return max(limit, PREAMBLE_TIMEOUT) if cell is preamble else limit

    return timeout


def _execute(job: UnitJob, spec: NotebookSpec, notebook: NotebookNode, unit_dir: Path):
    """Run the rebuilt notebook in the sandbox; returns (notebook, notes)."""
    if spec.judged:
        return _execute_judged(job, spec, notebook, unit_dir)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(PLAIN_PREAMBLE))
    executor = _run_in_sandbox(job, notebook, unit_dir)
    del notebook.cells[0]
    notebook, _ = LimitOutput().preprocess(notebook, {})
    return notebook, _execution_notes(executor, job.cell_timeout)


def _execute_judged(job: UnitJob, spec: NotebookSpec, notebook: NotebookNode, unit_dir: Path):
    import torch

    from grader.judged_run import execute_judged  # imports torch: only the processes that judge pay for it

    torch.set_num_threads(job.limits.threads_per_kernel)  # the judge shares the cores with the other kernels

    def run_kernel(to_run: NotebookNode, attempt: int, after):
        return _run_in_sandbox(job, to_run, unit_dir / f"j{attempt}", after=after, fresh_user=attempt > 0)

    executor = execute_judged(spec.release_json, spec.locked_sources, spec.test_ids, notebook, job.cell_timeout,
                              run_kernel)
    notebook, _ = LimitOutput().preprocess(notebook, {})
    return notebook, _execution_notes(executor, job.cell_timeout)


def _run_in_sandbox(job: UnitJob, notebook: NotebookNode, unit_dir: Path, after=None, fresh_user: bool = False):
    """Execute ``notebook`` (the grader's preamble first) in place in a fresh sandboxed kernel (a second try if
    the kernel does not start).

    With ``after``, ``after(executor, manager)`` runs before the kernel stops (the judge's turn), and the
    result is (executor, what it returned). ``fresh_user``: as root, a user id no earlier kernel of this unit
    had, so that processes an earlier kernel left dying cannot count against this one's process limit.
    """
    from grader.kernel import SafeExecute, SandboxedKernelManager, stop_kernel

    uid = sandbox_uid(draw_uid_base() if fresh_user else job.uid_base, job.number) if job.sandboxed else None
    for attempt in range(KERNEL_START_ATTEMPTS):
        workdir, sockets = unit_dir / f"w{attempt}", unit_dir / f"s{attempt}"
        prepare_folder(workdir, uid)
        prepare_folder(sockets, uid)
        sandbox = Sandbox(Path(job.course_root), job.limits) if job.sandboxed else None
        # a second attempt starts cold, in case the template was at fault
        template = _template(job, sandbox) if sandbox is not None and job.warm_kernels and attempt == 0 else None
        manager = SandboxedKernelManager(sandbox=sandbox, template=template, workdir=str(workdir),
                                         sockets=str(sockets), uid=uid, kernel_name="python3")
        executor = SafeExecute(timeout=job.cell_timeout, kernel_name="python3", startup_timeout=60,
                               timeout_func=_cell_timeout(job.cell_timeout, preamble=notebook.cells[0]),
                               hidden_leading_cells=1)
        try:
            try:
                executor.preprocess(notebook, {"metadata": {"path": str(workdir)}}, km=manager)
            except RuntimeError as error:  # the kernel did not start; the sandbox or the machine is at fault
                if attempt + 1 == KERNEL_START_ATTEMPTS:
                    raise RuntimeError(f"the kernel did not start in the sandbox: {error}") from error
                continue
            return (executor, after(executor, manager)) if after is not None else executor
        finally:
            stop_kernel(executor, manager)
    raise AssertionError("unreachable")


def _template(job: UnitJob, sandbox: Sandbox):
    from grader.kernel_template import imported_modules, template_for

    modules = set().union(*(imported_modules(spec.release_json) for spec in job.notebooks))
    return template_for(sandbox, modules)


def _execution_notes(executor, cell_timeout: int) -> list[str]:
    notes = []
    if executor.lost_kernel_reason:
        notes.append(f"kernel lost: {executor.lost_kernel_reason}; the cells after it count as failed")
    notes += [f"cell {executor.cell_number(index)} ran past the {cell_timeout} s limit"
              for index in sorted(executor.timed_out_cells)]
    if executor.truncated_cells:
        notes.append(f"the output of {len(executor.truncated_cells)} cell(s) was cut to "
                     f"{executor.output_bytes_per_cell // 1024} KB")
    return notes


# -- the parent: planning, recording, resuming ----------------------------------------------------


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
            return cls(**{name: value for name, value in kept.items() if name in names})  # older ledgers had more
        except (OSError, ValueError, TypeError, AttributeError):
            return None


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
        release_path = course.labs / assignment / f"{notebook.name}.ipynb"
        if not release_path.is_file():
            raise AutogradeError(f"{release_path} is missing: run `python -m grader release {assignment}`")
        locked = {cell.name: cell.source for cell in notebook.source_cells if cell.locked}
        tests = tuple(cell.name for cell in notebook.grade_cells
                      if cell.cell_type == "code" and cell.name in locked)
        release_json = release_path.read_text(encoding="utf-8")
        specs.append(NotebookSpec(release_path.name, release_json, locked, tests, float(notebook.max_score),
                                  is_judged(nbformat.reads(release_json, as_version=4))))
    return tuple(specs)


def _ledger_path(course: Course, student: str, assignment: str) -> Path:
    return course.root / "autograded" / student / assignment / LEDGER


def plan(course: Course, assignments: list[str] | None, force: bool, cell_timeout: int, limits: Limits,
         sandboxed: bool, scratch: Path, roster_only: bool, warm_kernels: bool = True) -> Plan:
    gradebook_file = course.root / "gradebook.db"
    if not gradebook_file.is_file():
        raise AutogradeError(f"no gradebook at {gradebook_file}: run `python -m grader release` first")
    submitted = course.root / "submitted"
    if not submitted.is_dir():
        raise AutogradeError(f"no {submitted} folder: run `python -m grader collect ASSIGNMENT SOURCE` first")
    result = Plan()
    uid_base = draw_uid_base()
    with Gradebook(gradebook_url(course.root)) as gradebook:
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
    for student_folder in sorted(p for p in submitted.iterdir() if p.is_dir()):
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
            record = UnitRecord.load(_ledger_path(course, student, assignment))
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


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def _timestamp(folder: Path):
    path = folder / "timestamp.txt"
    try:
        return parse_utc(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _resources(course: Course, student: str, assignment: str, notebook: str) -> dict:
    return {"nbgrader": {"student": student, "assignment": assignment, "notebook": notebook,
                         "db_url": gradebook_url(course.root)}}


def _record_in_gradebook(course: Course, record: UnitRecord, folder: Path) -> None:
    """The parent's one write path into nbgrader's gradebook (nbgrader's own preprocessors do the work)."""
    with warnings.catch_warnings():
        # nbgrader's own API trips SQLAlchemy's autoflush warnings when it creates a submission
        warnings.simplefilter("ignore", SAWarning)
        _write_gradebook(course, record, folder)


def _write_gradebook(course: Course, record: UnitRecord, folder: Path) -> None:
    with Gradebook(gradebook_url(course.root)) as gradebook:
        gradebook.update_or_create_student(record.student)
        timestamp = _timestamp(folder)
        if timestamp is not None:
            gradebook.update_or_create_submission(record.assignment, record.student, timestamp=timestamp)
        else:
            gradebook.update_or_create_submission(record.assignment, record.student)
    for notebook_file in record.scores:
        name = Path(notebook_file).stem
        resources = _resources(course, record.student, record.assignment, name)
        if notebook_file in record.rejected:
            with Gradebook(gradebook_url(course.root)) as gradebook:
                submitted = gradebook.find_submission_notebook(name, record.assignment, record.student)
                for grade in submitted.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gradebook.db.commit()
            continue
        graded_path = course.root / "autograded" / record.student / record.assignment / notebook_file
        graded = nbformat.read(str(graded_path), as_version=4)
        SaveAutoGrades().preprocess(graded, resources)
        AssignLatePenalties().preprocess(graded, resources)


def _gradebook_scores(course: Course, record: UnitRecord) -> dict:
    scores = {}
    with Gradebook(gradebook_url(course.root)) as gradebook:
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


def _store(course: Course, result: UnitResult, job: UnitJob) -> UnitRecord:
    """autograded notebook, then ledger, then gradebook: the order that makes a crash recoverable."""
    out_folder = course.root / "autograded" / result.student / result.assignment
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
    write_atomically(out_folder / LEDGER, json.dumps(asdict(record), indent=1))
    _record_in_gradebook(course, record, Path(job.folder))
    return record


def _reconcile(course: Course, record: UnitRecord) -> None:
    """A ledger whose scores never reached the gradebook (a crash in between): apply them now."""
    recorded = _gradebook_scores(course, record)
    expected = {name: {grade: (0 if name in record.rejected else value) for grade, value in grades.items()}
                for name, grades in record.scores.items()}
    if any(recorded.get(name, {}).get(grade, object()) != value
           for name, grades in expected.items() for grade, value in grades.items()) or not recorded:
        _record_in_gradebook(course, record, course.root / "submitted" / record.student / record.assignment)


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
            _reconcile(course, record)
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
                record = _store(course, result, job)
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
