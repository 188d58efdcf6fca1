"""``python -m grader feedback``: an HTML report per student and assignment that keeps the hidden tests hidden.

nbgrader's ``generate_feedback`` renders the autograded notebook, whose test cells carry the hidden
tests, and the tracebacks of failed hidden asserts quote them. Here each report is rendered from a
redacted copy, with nbgrader's own feedback template and its ``GetGrades`` preprocessor (so the points
shown are the gradebook's):

- a test cell shows the source the student saw in the released lab, and for a failure only the error's
  type and message (``AssertionError: the gradient of w1 is wrong``), never its traceback;
- what a test cell printed is dropped (the student's code could print the test's inputs from there);
- every output of every cell is scrubbed of any line of the hidden tests (a student's code can read the
  running cell's source from IPython's history, print it, or raise it as an error message);
- the grader's notes for the submission (a kernel that died, a cell that timed out, test cells put
  back, a flag for review), and how late it came and what that cost (:mod:`grader.deadlines`), head the
  report; a notebook that could not be graded gets a page saying why.

Feedback is written to ``feedback/<student>/<assignment>/<notebook>.html``, nbgrader's own layout.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry

from course.language import ENGLISH, tr

from grader.deadlines import Deadlines, apply_deadlines, late_note, read_course_file
from grader.files import write_atomically
from grader.ledger import UnitRecord, nbgrader_resources
from grader.layout import Course
from grader.notebooks import is_test_cell, nbgrader_metadata
from grader.translation import submission_language, translated

REDACTED = "[hidden test]"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MIN_HIDDEN_LINE = 8  # shorter lines (``else:``, ``)``) say nothing about a test


class FeedbackError(Exception):
    """Nothing to give feedback on (no autograded submissions)."""


def hidden_lines(locked_sources: dict[str, str], release: NotebookNode) -> list[str]:
    """Lines of the gradebook's locked cells that the released notebook does not show anywhere."""
    visible = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    lines = {line.strip() for source in locked_sources.values() for line in source.splitlines()}
    hidden = [line for line in lines - visible if len(line) >= _MIN_HIDDEN_LINE and re.search(r"\w", line)]
    return sorted(hidden, key=len, reverse=True)  # longest first, so a line inside another goes with it


def _scrub(text: str, hidden: list[str]) -> str:
    text = _ANSI.sub("", text)
    for line in hidden:
        if line in text:
            text = text.replace(line, REDACTED)
    return text


def _scrub_output(output: NotebookNode, hidden: list[str]) -> NotebookNode:
    if output.output_type == "stream":
        output.text = _scrub(output.text, hidden)
    elif output.output_type == "error":
        output.ename = _scrub(output.ename, hidden)
        output.evalue = _scrub(output.evalue, hidden)
        output.traceback = [_scrub(line, hidden) for line in output.traceback]
    else:
        for kind, value in list(output.get("data", {}).items()):
            if kind.startswith("text/") or kind in ("application/json", "image/svg+xml"):
                output.data[kind] = _scrub(value if isinstance(value, str) else str(value), hidden)
    return output


def redact(graded: NotebookNode, release: NotebookNode, hidden: list[str]) -> NotebookNode:
    """A copy of the autograded notebook that a student may read."""
    visible_source = {nbgrader_metadata(cell)["grade_id"]: cell.source for cell in release.cells
                      if nbgrader_metadata(cell).get("grade_id")}
    redacted = nbformat.from_dict(graded)
    for cell in redacted.cells:
        if cell.cell_type == "code" and is_test_cell(cell):
            cell.source = visible_source.get(cell.metadata.nbgrader.grade_id, "")
            errors = [out for out in cell.outputs if out.output_type == "error"]
            cell.outputs = [nbformat.v4.new_output("error", ename=out.ename, evalue=out.evalue,
                                                   traceback=[f"{out.ename}: {out.evalue}"]) for out in errors]
        if cell.cell_type == "code":
            cell.outputs = [_scrub_output(out, hidden) for out in cell.outputs]
    return redacted


def _notes_cell(record: UnitRecord, notebook_file: str, language: str, late: str | None) -> NotebookNode | None:
    """The grader's notes on the notebook, and what lateness cost, in the notebook's ``language``."""
    notes = [late] if late else []
    notes += record.notes.get(notebook_file, [])
    if not notes:
        return None
    items = "\n".join(f"- {html.escape(translated(note, language))}" for note in notes)
    heading = translated(tr("Notes from the grader"), language)
    return nbformat.v4.new_markdown_cell(f"**{heading}**\n\n{items}")


def in_language(notebook: NotebookNode, assignment: str, notebook_file: str, language: str) -> NotebookNode:
    """The graded notebook (the release's text and the student's answers) with the lab's text in ``language``, from
    the lab's catalogue in the kit, as the student's copy had it; as it is in English or for a lab without one."""
    if language == ENGLISH:
        return notebook
    # imported here: the catalogues' tools come with Sphinx, which an English class does not need
    from course.translations.catalogues import load_catalogue
    from course.translations.notebooks import translated_notebook

    page = f"labs/{assignment}/{Path(notebook_file).stem}"
    return translated_notebook(notebook, load_catalogue(language, page), language)


def _rejected_page(student: str, assignment: str, notebook_file: str, reason: str) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(notebook_file)}</title>"
            f"</head><body><h1>{html.escape(assignment)}: {html.escape(notebook_file)}</h1>"
            f"<p>Student: {html.escape(student)}. Score: 0.</p>"
            f"<p>This notebook could not be graded: {html.escape(reason)}.</p>"
            "<p>Ask your instructor whether you may resubmit.</p></body></html>\n")


# -- the student's HTML stays inert in the page --------------------------------------------------
# nbconvert's sanitize_html escapes HTML outputs and drops JavaScript, widget views and widget state, but
# nbgrader's feedback template renders markdown cells with markdown2html alone, and writes an image's
# width and height from the output's metadata into the <img> tag unquoted: both are closed here.
_MARKDOWN_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul"})
_MARKDOWN_ATTRIBUTES = {"a": ["href", "title", "class"], "img": ["src", "alt", "title"], "div": ["class"],
                        "span": ["class"], "code": ["class"], "pre": ["class"],
                        **{f"h{level}": ["id"] for level in range(1, 7)}}
_IMAGE_SOURCE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z")
_LINK_SCHEMES = ("http", "https", "mailto")
_OUTPUT_METADATA = {"width": (int, float), "height": (int, float), "alt": (str,), "unconfined": (bool,)}


def _clean_markdown_html(rendered: str) -> str:
    """Markdown rendered to HTML, with anything that could run (scripts, handlers, SVG, frames) escaped."""
    import bleach

    def allowed(tag: str, name: str, value: str) -> bool:
        if name not in _MARKDOWN_ATTRIBUTES.get(tag, ()):
            return False
        if (tag, name) == ("img", "src"):  # an inline raster image (a pasted figure), nothing else
            return bool(_IMAGE_SOURCE.match(value))
        if name == "href":  # the scheme as a browser reads it: entities decoded, blanks and controls dropped
            plain = re.sub(r"[`\x00-\x20\x7f-\xa0\s]+", "", html.unescape(value)).lower()
            scheme = re.match(r"([^:/?#]+):", plain)
            return scheme is None or scheme.group(1) in _LINK_SCHEMES
        return True

    return bleach.clean(rendered, tags=_MARKDOWN_TAGS, attributes=allowed,
                        protocols=[*bleach.ALLOWED_PROTOCOLS, "data"], strip_comments=True)


def _safe_markdown2html(exporter):
    from jinja2 import pass_context

    @pass_context
    def markdown2html(context, source):
        return _clean_markdown_html(exporter.markdown2html(context, source))

    return markdown2html


def _plain_output_metadata(notebook: NotebookNode, resources: dict):
    """Keep only the output metadata the template may write into a tag, with values of a harmless type."""
    def plain(metadata: dict, nested: bool) -> dict:
        kept = {}
        for key, value in metadata.items():
            if isinstance(value, dict) and nested:
                kept[key] = plain(value, nested=False)
            elif key in _OUTPUT_METADATA and isinstance(value, _OUTPUT_METADATA[key]) and (
                    key == "unconfined" or not isinstance(value, bool)):
                kept[key] = value
        return kept

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "metadata" in output:
                output.metadata = NotebookNode(plain(output.metadata, nested=True))
    return notebook, resources


def _exporter():
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades
    import nbgrader.converters.generate_feedback as nbgrader_feedback

    templates = Path(nbgrader_feedback.__file__).resolve().parent.parent / "server_extensions" / "formgrader"
    exporter = HTMLExporter(template_name="feedback", extra_template_basedirs=[str(templates / "templates")],
                            extra_template_paths=[str(templates / "static" / "node_modules" / "bootstrap" /
                                                      "dist" / "css")], sanitize_html=True)
    exporter.filters = {"markdown2html": _safe_markdown2html(exporter)}
    exporter.register_preprocessor(_plain_output_metadata, enabled=True)
    exporter.register_preprocessor(GetGrades(), enabled=True)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor(), enabled=True)
    return exporter


@dataclass
class FeedbackReport:
    written: list = field(default_factory=list)  # paths

    def lines(self, root: Path) -> list[str]:
        return [f"wrote {path.relative_to(root)}" for path in self.written] + [
            f"{len(self.written)} feedback file(s)"]


def generate_feedback(course: Course, assignments: list[str] | None = None) -> FeedbackReport:
    """Feedback HTML for every autograded submission (of ``assignments``, all when None)."""
    records = [record for record in map(UnitRecord.load, course.ledgers())
               if record is not None and (not assignments or record.assignment in assignments)]
    if not records:
        raise FeedbackError("no autograded submissions: run `python -m grader autograde` first")
    report = FeedbackReport()
    deadlines = read_course_file(course.course_file)
    apply_deadlines(deadlines, course.gradebook_url)  # an extension granted since grading counts
    exporter = _exporter()
    hidden_by_notebook: dict[tuple[str, str], tuple[NotebookNode, list[str]]] = {}
    for record in records:
        for notebook_file in record.scores:
            target = course.feedback_page(record.student, record.assignment, notebook_file)
            if notebook_file in record.rejected:
                write_atomically(target, _rejected_page(record.student, record.assignment, notebook_file,
                                                         record.rejected[notebook_file]))
                report.written.append(target)
                continue
            key = (record.assignment, notebook_file)
            if key not in hidden_by_notebook:
                hidden_by_notebook[key] = _release_and_hidden(course, record.assignment, notebook_file)
            release, hidden = hidden_by_notebook[key]
            graded_path = course.autograded_submission(record.student, record.assignment) / notebook_file
            graded = nbformat.read(str(graded_path), as_version=4)
            language = submission_language(graded)
            readable = in_language(redact(graded, release, hidden), record.assignment, notebook_file, language)
            notes = _notes_cell(record, notebook_file, language, _lateness(course, deadlines, record))
            if notes is not None:
                readable.cells.insert(0, notes)
            resources = nbgrader_resources(course, record.student, record.assignment, Path(notebook_file).stem)
            body, _ = exporter.from_notebook_node(readable, resources=resources)
            write_atomically(target, body)
            report.written.append(target)
    return report


def _lateness(course: Course, deadlines: Deadlines, record: UnitRecord) -> str | None:
    with Gradebook(course.gradebook_url) as gradebook:
        try:
            return late_note(deadlines, gradebook.find_submission(record.assignment, record.student))
        except MissingEntry:
            return None


def _release_and_hidden(course: Course, assignment: str, notebook_file: str):
    release = nbformat.read(str(course.lab(assignment) / notebook_file), as_version=4)
    with Gradebook(course.gradebook_url) as gradebook:
        notebook = gradebook.find_notebook(Path(notebook_file).stem, assignment)
        locked = {cell.name: cell.source for cell in notebook.source_cells if cell.locked}
    return release, hidden_lines(locked, release)
