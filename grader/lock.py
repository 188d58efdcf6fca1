"""One ``grader autograde`` per course at a time.

Two runs at once would grade every submission twice and race on ``autograded/`` and ``gradebook.db``. The
lock is an OS file lock (``flock``) on ``.grader-autograde.lock`` at the course root: the kernel releases
it when the holder exits in any way, ``kill -9`` included, so a stale lock never blocks the next run. The
file itself stays (git ignores it); it holds the holder's pid and start time, for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator

LOCK_FILE = ".grader-autograde.lock"


class CourseBusy(Exception):
    """Another ``grader autograde`` holds the course's lock (or the lock file cannot be opened)."""


def _holder(fd: int) -> str:
    try:
        pid, since = os.pread(fd, 200, 0).decode("ascii").split()
        return f"pid {int(pid)}, since {time.strftime('%H:%M', time.localtime(float(since)))}"
    except (OSError, ValueError, UnicodeDecodeError):  # it has not written them yet
        return "pid unknown"


@contextlib.contextmanager
def autograde_lock(course_root: Path) -> Iterator[None]:
    """Hold the course's autograde lock for the duration of the block; raise CourseBusy when it is taken."""
    path = Path(course_root) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by the workers or kernels
    except OSError as error:
        raise CourseBusy(f"cannot open the lock file {path}: {error.strerror}") from error
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CourseBusy(f"another `grader autograde` is running on this course ({_holder(fd)}); "
                             "wait for it or stop it") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {time.time():.0f}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
