"""``python -m grader release``: the first step of grading a class with nbgrader.

Releasing an assignment runs nbgrader's own ``generate_assignment`` once, in the course itself: nbgrader records the
assignment in the course's gradebook (``gradebook.db`` at the course root, with each test cell's full source, hidden
tests included, which ``autograde`` restores from there) and writes the student version, which replaces
``labs/<assignment>``. The gradebook and the released lab therefore come from one run and cannot disagree.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

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
