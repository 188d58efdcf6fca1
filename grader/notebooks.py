"""Reading nbgrader notebooks: exercises, points, and mechanically filled-in solutions."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

_SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


class NotebookError(Exception):
    """A notebook is unreadable or is not laid out as an nbgrader assignment."""


def is_judged(release: NotebookNode) -> bool:
    """A lab opts in to grading outside the student's kernel (:mod:`grader.judge`) with notebook metadata
    ``{"grader": {"judge": "outside"}}``."""
    return release.metadata.get("grader", {}).get("judge") == "outside"


def read_notebook(path: Path) -> NotebookNode:
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as error:  # nbformat raises several unrelated types
        raise NotebookError(f"{path}: not a readable notebook ({error})") from error


def nbgrader_metadata(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata ({} for a cell nbgrader does not know, or whose metadata is not a mapping)."""
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


_nbgrader = nbgrader_metadata


def is_solution_cell(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(_nbgrader(cell).get("solution"))


def is_test_cell(cell: NotebookNode) -> bool:
    return bool(_nbgrader(cell).get("grade")) and not _nbgrader(cell).get("solution")


def grade_id(cell: NotebookNode) -> str:
    return _nbgrader(cell)["grade_id"]


@dataclass
class Exercise:
    """Solution cells and the test cells after them, up to the next solution cell."""

    solution_ids: list[str] = field(default_factory=list)
    test_ids: list[str] = field(default_factory=list)
    points: float = 0.0

    @property
    def name(self) -> str:
        return self.solution_ids[0] if self.solution_ids else self.test_ids[0]


def exercises(notebook: NotebookNode) -> list[Exercise]:
    """The notebook's exercises in order, each with the points of its test cells."""
    found: list[Exercise] = []
    for cell in notebook.cells:
        if is_solution_cell(cell):
            if not found or found[-1].test_ids:
                found.append(Exercise())
            found[-1].solution_ids.append(grade_id(cell))
        elif is_test_cell(cell):
            if not found:
                found.append(Exercise())
            found[-1].test_ids.append(grade_id(cell))
            found[-1].points += float(_nbgrader(cell).get("points", 0))
    return found


def strip_solution_markers(source: str) -> str:
    """The solution code as a student would type it: the region markers removed."""
    return "\n".join(line for line in source.splitlines() if not _SOLUTION_MARKER.match(line))


def fill_solutions(
    released: NotebookNode, source: NotebookNode, solution_ids: set[str] | None = None
) -> NotebookNode:
    """A copy of the released notebook with the source's solutions typed into its solution cells.

    ``solution_ids`` limits which cells are filled (all when None), to simulate a
    student who solved some exercises only.
    """
    answers = {grade_id(cell): strip_solution_markers(cell.source) for cell in source.cells if is_solution_cell(cell)}
    filled = copy.deepcopy(released)
    for cell in filled.cells:
        if is_solution_cell(cell) and (solution_ids is None or grade_id(cell) in solution_ids):
            if grade_id(cell) not in answers:
                raise NotebookError(f"solution cell {grade_id(cell)!r} of the released lab is not in its source")
            cell.source = answers[grade_id(cell)]
    return filled
