"""`grader release --lang zh_CN`: the student copy in Chinese is the released notebook cell for cell (code, ids,
nbgrader metadata), its text from the lab's catalogue; a language the kit lacks is refused before anything runs."""

from pathlib import Path

import nbformat
import pytest

from grader.cli import main
from grader.layout import Course
from grader.release import translate_release
from grader.translation import UnknownLanguage, language_named

COURSE = Course.locate(Path(__file__).resolve().parent.parent)


@pytest.mark.parametrize("assignment", COURSE.assignments())
def test_the_chinese_copy_is_the_release_with_chinese_text(assignment, tmp_path):
    translated = translate_release(COURSE, assignment, "zh_CN", tmp_path)
    assert translated.english_passages == 0, "a released lab has passages without a current translation"
    for released_path in COURSE.lab(assignment).glob("*.ipynb"):
        released = nbformat.read(released_path, as_version=4)
        chinese = nbformat.read(translated.folder / released_path.name, as_version=4)
        assert chinese.metadata["language"] == "zh_CN"
        assert [(cell.id, cell.cell_type, cell.metadata) for cell in chinese.cells] == [
            (cell.id, cell.cell_type, cell.metadata) for cell in released.cells]
        assert [cell.source for cell in chinese.cells if cell.cell_type == "code"] == [
            cell.source for cell in released.cells if cell.cell_type == "code"]
        changed = [new.source != old.source for new, old in zip(chinese.cells, released.cells)
                   if old.cell_type == "markdown"]
        assert all(changed), "a Markdown cell of the lab was left in English"


def test_a_language_is_named_as_the_kit_names_it_or_by_its_first_part():
    assert language_named("zh_CN") == language_named("zh") == "zh_CN"
    with pytest.raises(UnknownLanguage, match="has: zh_CN"):
        language_named("fr")


def test_release_refuses_an_unknown_language_before_releasing(capsys, monkeypatch):
    monkeypatch.setattr("grader.cli.release", lambda *args: pytest.fail("released before checking the language"))
    assert main(["--root", str(COURSE.root), "release", "--lang", "fr", "01_backprop"]) == 2
    assert "no 'fr' edition" in capsys.readouterr().err
