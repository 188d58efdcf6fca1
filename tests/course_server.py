"""What the course server's tests share: they make system accounts and run programs as them, so they need root and
the machine's tools; a module calls :func:`require_course_server` first. Skipped where they are missing, failed
where ``COURSE_SERVER_REQUIRED=1`` (.ci/run, which runs as root)."""

from __future__ import annotations

import os
import shutil

import pytest


def require_course_server(*tools: str) -> None:
    missing = [tool for tool in ("bwrap", "setpriv", "useradd", *tools) if shutil.which(tool) is None]
    if os.geteuid() != 0:
        unavailable("the course server's tests make system accounts: run them as root (CI does)")
    elif missing:
        unavailable(f"the course server's tests need {', '.join(missing)} (Debian: apt install bubblewrap passwd)")


def unavailable(reason: str) -> None:
    if os.environ.get("COURSE_SERVER_REQUIRED") == "1":
        pytest.fail(f"{reason}; COURSE_SERVER_REQUIRED=1 says this machine must run them", pytrace=False)
    pytest.skip(reason, allow_module_level=True)
