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


# What a student sees in JupyterLab: the visible part of a test cell says what differs, with numbers.
# These say only "no"; course.compare.assert_close says where, and by how much.
VAGUE_COMPARISONS = ("allclose", "isclose", "equal")
SAID_WITHOUT_NUMBERS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def visible_part(source):
    return source.split("### BEGIN HIDDEN TESTS")[0]


def vague_visible_asserts(source):
    """Line numbers of the asserts in ``source`` whose failure would not show the values it compared: a
    comparison of tensors with allclose/isclose/equal, or a numeric comparison whose message is not an f-string."""
    vague = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Assert):
            continue
        calls = [call for call in ast.walk(node.test) if isinstance(call, ast.Call)]
        if any(getattr(call.func, "attr", getattr(call.func, "id", None)) in VAGUE_COMPARISONS for call in calls):
            vague.append(node.lineno)
            continue
        compares = [compare for compare in ast.walk(node.test) if isinstance(compare, ast.Compare)]
        numeric = any(isinstance(op, SAID_WITHOUT_NUMBERS) for compare in compares for op in compare.ops)
        shows_values = isinstance(node.msg, ast.JoinedStr) and any(
            isinstance(part, ast.FormattedValue) for part in node.msg.values)
        if numeric and not shows_values:
            vague.append(node.lineno)
    return sorted(vague)


def test_the_check_finds_vague_visible_asserts():
    source = ("assert torch.allclose(a, b), 'a differs'\n"
              "assert len(a) == 3, 'wrong length'\n"
              "assert len(a) == 3, f'expected 3, got {len(a)}'\n"
              "assert not changed, 'the caller was changed'\n"
              "assert_close(a, b, 'a')\n")
    assert vague_visible_asserts(source) == [1, 2], "the check misses vague asserts or flags clear ones"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda path: path.parent.name)
def test_every_visible_failure_shows_the_values_it_compared(path):
    vague = [f"{path.parent.name} {grade_id(cell)} line {line}"
             for cell in graded_cells(path) for line in vague_visible_asserts(visible_part(cell.source))]
    assert not vague, (f"{len(vague)} visible assert(s) that would not say what differs: use course.compare's "
                       f"assert_close, or an f-string message with the values:\n" + "\n".join(vague))
