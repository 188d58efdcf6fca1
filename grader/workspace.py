"""A throw-away nbgrader course folder, driven through nbgrader's own command line.

nbgrader wants ``source/``, ``release/``, ``submitted/<student>/`` and a
gradebook side by side; keeping them in a temporary folder leaves the
repository clean and lets several checks run without touching each other.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory

from grader.layout import SUBMITTED, gradebook_url

CELL_TIMEOUT_SECONDS = 300
MUTANT_CATALOGUE = "mutants.toml"  # a lab's plausible mistakes (grader.mutants), kept beside its solution
# what nbgrader's generate_assignment leaves out of a release: its own defaults and the catalogue of mistakes
RELEASE_IGNORE = f"--CourseDirectory.ignore={[*CourseDirectory().ignore, MUTANT_CATALOGUE]!r}"


class GradingError(Exception):
    """nbgrader itself failed; the message carries the end of its log."""


# -P (Python 3.11+): the course folder, nbgrader's working directory, is not put first on the nbgrader process's
# sys.path, where a folder named like one of the kit's packages would stand in for it. A flag, not PYTHONSAFEPATH:
# the kernels nbgrader starts keep the notebook's folder on their path, for a lab's own helper files.
SAFE_PATH = ["-P"] if sys.version_info >= (3, 11) else []


def run_nbgrader(course_root: Path, *arguments: str, threads: int | None = None) -> None:
    """``python -m nbgrader <arguments>`` in ``course_root`` (through :mod:`grader.nbgrader_command`); a failure raises
    with the end of its log.

    ``threads`` caps the threads of the kernels it starts (torch's and BLAS's), for several runs side by side.
    """
    environment = None if threads is None else {**os.environ, "OMP_NUM_THREADS": str(threads),
                                                "MKL_NUM_THREADS": str(threads)}
    # The kernels talk over Unix sockets in a folder of this run's own: TCP ports, picked free and bound a moment
    # later by the kernel, can be taken in between by a kernel of a run side by side (grader.mutants' shards).
    with tempfile.TemporaryDirectory(prefix="nbgrader-") as sockets:
        command = [sys.executable, *SAFE_PATH, "-m", "grader.nbgrader_command", *arguments,
                   f"--CourseDirectory.root={course_root}", "--KernelManager.transport=ipc",
                   f"--KernelManager.ip={Path(sockets) / 'kernel'}"]
        completed = subprocess.run(command, cwd=course_root, capture_output=True, text=True, env=environment)
    if completed.returncode != 0:
        log = (completed.stdout + completed.stderr).strip().splitlines()
        raise GradingError(f"nbgrader {' '.join(arguments[:2])} failed:\n" + "\n".join(failure_excerpt(log)))


def failure_excerpt(log: list[str], traceback_lines: int = 40, tail_lines: int = 15) -> list[str]:
    """What explains a failed nbgrader run: its last traceback (nbgrader logs it well before its closing "There was
    an error" lines, with many lines of other students' work in between), then the end of the log."""
    starts = [index for index, line in enumerate(log) if line.startswith("Traceback (most recent call last)")]
    tail = log[-tail_lines:]
    if not starts:
        return tail
    end = starts[-1] + 1
    while end < len(log) and end - starts[-1] < traceback_lines and not log[end].startswith("["):
        end += 1  # a traceback runs until nbgrader's next log line ("[AutogradeApp | ...")
    shown = log[starts[-1]:end]
    return shown + ["..."] + [line for line in tail if line not in shown]


class Workspace:
    def __init__(self, root: Path, threads: int | None = None):
        self.root = Path(root)
        self.threads = threads  # per kernel, when several workspaces grade side by side

    # -- nbgrader's folders ------------------------------------------------
    def source(self, assignment: str) -> Path:
        return self.root / "source" / assignment

    def release(self, assignment: str) -> Path:
        return self.root / "release" / assignment

    def submitted(self, student: str, assignment: str) -> Path:
        return self.root / SUBMITTED / student / assignment

    # -- steps ---------------------------------------------------------------
    def add_source(self, assignment: str, folder: Path) -> None:
        shutil.copytree(folder, self.source(assignment), dirs_exist_ok=True)

    def generate(self) -> None:
        """``nbgrader generate_assignment "*"``: the student version of every assignment in ``source/``, in
        ``release/<assignment>``, from one run (each run costs seconds)."""
        self._nbgrader("generate_assignment", "*", "--force", RELEASE_IGNORE)

    def submit(self, student: str, assignment: str, notebooks: dict[str, NotebookNode]) -> None:
        folder = self.submitted(student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        for filename, notebook in notebooks.items():
            nbformat.write(notebook, str(folder / filename))

    def autograde(self, assignment: str) -> None:
        """``nbgrader autograde`` for every submission of ``assignment``."""
        self._nbgrader(
            "autograde",
            assignment,
            "--force",
            f"--ExecutePreprocessor.timeout={CELL_TIMEOUT_SECONDS}",
        )

    def scores(self, assignment: str, student: str) -> dict[str, tuple[float, float]]:
        """``{test cell id: (score, max score)}`` of one autograded submission."""
        with Gradebook(gradebook_url(self.root)) as gradebook:
            submission = gradebook.find_submission(assignment, student)
            return {
                grade.name: (float(grade.score), float(grade.max_score))
                for notebook in submission.notebooks
                for grade in notebook.grades
            }

    def _nbgrader(self, *arguments: str) -> None:
        run_nbgrader(self.root, *arguments, threads=self.threads)


@contextlib.contextmanager
def temporary_workspace(threads: int | None = None) -> Iterator[Workspace]:
    """A workspace in a fresh temporary folder, removed again on exit."""
    with tempfile.TemporaryDirectory(prefix="grader-") as folder:
        yield Workspace(Path(folder), threads)
