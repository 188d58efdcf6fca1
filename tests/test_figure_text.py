"""No Chinese in the code: the English figures need no Chinese font (matplotlib's default has none, and draws boxes),
and the Chinese edition's words come from the catalogues (``tr``, course/locales), never from a string in the code.
No string the kit's code or a lecture's code builds holds a Chinese character; the Chinese edition's figures get a
font that has them (course.figure_fonts, tests/test_figure_fonts.py)."""

import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHINESE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
NEVER_DRAWS = ("book", "translations")  # the web edition's build and the catalogues' tools: no figure is drawn there
MODULES = sorted(path for path in (ROOT / "course").rglob("*.py")
                 if path.relative_to(ROOT / "course").parts[0] not in NEVER_DRAWS)
LECTURES = sorted((ROOT / "course" / "lectures").glob("*.ipynb"))


def chinese_strings(source: str) -> list[str]:
    """The string literals in ``source`` holding a Chinese character, docstrings left out (they are not drawn)."""
    tree = ast.parse(source)
    docstrings = {id(body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  for body in [node.body] if body and isinstance(body[0], ast.Expr)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and CHINESE.search(node.value)]


def test_the_check_finds_a_chinese_title():
    source = '"""生成器 in a docstring is fine."""\nax.set_title("生成图像")\n'
    assert chinese_strings(source) == ["生成图像"], "the check misses a Chinese string or flags a docstring"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_kits_code_draws_no_chinese_text(path):
    assert chinese_strings(path.read_text(encoding="utf-8")) == [], f"{path.name}: Chinese text in a string"


@pytest.mark.parametrize("path", LECTURES, ids=lambda path: path.name)
def test_the_lectures_code_draws_no_chinese_text(path):
    cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    found = [text for cell in cells for text in chinese_strings(cell.source)]
    assert found == [], f"{path.name}: Chinese text in code, which a figure would draw as boxes: {found}"
