"""course.translations.messages: the kit's own words extracted for its two catalogues, the visible tests' messages
for the kit a student installs and the hidden tests' for the grader alone, and kept current as the pages are."""

import ast
from pathlib import Path

import nbformat
import pytest
from babel.messages.pofile import read_po, write_po

from course.translations.messages import test_messages as messages_of
from course.translations.messages import (GRADER, KIT, domain_status, grader_template, hidden_part, kit_template,
                                          message_problems, message_text, update_domain,
                                          visible_part)

ROOT = Path(__file__).resolve().parent.parent
TEST_CELL = '''"""Exercise 1 (10 points)."""
assert y.shape == (6,), f"expected shape (6,), got {tuple(y.shape)}"
assert_close(y, reference, "y against torch's")
### BEGIN HIDDEN TESTS
for case in cases:
    assert ok(case), f"wrong for {case!r} at {rate:.2f}"
    raise AssertionError("a hidden {brace} message")
### END HIDDEN TESTS
'''


def entry(source: str) -> str | None:
    return message_text(ast.parse(source, mode="eval").body)


def test_an_f_string_keeps_its_expressions_as_placeholders():
    assert entry('f"got {tuple(y.shape)}, expected {n!r} at {rate:.3f}"') == (
        "got {tuple(y.shape)}, expected {n!r} at {rate:.3f}")
    assert entry('"a set {1, 2}"') == "a set {{1, 2}}"
    assert entry('f"{ {1: 2}[k] }"') is None, "an expression with braces of its own cannot be a placeholder"
    assert entry("message") is None


def test_a_test_cells_messages_split_into_visible_and_hidden():
    visible = [text for _, text in messages_of(visible_part(TEST_CELL))]
    hidden = [text for _, text in messages_of(hidden_part(TEST_CELL))]
    assert visible == ["expected shape (6,), got {tuple(y.shape)}", "y against torch's"]
    assert hidden == ["wrong for {case!r} at {rate:.2f}", "a hidden {{brace}} message"]
    assert [line for line, _ in messages_of(hidden_part(TEST_CELL))] == [6, 7], "line numbers moved"


def test_the_kits_catalogue_carries_no_message_that_only_a_hidden_test_has():
    visible, hidden = set(), set()
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
                visible |= {text for _, text in messages_of(visible_part(cell.source))}
                hidden |= {text for _, text in messages_of(hidden_part(cell.source))}
    kit = {message.id for message in kit_template(ROOT) if message.id}
    grader = {message.id for message in grader_template(ROOT) if message.id}
    assert hidden - visible, "no hidden test has a message of its own: this test proves nothing"
    assert not kit & (hidden - visible), "a hidden test's message would ship with the kit"
    assert visible <= kit and hidden - visible <= grader


def test_the_kits_and_graders_words_are_extracted():
    kit = {message.id: message for message in kit_template(ROOT) if message.id}
    grader = {message.id for message in grader_template(ROOT) if message.id}
    assert "{label} raised {name}" in grader, "the judge's note from grader/remote.py"
    assert "Notes from the grader" in grader
    lectures = {location for message in kit.values() for location, _ in message.locations
                if location.startswith("course/lectures/")}
    assert lectures, "no figure text of a lecture's own code is extracted"


@pytest.mark.parametrize("translation, problems", [
    ("{name} 的形状是 {tuple(value.shape)}", []),
    ("{name} 的形状", ["missing placeholder {tuple(value.shape)}"]),
    ("{name} {tuple(value.shape)} {extra}", ["placeholder not in the English: {extra}"]),
])
def test_a_translation_must_keep_every_placeholder(translation, problems):
    assert message_problems("{name} has shape {tuple(value.shape)}", translation) == problems


def fake_checkout(folder: Path, message: str) -> Path:
    """A checkout with one kit module saying ``message`` and one solution with a test message."""
    (folder / "course" / "lectures").mkdir(parents=True)
    (folder / "course" / "speak.py").write_text(f"from course.language import tr\nTITLE = tr({message!r})\n")
    (folder / "grader").mkdir()
    (folder / "grader" / "notes.py").write_text("from course.language import tr\nNOTE = tr('a note')\n")
    test = nbformat.v4.new_code_cell(TEST_CELL, metadata={"nbgrader": {"grade": True, "grade_id": "t1",
                                                                       "points": 10}})
    (folder / "solutions" / "01_x").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[test]), folder / "solutions" / "01_x" / "01_x.ipynb")
    return folder


def test_a_changed_english_message_makes_its_translation_stale(tmp_path):
    checkout = fake_checkout(tmp_path, "the loss per step")
    path = update_domain(KIT, "zh_CN", checkout)
    with path.open("rb") as file:
        catalogue = read_po(file)
    for message in catalogue:
        if message.id:
            message.string = f"译 {message.id}"
    with path.open("wb") as file:
        write_po(file, catalogue, width=120)
    assert domain_status(KIT, "zh_CN", checkout).complete
    (checkout / "course" / "speak.py").write_text("from course.language import tr\nTITLE = tr('the loss per epoch')\n")
    status = domain_status(KIT, "zh_CN", checkout)
    assert status.stale == ["the loss per epoch"] and not status.complete
    assert domain_status(GRADER, "zh_CN", checkout).missing, "the grader's words have no catalogue yet"


def test_every_test_cells_visible_and_hidden_parts_parse():
    """Else the extraction would miss their messages without a word."""
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
                ast.parse(visible_part(cell.source))
                ast.parse(hidden_part(cell.source))


def test_every_message_a_test_writes_can_have_a_translation():
    """An f-string whose expression has braces of its own (a set, a nested f-string) gets no entry: the labs
    write such a value into a variable first."""
    unextractable = []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
                tree = ast.parse(visible_part(cell.source) + "\n" + hidden_part(cell.source))
                unextractable += [f"{path.name}: {ast.unparse(node.msg)[:80]}" for node in ast.walk(tree)
                                  if isinstance(node, ast.Assert) and message_text(node.msg) is None]
    assert unextractable == []
