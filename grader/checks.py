"""Build the labs from the solutions, and prove that they are right.

A lab is right when ``labs/`` is exactly what nbgrader makes of
``solutions/`` today, when the solutions typed into the released lab
autograde to full marks, and when the released lab as a student first sees
it autogrades to zero on every exercise.
"""

from __future__ import annotations

import filecmp
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.layout import Course
from grader.notebooks import exercises, fill_solutions, read_notebook
from grader.workspace import Workspace, temporary_workspace

SOLVER = "reference-solution"
BLANK = "released-blank"


@dataclass
class Finding:
    assignment: str
    check: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark} {self.assignment}: {self.check} — {self.detail}"


def generate_release(course: Course, workspace: Workspace, assignment: str) -> Path:
    generate_releases(course, workspace, [assignment])
    return workspace.release(assignment)


def generate_releases(course: Course, workspace: Workspace, assignments: list[str]) -> None:
    """The student versions of ``assignments`` in ``workspace``, from one nbgrader run."""
    for assignment in assignments:
        workspace.add_source(assignment, course.solution(assignment))
    workspace.generate()


def replace_lab(course: Course, assignment: str, release: Path) -> Path:
    """``labs/<assignment>`` replaced by the student version nbgrader wrote to ``release``."""
    target = course.lab(assignment)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(release, target)
    return target


def build_labs(course: Course, assignments: list[str]) -> list[Path]:
    """Regenerate ``labs/<assignment>`` from ``solutions/<assignment>`` with nbgrader."""
    with temporary_workspace() as workspace:
        generate_releases(course, workspace, assignments)
        return [replace_lab(course, assignment, workspace.release(assignment)) for assignment in assignments]


def differences(fresh: Path, committed: Path) -> list[str]:
    """Relative paths that are missing, extra or different in ``committed``."""
    if not committed.is_dir():
        return ["the whole folder is missing"]
    fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    committed_files = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
    problems = [f"{path} is missing" for path in sorted(fresh_files - committed_files)]
    problems += [f"{path} should not be there" for path in sorted(committed_files - fresh_files)]
    problems += [
        f"{path} differs"
        for path in sorted(fresh_files & committed_files)
        if not filecmp.cmp(fresh / path, committed / path, shallow=False)
    ]
    return problems


def check_labs_in_sync(course: Course, workspace: Workspace, assignment: str) -> Finding:
    """``labs/<assignment>`` against the release ``generate_releases`` made in ``workspace``."""
    release = workspace.release(assignment)
    problems = differences(release, course.lab(assignment))
    if problems:
        return Finding(
            assignment,
            "labs/ in sync",
            False,
            f"labs/{assignment} is stale ({'; '.join(problems)}); run `python -m grader build {assignment}`",
        )
    return Finding(assignment, "labs/ in sync", True, f"labs/{assignment} is a fresh build of solutions/{assignment}")


def exercise_scores(workspace: Workspace, assignment: str, student: str, notebooks: dict) -> dict[str, tuple]:
    """``{exercise: (score, points)}`` for one autograded student."""
    scores = workspace.scores(assignment, student)
    report = {}
    for filename, notebook in notebooks.items():
        for exercise in exercises(notebook):
            score = sum(scores[test_id][0] for test_id in exercise.test_ids)
            report[f"{filename}:{exercise.name}"] = (score, exercise.points)
    return report


def check_grading(course: Course, workspace: Workspace, assignment: str) -> list[Finding]:
    """Autograde the released lab twice: as released (must be 0) and with the solutions typed in (must be full).

    Grades the release already generated in ``workspace`` (``generate_releases`` makes it), so that
    what is graded is exactly what was compared with labs/.
    """
    release = workspace.release(assignment)
    released = {path.name: read_notebook(path) for path in sorted(release.glob("*.ipynb"))}
    sources = {path.name: read_notebook(path) for path in course.source_notebooks(assignment)}
    workspace.submit(BLANK, assignment, released)
    workspace.submit(
        SOLVER, assignment, {name: fill_solutions(nb, sources[name]) for name, nb in released.items()}
    )
    workspace.autograde(assignment)

    solved = exercise_scores(workspace, assignment, SOLVER, released)
    short = [f"{name} {score:g}/{points:g}" for name, (score, points) in solved.items() if score < points]
    total = sum(points for _, points in solved.values())
    findings = [
        Finding(
            assignment,
            "solution scores full marks",
            not short,
            f"the solutions lose points: {', '.join(short)}" if short else f"{total:g}/{total:g}",
        )
    ]
    blank = exercise_scores(workspace, assignment, BLANK, released)
    free = [f"{name} {score:g}/{points:g}" for name, (score, points) in blank.items() if score > 0]
    findings.append(
        Finding(
            assignment,
            "released lab scores zero",
            not free,
            f"unsolved exercises give points: {', '.join(free)}" if free else f"0/{total:g} on every exercise",
        )
    )
    return findings


def check_assignments(course: Course, assignments: list[str], grade: bool = True) -> list[Finding]:
    findings = []
    with temporary_workspace() as workspace:
        generate_releases(course, workspace, assignments)
        for assignment in assignments:
            findings.append(check_labs_in_sync(course, workspace, assignment))
            if grade:
                findings += check_grading(course, workspace, assignment)
    return findings
