"""The web edition in Chromium: the front door leads to the front page, the parts are in the sidebar, a lecture's
figures load and its formulas are typeset, its explorer shows as a still, and the search finds a lecture.

The site is the one tests/built_book.py builds (lecture 01 run while building), or the full one `COURSE_BOOK_SITE`
names (.ci/run builds the book, then runs this file on it), served on a loopback port as any static host would.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from browser_session import require_browser
from built_book import RUN_LECTURE, built_book

require_browser()

LECTURE_PAGE = f"course/lectures/{RUN_LECTURE}.html"
FIGURES_OF_LECTURE_01 = 4  # the figures its cells draw with plt.show()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *arguments) -> None:
        pass


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The built site's address on a loopback port: the site ``COURSE_BOOK_SITE`` names (.ci/run's full book), or
    the one the tests build."""
    if os.environ.get("COURSE_BOOK_SITE"):
        site = Path(os.environ["COURSE_BOOK_SITE"]).resolve()
        assert (site / "index.html").is_file(), f"COURSE_BOOK_SITE={site} holds no built book"
    else:
        status, site = built_book(tmp_path_factory)
        assert status == 0, "python -m course.book failed on the kit's own sources: its messages are in the log above"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_front_door_leads_to_the_front_page_whose_sidebar_holds_the_parts(book, page):
    page.goto(f"{book}/")
    page.wait_for_url("**/docs/index.html")
    sidebar = page.locator(".bd-sidebar-primary")
    for caption in ("Start here", "Lectures", "Labs", "For instructors", "Results and sources", "For contributors"):
        assert sidebar.get_by_text(caption, exact=True).count() == 1, caption
    sidebar.get_by_role("link", name="01 · Backpropagation", exact=False).first.click()
    page.wait_for_url(f"**/{LECTURE_PAGE}")


def test_a_lecture_page_shows_its_figures_formulas_and_explorer(book, page):
    requested, failed = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(f"{book}/{LECTURE_PAGE}")
    page.wait_for_load_state("networkidle")
    figures = page.locator("main .cell_output img")
    assert figures.count() >= FIGURES_OF_LECTURE_01
    unloaded = page.evaluate("() => [...document.querySelectorAll('main img')]"
                             ".filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)")
    assert not unloaded, f"figures that did not load: {unloaded}"
    page.wait_for_function("() => document.querySelectorAll('.MathJax, .MathJax_Display').length > 0",
                           timeout=30_000)
    assert "Math Processing Error" not in page.locator("main").inner_text()
    still = page.locator(".course-widget-still")
    assert still.count() == 1 and still.is_visible()
    assert "live when you run this notebook in JupyterLab" in still.inner_text()
    assert not [url for url in requested if not url.startswith((book, "data:", "about:"))], "left the site"
    # MathJax asks for a TeX font it then does without (the Jupyter project's copy has the STIX fonts only)
    assert not [url for url in failed if url.startswith(book) and "/_static/mathjax/" not in url], failed


def test_the_search_finds_a_lecture(book, page):
    page.goto(f"{book}/search.html?q=backpropagation")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=30_000)
    assert any("Backpropagation" in text for text in results.all_inner_texts())
