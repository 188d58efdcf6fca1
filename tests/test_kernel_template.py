"""The template that warm kernels are forked from (:mod:`grader.kernel_template`), from the grader's side: what it
preloads, what a box's exit looks like to the grader, and what happens when it cannot be had."""

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader import kernel_template
from grader.kernel_template import KernelTemplate, TemplateUnavailable, imported_modules, template_for
from grader.sandbox import Limits, Sandbox, draw_uid_base, prepare_folder, sandbox_uid
from sandbox_required import requires_sandbox

CHECKOUT = Path(__file__).resolve().parents[1]


def test_imported_modules_reads_the_import_statements_of_code_cells_only():
    notebook = {"cells": [
        {"cell_type": "code", "source": ["import torch\n", "import numpy as np, math\n"]},
        {"cell_type": "code", "source": "from course.backprop import sigmoid\nfrom . import nearby"},
        {"cell_type": "code", "source": "from course import data\n"},
        {"cell_type": "markdown", "source": "import secret_module"},
    ]}
    assert imported_modules(json.dumps(notebook)) == {"torch", "numpy", "math", "course.backprop", "course"}


def test_magics_and_shell_lines_do_not_hide_a_cells_imports():
    notebook = {"cells": [{"cell_type": "code", "source": "%matplotlib inline\n!pip list\nimport torch"},
                          {"cell_type": "code", "source": "def (:\nimport numpy"}]}
    assert imported_modules(json.dumps(notebook)) == {"torch"}


@pytest.fixture
def folders():
    uid = sandbox_uid(draw_uid_base(), 1)
    base = Path(tempfile.mkdtemp(prefix="template-test-"))
    base.chmod(0o755)
    prepare_folder(base / "w", uid)
    prepare_folder(base / "s", uid)
    yield base / "w", base / "s", uid


@pytest.fixture(scope="module")
def template():
    started = KernelTemplate(Sandbox(CHECKOUT, Limits()))
    yield started
    started.close()


def _box(template, folders, program: str):
    workdir, sockets, uid = folders
    output = tempfile.TemporaryFile("w+")
    return template.fork_box(workdir, sockets, uid, output, {"program": program, "argv": []}), output


@requires_sandbox
@pytest.mark.parametrize(("program", "status"), [("pass", 0), ("raise SystemExit(3)", 3), ("import os; os._exit(4)", 4),
                                                 ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 128 + 9),
                                                 ("raise ValueError('no')", 1)])
def test_the_grader_sees_the_boxs_exit_status(template, folders, program, status):
    box, output = _box(template, folders, program)
    assert box.wait(60) == status


@requires_sandbox
def test_a_box_killed_by_the_grader_reads_as_killed(template, folders):
    box, output = _box(template, folders, "import time; time.sleep(60)")
    assert box.poll() is None
    box.kill()
    assert box.wait(30) == -signal.SIGKILL


@requires_sandbox
def test_the_template_preloads_once_and_the_box_has_the_modules(template, folders):
    template.preload({"course.backprop", "no_such_module_anywhere"})
    box, output = _box(template, folders, "import sys; print('course.backprop' in sys.modules)")
    assert box.wait(60) == 0
    output.seek(0)
    assert output.read().strip() == "True"


@requires_sandbox
def test_a_template_that_cannot_fork_boxes_means_cold_kernels_and_says_so(monkeypatch, capsys):
    def refuse(self, uid):
        raise TemplateUnavailable("unshare: Operation not permitted")

    monkeypatch.setattr(KernelTemplate, "check", refuse)
    monkeypatch.setattr(kernel_template, "_started", {})
    closed = []
    original_close = KernelTemplate.close
    monkeypatch.setattr(KernelTemplate, "close", lambda self: closed.append(self) or original_close(self))
    sandbox = Sandbox(CHECKOUT, Limits())
    assert template_for(sandbox, set()) is None
    assert template_for(sandbox, set()) is None  # asked once: no second template, no second message
    assert capsys.readouterr().err.count("kernels start cold, without a template: unshare: Operation not permitted") == 1
    assert len(closed) == 1 and not closed[0].alive  # the template that failed its trial did not stay behind


@requires_sandbox
def test_a_template_that_died_is_replaced(monkeypatch):
    monkeypatch.setattr(kernel_template, "_started", {})
    sandbox = Sandbox(CHECKOUT, Limits())
    first = template_for(sandbox, set())
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(30)
    second = template_for(sandbox, set())
    try:
        assert second is not first and second.alive
    finally:
        second.close()
        first.close()


def test_a_box_requested_of_an_ended_template_fails_clearly():
    started = KernelTemplate(Sandbox(CHECKOUT, Limits()))
    started.process.kill()
    started.process.wait(30)
    with tempfile.TemporaryFile("w+") as output, pytest.raises(TemplateUnavailable, match="template"):
        started.fork_box(Path("/tmp/w"), Path("/tmp/s"), None, output, {"program": "pass", "argv": []})
    started.close()
    assert not os.path.exists("/tmp/w")


@requires_sandbox
def test_no_kernel_sees_the_graders_session_keyring():
    probe = subprocess.run([sys.executable, str(Path(__file__).with_name("keyring_probe.py")), str(CHECKOUT)],
                           capture_output=True, text=True, timeout=300, cwd=tempfile.gettempdir())
    assert probe.returncode == 0, probe.stderr[-3000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    for kind in ("cold", "warm"):
        assert seen[kind]["keys"] == [] and seen[kind]["payloads"] == [], kind
        assert "grader-token" not in seen[kind]["proc_keys"] and "grader-login" not in seen[kind]["proc_keys"], kind
