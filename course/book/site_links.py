"""Every link inside the built book must lead somewhere: each relative ``href`` or ``src`` of every page names a
file of the site, and each ``#anchor`` an id on the page it points to. Links that leave the site (``https:``,
``mailto:``) are not followed: the check runs offline.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINKING_ATTRIBUTES = {"a": "href", "link": "href", "img": "src", "script": "src", "iframe": "src", "source": "src"}


class PageLinks(HTMLParser):
    """The ids a page defines and the relative links it makes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(values[key])
        link = values.get(LINKING_ATTRIBUTES.get(tag, ""))
        if link and not urlsplit(link).scheme and not link.startswith("//"):
            self.links.append(link)


def read_page(path: Path) -> PageLinks:
    page = PageLinks()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def broken_links(site: Path) -> list[str]:
    """``page: link (what is wrong)`` for every internal link of the site at ``site`` that leads nowhere."""
    site = site.resolve()
    pages = {path: read_page(path) for path in sorted(site.rglob("*.html"))
             if "_static" not in path.relative_to(site).parts}  # the theme's templates, not pages
    broken = []
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            name = f"{path.relative_to(site)}: {link}"
            if not target.is_relative_to(site):
                broken.append(f"{name} (leaves the site)")
            elif not target.is_file():
                broken.append(f"{name} (no such file)")
            elif parts.fragment and target in pages and unquote(parts.fragment) not in pages[target].ids:
                broken.append(f"{name} (no such anchor)")
    return broken
