"""``collect``'s one write: a student's chosen notebooks and their ``timestamp.txt`` into
``submitted/<student>/<assignment>/``, swapped in whole, unless an equal or newer submission is already there."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from grader.collect_matching import Candidate
from grader.collect_report import Collected, CollectReport, Skipped, display_time
from grader.files import replace_folder
from grader.layout import TIMESTAMP_FILE, Course
from grader.submission import NotNotebook, notebook_text
from grader.timestamps import read_timestamp, timestamp_text


def store_submission(
    course: Course, assignment: str, student: str, chosen: dict[str, Candidate], report: CollectReport
) -> None:
    """Write one student's submission folder, unless an equal or newer one is already there."""
    folder = course.submission(student, assignment)
    timestamp = max(candidate.timestamp for candidate in chosen.values())
    files = {target: candidate.entry.read() for target, candidate in chosen.items()}
    files[TIMESTAMP_FILE] = (timestamp_text(timestamp) + "\n").encode()
    existing = folder.relative_to(course.root)
    status = _compare_with_existing(folder, files, timestamp)
    if status in _REFUSALS:
        for candidate in chosen.values():
            reason = _REFUSALS[status].format(folder=existing, when=display_time(candidate.timestamp))
            report.skipped.append(Skipped(candidate.entry.path, reason, student))
        return
    if status != "unchanged" and not report.dry_run:
        replace_folder(folder, files)
    for target, candidate in chosen.items():
        item = Collected(
            student,
            str((folder / target).relative_to(course.root)),
            candidate.entry.path,
            candidate.timestamp,
            status,
        )
        if candidate.renamed:
            item.notes.append(f"renamed from {candidate.match.name!r}")
        if candidate.rivals > 1:
            item.notes.append(f"the newest of {candidate.rivals} submissions")
        if status == "replaced" and course.autograded_submission(student, assignment).exists():
            item.notes.append(f"autograded before: run `nbgrader autograde {assignment} --student {student} --force`")
        report.collected.append(item)
        problem = notebook_text(files[target])
        if isinstance(problem, NotNotebook):
            report.flagged.append(Skipped(item.target, problem.flag, student))


_REFUSALS = {
    "older": "submitted {when}, older than the submission already in {folder}; not copied",
    "no timestamp": f"{{folder}} exists without a readable {TIMESTAMP_FILE}; left alone (move it away to collect)",
}


def _compare_with_existing(folder: Path, files: dict[str, bytes], timestamp: datetime) -> str:
    """One of new, unchanged, replaced, or a key of ``_REFUSALS`` when the folder must stay as it is."""
    if not folder.exists():
        return "new"
    existing = read_timestamp(folder)
    if existing is None:
        return "no timestamp"
    if existing > timestamp:
        return "older"
    present = {path.name for path in folder.iterdir()}
    same = present == set(files) and all((folder / name).read_bytes() == data for name, data in files.items())
    return "unchanged" if same else "replaced"
