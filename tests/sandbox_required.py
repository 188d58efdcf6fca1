"""Skip the grading tests, with the reason, on a machine where bubblewrap cannot start a sandbox."""

import shutil
import subprocess

import pytest


def _sandbox_problem() -> str | None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (Debian/Ubuntu: sudo apt install bubblewrap)"
    trial = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-net", "--", "true"], capture_output=True,
                           text=True)
    if trial.returncode != 0:
        return f"bubblewrap cannot make a sandbox here: {trial.stderr.strip()}"
    return None


PROBLEM = _sandbox_problem()
requires_sandbox = pytest.mark.skipif(PROBLEM is not None, reason=f"grader autograde needs a sandbox: {PROBLEM}")
