"""The kit's own words, extracted for translation: two catalogues besides the pages'.

- ``course`` (``course/locales/<language>/LC_MESSAGES/course.po``, shipped with the kit): every ``tr("...")`` of
  the ``course`` package and of the lectures' code (widget labels, figure titles and axes), and the messages of
  the labs' visible tests, which a student's kernel shows;
- ``grader`` (``grader/locales/...``, the instructor's side): every ``tr("...")`` of the ``grader`` package (its
  notes in the feedback) and the messages of the hidden tests, which only the feedback shows.

A test's message is the text of an ``assert``'s message, of ``AssertionError(...)``, the description given to
:func:`course.compare.assert_close`, or the ``message`` given to :func:`course.judging.forbid`; an f-string is kept with its placeholders as written
(``got shape {tuple(y.shape)}``), the form :func:`course.language.translate_message` matches.
"""

from __future__ import annotations

import ast
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_from_dir
from babel.messages.pofile import read_po, write_po

from course.language import PLACEHOLDER
from course.translations.catalogues import CHECKOUT, PageStatus, page_status
from course.translations.markup import markup_problems

HIDDEN_START, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
KEYWORDS = {"tr": None}  # course.language.tr
NOT_THE_KITS = ("book", "translations")  # the web edition's build and these tools speak only to contributors


@dataclass(frozen=True)
class Domain:
    """One catalogue of the kit's own words: where its translations live, relative to the checkout."""

    name: str
    locales: str

    def catalogue_path(self, language: str, checkout: Path) -> Path:
        return checkout / self.locales / language / "LC_MESSAGES" / f"{self.name}.po"


KIT = Domain("course", "course/locales")
GRADER = Domain("grader", "grader/locales")
DOMAINS = (KIT, GRADER)


def kit_template(checkout: Path) -> Catalog:
    """The ``course`` catalogue's English: the package's and the lectures' ``tr()`` calls, the visible tests."""
    catalogue = Catalog(project="course", charset="utf-8")
    _add_package(catalogue, checkout, "course", skip=NOT_THE_KITS)
    for lecture in sorted((checkout / "course" / "lectures").glob("*.ipynb")):
        for index, cell in _code_cells(lecture):
            for lineno, message in _gettext_calls(cell.source):
                catalogue.add(message, locations=[(_location(lecture, checkout, index), lineno)])
    for message, location in _solution_test_messages(checkout, visible_part):
        catalogue.add(message, locations=[location])
    return catalogue


def grader_template(checkout: Path) -> Catalog:
    """The ``grader`` catalogue's English: the grader's ``tr()`` calls and the hidden tests' messages that the
    visible tests do not also use."""
    catalogue = Catalog(project="grader", charset="utf-8")
    _add_package(catalogue, checkout, "grader")
    visible = {message for message, _ in _solution_test_messages(checkout, visible_part)}
    for message, location in _solution_test_messages(checkout, hidden_part):
        if message not in visible:
            catalogue.add(message, locations=[location])
    return catalogue


def _solution_test_messages(checkout: Path, part) -> list[tuple[str, tuple[str, int]]]:
    """(message, (notebook#cell, line)) of the ``part`` (visible or hidden) of every solution's test cells."""
    return [(message, (_location(solution, checkout, index), lineno))
            for solution in sorted((checkout / "solutions").glob("*/*.ipynb"))
            for index, cell in _test_cells(solution)
            for lineno, message in test_messages(part(cell.source))]


TEMPLATES = {KIT.name: kit_template, GRADER.name: grader_template}


def update_domain(domain: Domain, language: str, checkout: Path = CHECKOUT) -> Path:
    """Merge the current English of ``domain`` into its ``language`` catalogue as ``update`` does for the pages
    (new entries empty, changed ones keep their old translation marked fuzzy, removed ones dropped)."""
    path = domain.catalogue_path(language, checkout)
    catalogue = _read(path) or Catalog(locale=language, project=domain.name, charset="utf-8")
    catalogue.update(TEMPLATES[domain.name](checkout))
    catalogue.obsolete.clear()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        write_po(file, catalogue, width=120, omit_header=False, sort_output=False)
    return path


def domain_status(domain: Domain, language: str, checkout: Path = CHECKOUT) -> PageStatus:
    """What ``domain``'s catalogue lacks, reported as a page named after the domain."""
    return page_status(domain.name, TEMPLATES[domain.name](checkout), _read(domain.catalogue_path(language, checkout)),
                       problems_of=message_problems)


def message_problems(english: str, translation: str) -> list[str]:
    """What a message's translation lost or added: placeholders (the values put in at run time), inline code."""
    source, target = _placeholders(english), _placeholders(translation)
    problems = [f"missing placeholder {part}" for part in sorted((source - target).elements())]
    problems += [f"placeholder not in the English: {part}" for part in sorted((target - source).elements())]
    return problems + [problem for problem in markup_problems(english, translation) if "math" not in problem]


def _placeholders(text: str) -> Counter:
    return Counter(part for part in PLACEHOLDER.findall(text) if part not in ("{{", "}}"))


def _read(path: Path) -> Catalog | None:
    if not path.is_file():
        return None
    with path.open("rb") as file:
        return read_po(file)


def test_messages(source: str) -> list[tuple[int, str]]:
    """The messages a test cell's code can fail with, as (line, entry), in the order written."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Assert):
            text = message_text(node.msg)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "AssertionError" and node.args:
                text = message_text(node.args[0])
            elif node.func.id == "assert_close":
                described = node.args[2] if len(node.args) > 2 else next(
                    (keyword.value for keyword in node.keywords if keyword.arg == "what"), None)
                text = message_text(described)
            elif node.func.id == "forbid":
                text = message_text(next((keyword.value for keyword in node.keywords if keyword.arg == "message"),
                                         None))
        if text:
            found.append((node.lineno, text))
    return sorted(found)


def message_text(node: ast.AST | None) -> str | None:
    """A string or f-string as a catalogue entry: an f-string's values as ``{expression}`` placeholders
    (conversion and format spec kept), its literal braces doubled; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            parts.append(part.value.replace("{", "{{").replace("}", "}}"))
            continue
        placeholder = "{" + ast.unparse(part.value)
        if part.conversion != -1:
            placeholder += "!" + chr(part.conversion)
        if part.format_spec is not None:
            placeholder += ":" + "".join(str(piece.value) for piece in part.format_spec.values
                                         if isinstance(piece, ast.Constant))
        placeholder += "}"
        if PLACEHOLDER.fullmatch(placeholder) is None:  # an expression with braces of its own: no entry
            return None
        parts.append(placeholder)
    return "".join(parts)


def visible_part(source: str) -> str:
    """A test cell's source without its hidden tests (lines blanked, so line numbers stay)."""
    return _keep(source, hidden=False)


def hidden_part(source: str) -> str:
    """Only a test cell's hidden tests, at their lines, dedented as nbgrader's markers sit at the cell's margin."""
    return _keep(source, hidden=True)


def _keep(source: str, hidden: bool) -> str:
    kept, inside = [], False
    for line in source.splitlines():
        if line.strip() == HIDDEN_START:
            inside = True
            kept.append("")
        elif line.strip() == HIDDEN_END:
            inside = False
            kept.append("")
        else:
            kept.append(line if inside == hidden else "")
    return "\n".join(kept)


def _add_package(catalogue: Catalog, checkout: Path, package: str, skip: tuple[str, ...] = ()) -> None:
    method_map = [*((f"{folder}/**.py", "ignore") for folder in skip), ("**.py", "python")]
    for filename, lineno, message, comments, _context in extract_from_dir(
            checkout / package, method_map=method_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)):
        if isinstance(message, str):
            catalogue.add(message, locations=[(f"{package}/{filename}", lineno)], auto_comments=comments)


def _gettext_calls(source: str) -> list[tuple[int, str]]:
    found = extract("python", io.BytesIO(source.encode("utf-8")), keywords=KEYWORDS)
    return [(lineno, message) for lineno, message, _comments, _context in found if isinstance(message, str)]


def _code_cells(path: Path):
    notebook = nbformat.read(path, as_version=4)
    return [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]


def _test_cells(path: Path):
    return [(index, cell) for index, cell in _code_cells(path)
            if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")]


def _location(path: Path, checkout: Path, cell_index: int) -> str:
    return f"{path.relative_to(checkout).as_posix()}#cell{cell_index}"
