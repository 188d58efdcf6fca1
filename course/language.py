"""The language the kit speaks to a student: its widgets' labels, its figures' titles and axes, its tests' and the
grader's messages.

English is written in the code, as ``tr("the loss")`` (``tr``, not gettext's usual ``_``, which IPython takes for
the last result and loops take for a value they throw away); a translation comes from a gettext catalogue shipped beside
the code (``course/locales/zh_CN/LC_MESSAGES/course.po``, the grader's in ``grader/locales``), made and checked with
``python -m course.translations``. The language is ``COURSE_LANGUAGE`` in the environment (``python -m
course.workspace --lang zh_CN --open`` sets it for the kernels of a Chinese workspace, the Chinese book's build for
its lectures), or the one :func:`speaking` sets for a block of code (the grader, one submission at a time). A
message the catalogue lacks stays English.

The labs' test messages are f-strings in the test cells: their catalogue entries keep the placeholders
(``expected shape (6,), got {tuple(by_hand.shape)}``), and :func:`translate_message` finds the entry that a
finished message was made from and puts the same values into its translation.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGE_VARIABLE = "COURSE_LANGUAGE"
ENGLISH = "en"
KIT_LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "course"
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{[^{}]+\}")  # a doubled brace is a literal one
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
_chosen: contextvars.ContextVar[str | None] = contextvars.ContextVar("course_language", default=None)


def current_language() -> str:
    """The language chosen by :func:`speaking`, else ``COURSE_LANGUAGE``, else English (``"en"``)."""
    language = _chosen.get() or os.environ.get(LANGUAGE_VARIABLE, "").strip()
    return language or ENGLISH


def known_language(value) -> str:
    """``value`` where it names a language the kit has a catalogue for, else English: for a language read from
    a file a student wrote (a notebook's metadata), which must not name a path."""
    if isinstance(value, str) and LANGUAGE_CODE.fullmatch(value) and (KIT_LOCALES / value).is_dir():
        return value
    return ENGLISH


@contextlib.contextmanager
def speaking(language: str | None):
    """Within the block, the kit speaks ``language`` (None or ``"en"``: English) whatever the environment says."""
    token = _chosen.set(language or ENGLISH)
    try:
        yield
    finally:
        _chosen.reset(token)


def gettext(message: str) -> str:
    """``message`` in the current language: its catalogue's translation, or ``message`` itself."""
    return translations(current_language()).exact.get(message, message)


tr = gettext


def translate_message(text: str, language: str | None = None, extra: tuple[tuple[Path, str], ...] = ()) -> str:
    """A finished message (an assert's, with its values filled in) in ``language`` (default: the current one).

    Looks the text up as it is, then as made from one of the catalogues' entries with placeholders, whose
    translation gets the values the English had there. ``extra`` adds catalogues as (locales folder, domain)
    pairs (the grader's)."""
    return _translated(text, translations(language or current_language(), extra), depth=0)


def _translated(text: str, table: Translations, depth: int) -> str:
    if text in table.exact:
        return table.exact[text]
    for template in table.templates:
        found = template.pattern.fullmatch(text)
        if found:
            # a value may be a message itself (assert_close's description of what it compares)
            values = {placeholder: _translated(value, table, depth + 1) if depth < 1 else value
                      for placeholder, value in zip(template.placeholders, found.groups())}
            return PLACEHOLDER.sub(lambda part: values.get(part.group(), _unescaped(part.group())),
                                   template.translation)
    return text


def _unescaped(entry: str) -> str:
    return entry.replace("{{", "{").replace("}}", "}")


@dataclass(frozen=True)
class Template:
    """A catalogue entry with placeholders, as a pattern matching the messages made from it."""

    pattern: re.Pattern
    placeholders: tuple[str, ...]
    translation: str
    literal_length: int  # how much of the entry is fixed text: the longer, the more specific


@dataclass
class Translations:
    exact: dict[str, str] = field(default_factory=dict)
    templates: list[Template] = field(default_factory=list)


def catalogue_file(language: str, locales: Path = KIT_LOCALES, domain: str = DOMAIN) -> Path:
    return locales / language / "LC_MESSAGES" / f"{domain}.po"


def template_of(message: str, translation: str) -> Template | None:
    """The pattern of an entry with placeholders; None for an entry without any."""
    pieces, placeholders, at = [], [], 0
    for part in PLACEHOLDER.finditer(message):
        pieces.append(re.escape(message[at:part.start()]))
        if part.group() in ("{{", "}}"):
            pieces.append(re.escape(part.group()[0]))
        else:
            pieces.append("(.*?)")
            placeholders.append(part.group())
        at = part.end()
    if not placeholders:
        return None
    pieces.append(re.escape(message[at:]))
    literal_length = len(PLACEHOLDER.sub("", message))
    return Template(re.compile("".join(pieces), re.DOTALL), tuple(placeholders), translation, literal_length)


@functools.lru_cache(maxsize=16)
def translations(language: str, extra: tuple[tuple[Path, str], ...] = ()) -> Translations:
    """Every translated, current entry of the kit's catalogue for ``language`` and of the ``extra`` ones."""
    table = Translations()
    if language == ENGLISH:
        return table
    # imported here: an English kit reads no catalogue
    from babel.messages.pofile import read_po

    for path in (catalogue_file(language), *(catalogue_file(language, locales, domain) for locales, domain in extra)):
        if not path.is_file():
            continue
        with path.open("rb") as file:
            catalogue = read_po(file)
        for message in catalogue:
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
                table.exact[message.id] = message.string
    for message, translation in list(table.exact.items()):
        template = template_of(message, translation)
        if template is not None:
            table.templates.append(template)
        elif "{{" in message or "}}" in message:  # a test's plain message, its braces doubled in the entry
            table.exact[_unescaped(message)] = _unescaped(translation)
    # the most literal text first: "got shape {a}" must not be taken for "got {a}"
    table.templates.sort(key=lambda template: -template.literal_length)
    return table
