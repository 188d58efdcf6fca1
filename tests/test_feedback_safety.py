"""The feedback page a student opens shows what the student wrote and printed, but runs none of it: no script,
event handler, ``javascript:`` link, SVG, frame or form of theirs is live in it, while markdown (headings,
lists, tables, math, code) and PNG figures still show. Rendered with grader.feedback's exporter, the one
``python -m grader feedback`` uses, from a notebook as redact() leaves it."""

import base64
import html.parser
import re

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from nbgrader.api import Gradebook

from grader.feedback import _exporter

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()
MATHJAX = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"

GOOD_MARKDOWN = (
    "# Heading one\n\n## Heading two\n\n- item a\n- item b\n\n1. first step\n\n"
    "Inline math $x^2 < y$ and display math\n\n$$\\int_0^1 f(x)\\,dx$$\n\n"
    "```python\nif a < b:\n    print('ok')\n```\n\n| col a | col b |\n|---|---|\n| 1 | 2 |\n\n"
    "**bold** *emphasis* `inline code` [a link](https://example.org/page) "
    f"![a figure](data:image/png;base64,{PNG})\n")
BAD_MARKDOWN = (
    "<script>alert('md-script')</script>\n\n<img src=x onerror=alert('md-img')>\n\n"
    "[click](javascript:alert('md-link'))\n\n<a href=\"JaVaScRiPt:alert('md-a')\">a</a>\n\n"
    "<svg onload=alert('md-svg')><script>alert('md-svg-script')</script></svg>\n\n"
    "<iframe src=\"javascript:alert('md-iframe')\"></iframe><object data=x></object><embed src=x>"
    "<form action=x><button formaction=\"javascript:alert('md-form')\">go</button></form>"
    "<style>body{display:none}</style><div style=\"background:url(javascript:alert('md-css'))\">styled</div>\n\n"
    "<details open ontoggle=alert('md-details')>x</details>\n\n"
    "<a href=\"da&#x09;ta:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">d</a> "
    "[data link](data:text/html,%3Cscript%3Ealert('md-data')%3C/script%3E)\n\n"
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)\n")
BAD_OUTPUTS = [
    new_output("display_data", data={"text/html": "<img src=x onerror=alert('out-img')><script>alert('out-script')"
                                     "</script><b>bold html</b>", "text/plain": "html"}),
    new_output("display_data", data={"application/javascript": "alert('out-js')", "text/plain": "js"}),
    new_output("display_data", data={"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg' "
                                     "onload=\"alert('out-svg')\"><script>alert('out-svg-script')</script></svg>"}),
    new_output("display_data", data={"text/markdown": "<script>alert('out-md')</script>"}),
    new_output("display_data", data={"text/html": "<script>alert('out-iso')</script>"},
               metadata={"text/html": {"isolated": True}}),
    new_output("display_data", data={"image/png": PNG, "text/plain": "figure"},
               metadata={"image/png": {"width": "1 onerror=alert('out-width')", "height": 10},
                         "filenames": {"image/png": "javascript:alert('out-file')"}}),
    new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {
        "model_id": "m", "version_major": 2, "version_minor": 0}, "text/plain": "a widget"}),
    new_output("stream", name="stdout", text="<script>alert('out-stream')</script>"),
    new_output("error", ename="ValueError", evalue="<img src=x onerror=alert('out-error')>",
               traceback=["ValueError: <img src=x onerror=alert('out-error')>"]),
]
PAYLOAD = re.compile(r"alert\(")


class Page(html.parser.HTMLParser):
    """Every element with its attributes, and the text inside each script and style."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements, self.scripts, self.styles, self._inside = [], [], [], None
        self.feed(text)

    def handle_starttag(self, tag, attributes):
        self.elements.append((tag, dict(attributes)))
        if tag in ("script", "style"):
            self._inside = (tag, dict(attributes), [])

    def handle_endtag(self, tag):
        if self._inside and tag == self._inside[0]:
            kind, attributes, text = self._inside
            (self.scripts if kind == "script" else self.styles).append((attributes, "".join(text)))
            self._inside = None

    def handle_data(self, data):
        if self._inside:
            self._inside[2].append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    notebook = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                     "language": "python"}})
    notebook.cells = [new_markdown_cell(GOOD_MARKDOWN), new_markdown_cell(BAD_MARKDOWN),
                      new_raw_cell("<script>alert('raw')</script>", metadata={"raw_mimetype": "text/html"}),
                      new_code_cell("show()", outputs=BAD_OUTPUTS),
                      new_code_cell("plot()", outputs=[new_output("display_data", data={"image/png": PNG})])]
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"m": {"state": {"value": "</script><script>alert('widget-state')</script>"}}},
        "version_major": 2, "version_minor": 0}}
    url = f"sqlite:///{tmp_path_factory.mktemp('gradebook') / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        gradebook.add_assignment("a1")
        gradebook.add_notebook("lab", "a1")
        gradebook.add_student("s1")
        gradebook.add_submission("a1", "s1")
    body, _ = _exporter().from_notebook_node(
        notebook, resources={"nbgrader": {"student": "s1", "assignment": "a1", "notebook": "lab", "db_url": url}})
    return body


def test_no_script_of_the_student_is_in_the_page(page):
    scripts = Page(page).scripts
    assert scripts, "the page loads MathJax"
    for attributes, text in scripts:  # only the template's own MathJax loader and configuration
        assert attributes.get("src", "").startswith(MATHJAX) or attributes.get("type") == "text/x-mathjax-config"
        assert not PAYLOAD.search(text)
    assert page.count("<script") == len(scripts) == 2


def test_no_event_handler_or_javascript_url_is_in_the_page(page):
    for tag, attributes in Page(page).elements:
        for name, value in attributes.items():
            assert not name.startswith("on"), (tag, name, value)
            normalized = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            assert "javascript:" not in normalized, (tag, name, value)
            assert not (name == "href" and normalized.startswith("data:")), (tag, name, value)
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", page, re.IGNORECASE)  # no live handler, however written


def test_no_svg_frame_object_or_form_of_the_student_is_live(page):
    tags = {tag for tag, _ in Page(page).elements}
    assert not tags & {"svg", "iframe", "object", "embed", "form", "button", "details", "base"}
    assert not any("body{display:none}" in text for _, text in Page(page).styles)  # the student's <style>
    images = [attributes.get("src", "") for tag, attributes in Page(page).elements if tag == "img"]
    assert any(src.startswith("data:image/svg+xml;base64,") for src in images)  # an SVG only as an image
    assert all(src.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,")) or not src
               for src in images)  # the markdown's SVG image lost its source


def test_what_the_student_wrote_still_reads_as_text(page):
    assert "&lt;script&gt;alert('md-script')&lt;/script&gt;" in page
    assert "&lt;script&gt;alert('out-stream')&lt;/script&gt;" in page
    assert "<b>bold html</b>" in page


def test_markdown_math_code_and_figures_still_show(page):
    elements = Page(page).elements
    tags = [tag for tag, _ in elements]
    assert {"h1", "h2", "ul", "ol", "li", "table", "th", "td", "pre", "code", "strong", "em"} <= set(tags)
    assert re.search(r"<h1[^>]*>Heading one", page) and re.search(r"<li>item a</li>", page)
    assert "$x^2 &lt; y$" in page and "$$\\int_0^1 f(x)\\,dx$$" in page  # left for MathJax to typeset
    assert re.search(r'<span class="k">if</span> <span class="n">a</span> <span class="o">&lt;</span>', page)
    assert ("a", {"href": "https://example.org/page"}) in elements
    figures = [attributes for tag, attributes in elements if tag == "img"
               and attributes.get("src", "").startswith("data:image/png;base64,")]
    assert len(figures) >= 3  # the markdown figure, the figure with bad metadata, the plain figure
    assert any(attributes.get("height") == "10" for attributes in figures)  # a numeric size is kept
