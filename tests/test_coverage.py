"""docs/coverage.md, the table of what the seed slides teach and where the kit teaches it: every row names a place,
and every place it names exists (a lecture's numbered section, or a lab's exercise)."""

import re
from pathlib import Path

import nbformat
import pytest

from grader.notebooks import grade_id, is_solution_cell

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "coverage.md"
SECTION = re.compile(r"\b(\d\d) §(\d+)")
EXERCISE = re.compile(r"\b(\d\d) ex (\d+)")
NOT_CONTENT = "— course logistics"


def rows():
    """(seed heading, item, where) for each table row."""
    seed = None
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## Seed "):
            seed = line.removeprefix("## ")
        elif line.startswith("| ") and not line.startswith("| item") and not line.startswith("|---"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            yield seed, cells[0], cells[1], cells[2]


def lecture_sections(number: str) -> set[str]:
    (path,) = (ROOT / "course" / "lectures").glob(f"{number}_*.ipynb")
    notebook = nbformat.read(str(path), as_version=4)
    return {match.group(1) for cell in notebook.cells if cell.cell_type == "markdown"
            for match in re.finditer(r"^## (\d+) · ", cell.source, re.M)}


def lab_exercises(number: str) -> set[str]:
    (path,) = (ROOT / "solutions").glob(f"{number}_*/*.ipynb")
    notebook = nbformat.read(str(path), as_version=4)
    return {re.match(r"ex(\d+)_", grade_id(cell)).group(1) for cell in notebook.cells if is_solution_cell(cell)}


def test_the_table_covers_all_five_seeds_and_every_row_names_a_place():
    seen = list(rows())
    assert {seed.split(":")[0] for seed, *_ in seen} == {f"Seed 00{n}" for n in range(5)}
    for seed, item, where, _ in seen:
        assert item and where, f"{seed}: an empty row ({item!r})"
        assert SECTION.search(where) or where == NOT_CONTENT, f"{seed}: {item!r} names no lecture section: {where!r}"


@pytest.mark.parametrize("seed, item, where, note", list(rows()), ids=lambda value: str(value)[:40])
def test_every_place_named_exists(seed, item, where, note):
    for number, section in SECTION.findall(where):
        assert section in lecture_sections(number), f"{item!r}: lecture {number} has no section {section}"
    for number, exercise in EXERCISE.findall(note + " " + where):
        assert exercise in lab_exercises(number), f"{item!r}: lab {number} has no exercise {exercise}"
