"""``python -m grader release``: the first step of grading a class with nbgrader.

Releasing an assignment runs nbgrader's own ``generate_assignment`` once, in the course itself: nbgrader records the
assignment in the course's gradebook (``gradebook.db`` at the course root, with each test cell's full source, hidden
tests included, which ``autograde`` restores from there) and writes the student version, which replaces
``labs/<assignment>``. The gradebook and the released lab therefore come from one run and cannot disagree.

``--lang zh_CN`` also writes that student version in another language (:func:`translate_release`): the same
notebook, cell for cell, with the lab's text from its catalogue, so it is collected and graded as the English one.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from grader.checks import replace_lab
from grader.layout import Course
from grader.workspace import RELEASE_IGNORE, run_nbgrader


def release(course: Course, assignments: list[str]) -> list[Path]:
    """Record ``assignments`` in the course gradebook and write their student versions to ``labs/``: one nbgrader
    run for all of the course's assignments, else one per assignment (nbgrader takes one name or a pattern)."""
    names = ["*"] if sorted(assignments) == sorted(course.assignments()) else assignments
    with tempfile.TemporaryDirectory(prefix="grader-release-") as scratch:
        for name in names:
            run_nbgrader(course.root, "generate_assignment", name, "--force",
                         f"--CourseDirectory.source_directory={course.solutions.name}",
                         f"--CourseDirectory.release_directory={scratch}", RELEASE_IGNORE)
        return [replace_lab(course, assignment, Path(scratch) / assignment) for assignment in assignments]


def is_registered(course: Course, assignment: str) -> bool:
    """Whether the course gradebook exists and knows ``assignment`` (never creates the gradebook)."""
    if not course.gradebook.is_file():
        return False
    with Gradebook(course.gradebook_url) as gradebook:
        try:
            gradebook.find_assignment(assignment)
        except MissingEntry:
            return False
    return True


@dataclass
class TranslatedRelease:
    folder: Path
    english_passages: int  # passages the catalogue has no current translation for: they stay English


def translate_release(course: Course, assignment: str, language: str, out: Path) -> TranslatedRelease:
    """``labs/<assignment>`` in ``language``, written to ``out/<assignment>``: each notebook's Markdown from the
    lab's page catalogue (docs/locales), its code cells, ids and metadata as released."""
    # imported here: the catalogues' tools come with Sphinx, which an English release does not need
    from course.translations.catalogues import load_catalogue
    from course.translations.notebooks import passages, translated_notebook

    target = out / assignment
    target.mkdir(parents=True, exist_ok=True)
    untranslated = 0
    for notebook_path in sorted(course.lab(assignment).glob("*.ipynb")):
        notebook = nbformat.read(notebook_path, as_version=4)
        catalogue = load_catalogue(language, f"labs/{assignment}/{notebook_path.stem}")
        current = {message.id for message in catalogue if message.id and message.string and not message.fuzzy}
        untranslated += sum(bool(passage) and passage not in current for cell in notebook.cells
                            if cell.cell_type == "markdown" for passage in passages(cell.source))
        nbformat.write(translated_notebook(notebook, catalogue, language), target / notebook_path.name)
    return TranslatedRelease(target, untranslated)
