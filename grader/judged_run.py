"""One submission of a judged lab: the student's cells in the sandboxed kernel, then the judge.

The kernel runs the rebuilt notebook with every test cell emptied; before the kernel stops,
:func:`grader.judge.judge` runs the tests against it. When the kernel is lost part-way, what can still be
judged fairly is:

- the student's own cell killed it (``os._exit``, a segfault, a loop that ignores interrupts): a fresh
  kernel runs the notebook up to that cell, and the exercises before it are judged; those after it were never
  reached and score nothing;
- a call the judge made killed it: that exercise fails, a fresh kernel runs the notebook again, and the
  judging goes on with the next test;
- a test timed out or lost the kernel against the notebook's final state (a later cell left a fork bomb's
  processes behind, say): it is judged again against a fresh kernel that ran only the cells before it, as
  nbgrader would have run it.

At most :data:`RERUNS` fresh kernels per notebook, so a notebook that breaks every call cannot keep the
grader busy.
"""

from __future__ import annotations

import copy

import nbformat
from nbformat import NotebookNode

from course.language import tr
from grader.judge import Verdict, judge, lab_cells, verdict_outputs
from grader.notebooks import nbgrader_metadata
from grader.remote import KernelLink
from grader.translation import submission_language, translated

RERUNS = 3
# The kernel's end of the judge's requests is imported (with torch) before any student code can use up the
# memory it needs; and IPython's exit() stops the kernel's event loop 0.1 s later, which would end the run, so
# graded, it does nothing.
PREAMBLE = "import course.kernel_service\nget_ipython().ask_exit = lambda: None"


def execute_judged(release_json: str, locked_sources: dict, test_ids, notebook: NotebookNode,
                   cell_timeout: float, run_kernel):
    """Grade ``notebook`` in place; returns the executor of the student's run (for its notes).

    ``run_kernel(notebook, attempt, after)`` executes a notebook in a fresh sandboxed kernel and calls
    ``after(executor, manager)`` before the kernel stops, returning (executor, what ``after`` returned).
    """
    release = nbformat.reads(release_json, as_version=4)
    language = submission_language(notebook)
    cells = lab_cells(release, locked_sources, set(test_ids))
    test_cells = {index: nbgrader_metadata(cell)["grade_id"] for index, cell in enumerate(notebook.cells)
                  if cell.cell_type == "code" and nbgrader_metadata(cell).get("grade_id") in test_ids}
    sources = {index: notebook.cells[index].source for index in test_cells}
    for index in test_cells:
        notebook.cells[index].source = ""
    notebook.cells.insert(0, nbformat.v4.new_code_cell(PREAMBLE))
    pristine = copy.deepcopy(notebook)

    def judged(to_run: set):
        def after(executor, manager):
            if executor.lost_at is not None:
                return None
            return judge(cells, KernelLink(executor.kc, manager), cell_timeout, to_run, language)
        return after

    attempts = iter(range(1, 1 + RERUNS))

    def rerun(to_run: NotebookNode, grade_ids: set):
        attempt = next(attempts, None)
        if attempt is None:
            return None
        try:
            return run_kernel(to_run, attempt, judged(grade_ids))[1]
        except RuntimeError:  # a fresh kernel did not start (the machine is busy): these tests stay failed
            return None

    student_run, judgement = run_kernel(notebook, 0, judged(set(test_ids)))
    if student_run.lost_at is not None:
        reached = {grade_id for index, grade_id in test_cells.items() if index + 1 < student_run.lost_at}
        judgement = rerun(_cut_at(pristine, student_run.lost_at), reached)
    verdicts = dict(judgement.verdicts) if judgement else {}
    while judgement is not None and judgement.lost:
        left = {grade_id for grade_id in test_ids if grade_id not in verdicts}
        judgement = rerun(copy.deepcopy(pristine), left) if left else None
        verdicts.update(judgement.verdicts if judgement else {})
    for index, grade_id in test_cells.items():
        if verdicts.get(grade_id) is not None and verdicts[grade_id].error_name in ("TimeoutError", "KernelLost"):
            again = rerun(_cut_at(pristine, index + 1), {grade_id})
            if again is not None and grade_id in again.verdicts:
                verdicts[grade_id] = again.verdicts[grade_id]
    for index, grade_id in test_cells.items():
        cell = notebook.cells[index + 1]
        cell.source = sources[index]
        verdict = verdicts.get(grade_id) or Verdict(grade_id, 0.0, 0.0, translated(
            tr("not run: the kernel was lost"), language), "CellNotRun")
        cell.outputs = verdict_outputs(verdict)
    del notebook.cells[0]
    return student_run


def _cut_at(notebook: NotebookNode, index: int) -> NotebookNode:
    """The notebook with every code cell from ``index`` on emptied."""
    cut = copy.deepcopy(notebook)
    for cell in cut.cells[index:]:
        if cell.cell_type == "code":
            cell.source = ""
    return cut
