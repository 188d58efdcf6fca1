"""What ``collect`` did: each file collected, flagged or left out, and why, as the instructor reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass
class Collected:
    student: str
    target: str  # the path written, relative to the course root
    source: str  # the path inside SOURCE it came from
    timestamp: datetime
    status: str  # "new", "replaced" (an older one was there) or "unchanged" (collected before)
    notes: list[str] = field(default_factory=list)


@dataclass
class Skipped:
    source: str
    reason: str
    student: str | None = None

    def __str__(self) -> str:
        owner = f" ({self.student})" if self.student else ""
        return f"{self.source!r}{owner}: {self.reason}"


@dataclass
class CollectReport:
    assignment: str
    source: str
    dry_run: bool = False
    collected: list[Collected] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    flagged: list[Skipped] = field(default_factory=list)
    other_assignments: int = 0
    gradebook_students: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def students(self) -> list[str]:
        return sorted({item.student for item in self.collected})

    def lines(self) -> list[str]:
        where = "(dry run: nothing written)" if self.dry_run else "into submitted/"
        lines = [f"collect {self.assignment} from {self.source} {where}"]
        lines.append(f"collected ({len(self.collected)}):")
        for item in self.collected:
            details = [_STATUS_TEXT[item.status].format(when=display_time(item.timestamp)), *item.notes]
            lines.append(f"  {item.student} -> {item.target}  (from {item.source!r}; {'; '.join(details)})")
        if self.flagged:
            lines.append(f"flagged, copied as they are; autograde will score them 0 ({len(self.flagged)}):")
            lines += [f"  {item}" for item in self.flagged]
        lines.append(f"not collected ({len(self.skipped)}):")
        lines += [f"  {item}" for item in self.skipped]
        if self.other_assignments:
            lines.append(f"ignored {self.other_assignments} file(s) of other assignments")
        if self.gradebook_students:
            lines.append(f"gradebook: added or updated {len(self.gradebook_students)} student(s) from the roster")
        lines += self.notes
        return lines


_STATUS_TEXT = {
    "new": "submitted {when}",
    "replaced": "submitted {when}, replaces an older submission",
    "unchanged": "submitted {when}, already collected",
}


def display_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
