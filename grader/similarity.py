"""``python -m grader similarity ASSIGNMENT``: the pairs of students whose answers look most alike.

Only what the students wrote is compared: each collected notebook's code cells, less the released lab's test cells
and any cell left as released; the released lab's own code (its helpers, the answers' placeholders) is given to
the detector as boilerplate, so that a shared line of the template counts for nobody. The comparison is
copydetect's (winnowing over pygments tokens, as MOSS does; names become placeholders, so renaming a variable
changes nothing, and fingerprints are a set, so reordering functions changes little). Student code is read, never
run.

Written under ``similarity/<assignment>/``: ``pairs.csv`` (every pair: the share of each one's answers found in
the other's, and the tokens they share) and ``report.html`` (the most similar pairs, their matching fragments
side by side). A pair is ranked by the smaller of its two shares: two students who each wrote the most common
three-line answer to one exercise share all of a short submission, not all of both.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from grader.files import write_atomically
from grader.layout import Course, CourseError
from grader.notebooks import is_test_cell, nbgrader_metadata, read_notebook
from grader.submission import Rejected, read_submission

REPORT_FOLDER = "similarity"
MAX_ANSWER_CHARACTERS = 200_000  # a whole lab's answers are a few thousand; the comparison grows with the square


class SimilarityError(Exception):
    """Nothing to compare (no release, fewer than two submissions with answers)."""


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    share_first: float  # of the first's answers, found in the second's
    share_second: float
    tokens: int  # filtered characters in matching fragments, as copydetect counts them
    first_html: str = ""  # the first's answers, matching fragments marked (escaped)
    second_html: str = ""

    @property
    def rank(self) -> tuple[float, int]:
        return min(self.share_first, self.share_second), self.tokens


@dataclass
class SimilarityReport:
    pairs: list[Pair] = field(default_factory=list)  # most similar first
    without_answers: list[str] = field(default_factory=list)  # nothing written (or an unreadable notebook)
    too_large: list[str] = field(default_factory=list)  # more code than any lab's answers: look at it by hand
    written: list[Path] = field(default_factory=list)


def student_code(submitted: NotebookNode, release: NotebookNode) -> str:
    """What the student wrote: code cells that are not the release's tests and not left as released."""
    tests = {nbgrader_metadata(cell).get("grade_id") for cell in release.cells if is_test_cell(cell)}
    released = {cell.source.strip() for cell in release.cells if cell.cell_type == "code"}

    def written(cell) -> bool:
        grade_id = nbgrader_metadata(cell).get("grade_id")
        return (cell.get("cell_type") == "code" and isinstance(cell.get("source"), str)
                and not (isinstance(grade_id, str) and grade_id in tests) and cell.source.strip() not in released)

    return "\n\n".join(cell.source for cell in submitted.cells if written(cell))


def boilerplate(release: NotebookNode) -> str:
    """The release's own code: what every student has whatever they write."""
    return "\n\n".join(cell.source for cell in release.cells if cell.cell_type == "code" and not is_test_cell(cell))


def compare(course: Course, assignment: str) -> SimilarityReport:
    """Every pair of the students who submitted ``assignment``, most similar first; writes no file."""
    releases = sorted(course.lab(assignment).glob("*.ipynb"))
    if not releases:
        raise SimilarityError(f"{course.lab(assignment)} holds no released notebook: run `python -m grader "
                              f"release {assignment}` first")
    report = SimilarityReport()
    with tempfile.TemporaryDirectory(prefix="grader-similarity-") as scratch:
        answers, template = Path(scratch) / "answers", Path(scratch) / "template"
        answers.mkdir()
        template.mkdir()
        for number, path in enumerate(releases):
            (template / f"{number}.py").write_text(boilerplate(read_notebook(path)), encoding="utf-8")
        for student in sorted(folder.parent.name for folder in course.submitted.glob(f"*/{assignment}")
                              if folder.is_dir()):
            try:
                code = _answers_of(course, student, assignment, releases)
            except Exception:  # a notebook nbformat accepted but shaped as no Jupyter writes it: nothing to compare
                code = ""
            if len(code) > MAX_ANSWER_CHARACTERS:
                report.too_large.append(student)
            elif code.strip():
                (answers / f"{student}.py").write_text(code, encoding="utf-8", errors="replace")
            else:
                report.without_answers.append(student)
        if len(list(answers.iterdir())) < 2:
            raise SimilarityError(f"fewer than two submissions of {assignment} hold answers to compare; collect "
                                  f"them first (python -m grader collect {assignment} SOURCE)")
        report.pairs = _detect(answers, template)
    return report


def _answers_of(course: Course, student: str, assignment: str, releases: list[Path]) -> str:
    parts = []
    for release_path in releases:
        submitted = read_submission(course.submission(student, assignment) / release_path.name)
        if not isinstance(submitted, Rejected):
            parts.append(student_code(submitted, read_notebook(release_path)))
    return "\n\n".join(part for part in parts if part)


def _detect(answers: Path, template: Path) -> list[Pair]:
    """copydetect over the answer files, in a child process whose string hashing is seeded: copydetect fingerprints
    with Python's ``hash``, which differs from run to run otherwise, and a report should not."""
    done = subprocess.run([sys.executable, "-m", "grader.similarity_detect", str(answers), str(template)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
                          cwd=answers.parent)  # `-m` puts the working folder first on the path: only ours
    if done.returncode != 0:
        raise SimilarityError(f"copydetect failed: {done.stderr.strip()[-2000:]}")
    pairs = [Pair(**fields) for fields in json.loads(done.stdout)]
    return sorted(pairs, key=lambda pair: pair.rank, reverse=True)


def write_report(course: Course, assignment: str, report: SimilarityReport, shown: int) -> list[Path]:
    folder = course.root / REPORT_FOLDER / assignment
    sheet = io.StringIO()
    writer = csv.writer(sheet, lineterminator="\n")
    writer.writerow(["student_a", "student_b", "share_of_a_in_b", "share_of_b_in_a", "shared_tokens"])
    for pair in report.pairs:
        writer.writerow([pair.first, pair.second, f"{pair.share_first:.3f}", f"{pair.share_second:.3f}", pair.tokens])
    write_atomically(folder / "pairs.csv", sheet.getvalue())
    write_atomically(folder / "report.html", _html(assignment, report, shown))
    return [folder / "pairs.csv", folder / "report.html"]


def _html(assignment: str, report: SimilarityReport, shown: int) -> str:
    rows = "".join(
        f"<tr><td>{index}</td><td>{html.escape(pair.first)}</td><td>{html.escape(pair.second)}</td>"
        f"<td>{pair.share_first:.0%}</td><td>{pair.share_second:.0%}</td><td>{pair.tokens}</td></tr>"
        for index, pair in enumerate(report.pairs[:shown], start=1))
    sections = "".join(
        f"<h2 id='pair-{index}'>{index}. {html.escape(pair.first)} ({pair.share_first:.0%}) and "
        f"{html.escape(pair.second)} ({pair.share_second:.0%})</h2><div class='pair'>"
        f"<pre>{pair.first_html}</pre><pre>{pair.second_html}</pre></div>"  # copydetect escaped the code
        for index, pair in enumerate(report.pairs[:shown], start=1) if pair.first_html)
    without = (f"<p>No answers to compare (nothing written, or an unreadable notebook): "
               f"{html.escape(', '.join(report.without_answers))}</p>" if report.without_answers else "")
    if report.too_large:
        without += (f"<p>Too much code to compare (over {MAX_ANSWER_CHARACTERS:,} characters; look at it by hand): "
                    f"{html.escape(', '.join(report.too_large))}</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Similarity: {html.escape(assignment)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }}
pre {{ background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 85%; }}
.highlight-red {{ background: #ffc9c9; }} .highlight-green {{ background: #c9f2c9; }}
</style></head><body>
<h1>Similarity of the answers to {html.escape(assignment)}</h1>
<p>The share of each student's answers (code they wrote, without the release's template) found in the other's,
by copydetect; the most similar {min(shown, len(report.pairs))} of {len(report.pairs)} pairs, ranked by the smaller
share. A high share is a reason to look, not a verdict: short exercises have few ways to be solved.</p>
{without}
<table><tr><th>#</th><th>student</th><th>student</th><th>share of the first</th><th>share of the second</th>
<th>shared tokens</th></tr>{rows}</table>
{sections}
</body></html>
"""


def similarity(course: Course, assignment: str, shown: int = 20) -> SimilarityReport:
    if assignment not in course.assignments():
        raise CourseError(f"unknown assignment {assignment}; available: {', '.join(course.assignments())}")
    report = compare(course, assignment)
    report.written = write_report(course, assignment, report, shown)
    return report
