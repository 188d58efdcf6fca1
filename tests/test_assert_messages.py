"""Every failure explains itself: each assert a student can fail in a lab's test cells (the visible part,
the hidden part and any helper function defined there) carries a message, so that a student never reads a
bare AssertionError. The cells are parsed, never run."""

import ast
from pathlib import Path

import pytest

from grader.notebooks import grade_id, is_test_cell, read_notebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))


def graded_cells(path):
    return [cell for cell in read_notebook(path).cells if cell.cell_type == "code" and is_test_cell(cell)]


def asserts_without_message(source):
    """Line numbers of the asserts in ``source`` (a test cell, hidden tests included) that carry no message."""
    return sorted(
        node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assert) and node.msg is None
    )


def test_the_check_finds_bare_asserts():
    source = "def helper(x):\n    assert x, 'x is false'\n    assert x > 0\n### BEGIN HIDDEN TESTS\nassert helper(1)\n"
    assert asserts_without_message(source) == [3, 5], "the check misses bare asserts or flags asserts with a message"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda path: path.parent.name)
def test_every_assert_in_a_test_cell_says_what_failed(path):
    cells = graded_cells(path)
    assert cells, f"{path.parent.name}: no test cells found"
    bare = [
        f"{path.parent.name} {grade_id(cell)} line {line}"
        for cell in cells
        for line in asserts_without_message(cell.source)
    ]
    assert not bare, f"{len(bare)} assert(s) without a message:\n" + "\n".join(bare)
