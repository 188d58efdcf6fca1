"""Warm kernels: one process imports torch, IPython and the kit once, and every kernel is forked from it.

A cold kernel starts a new interpreter in bubblewrap and spends seconds importing what every lab imports; a
grading worker starts hundreds. The **template** is started once per grading worker, with nothing of the
grader's environment, imports the modules the released labs import (never running any student code), and
then only forks. Each fork enters a box of its own before anything of the student runs
(:mod:`grader.sandbox_entry`: the layout :meth:`grader.sandbox.Sandbox.layout` gives a cold kernel, new
namespaces, the submission's own user, no capabilities) and becomes the kernel. Nothing is shared between
students: each fork is a copy of the template, which holds only imported modules, never a student's data, a
test or a key (a kernel reads its connection file itself, inside its box).

This module is the grader's end: :class:`KernelTemplate` starts the template (:mod:`grader.template_process`)
and asks it for boxes, :class:`ForkedProcess` holds one (through a pidfd), and :func:`template_for` keeps one
template per grading worker.
"""

from __future__ import annotations

import ast
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from grader import template_process
from grader.sandbox import Sandbox, draw_uid_base, prepare_folder, sandbox_uid
from grader.template_process import MAX_FDS, MESSAGE_BYTES, TEMPLATE_CWD

BODY_BYTES = 60_000  # a box's request, written whole into a pipe before the template is asked (Linux holds 64 KiB)
REPLY_SECONDS = 30
STARTUP_SECONDS = 180
# what every kernel imports first: IPython's kernel, and the judge's end with torch (grader.judged_run.PREAMBLE)
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "course.kernel_service")


class TemplateUnavailable(RuntimeError):
    """The template did not start, or cannot fork a box on this machine."""


# -- the grader's end ----------------------------------------------------------------------------------------


def imported_modules(notebook_json: str) -> set[str]:
    """The modules a released notebook's code cells import (its instructor's cells: never a submission)."""
    cells = json.loads(notebook_json).get("cells", [])
    return modules_imported_by(cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                               for cell in cells if cell.get("cell_type") == "code")


def modules_imported_by(sources) -> set[str]:
    """The modules these pieces of code import (IPython's magic and shell lines left out)."""
    modules = set()
    for source in sources:
        python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        try:
            tree = ast.parse(python)
        except SyntaxError:  # not Python: the kernel will say so; nothing to preload
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
    return modules


class ForkedProcess:
    """A box forked by the template, as much of ``subprocess.Popen`` as jupyter_client uses.

    The template reaps the box; the box's exit status comes through a pipe whose write end only the box's
    outer process (never the kernel) holds.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int, status: int):
        self.pid, self._pidfd, self._status = pid, pidfd, status
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self._finish()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.poll() is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            self._finish()
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            signal.pidfd_send_signal(self._pidfd, signum)  # a pidfd: never a reused process id

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def _finish(self) -> None:
        written = os.read(self._status, 16) if select.select([self._status], [], [], 1)[0] else b""
        self.returncode = int(written) if written.strip().lstrip(b"-").isdigit() else -signal.SIGKILL
        self.close()

    def close(self) -> None:
        for fd in (self._pidfd, self._status):
            if fd >= 0:
                os.close(fd)
        self._pidfd = self._status = -1

    def __del__(self):
        self.close()


class KernelTemplate:
    """The grader's handle on one template process (one per grading worker)."""

    def __init__(self, sandbox: Sandbox, prefix: tuple[str, ...] = ()):
        """Start the template for kernels in ``sandbox``, with the kernels' environment and nothing of the
        grader's; ``prefix`` wraps its command (the tests start it as another user)."""
        self.sandbox = sandbox
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = sandbox.kernel_environment(Path(TEMPLATE_CWD))
        with theirs:
            self.process = subprocess.Popen(
                [*prefix, sys.executable, "-s", "-m", template_process.__name__, str(theirs.fileno())], env=environment,
                pass_fds=[theirs.fileno()], cwd=TEMPLATE_CWD, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._preloaded: set[str] = set()
        self._ask({"op": "preload", "modules": list(KERNEL_MODULES)}, timeout=STARTUP_SECONDS)

    def preload(self, modules: set[str]) -> None:
        """Import ``modules`` in the template (once each), so that forked kernels have them."""
        new = sorted(set(modules) - self._preloaded)
        if new:
            self._ask({"op": "preload", "modules": new}, timeout=STARTUP_SECONDS)
            self._preloaded.update(new)

    def fork_box(self, workdir: Path, sockets: Path, uid: int | None, output, run: dict) -> ForkedProcess:
        """Fork a box (the sandbox's layout for ``workdir`` and ``sockets``, as ``uid`` when the grader is root)
        in which ``run`` runs: ``{"kernel": connection_file}``, or ``{"program": source, "argv": [...]}`` (as
        ``python -c``). ``output`` (a file) receives the box's standard output and error."""
        workdir = Path(os.path.abspath(workdir))
        body = json.dumps({"steps": [asdict(step) for step in self.sandbox.layout(workdir, sockets)],
                           "workdir": str(workdir), "uid": uid, "limits": asdict(self.sandbox.limits),
                           "environment": self.sandbox.kernel_environment(workdir), "run": run}).encode()
        if len(body) > BODY_BYTES:
            raise ValueError(f"a box's request of {len(body)} bytes is more than a pipe holds ({BODY_BYTES})")
        # the request goes to the box through a pipe the template passes on unread, so that no box's request
        # stays in the template's memory, which every later box is a copy of
        body_end, body_start = os.pipe()
        status, status_end = os.pipe()
        try:
            os.write(body_start, body)
            os.close(body_start)
            reply, fds = self._ask({"op": "box"}, fds=[output.fileno(), status_end, body_end], timeout=REPLY_SECONDS)
        except BaseException:
            os.close(status)
            raise
        finally:
            os.close(status_end)
            os.close(body_end)
        if len(fds) != 1:
            os.close(status)
            raise TemplateUnavailable("the template sent no handle on the box")
        return ForkedProcess(reply["pid"], fds[0], status)

    def close(self) -> None:
        self._control.close()  # the template ends when its end of the pair closes
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def check(self, uid: int | None) -> None:
        """Fork a trial box and see it run; raises TemplateUnavailable when this machine refuses what a box
        needs (user namespaces, mounts), so that kernels start cold rather than fail one by one."""
        folder = Path(tempfile.mkdtemp(prefix="template-check-"))
        try:
            workdir, sockets = folder / "w", folder / "s"
            prepare_folder(workdir, uid)
            prepare_folder(sockets, uid)
            with tempfile.TemporaryFile("w+") as output:
                code = self.fork_box(workdir, sockets, uid, output, {"program": "print('ready')", "argv": []}
                                     ).wait(REPLY_SECONDS)
                output.seek(0)
                said = output.read()
            if code != 0 or said.strip() != "ready":
                raise TemplateUnavailable(f"a trial box failed (exit status {code}): {said.strip()[-2000:]}")
        except subprocess.TimeoutExpired as error:
            raise TemplateUnavailable("a trial box did not end") from error
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _ask(self, request: dict, fds=(), timeout: float = REPLY_SECONDS):
        try:
            self._control.settimeout(timeout)
            socket.send_fds(self._control, [json.dumps(request).encode()], list(fds))
            data, received, _, _ = socket.recv_fds(self._control, MESSAGE_BYTES, MAX_FDS)
        except OSError as error:
            raise TemplateUnavailable(f"the kernel template does not answer ({error})") from error
        if not data:
            raise TemplateUnavailable(f"the kernel template ended (exit status {self.process.poll()})")
        reply = json.loads(data)
        if "error" in reply:
            for fd in received:
                os.close(fd)
            raise TemplateUnavailable(reply["error"])
        return reply, received


_started: dict[tuple, "KernelTemplate | TemplateUnavailable"] = {}  # this process's templates, by sandbox


def template_for(sandbox: Sandbox, modules: set[str]) -> KernelTemplate | None:
    """This process's template for kernels in ``sandbox``, started on first use and checked with a trial box,
    with ``modules`` imported; None when it cannot be had (said once, on stderr): kernels then start cold."""
    key = (str(sandbox.course_root), sandbox.limits)
    template = _started.get(key)
    if isinstance(template, KernelTemplate) and not template.alive:
        template = None  # it ended (the machine's out-of-memory killer, say): start another
    if template is None:
        template = _start_checked(sandbox)
        _started[key] = template
        if isinstance(template, TemplateUnavailable):
            print(f"grader: kernels start cold, without a template: {template}", file=sys.stderr)
    if isinstance(template, TemplateUnavailable):
        return None
    try:
        template.preload(modules)
    except TemplateUnavailable:
        _started.pop(key, None)
        return None
    return template


def _start_checked(sandbox: Sandbox) -> "KernelTemplate | TemplateUnavailable":
    template = None
    try:
        template = KernelTemplate(sandbox)
        template.check(sandbox_uid(draw_uid_base(), 0))
        return template
    except (TemplateUnavailable, OSError) as error:
        if template is not None:
            template.close()
        return error if isinstance(error, TemplateUnavailable) else TemplateUnavailable(str(error))
