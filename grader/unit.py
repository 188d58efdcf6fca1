"""The worker's job: one *unit* (a student's submission of one assignment) graded in a sandboxed kernel.

The worker lays the student's notebook back onto the release (:func:`grader.submission.rebuild`) and runs it in a
kernel inside the sandbox (:mod:`grader.kernel`, :mod:`grader.sandbox`): a judged lab's student cells only, its tests
then run in the worker's judge (:mod:`grader.judged_run`); any other notebook whole, its tests in the student's kernel
as under nbgrader. A worker never touches the course: it returns a :class:`UnitResult`, which the parent records
(:mod:`grader.ledger`).
"""

from __future__ import annotations

import contextlib
import importlib
import resource
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import LimitOutput

from course.language import tr
from grader.layout import TIMESTAMP_FILE
from grader.sandbox import Limits, Sandbox, draw_uid_base, prepare_folder, sandbox_uid
from grader.submission import Rejected, read_submission, rebuild, submission_digest

KERNEL_START_ATTEMPTS = 2
PREAMBLE_TIMEOUT = 60
# The grader's first cell. IPython's exit() stops the kernel's event loop 0.1 s later, which would end the run,
# so graded, it does nothing. (A judged lab's preamble, grader.judged_run.PREAMBLE, does this too.)
PLAIN_PREAMBLE = "get_ipython().ask_exit = lambda: None"


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
        return others[0], [tr("no {name} in the submission: graded {other} in its place").format(
            name=spec.name, other=others[0].name)]
    return None, []


def _grade_notebook(job: UnitJob, spec: NotebookSpec, folder: Path, unit_dir: Path) -> NotebookOutcome:
    outcome = NotebookOutcome(spec.name)
    released_names = {other.name for other in job.notebooks}
    path, outcome.notes = _find_notebook(folder, spec, released_names)
    ignored = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
                     and p.name != TIMESTAMP_FILE and p.name not in released_names and p != path)
    if ignored:
        outcome.notes.append(tr("extra files ignored (the kernel does not see them): {files}").format(
            files=", ".join(ignored)))
    if path is None:
        found = ", ".join(sorted(p.name for p in folder.iterdir() if p.name != TIMESTAMP_FILE)) or "nothing"
        outcome.rejected = tr("no notebook named {name} in the submission (found: {found})").format(
            name=spec.name, found=found)
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


def _run_in_sandbox(job: UnitJob, notebook: NotebookNode, unit_dir: Path, after=None,
                    fresh_user: bool = False):
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
        notes.append(tr("kernel lost: {reason}; the cells after it count as failed").format(
            reason=executor.lost_kernel_reason))
    notes += [tr("cell {cell} ran past the {seconds} s limit").format(cell=executor.cell_number(index),
                                                                       seconds=cell_timeout)
              for index in sorted(executor.timed_out_cells)]
    if executor.truncated_cells:
        notes.append(tr("the output of {count} cell(s) was cut to {kilobytes} KB").format(
            count=len(executor.truncated_cells), kilobytes=executor.output_bytes_per_cell // 1024))
    return notes
