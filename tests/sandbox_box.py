"""The sandbox cases ``tests/test_sandbox*.py`` attack: a fresh box per test, started each way the grader starts
kernels (a new interpreter in bubblewrap, or forked from a kernel template) and as each user the grader may be (root,
or an ordinary user), with a fake other checkout of the kit on the host beside it."""

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest

from grader.kernel_template import KernelTemplate
from grader.sandbox import MiB, Limits, Sandbox, bound_folders, draw_uid_base, prepare_folder

CHECKOUT = Path(__file__).resolve().parents[1]
ORDINARY_UID = 65534  # nobody, on Debian; setpriv needs no account for it
LIMITS = Limits()
FILL_CHUNK = 16 * MiB
OTHER_SOLUTION = "other-kit/solutions/01_lab/01_lab.ipynb"


class Box:
    """One sandbox case: where its host folders are and how a program is started in it."""

    def __init__(self, case: str, start: str, base: Path, templates):
        self.case, self.start, self.base, self.templates = case, start, base, templates
        self.workdir, self.sockets = base / "run" / "w0", base / "run" / "s0"
        self.secret = secrets.token_hex(16)
        as_root = os.geteuid() == 0
        self.uid = draw_uid_base() + 1 if case == "root" else None  # what the grader hands the sandbox
        owner = self.uid if case == "root" else (ORDINARY_UID if as_root else None)
        prepare_folder(self.workdir, owner)
        prepare_folder(self.sockets, owner)
        self.prefix = _become_ordinary_user() if case == "ordinary user" and as_root else []

    def run(self, program: str, parameters: dict | None = None, limits: Limits = LIMITS) -> dict:
        """Run ``program`` in the sandbox; its last line of output, as JSON."""
        argv = [json.dumps(parameters or {})]
        if self.start == "forked":
            template, self.secret = self.templates(self.case, self.prefix, limits)
            with tempfile.TemporaryFile("w+") as output:
                code = template.fork_box(self.workdir, self.sockets, self.uid, output,
                                         {"program": program, "argv": argv}).wait(120)
                output.seek(0)
                stdout = output.read()
        else:
            command = self.prefix + Sandbox(CHECKOUT, limits).command([sys.executable, "-c", program, *argv],
                                                                      self.workdir, self.sockets, self.uid)
            environment = {**os.environ, "GRADER_SECRET": self.secret}
            done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)
            code, stdout = done.returncode, done.stdout + done.stderr
        assert code == 0, f"the program failed ({code}):\n{stdout}"
        return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def _become_ordinary_user() -> list[str]:
    """setpriv to uid 65534, in a mount namespace where the folders the sandbox binds are reachable."""
    outer = [shutil.which("bwrap"), "--dev-bind", "/", "/"]
    home = Path.home().resolve()
    hidden = [folder for folder in bound_folders() if home in folder.parents]
    if hidden:
        outer += ["--perms", "0755", "--tmpfs", str(home)]
        made = set()
        for folder in hidden:
            for parent in reversed(folder.parents):
                if home in parent.parents and parent not in made:
                    made.add(parent)
                    outer += ["--perms", "0755", "--dir", str(parent)]
            outer += ["--ro-bind", str(folder), str(folder)]
    return outer + ["--", shutil.which("setpriv"), f"--reuid={ORDINARY_UID}", f"--regid={ORDINARY_UID}",
                    "--clear-groups", "--"]


@pytest.fixture(scope="module")
def templates():
    """case, prefix, limits -> (a template started while the grader's environment held a secret, the secret)."""
    started = {}

    def template(case: str, prefix: list, limits: Limits):
        if (case, limits) not in started:
            secret = secrets.token_hex(16)
            with mock.patch.dict(os.environ, GRADER_SECRET=secret):
                started[case, limits] = KernelTemplate(Sandbox(CHECKOUT, limits), prefix=tuple(prefix)), secret
        return started[case, limits]

    yield template
    for running, _ in started.values():
        running.close()


@pytest.fixture(params=[("root", "bubblewrap"), ("ordinary user", "bubblewrap"), ("root", "forked"),
                        ("ordinary user", "forked")], ids=lambda param: "-".join(param))
def box(request, templates):
    case, start = request.param
    if case == "root" and os.geteuid() != 0:
        pytest.skip("the drop to a sandbox user of its own happens only when the grader runs as root")
    base = Path(tempfile.mkdtemp(prefix="sandbox-test-"))
    base.chmod(0o755)
    solution = base / OTHER_SOLUTION
    solution.parent.mkdir(parents=True)
    solution.write_text('{"answer": 42}')
    for folder in solution.relative_to(base).parents:  # readable by anyone on the host
        (base / folder).chmod(0o755)
    solution.chmod(0o644)
    yield Box(case, start, base, templates)
    shutil.rmtree(base, ignore_errors=True)
