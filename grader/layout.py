"""Where everything of a course lives: one object that owns every path of a course folder.

=====================================================  ===============================================================
``solutions/<assignment>/``                            the nbgrader source, hidden tests included
``labs/<assignment>/``                                 the release, generated from the solutions
``course/lectures/``                                   the lecture notebooks
``gradebook.db``                                       nbgrader's gradebook
``course.toml``                                        due dates, late penalties, extensions (grader.deadlines)
``submitted/<student>/<assignment>/``                  a collected submission, with its ``timestamp.txt``
``autograded/<student>/<assignment>/``                 the graded notebooks, with the grader's ledger ``.grader.json``
``feedback/<student>/<assignment>/<notebook>.html``    the report a student may read
=====================================================  ===============================================================
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "COURSE_ROOT"
SOLUTIONS = "solutions"
LABS = "labs"
GRADEBOOK = "gradebook.db"
COURSE_FILE = "course.toml"
SUBMITTED = "submitted"
AUTOGRADED = "autograded"
FEEDBACK = "feedback"
KIT_CHECKOUT = Path(__file__).resolve().parent.parent  # the checkout this package sits in
TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's: when the submission was made
LEDGER = ".grader.json"  # grader.ledger's record of a graded submission


class CourseError(Exception):
    """The course folder or an assignment name is not what the command needs."""


def gradebook_url(course_root: Path) -> str:
    """The SQLAlchemy URL of nbgrader's gradebook in a course folder (a course, or a scratch nbgrader folder)."""
    return f"sqlite:///{Path(course_root) / GRADEBOOK}"


class Course:
    """A checkout of the kit: ``solutions/<assignment>/`` is the source, ``labs/<assignment>/`` the release, and
    the folders of grading a class beside them (see the module's table)."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.solutions = self.root / SOLUTIONS
        self.labs = self.root / LABS
        if not self.solutions.is_dir():
            raise CourseError(
                f"{self.root} has no solutions/ folder; run from the course checkout or pass --root PATH"
            )

    @classmethod
    def locate(cls, root: str | Path | None = None) -> "Course":
        """The course at ``root``, else ``$COURSE_ROOT``, else the checkout this package sits in, else above the cwd."""
        if root is None:
            root = os.environ.get(ROOT_ENV)
        if root is not None:
            return cls(Path(root))
        for candidate in (KIT_CHECKOUT, Path.cwd(), *Path.cwd().parents):
            if (candidate / SOLUTIONS).is_dir():
                return cls(candidate)
        raise CourseError("no course found: run inside the course checkout or pass --root PATH")

    # -- the assignments ---------------------------------------------------------------------------
    def assignments(self) -> list[str]:
        return sorted(
            folder.name
            for folder in self.solutions.iterdir()
            if folder.is_dir() and any(folder.glob("*.ipynb"))
        )

    def resolve(self, names: list[str] | None) -> list[str]:
        """The named assignments (all when none are named), checked to exist."""
        available = self.assignments()
        if not names:
            if not available:
                raise CourseError(f"{self.solutions} holds no assignment (a folder with a notebook)")
            return available
        unknown = [name for name in names if name not in available]
        if unknown:
            raise CourseError(f"unknown assignment(s) {', '.join(unknown)}; available: {', '.join(available)}")
        return list(names)

    def solution(self, assignment: str) -> Path:
        return self.solutions / assignment

    def lab(self, assignment: str) -> Path:
        """The released student version of ``assignment``."""
        return self.labs / assignment

    def source_notebooks(self, assignment: str) -> list[Path]:
        return sorted(self.solution(assignment).glob("*.ipynb"))

    # -- the lectures --------------------------------------------------------------------------------
    @property
    def lectures(self) -> Path:
        return self.root / "course" / "lectures"

    def is_lecture(self, notebook: Path) -> bool:
        return notebook.resolve().parent == self.lectures

    def all_notebooks(self) -> list[Path]:
        """Every lecture and every solution notebook (labs/ is generated, never tidied by hand)."""
        solutions = [path for name in self.assignments() for path in self.source_notebooks(name)]
        return sorted(self.lectures.glob("*.ipynb")) + solutions

    # -- grading a class -----------------------------------------------------------------------------
    @property
    def gradebook(self) -> Path:
        return self.root / GRADEBOOK

    @property
    def gradebook_url(self) -> str:
        return gradebook_url(self.root)

    @property
    def course_file(self) -> Path:
        return self.root / COURSE_FILE

    @property
    def submitted(self) -> Path:
        return self.root / SUBMITTED

    def submission(self, student: str, assignment: str) -> Path:
        """The folder of a collected submission (its notebooks and ``timestamp.txt``)."""
        return self.submitted / student / assignment

    @property
    def autograded(self) -> Path:
        return self.root / AUTOGRADED

    def autograded_submission(self, student: str, assignment: str) -> Path:
        """The folder of a graded submission: its graded notebooks and the grader's ledger."""
        return self.autograded / student / assignment

    def ledger(self, student: str, assignment: str) -> Path:
        return self.autograded_submission(student, assignment) / LEDGER

    def ledgers(self) -> list[Path]:
        """The ledger of every graded submission."""
        return sorted(self.autograded.glob(f"*/*/{LEDGER}"))

    def feedback_page(self, student: str, assignment: str, notebook_file: str) -> Path:
        return (self.root / FEEDBACK / student / assignment / notebook_file).with_suffix(".html")
