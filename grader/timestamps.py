"""nbgrader's ``timestamp.txt``: when a submission was made, written and read in nbgrader's own format."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from nbgrader.utils import parse_utc

from grader.layout import TIMESTAMP_FILE

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's exchange format, always in UTC


def timestamp_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime | None:
    """A timestamp as nbgrader reads it (in UTC), timezone-aware; None if unreadable."""
    try:
        parsed = parse_utc(text.strip())
    except (ValueError, OverflowError, TypeError):
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed else None


def read_timestamp(folder: Path) -> datetime | None:
    """The time in ``folder``'s ``timestamp.txt``; None when there is none or it is unreadable."""
    try:
        text = (folder / TIMESTAMP_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return parse_timestamp(text)
