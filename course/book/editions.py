"""A Sphinx extension: the language switch at the top of every page, between the editions built together.

The English edition is the site's root and each other edition a folder of it (``zh_CN/``), with the same page
names, so a page's counterpart is the same path under the other edition's root. ``book_editions`` (set by
``python -m course.book``) names the editions built; with one, there is no switch.
"""

from __future__ import annotations

from sphinx.application import Sphinx

SOURCE_LANGUAGE = "en"
EDITION_NAMES = {"en": "English", "zh_CN": "中文"}


def edition_root(language: str) -> str:
    """An edition's folder inside the site ("" for the English one, at its root)."""
    return "" if language == SOURCE_LANGUAGE else f"{language}/"


def edition_links(pagename: str, current: str, editions: list[str]) -> list[tuple[str, str | None]]:
    """(name, relative link or None for the edition being read) for each edition, to this page in it."""
    to_site_root = "../" * pagename.count("/") + ("../" if current != SOURCE_LANGUAGE else "")
    return [(EDITION_NAMES.get(language, language),
             None if language == current else f"{to_site_root}{edition_root(language)}{pagename}.html")
            for language in editions]


def add_edition_links(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    editions = [language.strip() for language in app.config.book_editions.split(",") if language.strip()]
    current = app.config.language or SOURCE_LANGUAGE
    context["edition_links"] = edition_links(pagename, current, editions) if len(editions) > 1 else []


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_editions", SOURCE_LANGUAGE, "html", str)
    app.connect("html-page-context", add_edition_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
