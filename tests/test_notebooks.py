"""Every notebook follows the conventions: clean metadata, seeded, imports from the package,
and only the outputs that nbval checks or a reader needs to see."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted((ROOT / "course" / "lectures").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
LABS = sorted((ROOT / "labs").glob("*/*.ipynb"))
ALL = LECTURES + SOLUTIONS + LABS
CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"
MAX_NOTEBOOK_BYTES = 1_500_000


def name(path):
    return str(path.relative_to(ROOT))


def code_cells(path):
    return [cell for cell in nbformat.read(str(path), as_version=4).cells if cell.cell_type == "code"]


def test_every_lab_has_its_lecture_and_its_release():
    topics = {path.parent.name for path in SOLUTIONS}
    assert topics, "no solution notebooks found"
    assert topics <= {path.stem for path in LECTURES}, "a lab without its lecture"
    assert {path.parent.name for path in LABS} == topics, "labs/ and solutions/ hold different topics"


@pytest.mark.parametrize("path", ALL, ids=name)
def test_metadata_is_clean(path):
    notebook = nbformat.read(str(path), as_version=4)
    nbformat.validate(notebook)
    assert set(notebook.metadata) <= {"kernelspec", "language_info", "grader"}, "stray notebook metadata (widget state?)"
    assert notebook.metadata.get("grader", {"judge": "outside"}) == {"judge": "outside"}, "grader metadata other than the judge's"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES


@pytest.mark.parametrize("path", LECTURES + SOLUTIONS, ids=name)
def test_notebook_is_seeded_and_imports_cleanly(path):
    sources = "\n".join(cell.source for cell in code_cells(path))
    assert "seed_everything(" in sources, "every notebook seeds its generators"
    assert not re.search(r"^\s*from\s+\S+\s+import\s+\*", sources, re.M), "no star imports"
    assert "sys.path" not in sources, "notebooks import the installed package, never edit sys.path"


@pytest.mark.parametrize("path", SOLUTIONS + LABS, ids=name)
def test_lab_notebooks_carry_no_outputs(path):
    for cell in code_cells(path):
        assert not cell.outputs and cell.execution_count is None


@pytest.mark.parametrize("path", LECTURES, ids=name)
def test_lecture_keeps_only_checked_or_pictured_outputs(path):
    checked = 0
    for cell in code_cells(path):
        assert (cell.execution_count is None) == (not cell.outputs), "only cells with outputs keep a count"
        if cell.source.startswith(CHECK_OUTPUT):
            checked += 1
            assert cell.outputs, "a cell nbval checks must carry its expected output"
            continue
        for output in cell.outputs:
            assert output.output_type == "display_data" and "image/png" in output.get("data", {}), (
                f"unchecked cell keeps a {output.output_type} output:\n{cell.source[:200]}"
            )
    assert checked, "a lecture marks the cells whose output nbval compares"
