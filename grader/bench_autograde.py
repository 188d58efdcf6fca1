"""Speed benchmark: ``python -m grader autograde`` against plain ``nbgrader autograde``, same class, same machine.

    python -m grader.bench_autograde                              # every lab in solutions/, 8 students each
    python -m grader.bench_autograde --students 2 --assignments 01_backprop   # a quick check that it runs
    python -m grader.bench_autograde --jobs 4 --keep /tmp/bench   # 4 kernels at once; keep both course folders

What it measures: the wall-clock time to grade one whole class. Plain nbgrader grades the submissions one
after the other, one ``nbgrader autograde <assignment>`` per lab, as an instructor runs it; the kit grades
them all in one ``python -m grader autograde``, in a pool of sandboxed kernels, twice: with cold kernels
(``--cold-kernels``: each a new interpreter started in bubblewrap) and with warm ones (the default: each
forked from a template that imported torch and the kit once). All three are started as subprocesses from
this one process, one after the other, and timed with ``time.perf_counter`` around ``subprocess.run``
(start-up, gradebook writes and everything else included).

Why the scores are compared too: a faster grader is worth nothing if it grades differently. The class is
simulated once (student k solves the first ``k mod (exercises + 1)`` exercises of each lab, so the class holds
blank, partial and, where the class is big enough, full solutions), released once, and the released course
folder, ``gradebook.db`` and ``submitted/`` included, is copied twice, so both graders read the same bytes.
Afterwards every grade cell's score of every submission is read back from each gradebook and the kit's two
must each be identical to nbgrader's; a difference is printed and the benchmark exits 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from grader.ledger import UnitRecord
from grader.layout import LABS, SOLUTIONS, Course, CourseError
from grader.notebooks import exercises, fill_solutions, read_notebook
from grader.submission import submission_digest
from grader.workspace import CELL_TIMEOUT_SECONDS

GRADERS = ("nbgrader", "kit-cold", "kit")
DESCRIPTIONS = {"nbgrader": "plain nbgrader", "kit-cold": "python -m grader autograde --cold-kernels",
                "kit": "python -m grader autograde"}
DEFAULT_STUDENTS = 8  # per lab: k mod (exercises + 1) gives a lab of up to 7 exercises a full solution
LOG_TAIL_LINES = 30

Unit = tuple  # (student, assignment): one submission


# -- the simulated class ---------------------------------------------------------------------------------


def student_name(number: int) -> str:
    return f"student{number:02d}"


def solved_count(number: int, exercise_count: int) -> int:
    """How many exercises (the first ones) student ``number`` solves: 0, 1, ... all, then 0 again."""
    return number % (exercise_count + 1)


def simulate_class(course: Course, assignments: list[str], students: int) -> list[Unit]:
    """Write ``submitted/<student>/<assignment>/<assignment>.ipynb`` for every student and lab."""
    units = []
    for assignment in assignments:
        notebook_name = f"{assignment}.ipynb"
        released = read_notebook(course.lab(assignment) / notebook_name)
        source = read_notebook(course.solution(assignment) / notebook_name)
        lab_exercises = exercises(released)
        for number in range(students):
            solved = lab_exercises[:solved_count(number, len(lab_exercises))]
            solution_ids = {solution_id for exercise in solved for solution_id in exercise.solution_ids}
            folder = course.submission(student_name(number), assignment)
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(fill_solutions(released, source, solution_ids), str(folder / notebook_name))
            units.append((student_name(number), assignment))
    return units


def prepare_courses(workdir: Path, checkout: Course, assignments: list[str], students: int):
    """One released course with the simulated class, copied for each grader; returns ({grader: root}, units)."""
    base = workdir / "class"
    base.mkdir(parents=True)
    shutil.copytree(checkout.solutions, base / SOLUTIONS)
    shutil.copytree(checkout.labs, base / LABS)
    release = _run([sys.executable, "-m", "grader", "--root", str(base), "release", *assignments], cwd=base)
    if release.returncode != 0:
        raise SystemExit(f"`python -m grader release` failed:\n{release.tail()}")
    units = simulate_class(Course(base), assignments, students)
    roots = {grader: workdir / grader for grader in GRADERS}
    for root in roots.values():
        shutil.copytree(base, root)
    shutil.rmtree(base)
    if len({submission_digest(Course(root).submitted) for root in roots.values()}) != 1:
        raise SystemExit("the copies of submitted/ differ")  # cannot happen; guards the comparison
    return roots, units


# -- timing the two graders ------------------------------------------------------------------------------


@dataclass
class Completed:
    """One command's exit status and output."""

    command: list
    returncode: int
    output: str
    seconds: float = 0.0

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.output.strip().splitlines()[-lines:])


def _run(command: list, cwd: Path) -> Completed:
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    return Completed(command, completed.returncode, completed.stdout + completed.stderr, time.perf_counter() - start)


@dataclass
class Timing:
    seconds: float
    runs: list  # Completed, ...

    @property
    def failed(self) -> list:
        return [run for run in self.runs if run.returncode != 0]


def time_nbgrader(root: Path, assignments: list[str]) -> Timing:
    """Plain nbgrader, as an instructor runs it: one ``nbgrader autograde`` per lab, one after the other."""
    runs = []
    start = time.perf_counter()
    for assignment in assignments:
        runs.append(_run([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force",
                          f"--CourseDirectory.root={root}", "--CourseDirectory.source_directory=solutions",
                          "--CourseDirectory.release_directory=labs",
                          f"--ExecutePreprocessor.timeout={CELL_TIMEOUT_SECONDS}"], cwd=root))
    return Timing(time.perf_counter() - start, runs)


def time_kit(root: Path, assignments: list[str], jobs: int | None, cold: bool = False) -> Timing:
    """The kit: every submission of every lab in one ``python -m grader autograde``."""
    command = [sys.executable, "-m", "grader", "--root", str(root), "autograde", "--no-progress", *assignments]
    if cold:
        command.append("--cold-kernels")
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    start = time.perf_counter()
    run = _run(command, cwd=root)
    return Timing(time.perf_counter() - start, [run])


# -- comparing the scores --------------------------------------------------------------------------------


def read_scores(root: Path, units: list[Unit]) -> dict:
    """``{(student, assignment): {(notebook, grade id): score}}``; None for a submission the gradebook lacks."""
    scores = {}
    with Gradebook(Course(root).gradebook_url) as gradebook:
        for student, assignment in units:
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                scores[(student, assignment)] = None
                continue
            scores[(student, assignment)] = {(notebook.name, grade.name): grade.score
                                             for notebook in submission.notebooks for grade in notebook.grades}
    return scores


def score_differences(plain: dict, kit: dict) -> list[str]:
    """One line per submission missing from a gradebook and per grade cell scored differently."""
    lines = []
    for unit in sorted(plain):
        student, assignment = unit
        if plain[unit] is None or kit[unit] is None:
            missing = [name for name, scores in (("nbgrader", plain), ("kit", kit)) if scores[unit] is None]
            lines.append(f"{assignment} {student}: not in the {' and '.join(missing)} gradebook")
            continue
        for cell in sorted(plain[unit].keys() | kit[unit].keys()):
            ours, theirs = kit[unit].get(cell), plain[unit].get(cell)
            if ours != theirs:
                lines.append(f"{assignment} {student} {cell[0]}/{cell[1]}: nbgrader {theirs}, kit {ours}")
    return lines


def kit_unit_seconds(root: Path, units: list[Unit]) -> dict:
    """``{(student, assignment): seconds}``: how long the kit took to grade each submission, from its ledger (the
    worker's own clock, kernel start to stop, in a worker that shared the machine with the other jobs)."""
    seconds = {}
    for student, assignment in units:
        record = UnitRecord.load(Course(root).ledger(student, assignment))
        if record is not None:
            seconds[(student, assignment)] = record.seconds
    return seconds


# -- the report ------------------------------------------------------------------------------------------


def save_log(path: Path, timing: Timing) -> None:
    """Every command's output, kept beside the courses (with --keep) for a look at what each grader said."""
    path.write_text("".join(f"$ {' '.join(map(str, run.command))}\n[exit {run.returncode}]\n{run.output}\n"
                            for run in timing.runs), encoding="utf-8")


def load() -> str:
    """The 1, 5 and 15 minute load averages: on a shared machine, a busy neighbour skews both timings."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def report_failures(name: str, timing: Timing) -> None:
    for run in timing.failed:
        print(f"warning: {name} exited {run.returncode}: {' '.join(run.command[1:4])} ...\n{run.tail()}",
              file=sys.stderr)


def print_table(submissions: int, plain: Timing, cold: Timing, kit: Timing, identical: bool,
                jobs: int | None) -> None:
    cores = len(os.sched_getaffinity(0))
    rows = [("submissions", f"{submissions}"),
            ("nbgrader autograde (s)", f"{plain.seconds:.1f}"),
            (f"grader autograde --cold-kernels, jobs {jobs or 'default'} (s)", f"{cold.seconds:.1f}"),
            (f"grader autograde, jobs {jobs or 'default'} (s)", f"{kit.seconds:.1f}"),
            ("speed-up, cold kernels (nbgrader / kit)", f"{plain.seconds / cold.seconds:.2f}x"),
            ("speed-up, warm kernels (nbgrader / kit)", f"{plain.seconds / kit.seconds:.2f}x"),
            ("scores identical", "yes" if identical else "no"),
            ("cores (sched_getaffinity)", f"{cores}")]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def print_labs(assignments: list[str], plain: Timing, cold_seconds: dict, kit_seconds: dict) -> None:
    """Per lab: plain nbgrader's time for the whole lab, and the kit's time per submission, cold and warm (the
    mean, and the slowest, which is a fully solved one: it runs every check)."""
    columns = ("nbgrader, whole lab (s)", "cold, mean (s)", "cold, slowest (s)", "warm, mean (s)",
               "warm, slowest (s)")
    print(f"{'lab':<20}" + "".join(f"  {column:>{len(column)}}" for column in columns))
    for assignment, run in zip(assignments, plain.runs):
        cells = [f"{run.seconds:.1f}"]
        for seconds in (cold_seconds, kit_seconds):
            times = [value for (_, lab), value in seconds.items() if lab == assignment]
            cells += [f"{sum(times) / len(times):.1f}", f"{max(times):.1f}"] if times else ["-", "-"]
        print(f"{assignment:<20}" + "".join(f"  {cell:>{len(column)}}" for cell, column in zip(cells, columns)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.bench_autograde",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=DEFAULT_STUDENTS, metavar="N",
                        help=f"simulated students per lab (default {DEFAULT_STUDENTS})")
    parser.add_argument("--assignments", nargs="+", default=None, metavar="NAME",
                        help="labs to grade (default: every lab in solutions/)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="passed to `grader autograde --jobs` (default: its own, the number of cores)")
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="build the courses in this folder (new or empty) and keep them, with each grader's "
                             "output (nbgrader.log, kit-cold.log, kit.log), instead of a temporary folder removed "
                             "at the end")
    args = parser.parse_args(argv)
    if args.students < 1:
        parser.error("--students must be at least 1")
    try:
        checkout = Course.locate()
        assignments = checkout.resolve(args.assignments)
    except CourseError as error:
        parser.error(str(error))
    if args.keep:
        workdir = Path(args.keep).resolve()
        if workdir.exists() and any(workdir.iterdir()):
            parser.error(f"--keep {workdir}: the folder is not empty")
        workdir.mkdir(parents=True, exist_ok=True)
        return _bench(workdir, checkout, assignments, args.students, args.jobs)
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as folder:
        return _bench(Path(folder), checkout, assignments, args.students, args.jobs)


def _bench(workdir: Path, checkout: Course, assignments: list[str], students: int, jobs: int | None) -> int:
    roots, units = prepare_courses(workdir, checkout, assignments, students)
    print(f"{len(units)} submissions: {students} students x {len(assignments)} labs ({', '.join(assignments)})",
          flush=True)
    timings = {}
    for grader in GRADERS:
        print(f"grading with {DESCRIPTIONS[grader]} ... (load average {load()})", flush=True)
        if grader == "nbgrader":
            timings[grader] = time_nbgrader(roots[grader], assignments)
        else:
            timings[grader] = time_kit(roots[grader], assignments, jobs, cold=grader == "kit-cold")
        report_failures(DESCRIPTIONS[grader], timings[grader])
        save_log(workdir / f"{grader}.log", timings[grader])
        print(f"  {timings[grader].seconds:.1f} s (load average {load()})", flush=True)
    scores = {grader: read_scores(roots[grader], units) for grader in GRADERS}
    differences = [f"{grader}: {line}" for grader in GRADERS[1:]
                   for line in score_differences(scores["nbgrader"], scores[grader])]
    print(f"compared the per-grade-cell scores of {len(units)} submissions: "
          f"{len(differences) or 'no'} difference(s)")
    for line in differences:
        print(f"  {line}")
    print()
    print_labs(assignments, timings["nbgrader"], kit_unit_seconds(roots["kit-cold"], units),
               kit_unit_seconds(roots["kit"], units))
    print()
    print_table(len(units), timings["nbgrader"], timings["kit-cold"], timings["kit"], not differences, jobs)
    if differences:
        return 1
    return 2 if any(timing.failed for timing in timings.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
