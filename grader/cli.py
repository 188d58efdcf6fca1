"""``python -m grader``: the instructor's commands."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from grader.autograde import DEFAULT_CELL_TIMEOUT, AutogradeError, assignments_argument, autograde
from grader.checks import build_labs, check_assignments
from grader.deadlines import CourseFileError, read_course_file
from grader.mutants import CatalogueError, check_mutants
from grader.collect import CollectError, collect, read_roster
from grader.exchange import ExchangeError
from grader.hub.settings import SettingError, read_settings
from grader.files import write_atomically
from grader.feedback import FeedbackError, generate_feedback
from grader.lock import CourseBusy, autograde_lock
from grader.export import ExportError, export_grades
from grader.lms_export import WRITERS
from grader.layout import Course, CourseError
from grader.notebooks import NotebookError
from grader.exchange_release import publish, release_feedback
from grader.release import release, translate_release
from grader.sandbox import GiB, Limits
from grader.self_check import self_check
from grader.similarity import SimilarityError, similarity
from grader.tidy import tidy_file
from grader.translation import UnknownLanguage, language_named
from grader.workspace import GradingError


def _with_assignments(commands, name: str, help: str, default: str = "all") -> argparse.ArgumentParser:
    """A command that takes assignment names (every one of ``default`` when none is named)."""
    command = commands.add_parser(name, help=help)
    command.add_argument("assignments", nargs="*", help=f"assignment names, e.g. 01_backprop (default: {default})")
    return command


def _collect_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("assignment", help="the assignment the submissions are for, e.g. 01_backprop")
    command.add_argument(
        "source", nargs="?",
        help="a folder (nbgrader's submitted/<student>/<assignment>/ or <student>/*.ipynb) or an LMS zip "
        "(Moodle, Canvas, or <student>_<notebook>.ipynb); or none, with --exchange",
    )
    command.add_argument("--exchange", action="store_true",
                         help="collect from the course server's nbgrader exchange instead ([tool.course.server] in "
                         "pyproject.toml; as its instructor or root): each student is the account that made the "
                         "submission, its time the exchange's")
    command.add_argument(
        "--roster", help="CSV with an 'id' column (nbgrader's student import format): collect only these "
        "students, map an 'lms_user_id' column to 'id', add them to the gradebook"
    )
    command.add_argument(
        "--pattern", help="regular expression with a named group (?P<student>...) searched in each file's path "
        "inside SOURCE, instead of the built-in layouts; optional group (?P<file>...) names the notebook"
    )
    command.add_argument("--dry-run", action="store_true", help="report only; write nothing")


def _autograde_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--jobs", "-j", type=int, default=None,
                         help="submissions graded at once (default: the number of cores)")
    command.add_argument("--timeout", type=int, default=DEFAULT_CELL_TIMEOUT,
                         help=f"seconds a cell may run (default {DEFAULT_CELL_TIMEOUT})")
    command.add_argument("--memory", type=float, default=Limits.memory_bytes / GiB,
                         help=f"GiB of memory a kernel may allocate (default {Limits.memory_bytes / GiB:g})")
    command.add_argument("--force", action="store_true", help="regrade submissions that are already graded")
    command.add_argument("--roster-only", action="store_true",
                         help="skip (and list) submissions of students who are not in gradebook.db; by default "
                         "they are graded and added, as nbgrader does")
    command.add_argument("--no-sandbox", action="store_true",
                         help="run student code without the sandbox (only for notebooks you trust)")
    command.add_argument("--cold-kernels", action="store_true",
                         help="start each kernel as a new interpreter in bubblewrap, instead of forking it from a "
                         "template that imported torch and the kit once (slower; the sandbox is the same)")
    command.add_argument("--no-progress", action="store_true", help="no progress bar")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description="Build and check the student labs; release, collect, autograde, give feedback on and "
        "export the grades of a class, on nbgrader's own files.",
    )
    parser.add_argument("--root", help="the course checkout (default: the one this package is installed from)")
    commands = parser.add_subparsers(dest="command", required=True)
    _with_assignments(commands, "build", "regenerate labs/ from solutions/ with nbgrader generate_assignment")
    release_command = _with_assignments(
        commands, "release", "produce the student copies (build), and record each assignment in the course's "
        "gradebook.db so that nbgrader autograde can grade it")
    release_command.add_argument("--lang", metavar="LANGUAGE",
                                 help="also write the student copies in this language, e.g. zh_CN (or zh)")
    release_command.add_argument("--out", help="where --lang writes them (default: build/release/LANGUAGE/)")
    release_command.add_argument("--exchange", action="store_true", help="also hand the labs out through the course "
                                 "server's exchange ([tool.course.server] in pyproject.toml)")
    _collect_arguments(commands.add_parser(
        "collect", help="copy submissions from a folder or an LMS zip export into submitted/<student>/<assignment>/ "
        "and report what could not be matched"))
    _autograde_arguments(_with_assignments(
        commands, "autograde", "grade every collected submission (submitted/<student>/<assignment>/) in parallel, "
        "each in a sandbox; resumable, and a rerun changes no grade already recorded", default="every released one"))
    feedback_command = _with_assignments(
        commands, "feedback", "an HTML report per student and assignment (feedback/<student>/<assignment>/), "
        "showing each test's points and errors but not the hidden tests", default="all autograded")
    feedback_command.add_argument("--exchange", action="store_true", help="also hand each report back through the "
                                  "course server's exchange, where only its student finds it")
    export = commands.add_parser(
        "export", help="the grade sheet from gradebook.db: a row per student, a column per assignment, the total")
    export.add_argument("--out", default="grades.csv",
                        help="CSV file to write, relative to the course root unless absolute; '-' for the terminal")
    export.add_argument("--detail", action="store_true", help="add a column per exercise (<assignment>/<grade id>)")
    export.add_argument("--format", choices=["csv", *WRITERS], default="csv",
                        help="csv: the full sheet (default); canvas or moodle: the file that LMS's gradebook import "
                        "takes as it is (the marks after late penalties)")
    similar = commands.add_parser(
        "similarity", help="the pairs of students whose answers look most alike (copydetect; only what they wrote "
        "is compared), as similarity/<assignment>/pairs.csv and report.html")
    similar.add_argument("assignment")
    similar.add_argument("--top", type=int, default=20, help="pairs shown side by side in the report (default 20)")
    check = _with_assignments(commands, "check", "fail when labs/ is stale, a solution loses points, or a released "
                              "lab gives points")
    check.add_argument("--no-grading", action="store_true", help="only check that labs/ is in sync (fast)")
    _with_assignments(commands, "mutants", "grade each lab's catalogue of plausible mistakes "
                      "(solutions/<assignment>/mutants.toml); fail unless every mistake costs points in its own "
                      "exercise and in no other")
    own = commands.add_parser(
        "self-check", help="grade your own lab notebook with its hidden tests, as a course would, in a scratch "
        "course folder (for self-learners; the course's gradebook is not touched)")
    own.add_argument("notebook", help="your notebook, e.g. my-work/labs/01_backprop/01_backprop.ipynb")
    own.add_argument("--timeout", type=int, default=DEFAULT_CELL_TIMEOUT,
                     help=f"seconds a cell may run (default {DEFAULT_CELL_TIMEOUT})")
    hub = commands.add_parser("hub", help="the course server: setup (accounts, exchange), start (JupyterHub), check",
                              add_help=False)
    hub.add_argument("hub_arguments", nargs=argparse.REMAINDER, help="setup|start|check and their options")
    tidy = commands.add_parser(
        "tidy", help="save notebooks as the course keeps them: clean metadata, lectures keep only checked outputs "
        "and figures, solutions keep none")
    tidy.add_argument("notebooks", nargs="*", help="notebook paths (default: every lecture and solution)")
    tidy.add_argument("--execute", action="store_true", help="run lectures in a fresh kernel first")
    return parser


# -- each command, handed to its module ------------------------------------------------------------------------------


def _build(course: Course, arguments: argparse.Namespace) -> int:
    for folder in build_labs(course, course.resolve(arguments.assignments)):
        print(f"built {folder.relative_to(course.root)}")
    return 0


def _release(course: Course, arguments: argparse.Namespace) -> int:
    language = language_named(arguments.lang) if arguments.lang else None  # a wrong name fails before nbgrader runs
    for folder in release(course, course.resolve(arguments.assignments)):
        print(f"released {folder.relative_to(course.root)} (recorded {folder.name} in gradebook.db)")
        if language is not None:
            out = Path(arguments.out) if arguments.out else course.root / "build" / "release" / language
            translated = translate_release(course, folder.name, language, out)
            left = f"; {translated.english_passages} passage(s) have no current translation and stay English" if (
                translated.english_passages) else ""
            print(f"  {language}: {translated.folder} (the same notebook, its text in {language}{left})")
        if arguments.exchange:
            settings = server_settings(course)
            print(f"  handed out: {publish(course, folder.name, settings.exchange, settings.instructor)}")
    return 0


def server_settings(course: Course):
    """The course server's setting, from the course's pyproject.toml."""
    return read_settings(course.root / "pyproject.toml")


def _collect(course: Course, arguments: argparse.Namespace) -> int:
    roster = read_roster(Path(arguments.roster)) if arguments.roster else None
    if (arguments.source is None) != arguments.exchange:
        raise CollectError("give a SOURCE folder or zip, or --exchange (the course server's)")
    source = server_settings(course).exchange if arguments.exchange else Path(arguments.source)
    report = collect(course, arguments.assignment, source, roster, arguments.pattern, arguments.dry_run)
    print("\n".join(report.lines()))
    return 0


def _autograde(course: Course, arguments: argparse.Namespace) -> int:
    if arguments.jobs is not None and arguments.jobs < 1:
        raise AutogradeError("--jobs must be at least 1")
    if arguments.timeout < 1:
        raise AutogradeError("--timeout must be at least 1 second")
    limits = Limits(memory_bytes=int(arguments.memory * GiB))
    with autograde_lock(course.root):  # one run per course: two would grade every submission twice
        report = autograde(course, assignments_argument(course, arguments.assignments), arguments.jobs,
                           arguments.timeout, arguments.force, not arguments.no_sandbox, limits,
                           arguments.roster_only, progress=not arguments.no_progress,
                           warm_kernels=not arguments.cold_kernels)
    print("\n".join(report.lines()))
    return 1 if report.grader_errors else 0


def _feedback(course: Course, arguments: argparse.Namespace) -> int:
    assignments = assignments_argument(course, arguments.assignments)
    report = generate_feedback(course, assignments)
    print("\n".join(report.lines(course.root)))
    if arguments.exchange:
        settings = server_settings(course)
        for assignment in assignments or course.assignments():
            released = release_feedback(course, assignment, settings.exchange, settings.instructor)
            print(f"{assignment}: {len(released.released)} feedback page(s) into the exchange" + "".join(
                f"\n  no exchange submission of {item} is the one graded: not handed back" for item in
                released.not_found))
    return 0


def _export(course: Course, arguments: argparse.Namespace) -> int:
    if arguments.detail and arguments.format != "csv":
        raise ExportError(f"--detail adds exercise columns to the csv sheet; {arguments.format}'s import takes one "
                          "column per assignment")
    lms = None if arguments.format == "csv" else arguments.format
    deadlines = read_course_file(course.course_file)
    if arguments.out == "-":
        summary = export_grades(course.gradebook, sys.stdout, arguments.detail, deadlines, lms)
    else:
        path = course.root / arguments.out
        sheet = io.StringIO()
        summary = export_grades(course.gradebook, sheet, arguments.detail, deadlines, lms)  # before a file is touched
        write_atomically(path, sheet.getvalue())
        print(f"wrote {path}: {summary.students} students x {len(summary.assignments)} assignments")
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _similarity(course: Course, arguments: argparse.Namespace) -> int:
    report = similarity(course, arguments.assignment, arguments.top)
    for index, pair in enumerate(report.pairs[:arguments.top], start=1):
        print(f"{index:3d}. {pair.first} and {pair.second}: {pair.share_first:.0%} and {pair.share_second:.0%} "
              f"alike ({pair.tokens} shared tokens)")
    if report.without_answers:
        print(f"no answers to compare: {', '.join(report.without_answers)}")
    if report.too_large:
        print(f"too much code to compare, look at it by hand: {', '.join(report.too_large)}")
    print("\n".join(f"wrote {path}" for path in report.written))
    return 0


def _check(course: Course, arguments: argparse.Namespace) -> int:
    return _findings(check_assignments(course, course.resolve(arguments.assignments),
                                       grade=not arguments.no_grading))


def _mutants(course: Course, arguments: argparse.Namespace) -> int:
    assignments = course.resolve(arguments.assignments)
    return _findings([finding for assignment in assignments for finding in check_mutants(course, assignment)])


def _findings(findings: list) -> int:
    for finding in findings:
        print(finding)
    failed = [finding for finding in findings if not finding.ok]
    if failed:
        print(f"{len(failed)} check(s) failed", file=sys.stderr)
        return 1
    print(f"all {len(findings)} checks passed")
    return 0


def _self_check(course: Course, arguments: argparse.Namespace) -> int:
    report = self_check(course, Path(arguments.notebook).resolve(), arguments.timeout)
    print("\n".join(report.lines()))
    return 0 if not report.rejected else 1


def _hub(course: Course, arguments: argparse.Namespace) -> int:
    from grader.hub import command  # here: JupyterHub is needed only on the course server

    return command.main(course, arguments.hub_arguments)


def _tidy(course: Course, arguments: argparse.Namespace) -> int:
    notebooks = [Path(path).resolve() for path in arguments.notebooks] or course.all_notebooks()
    missing = [str(path) for path in notebooks if not path.is_file()]
    if missing:
        raise CourseError(f"no such notebook: {', '.join(missing)}")
    for notebook in notebooks:
        lecture = course.is_lecture(notebook)
        tidy_file(notebook, keep_outputs=lecture, run_first=lecture and arguments.execute)
        print(f"tidied {notebook}")
    return 0


COMMANDS = {"build": _build, "release": _release, "collect": _collect, "autograde": _autograde,
            "feedback": _feedback, "export": _export, "check": _check, "mutants": _mutants,
            "self-check": _self_check, "tidy": _tidy, "hub": _hub, "similarity": _similarity}
# what a command says went wrong before it could do its work (exit status 2); anything else is a bug
USAGE_ERRORS = (CourseError, GradingError, NotebookError, CollectError, ExportError, AutogradeError, FeedbackError,
                CourseBusy, CatalogueError, UnknownLanguage, ExchangeError,
                SettingError, CourseFileError, SimilarityError)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    arguments, rest = parser.parse_known_args(argv)
    if arguments.command == "hub":  # its own options (--help, --roster) are the hub command's to parse
        arguments.hub_arguments = [*arguments.hub_arguments, *rest]
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return COMMANDS[arguments.command](Course.locate(arguments.root), arguments)
    except USAGE_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
