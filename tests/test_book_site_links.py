"""course.book.site_links: the offline check that every link inside the built book leads somewhere."""

from pathlib import Path

from course.book.site_links import broken_links


def write(path: Path, html: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html><body>{html}</body></html>", encoding="utf-8")


def test_a_site_whose_links_all_lead_somewhere_passes(tmp_path):
    write(tmp_path / "index.html", '<a href="docs/page.html#a-heading">page</a> <img src="_static/figure.png">'
                                   '<a href="#top" id="top">top</a> <a href="https://example.org/x#y">out</a>'
                                   '<a href="mailto:someone@example.org">mail</a> <a href="docs/">folder</a>')
    write(tmp_path / "docs" / "page.html", '<h2 id="a-heading">A heading</h2><a href="../index.html">back</a>')
    write(tmp_path / "docs" / "index.html", "the folder's own page")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "figure.png").write_bytes(b"\x89PNG")
    assert broken_links(tmp_path) == []


def test_each_kind_of_broken_link_is_named_with_its_page(tmp_path):
    write(tmp_path / "index.html", '<a href="missing.html">gone</a> <img src="_static/none.png">'
                                   '<a href="page.html#nowhere">no anchor</a> <a href="#nor-here">nor here</a>'
                                   '<a href="../../etc/passwd">outside</a>')
    write(tmp_path / "page.html", '<p id="somewhere">text</p>')
    assert sorted(broken_links(tmp_path)) == sorted([
        "index.html: missing.html (no such file)",
        "index.html: _static/none.png (no such file)",
        "index.html: page.html#nowhere (no such anchor)",
        "index.html: #nor-here (no such anchor)",
        "index.html: ../../etc/passwd (leaves the site)",
    ])


def test_the_themes_templates_under_static_are_not_pages(tmp_path):
    write(tmp_path / "index.html", "")
    write(tmp_path / "_static" / "macros.html", "<script src=\"{{ pathto('x.js', 1) }}\"></script>")
    assert broken_links(tmp_path) == []
