"""A notebook in another language, made from the English one and its page's catalogue: each Markdown passage
(heading, paragraph, list item, table cell) is replaced by its translation, found by the same text Sphinx extracts
for the catalogue; code cells, formulas blocks and everything else stay as they are. A passage with no current
translation stays English, so a half-translated notebook still reads."""

from __future__ import annotations

import copy

import nbformat
from babel.messages.catalog import Catalog
from markdown_it.token import Token
from myst_parser.config.main import MdParserConfig
from myst_parser.mdit_to_docutils.base import DocutilsRenderer
from myst_parser.parsers.mdit import create_md_parser

MARKDOWN = create_md_parser(MdParserConfig(enable_extensions={"dollarmath", "amsmath"}), DocutilsRenderer)
TEXT_BLOCKS = {"heading_open", "paragraph_open"}
TABLE_CELLS = {"th_open", "td_open"}


def passage_id(text: str) -> str:
    """The catalogue's key for a passage: its Markdown with line breaks as spaces, as Sphinx's gettext writes it."""
    return text.replace("\n", " ").strip()


def passages(source: str) -> list[str]:
    """Every translatable passage of a Markdown cell, as catalogue keys, in order."""
    return [passage_id(token.content) for token, _ in _translatable(MARKDOWN.parse(source))]


def _translatable(tokens: list[Token]) -> list[tuple[Token, str]]:
    """(inline token, "text" or "cell") for each passage: a heading's or paragraph's text, or a table cell."""
    found = []
    for opening, inline in zip(tokens, tokens[1:]):
        if inline.type == "inline" and inline.map is not None:
            if opening.type in TEXT_BLOCKS:
                found.append((inline, "text"))
            elif opening.type in TABLE_CELLS:
                found.append((inline, "cell"))
    return found


def translate_markdown(source: str, catalogue: Catalog) -> str:
    """``source`` with each passage that ``catalogue`` translates (and not as stale) replaced by its translation."""
    lines = source.split("\n")
    rows: dict[int, list[str]] = {}  # a table row's cells, translated one by one
    for inline, kind in _translatable(MARKDOWN.parse(source)):
        translation = _translation(catalogue, passage_id(inline.content))
        start, end = inline.map
        if kind == "cell":
            cells = rows.setdefault(start, _cells(lines[start]))
            if translation is not None:
                _replace_cell(cells, inline.content, translation)
            continue
        if translation is None:
            continue
        first_line = inline.content.split("\n", 1)[0]
        prefix = lines[start][:lines[start].index(first_line)]  # a list marker, a quote's ">", an indentation
        lines[start:end] = [prefix + translation] + [None] * (end - start - 1)
    for row, cells in rows.items():
        lines[row] = "|".join(cells)
    return "\n".join(line for line in lines if line is not None)


def _translation(catalogue: Catalog, passage: str) -> str | None:
    message = catalogue.get(passage)
    if message is None or not message.string or message.fuzzy:
        return None
    return message.string


def _cells(row: str) -> list[str]:
    """A table row split at its column bars (a bar escaped as ``\\|`` stays inside its cell)."""
    cells, current, escaped = [], "", False
    for character in row:
        if character == "|" and not escaped:
            cells.append(current)
            current = ""
        else:
            current += character
        escaped = character == "\\" and not escaped
    cells.append(current)
    return cells


def _replace_cell(cells: list[str], english: str, translation: str) -> None:
    for index, cell in enumerate(cells):
        if cell.strip() == english.strip():
            cells[index] = f" {translation} "
            return


def translated_notebook(notebook: nbformat.NotebookNode, catalogue: Catalog,
                        language: str) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with its Markdown cells translated and its language recorded in its metadata."""
    translated = copy.deepcopy(notebook)
    for cell in translated.cells:
        if cell.cell_type == "markdown":
            cell.source = translate_markdown(cell.source, catalogue)
    translated.metadata["language"] = language
    return translated
