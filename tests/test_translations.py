"""course.translations: the catalogues follow the English, a changed passage shows as stale, a damaged translation
is caught, and a notebook is translated passage by passage from its page's catalogue."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from babel.messages.catalog import Catalog
from sphinx_intl.catalog import load_po

from course.translations.catalogues import extract_templates, page_status, released_pages, statuses
from course.translations.messages import DOMAINS, domain_status
from course.translations.markup import markup_problems
from course.translations.notebooks import MARKDOWN, passages, translate_markdown, translated_notebook
from shared_folder import built_once

ROOT = Path(__file__).resolve().parent.parent
LECTURE = "course/lectures/01_backprop"
NOTEBOOK_PAGES = [path.relative_to(ROOT).with_suffix("").as_posix()
                  for path in [*sorted((ROOT / "course" / "lectures").glob("*.ipynb")),
                               *sorted(ROOT.glob("labs/*/*.ipynb"))]]


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> Path:
    """The current English passages of every page, as `python -m course.translations` extracts them."""
    return built_once(tmp_path_factory, "gettext-templates", extract_templates)


def pretend_translated(template: Catalog) -> Catalog:
    """A catalogue translating every passage of ``template`` (its markup kept, as a translator must)."""
    catalogue = Catalog(locale="zh_CN")
    for message in template:
        if message.id:
            catalogue.add(message.id, string=f"译：{message.id}")
    return catalogue


def formula_blocks(source: str) -> set[str]:
    """A cell's formula blocks: the catalogue holds them as they are (a translator copies them), the notebook keeps
    them untranslated."""
    return {token.content.strip() for token in MARKDOWN.parse(source)
            if token.type in ("math_block", "amsmath", "math_block_label")}


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_a_notebook_and_its_catalogue_cut_the_markdown_into_the_same_passages(templates, page):
    template_ids = {message.id for message in load_po(str(templates / f"{page}.pot")) if message.id}
    cells = [cell.source for cell in nbformat.read(ROOT / f"{page}.ipynb", as_version=4).cells
             if cell.cell_type == "markdown"]
    found = {passage for source in cells for passage in passages(source) if passage}
    formulas = {formula for source in cells for formula in formula_blocks(source)}
    assert found - template_ids == set(), "passages the notebook translation looks up that the catalogue lacks"
    assert template_ids - found - formulas == set(), "catalogue passages the notebook translation never finds"


def test_an_edited_english_passage_turns_its_translation_stale_until_it_is_translated_again(templates, tmp_path):
    template = load_po(str(templates / f"{LECTURE}.pot"))
    catalogue = pretend_translated(template)
    assert page_status(LECTURE, template, catalogue).complete

    checkout = tmp_path / "checkout"  # the book's sources, lecture 01 and its lab only, one English sentence edited
    shutil.copytree(ROOT / "docs", checkout / "docs", ignore=shutil.ignore_patterns("locales", "*.mo"))
    for notebook in (f"{LECTURE}.ipynb", "labs/01_backprop/01_backprop.ipynb"):
        (checkout / notebook).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / notebook, checkout / notebook)
    notebook = nbformat.read(checkout / f"{LECTURE}.ipynb", as_version=4)
    cell = next(cell for cell in notebook.cells if "very simple units" in cell.source)
    cell.source = cell.source.replace("very simple units", "very simple computing units")
    nbformat.write(notebook, checkout / f"{LECTURE}.ipynb")
    edited = load_po(str(extract_templates(tmp_path / "templates", checkout) / f"{LECTURE}.pot"))

    status = page_status(LECTURE, edited, catalogue)
    assert [passage[:40] for passage in status.stale] == ["A neural network is a stack of very simp"]
    assert not status.missing and not status.complete

    new_passage = status.stale[0]
    catalogue.add(new_passage, string=f"译：{new_passage}")
    assert page_status(LECTURE, edited, catalogue).complete


def test_a_page_with_no_catalogue_is_missing_every_passage(templates):
    template = load_po(str(templates / f"{LECTURE}.pot"))
    status = page_status(LECTURE, template, None)
    assert len(status.missing) == status.passages > 50


def test_a_translation_that_changes_code_formulas_or_links_is_damaged(templates):
    template = load_po(str(templates / f"{LECTURE}.pot"))
    catalogue = pretend_translated(template)
    passage = next(message.id for message in template if "$w_i$" in message.id)
    catalogue[passage].string = catalogue[passage].string.replace("$w_i$", "$w_j$")
    status = page_status(LECTURE, template, catalogue)
    assert status.damaged == {passage: ["missing math w_i", "not in the English: math w_j"]}


def test_markup_problems_name_what_was_lost_or_added():
    english = "Call `torch.sigmoid` on $x$; see [lab 01](../labs/01_backprop/01_backprop.ipynb)."
    assert markup_problems(english, "对 $x$ 调用 `torch.sigmoid`；见[实验 01](../labs/01_backprop/01_backprop.ipynb)。") == []
    assert markup_problems(english, "对 x 调用 `torch.sigmoid()`；见[实验 01](lab.ipynb)。") == [
        "missing code torch.sigmoid", "missing link ../labs/01_backprop/01_backprop.ipynb", "missing math x",
        "not in the English: code torch.sigmoid()", "not in the English: link lab.ipynb"]


def test_markdown_is_translated_passage_by_passage_keeping_its_structure():
    source = ("## 1 · The neuron\n\nA neuron takes inputs\nand weights them.\n\n- one **neuron**;\n- two\n\n"
              "| term | meaning |\n|---|---|\n| `w` | a weight |\n\n```python\nprint('code stays')\n```\n\n"
              "> quoted\n> text\n\n$$a = b$$")
    catalogue = Catalog(locale="zh_CN")
    for english, chinese in {"1 · The neuron": "1 · 神经元", "A neuron takes inputs and weights them.": "神经元加权其输入。",
                             "one **neuron**;": "一个**神经元**；", "meaning": "含义", "a weight": "一个权重",
                             "quoted text": "引文"}.items():
        catalogue.add(english, string=chinese)
    catalogue.add("two", string="二", flags=["fuzzy"])  # stale: stays English
    assert translate_markdown(source, catalogue) == (
        "## 1 · 神经元\n\n神经元加权其输入。\n\n- 一个**神经元**；\n- two\n\n"
        "| term | 含义 |\n|---|---|\n| `w` | 一个权重 |\n\n```python\nprint('code stays')\n```\n\n> 引文\n\n$$a = b$$")


def test_a_translated_notebook_keeps_every_code_cell_and_records_its_language(templates):
    notebook = nbformat.read(ROOT / f"{LECTURE}.ipynb", as_version=4)
    catalogue = pretend_translated(load_po(str(templates / f"{LECTURE}.pot")))
    translated = translated_notebook(notebook, catalogue, "zh_CN")
    assert translated.metadata["language"] == "zh_CN"
    assert [(cell.cell_type, cell.get("id")) for cell in translated.cells] == \
        [(cell.cell_type, cell.get("id")) for cell in notebook.cells]
    assert all(new.source == old.source
               for new, old in zip(translated.cells, notebook.cells) if old.cell_type == "code")
    assert translated.cells[0].source.startswith("# 译：01 · Backpropagation (反向传播)\n\n译：*The exercises:")


@pytest.mark.parametrize("language", ["zh_CN"])
def test_every_released_page_of_an_edition_is_complete_and_current(templates, language):
    released = set(released_pages(language))
    found = statuses(language, templates) + [domain_status(domain, language) for domain in DOMAINS]
    assert released <= {status.page for status in found}, "released.txt names a page that does not exist"
    lacking = {status.page: (len(status.stale), len(status.missing), len(status.damaged))
               for status in found if status.page in released and not status.complete}
    assert not lacking, (f"released {language} pages with (stale, missing, damaged) passages: {lacking}; "
                         f"python -m course.translations check {language} says which")
