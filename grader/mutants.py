"""The mutation check: plausible mistakes, graded, each of which must cost its own exercise and nothing else.

A lab's catalogue of mistakes lives beside its solution, in ``solutions/<assignment>/mutants.toml``, and is never
released (nbgrader's generate_assignment leaves it out: :data:`grader.workspace.RELEASE_IGNORE`). Each entry is
one small edit to one solution cell::

    [[mutant]]
    exercise = "ex1_sigmoid"          # the grade_id of the solution cell the mistake is made in
    mistake = "the sign of x flipped"  # what a student did, in a few words
    replace = "torch.exp(-x)"          # text that occurs exactly once in that cell
    by = "torch.exp(x)"

``python -m grader mutants`` types the solutions into the released lab with one mistake each (and, for each
exercise, leaves that exercise as released and solves the rest), grades every mutant with nbgrader's autograde
(the mutants split over one workspace per CPU, graded side by side), and reports a mutant that keeps all of its
exercise's points (the tests miss the mistake) or costs another exercise points (one slip cascades).
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from grader.checks import Finding, exercise_scores, generate_release
from grader.layout import Course
from grader.notebooks import (
    exercises,
    fill_solutions,
    grade_id,
    is_solution_cell,
    read_notebook,
)
from grader.workspace import MUTANT_CATALOGUE as CATALOGUE
from grader.workspace import temporary_workspace

CHECK = "mutant loses its exercise only"
MISTAKES_PER_EXERCISE = 2


class CatalogueError(Exception):
    """A catalogue entry that cannot be applied: a missing field, an unknown cell, text not found once."""


@dataclass(frozen=True)
class Mutant:
    exercise: str
    mistake: str
    replace: str
    by: str
    blank: bool = False  # the exercise left as released, every other one solved: no edit


def blank_exercises(released: dict[str, NotebookNode]) -> list[Mutant]:
    """One student per exercise who left that exercise as released and solved the rest: each must score exactly
    100 minus that exercise's points (a helper defined in one exercise's tests and used by another's fails this)."""
    return [Mutant(exercise.solution_ids[0], "left blank, every other exercise solved", "", "", blank=True)
            for notebook in released.values() for exercise in exercises(notebook) if exercise.solution_ids]


def read_catalogue(path: Path) -> list[Mutant]:
    """The mutants of one lab; none when the lab has no catalogue."""
    if not path.is_file():
        return []
    with path.open("rb") as file:
        entries = tomllib.load(file).get("mutant", [])
    mutants = []
    for number, entry in enumerate(entries, 1):
        missing = [key for key in ("exercise", "mistake", "replace", "by") if not isinstance(entry.get(key), str)]
        if missing:
            raise CatalogueError(f"{path}: mutant {number} lacks {', '.join(missing)} (each a string)")
        mutants.append(Mutant(entry["exercise"], entry["mistake"], entry["replace"], entry["by"]))
    return mutants


def mutated_source(source: NotebookNode, mutant: Mutant) -> NotebookNode:
    """The solution notebook with the mutant's edit made in its solution cell."""
    mutated = NotebookNode(source.copy())
    mutated.cells = [NotebookNode(cell.copy()) for cell in source.cells]
    cells = [cell for cell in mutated.cells if is_solution_cell(cell) and grade_id(cell) == mutant.exercise]
    if len(cells) != 1:
        raise CatalogueError(f"mutant {mutant.mistake!r}: no solution cell {mutant.exercise!r} in the lab")
    (cell,) = cells
    if cell.source.count(mutant.replace) != 1:
        raise CatalogueError(f"mutant {mutant.mistake!r}: the text to replace occurs "
                             f"{cell.source.count(mutant.replace)} times in {mutant.exercise}, not once")
    cell.source = cell.source.replace(mutant.replace, mutant.by)
    return mutated


def exercise_of(notebooks: dict[str, NotebookNode]) -> dict[str, str]:
    """``{solution cell id: "notebook:exercise"}``, the keys of :func:`grader.checks.exercise_scores`."""
    return {solution_id: f"{filename}:{exercise.name}" for filename, notebook in notebooks.items()
            for exercise in exercises(notebook) for solution_id in exercise.solution_ids}


def coverage(assignment: str, mutants: list[Mutant], notebooks: dict[str, NotebookNode]) -> Finding:
    """Every exercise has at least :data:`MISTAKES_PER_EXERCISE` mistakes in the catalogue."""
    owners = exercise_of(notebooks)
    counts = {name: 0 for name in owners.values()}
    for mutant in mutants:
        if mutant.exercise in owners:
            counts[owners[mutant.exercise]] += 1
    few = [f"{name.split(':', 1)[1]} ({count})" for name, count in counts.items() if count < MISTAKES_PER_EXERCISE]
    if few:
        return Finding(assignment, "every exercise has mistakes", False,
                       f"fewer than {MISTAKES_PER_EXERCISE} mistakes for {', '.join(few)}")
    return Finding(assignment, "every exercise has mistakes", True,
                   f"{len(mutants)} mistakes over {len(counts)} exercises")


def verdict(assignment: str, mutant: Mutant, own: str | None, scores: dict[str, tuple]) -> Finding:
    """Whether the graded mutant lost points in its own exercise (``own``, a key of ``scores``) and in no other."""
    others = [f"{name.split(':', 1)[1]} {score:g}/{points:g}" for name, (score, points) in scores.items()
              if name != own and score < points]
    label = f"{mutant.exercise}, {mutant.mistake}"
    if own is None:
        return Finding(assignment, CHECK, False, f"{label}: {mutant.exercise} is not an exercise of the lab")
    score, points = scores[own]
    problems = []
    if score >= points:
        problems.append(f"keeps all {points:g} points of {mutant.exercise} (the tests miss it)")
    if others:
        problems.append(f"also costs {', '.join(others)}")
    if problems:
        return Finding(assignment, CHECK, False, f"{label}: {'; '.join(problems)}")
    return Finding(assignment, CHECK, True, f"{label}: {score:g}/{points:g}, every other exercise full")


def check_mutants(course: Course, assignment: str, shards: int | None = None) -> list[Finding]:
    """Grade every mutant of one lab, and a student per exercise who left it blank: the students split over
    ``shards`` workspaces (one per CPU by default), each graded by its own ``nbgrader autograde``, side by side,
    with one thread per kernel."""
    mutants = read_catalogue(course.solution(assignment) / CATALOGUE)
    if not mutants:
        return [Finding(assignment, CHECK, False, f"no mutants: write solutions/{assignment}/{CATALOGUE}")]
    sources = {path.name: read_notebook(path) for path in course.source_notebooks(assignment)}
    shards = max(1, min(shards or os.cpu_count() or 1, len(mutants)))
    numbered = list(enumerate(mutants, 1))
    with contextlib.ExitStack() as stack:
        workspaces = [stack.enter_context(temporary_workspace(threads=1)) for _ in range(shards)]
        releases = [generate_release(course, workspace, assignment) for workspace in workspaces]
        released = {path.name: read_notebook(path) for path in sorted(releases[0].glob("*.ipynb"))}
        owners = exercise_of(released)
        findings = [coverage(assignment, mutants, released)]
        numbered += list(enumerate(blank_exercises(released), len(numbered) + 1))
        for index, (number, mutant) in enumerate(numbered):
            workspaces[index % shards].submit(student_name(number), assignment, mutated_lab(sources, released, mutant))
        with ThreadPoolExecutor(shards) as pool:
            list(pool.map(lambda workspace: workspace.autograde(assignment), workspaces))
        return findings + [
            verdict(assignment, mutant, owners.get(mutant.exercise),
                    exercise_scores(workspaces[index % shards], assignment, student_name(number), released))
            for index, (number, mutant) in enumerate(numbered)]


def student_name(number: int) -> str:
    return f"mutant-{number:02d}"


def mutated_lab(sources: dict[str, NotebookNode], released: dict[str, NotebookNode],
                mutant: Mutant) -> dict[str, NotebookNode]:
    """The released lab filled in with the solutions, the mutant's mistake made in its cell (or its exercise left
    as released)."""
    if mutant.blank:
        owners = exercise_of(released)
        solved = {cell_id for cell_id, owner in owners.items() if owner != owners[mutant.exercise]}
        return {name: fill_solutions(notebook, sources[name], solved) for name, notebook in released.items()}
    notebooks = {}
    for name, notebook in released.items():
        source = sources[name]
        if any(is_solution_cell(cell) and grade_id(cell) == mutant.exercise for cell in source.cells):
            source = mutated_source(source, mutant)
        notebooks[name] = fill_solutions(notebook, source)
    return notebooks
