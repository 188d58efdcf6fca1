"""course.book: the web edition, built as `python -m course.book` builds it (tests/built_book.py), read as files.

What it must hold: every lecture and lab, never a solution; links between lectures and labs that lead to the
book's pages; nothing fetched from the network; each explorer as a still; launch buttons that open the notebook
at its path in the repository. The browser's view of the same site is tests/test_browser_book.py.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest

from built_book import RUN_LECTURE, SAMPLE_LAUNCH, built_book
from course.book import launch_buttons
from course.launch import LaunchSetting, launch_links
from course.language import speaking
from course.translations.catalogues import load_catalogue
from course.widgets.still import note as still_note

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted((ROOT / "course" / "lectures").glob("*.ipynb"))
LABS = sorted((ROOT / "labs").glob("*/*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
REGIONS = {"solution": ("### BEGIN SOLUTION", "### END SOLUTION"),
           "hidden test": ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    status, folder = built_book(tmp_path_factory)
    assert status == 0, "python -m course.book failed on the kit's own sources: its messages are in the log above"
    return folder


def page_text(path: Path) -> str:
    """What a reader of the page sees as text (tags dropped, entities decoded), highlighted code included."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def page_of(notebook: Path, site: Path) -> Path:
    return site / notebook.relative_to(ROOT).with_suffix(".html")


def region_lines(notebook: Path, begin: str, end: str) -> set[str]:
    """The lines of every ``begin`` … ``end`` region of a solution notebook."""
    lines = set()
    for cell in nbformat.read(notebook, as_version=4).cells:
        for region in re.findall(rf"{re.escape(begin)}\n(.*?){re.escape(end)}", cell.source, re.S):
            lines |= {line.strip() for line in region.splitlines()}
    return lines


def test_the_book_builds_with_no_warning_and_every_link_leads_somewhere(site):
    assert (site / "index.html").is_file()  # the fixture has checked the build's status


def test_every_lecture_and_lab_is_a_page_of_the_book(site):
    missing = [str(path.relative_to(ROOT)) for path in LECTURES + LABS if not page_of(path, site).is_file()]
    assert not missing, f"notebooks with no page in the book: {missing}"


def test_no_solution_and_no_hidden_test_reaches_the_book(site):
    assert not list(site.rglob("*solutions*")), "a file from solutions/ was copied into the book"
    public = "\n".join(path.read_text(encoding="utf-8") for path in LECTURES + LABS)  # may legitimately repeat
    site_text = "\n".join(page_text(path) for path in site.rglob("*.html"))
    site_text += "\n".join(path.read_text(encoding="utf-8") for path in site.rglob("*.ipynb"))
    for notebook in SOLUTIONS:
        for kind, (begin, end) in REGIONS.items():
            secret = {line for line in region_lines(notebook, begin, end)
                      if len(line) > 20 and json_free(line) not in public}
            leaked = sorted(line for line in secret if line in site_text)
            assert not leaked, f"{notebook.name}: {kind} lines are in the book: {leaked[:3]}"


def json_free(line: str) -> str:
    """``line`` as a notebook file stores it (its quotes and backslashes escaped by JSON)."""
    return line.replace("\\", "\\\\").replace('"', '\\"')


def test_a_lecture_and_its_lab_link_to_each_others_pages(site):
    lecture = (site / "course" / "lectures" / f"{RUN_LECTURE}.html").read_text(encoding="utf-8")
    lab = (site / "labs" / RUN_LECTURE / f"{RUN_LECTURE}.html").read_text(encoding="utf-8")
    assert f'href="../../labs/{RUN_LECTURE}/{RUN_LECTURE}.html"' in lecture
    assert f'href="../../course/lectures/{RUN_LECTURE}.html' in lab


def test_the_lecture_run_while_building_shows_its_figures(site):
    lecture = (site / "course" / "lectures" / f"{RUN_LECTURE}.html").read_text(encoding="utf-8")
    figures = re.findall(r'<img [^>]*src="../../_images/[^"]+\.png"', lecture)
    assert len(figures) >= 4, "lecture 01 draws four figures; a kernel told to draw with Agg shows none"


def test_the_book_loads_nothing_from_the_network(site):
    remote = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]*\"")
    loading = {str(path.relative_to(site)): remote.findall(path.read_text(encoding="utf-8"))
               for path in site.rglob("*.html") if "_static" not in path.parts}
    assert not {page: found for page, found in loading.items() if found}


def test_an_explorer_is_shown_as_its_still_and_the_install_cell_not_at_all(site):
    page = site / "course" / "lectures" / f"{RUN_LECTURE}.html"
    lecture = page.read_text(encoding="utf-8")
    assert 'class="course-widget-still"' in lecture  # lecture 01 ran while the book was built
    assert "application/vnd.jupyter.widget-view+json" not in lecture
    assert 'find_spec("course")' not in page_text(page)


def launch_hrefs(page: Path) -> dict[str, str]:
    """The page's launch links, by the host they lead to."""
    hrefs = re.findall(r'href="(https://[^"]+)"', page.read_text(encoding="utf-8"))
    hosts = {"mybinder.org": "binder", "colab.research.google.com": "colab", "hub.example.edu": "jupyterhub"}
    return {hosts[urlsplit(html.unescape(href)).hostname]: html.unescape(href) for href in hrefs
            if urlsplit(html.unescape(href)).hostname in hosts}


def same_link(one: str, other: str) -> bool:
    """Equal as links: the same address and the same query parameters, in any order and quoting."""
    a, b = urlsplit(one), urlsplit(other)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path) and parse_qs(a.query) == parse_qs(b.query)


@pytest.mark.parametrize("notebook", [LECTURES[1], LABS[1]], ids=lambda path: str(path.relative_to(ROOT)))
def test_launch_buttons_open_the_notebook_at_its_path_in_the_repository(site, notebook):
    expected = launch_links(SAMPLE_LAUNCH, notebook.relative_to(ROOT).as_posix())
    found = launch_hrefs(page_of(notebook, site))
    assert set(found) == {"binder", "colab", "jupyterhub"}, found
    for name, link in found.items():
        assert same_link(link, getattr(expected, name)), (name, link, getattr(expected, name))


def test_a_page_that_is_not_a_notebook_has_no_launch_button(site):
    assert launch_hrefs(site / "docs" / "students.html") == {}


class GivenConfig(dict):
    """The values a Sphinx Config gives the extension, as a dict with attributes."""
    __getattr__ = dict.__getitem__

    def __setattr__(self, name, value):
        self[name] = value


def theme_options(**given) -> dict:
    config = GivenConfig(html_theme_options={"show_toc_level": 2},
                         **{name: given.get(name) for name in launch_buttons.OVERRIDES})
    launch_buttons.add_launch_buttons(None, config)
    return config.html_theme_options


def test_with_no_repository_set_the_book_has_no_launch_buttons(monkeypatch):
    monkeypatch.setattr(launch_buttons, "read_setting", lambda: LaunchSetting())
    assert theme_options() == {"show_toc_level": 2}


def test_a_repository_given_for_one_build_replaces_the_files(monkeypatch):
    monkeypatch.setattr(launch_buttons, "read_setting", lambda: LaunchSetting())
    options = theme_options(launch_repository="https://github.com/another/course", launch_branch="spring")
    assert options["repository_url"] == "https://github.com/another/course"
    assert options["repository_branch"] == "spring"
    assert "jupyterhub_url" not in options["launch_buttons"]


def test_a_bad_repository_given_for_one_build_says_what_to_write(monkeypatch):
    monkeypatch.setattr(launch_buttons, "read_setting", lambda: LaunchSetting())
    with pytest.raises(ValueError, match="https://"):
        theme_options(launch_repository="github.com/another/course")


def test_each_page_links_to_itself_in_the_other_edition(site):
    english = (site / "course" / "lectures" / f"{RUN_LECTURE}.html").read_text(encoding="utf-8")
    chinese = (site / "zh_CN" / "course" / "lectures" / f"{RUN_LECTURE}.html").read_text(encoding="utf-8")
    assert f'href="../../zh_CN/course/lectures/{RUN_LECTURE}.html"' in english
    assert f'href="../../../course/lectures/{RUN_LECTURE}.html"' in chinese
    assert '<html lang="zh-CN"' in chinese and '<html lang="en"' in english


def test_the_chinese_edition_shows_the_catalogues_translation(site):
    title = load_catalogue("zh_CN", f"course/lectures/{RUN_LECTURE}").get("01 · Backpropagation (反向传播)")
    assert title is not None and title.string, "lecture 01's title has no translation"
    chinese = (site / "zh_CN" / "course" / "lectures" / f"{RUN_LECTURE}.html").read_text(encoding="utf-8")
    assert f"<h1>{html.escape(title.string)}" in chinese


def test_the_chinese_edition_ran_its_lecture_in_chinese(site):
    """The Chinese edition's lecture ran with COURSE_LANGUAGE=zh_CN (its own execution cache): its explorer's
    still carries the kit's words from the Chinese catalogue, the English edition's the English."""
    english_note = still_note()
    with speaking("zh_CN"):
        chinese_note = still_note()
    assert chinese_note != english_note, "the still's note has no Chinese translation"
    english = (site / "course" / "lectures" / f"{RUN_LECTURE}.html").read_text(encoding="utf-8")
    chinese = (site / "zh_CN" / "course" / "lectures" / f"{RUN_LECTURE}.html").read_text(encoding="utf-8")
    assert chinese_note in chinese and english_note not in chinese
    assert english_note in english
