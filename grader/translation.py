"""The grader's words in a submission's language: a failed test's message and the grader's notes, translated with
the kit's catalogue and the grader's own (``grader/locales``: its notes and the hidden tests' messages, which the
kit a student installs does not carry). A Chinese notebook says so in its metadata (course.translations.notebooks);
anything else is graded and explained in English."""

from __future__ import annotations

from pathlib import Path

from nbformat import NotebookNode

from course.language import ENGLISH, KIT_LOCALES, known_language, translate_message

LOCALES = Path(__file__).resolve().parent / "locales"
CATALOGUES = ((LOCALES, "grader"),)


def submission_language(notebook: NotebookNode) -> str:
    """The language a submitted notebook is written in, as far as the kit can speak it."""
    return known_language(notebook.get("metadata", {}).get("language"))


def translated(text: str, language: str) -> str:
    """``text`` (a test's message with its values, or a grader's note) in ``language``; as it is when the
    catalogues have no entry it was made from."""
    if language == ENGLISH:
        return text
    return translate_message(text, language, CATALOGUES)


class UnknownLanguage(ValueError):
    """An instructor named a language the kit has no edition in."""


def language_named(name: str) -> str:
    """The language an instructor names (``zh_CN``, or ``zh`` where one edition starts so); UnknownLanguage, with
    the kit's languages, otherwise."""
    available = sorted(path.name for path in KIT_LOCALES.iterdir() if path.is_dir()) if KIT_LOCALES.is_dir() else []
    if name in available:
        return name
    matching = [language for language in available if language.split("_")[0] == name]
    if len(matching) == 1:
        return matching[0]
    raise UnknownLanguage(f"the kit has no {name!r} edition; it has: {', '.join(available) or 'none'} (English is the "
                     "release itself)")
