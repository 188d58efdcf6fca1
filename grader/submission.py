"""A student's notebook, checked and laid back onto the released lab before it is graded.

Reading never raises on a student's file: every problem becomes a :class:`Rejected` with a reason the
instructor can pass on (empty file, not UTF-8, not JSON, not a notebook).

:func:`rebuild` grades a notebook as the release lays it out, whatever the student did to it: the
student's answer goes into each answer cell (matched by nbgrader's ``grade_id``; the cell's nbgrader
metadata, points included, always come from the release), every locked cell — the tests with their
hidden part — comes from the gradebook, in the released order, and cells the student added stay right
after the answer cell they followed. A deleted, edited or moved test cell is put back and noted.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course.language import ENGLISH, known_language, tr
from grader.notebooks import nbgrader_metadata


TOP = "<top>"


@dataclass(frozen=True)
class Rejected:
    """A file that cannot be graded at all, and why."""

    reason: str


@dataclass(frozen=True)
class NotNotebook:
    """Why some bytes are no notebook: ``flag`` in a few words (``collect`` flags the file with it), ``reason`` as
    the student reads it after the file's name (autograde's rejection)."""

    flag: str
    reason: str


def notebook_text(data: bytes) -> str | NotNotebook:
    """The text of a notebook's bytes when they are UTF-8 JSON of an object with a list of cells (checked, never
    run), else why not."""
    if not data.strip():
        return NotNotebook("empty file", f"is empty ({len(data)} bytes): the notebook was not saved before upload")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return NotNotebook("not UTF-8 text", f"is not UTF-8 text (byte 0x{data[error.start]:02x} at position "
                           f"{error.start}): it was saved by another program or damaged; open it in Jupyter and "
                           "save it again")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        return NotNotebook(f"not valid JSON ({error})", f"is not valid JSON (line {error.lineno}, column "
                           f"{error.colno}: {error.msg}): it was edited outside Jupyter or cut short")
    except RecursionError:  # brackets nested deeper than Python's stack: no notebook is, a forged file may be
        return NotNotebook("not valid JSON (nested too deeply)", "is not valid JSON (nested too deeply): it was not "
                           "saved by Jupyter")
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return NotNotebook("JSON but not a notebook (no list of cells)", "is JSON but not a notebook (no 'cells')")
    return text


def read_submission(path: Path) -> NotebookNode | Rejected:
    """The notebook at ``path``, or why it cannot be read (never raises for the file's content)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return Rejected(f"{path.name} cannot be read ({error.strerror})")
    text = notebook_text(data)
    if isinstance(text, NotNotebook):
        return Rejected(f"{path.name} {text.reason}")
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat raises several unrelated types
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return Rejected(f"{path.name} is not a valid notebook ({first_line})")
    return notebook


def submission_digest(folder: Path) -> str:
    """sha256 over every file of a submission folder (names and bytes), to tell a resubmission apart."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _nbgrader_id(cell: NotebookNode) -> str | None:
    return nbgrader_metadata(cell).get("grade_id")


def _is_answer(cell: NotebookNode) -> bool:
    return bool(nbgrader_metadata(cell).get("solution"))


def _is_locked(cell: NotebookNode) -> bool:
    nbgrader = nbgrader_metadata(cell)
    return bool(nbgrader.get("locked") or (nbgrader.get("grade") and not nbgrader.get("solution")))


def _plain_cell(cell: NotebookNode) -> NotebookNode:
    """A student-added cell, stripped of any nbgrader metadata it may claim (it earns no points)."""
    added = copy.deepcopy(cell)
    added.get("metadata", {}).pop("nbgrader", None)
    added["id"] = uuid.uuid4().hex[:8]  # fresh: the student's id may collide with a released cell's
    if added.cell_type == "code":
        added.outputs, added.execution_count = [], None
    return added


@dataclass
class Rebuilt:
    notebook: NotebookNode
    notes: list[str] = field(default_factory=list)


def rebuild(student: NotebookNode, release: NotebookNode, locked_sources: dict[str, str]) -> Rebuilt:
    """The notebook to grade: the release's cells and order, the student's answers, the gradebook's tests."""
    known_ids = {_nbgrader_id(cell) for cell in release.cells if _nbgrader_id(cell)}
    # cells without nbgrader metadata (instructions) are the student's copy of the release when their
    # nbformat id or their text matches; they are not "added"
    released_plain = {cell.get("id") for cell in release.cells if not _nbgrader_id(cell)} - {None}
    released_text = {cell.source for cell in release.cells if not _nbgrader_id(cell)}
    answer_ids = {_nbgrader_id(cell) for cell in release.cells if _nbgrader_id(cell) and _is_answer(cell)}
    answers: dict[str, str] = {}
    added_after: dict[str, list[NotebookNode]] = {TOP: []}
    student_order: list[str] = []
    student_locked: dict[str, str] = {}
    anchor = TOP
    for cell in student.cells:
        cell_id = _nbgrader_id(cell)
        if cell_id in known_ids and cell_id not in student_order:
            student_order.append(cell_id)
            if cell_id in answer_ids:  # the release decides what a cell is, not the student's metadata
                answers[cell_id] = cell.source
                anchor = cell_id
                added_after.setdefault(anchor, [])
            else:
                student_locked[cell_id] = cell.source
            continue
        if cell_id is None and (cell.get("id") in released_plain or cell.source in released_text):
            continue
        if cell.cell_type == "code" or cell.cell_type == "markdown":
            added_after.setdefault(anchor, []).append(_plain_cell(cell))

    notes = []
    graded = copy.deepcopy(release)
    graded.cells = [*added_after[TOP]]
    for cell in release.cells:
        cell = copy.deepcopy(cell)
        cell_id = _nbgrader_id(cell)
        if cell_id is not None and _is_answer(cell):
            if cell_id in answers:
                cell.source = answers[cell_id]
            else:
                notes.append(tr("answer cell {cell} was deleted: graded as unanswered").format(cell=cell_id))
            graded.cells.append(cell)
            graded.cells += added_after.get(cell_id, [])
            continue
        if cell_id is not None and _is_locked(cell):
            if cell_id not in student_order:
                notes.append(tr("cell {cell} was deleted: put back").format(cell=cell_id))
            elif student_locked.get(cell_id, cell.source) != cell.source:
                notes.append(tr("cell {cell} was edited: the original was graded").format(cell=cell_id))
            cell.source = locked_sources.get(cell_id, cell.source)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        graded.cells.append(cell)
    released_order = [_nbgrader_id(cell) for cell in release.cells if _nbgrader_id(cell) in student_order]
    if student_order != released_order:
        notes.append(tr("cells were moved: graded in the released order"))
    added = sum(len(cells) for cells in added_after.values())
    if added:
        notes.append(tr("{count} cell(s) added by the student were kept after the answer they followed").format(
            count=added))
    graded.metadata["kernelspec"] = release.metadata.get("kernelspec", graded.metadata.get("kernelspec"))
    language = known_language(student.metadata.get("language"))
    if language != ENGLISH:  # the tests' messages and the feedback will speak it (grader.translation)
        graded.metadata["language"] = language
    return Rebuilt(graded, notes)
