"""The check that a lecture's text quotes only numbers the lecture shows (tests/quoted_numbers.py) is itself right."""

from pathlib import Path

import nbformat
import pytest

from quoted_numbers import matches, quoted, stated_sources, unshown_numbers

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted((ROOT / "course" / "lectures").glob("*.ipynb"))


def test_it_reads_decimals_and_percentages_outside_formulas_and_code():
    text = "D(x) was 0.80 and 41 % were confident; $p = 0.5$ and `lr=0.01` are not quotes; arXiv 1406.2661 is a name."
    assert quoted(text) == ["0.80", "41 %"], quoted(text)


@pytest.mark.parametrize("quote, value, found", [
    ("86.1 %", 0.8612, True), ("86.1 %", 86.14, True), ("86.1 %", 0.8649, False),
    ("0.80", 0.7951, True), ("0.80", 0.81, False), ("19.8", 19.84, True), ("41 %", 0.406, True),
])
def test_a_number_is_found_at_the_precision_it_is_quoted_with(quote, value, found):
    assert matches(quote, value) is found


def notebook(markdown: str, printed: str) -> dict:
    made = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown), nbformat.v4.new_code_cell("")])
    made.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    return made


def test_it_names_a_quoted_number_the_run_does_not_show():
    shown = notebook("InfoGAN covered 19.8 modes and 41 % were confident.",
                     "modes covered 19.8 of 25\nconfident 0.52\n")
    assert unshown_numbers(shown, "no-such-lecture", shipped="") == ["41 %"]


@pytest.mark.parametrize("path", LECTURES, ids=lambda path: path.stem)
def test_every_stated_source_is_quoted_by_its_lecture(path):
    text = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown")
    quotes = {quote.replace(" ", "") for quote in quoted(text)}
    stale = [number for number in stated_sources(path.stem) if number.replace(" ", "") not in quotes]
    assert not stale, f"tests/quoted_numbers.toml names numbers {path.stem} no longer quotes: {stale}"
