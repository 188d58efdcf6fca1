"""How long each lecture takes to run top to bottom, as a student's Run All does it.

    python -m course.bench_lectures                 # every lecture at its default size
    python -m course.bench_lectures 04 06           # the lectures whose names start with these
    COURSE_FULL=1 python -m course.bench_lectures   # the full sizes (long)

Each lecture runs in a fresh kernel of this Python (nbclient, the engine of nbconvert and nbval) from its own
folder, with the threads torch picks by itself, as on a student's laptop. The table gives each lecture's
seconds against the course's target of 30 and its slowest cells; nothing is written back to the notebooks.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

LECTURES = Path(__file__).with_name("lectures")
TARGET_SECONDS = 30
SLOW_CELL_SECONDS = 3


def run_lecture(path: Path, timeout: int = 1800) -> tuple[float, list[tuple[int, float]]]:
    """(seconds for the whole run including the kernel's start, [(cell number, seconds)] of the slow cells)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    slow = [(number, cell_seconds) for number, cell_seconds in _cell_seconds(notebook)
            if cell_seconds >= SLOW_CELL_SECONDS]
    return seconds, slow


def _cell_seconds(notebook) -> list[tuple[int, float]]:
    """(cell number from 1, seconds) of each code cell, from the timestamps nbclient records."""
    timings = []
    for number, cell in enumerate(notebook.cells, start=1):
        execution = cell.metadata.get("execution", {})
        started, finished = execution.get("iopub.execute_input"), execution.get("shell.execute_reply")
        if cell.cell_type == "code" and started and finished:
            seconds = (_timestamp(finished) - _timestamp(started)).total_seconds()
            timings.append((number, seconds))
    return timings


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.bench_lectures", description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*", help="run only the lectures whose file names start with these")
    args = parser.parse_args(argv)
    lectures = sorted(path for path in LECTURES.glob("*.ipynb")
                      if not args.prefixes or path.name.startswith(tuple(args.prefixes)))
    if not lectures:
        raise SystemExit(f"no lecture in {LECTURES} starts with {' or '.join(args.prefixes)}")
    over = 0
    print(f"{'lecture':<24}{'seconds':>8}   slowest cells (cell: seconds)")
    for path in lectures:
        seconds, slow = run_lecture(path)
        over += seconds > TARGET_SECONDS
        cells = ", ".join(f"{number}: {cell_seconds:.1f}" for number, cell_seconds in
                          sorted(slow, key=lambda item: -item[1])[:4])
        flag = "  over the target" if seconds > TARGET_SECONDS else ""
        print(f"{path.stem:<24}{seconds:8.1f}   {cells}{flag}", flush=True)
    print(f"{len(lectures) - over} of {len(lectures)} lectures within {TARGET_SECONDS} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
