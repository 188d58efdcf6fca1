"""A Sphinx extension: the book's table of contents, from ``book_parts`` in docs/conf.py.

The pages stay plain Markdown and notebooks that read well on their own (on GitHub, in JupyterLab); the book's
order is added to its front page as hidden toctrees when Sphinx reads it, one per part. The site's own index.html
leads to that front page.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx


def toctree(caption: str, pages: list[str]) -> str:
    """A hidden MyST toctree of ``pages`` (paths from the checkout's root, globs allowed) under ``caption``."""
    entries = "\n".join(f"/{page}" for page in pages)
    return f"\n\n```{{toctree}}\n:caption: {caption}\n:hidden:\n:glob:\n\n{entries}\n```\n"


def add_contents(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname == app.config.root_doc:
        source[0] += "".join(toctree(caption, pages) for caption, pages in app.config.book_parts.items())


def write_front_door(app: Sphinx, exception: Exception | None) -> None:
    """index.html at the site's root sends a reader on to the front page, which keeps its path in docs/."""
    if exception is None and app.builder.format == "html" and app.config.root_doc != "index":
        front_page = app.builder.get_target_uri(app.config.root_doc)
        title = app.config.html_title
        (Path(app.outdir) / "index.html").write_text(
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta http-equiv="refresh" content="0; url={front_page}"></head>'
            f'<body><a href="{front_page}">{title}</a></body></html>\n', encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_parts", {}, "env", dict)
    app.connect("source-read", add_contents)
    app.connect("build-finished", write_front_door)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
