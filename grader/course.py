"""Where the course lives: the solutions (nbgrader source) and the generated labs."""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "COURSE_ROOT"


class CourseError(Exception):
    """The course folder or an assignment name is not what the command needs."""


class Course:
    """A checkout of the kit: ``solutions/<assignment>/`` is the source, ``labs/<assignment>/`` the release."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.solutions = self.root / "solutions"
        self.labs = self.root / "labs"
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
        package_checkout = Path(__file__).resolve().parent.parent
        for candidate in (package_checkout, Path.cwd(), *Path.cwd().parents):
            if (candidate / "solutions").is_dir():
                return cls(candidate)
        raise CourseError("no course found: run inside the course checkout or pass --root PATH")

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

    @property
    def lectures(self) -> Path:
        return self.root / "course" / "lectures"

    def is_lecture(self, notebook: Path) -> bool:
        return notebook.resolve().parent == self.lectures

    def all_notebooks(self) -> list[Path]:
        """Every lecture and every solution notebook (labs/ is generated, never tidied by hand)."""
        solutions = [path for name in self.assignments() for path in self.source_notebooks(name)]
        return sorted(self.lectures.glob("*.ipynb")) + solutions

    def source_notebooks(self, assignment: str) -> list[Path]:
        return sorted((self.solutions / assignment).glob("*.ipynb"))
