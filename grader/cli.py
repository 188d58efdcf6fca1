"""``python -m grader``: the instructor's commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.checks import build_labs, check_assignments
from grader.course import Course, CourseError
from grader.notebooks import NotebookError
from grader.tidy import tidy_file
from grader.workspace import GradingError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description="Build the student labs from the solutions and check them with nbgrader.",
    )
    parser.add_argument("--root", help="the course checkout (default: the one this package is installed from)")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="regenerate labs/ from solutions/ with nbgrader generate_assignment")
    build.add_argument("assignments", nargs="*", help="assignment names, e.g. 01_backprop (default: all)")

    check = commands.add_parser(
        "check",
        help="fail when labs/ is stale, a solution loses points, or a released lab gives points",
    )
    check.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    check.add_argument("--no-grading", action="store_true", help="only check that labs/ is in sync (fast)")

    tidy = commands.add_parser(
        "tidy",
        help="save notebooks as the course keeps them: clean metadata, lectures keep only checked outputs "
        "and figures, solutions keep none",
    )
    tidy.add_argument("notebooks", nargs="*", help="notebook paths (default: every lecture and solution)")
    tidy.add_argument("--execute", action="store_true", help="run lectures in a fresh kernel first")
    return parser


def _tidy(course: Course, paths: list[str], run_lectures: bool) -> int:
    notebooks = [Path(path).resolve() for path in paths] or course.all_notebooks()
    missing = [str(path) for path in notebooks if not path.is_file()]
    if missing:
        raise CourseError(f"no such notebook: {', '.join(missing)}")
    for notebook in notebooks:
        lecture = course.is_lecture(notebook)
        tidy_file(notebook, keep_outputs=lecture, run_first=lecture and run_lectures)
        print(f"tidied {notebook}")
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        course = Course.locate(arguments.root)
        if arguments.command == "tidy":
            return _tidy(course, arguments.notebooks, arguments.execute)
        assignments = course.resolve(arguments.assignments)
        if arguments.command == "build":
            for folder in build_labs(course, assignments):
                print(f"built {folder.relative_to(course.root)}")
            return 0
        findings = check_assignments(course, assignments, grade=not arguments.no_grading)
    except (CourseError, GradingError, NotebookError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    failed = [finding for finding in findings if not finding.ok]
    if failed:
        print(f"{len(failed)} check(s) failed", file=sys.stderr)
        return 1
    print(f"all {len(findings)} checks passed")
    return 0
