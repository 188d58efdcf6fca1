"""Warm kernels: one process imports torch, IPython and the kit once, and every kernel is forked from it.

A cold kernel starts a new interpreter in bubblewrap and spends seconds importing what every lab imports; a
grading worker starts hundreds. The **template** is started once per grading worker, with nothing of the
grader's environment, imports the modules the released labs import (never running any student code), and
then only forks. Each fork enters a box of its own before anything of the student runs
(:mod:`grader.sandbox_entry`: the layout :meth:`grader.sandbox.Sandbox.layout` gives a cold kernel, new
namespaces, the submission's own user, no capabilities) and becomes the kernel. Nothing is shared between
students: each fork is a copy of the template, which holds only imported modules, never a student's data, a
test or a key (a kernel reads its connection file itself, inside its box).

Three processes per kernel: the fork (``box``) stays in the template's namespaces and only waits; its child is
the first process of the new PID namespace, builds the box and becomes the kernel. The grader holds the box
through a pidfd (:class:`ForkedProcess`), and killing the box kills the kernel (its parent-death signal), with
its whole PID namespace.

Run as ``python -m grader.kernel_template FD``, where FD is the template's end of a socket pair.
"""

from __future__ import annotations

import ast
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

from grader import sandbox_entry
from grader.sandbox import HOSTNAME, Sandbox, draw_uid_base, prepare_folder, sandbox_uid

MESSAGE_BYTES = 1 << 20
BODY_BYTES = 60_000  # a box's request, written whole into a pipe before the template is asked (Linux holds 64 KiB)
REPLY_SECONDS = 30
STARTUP_SECONDS = 180
TEMPLATE_CWD = "/"
# what every kernel imports first: IPython's kernel, and the judge's end with torch (grader.judged_run.PREAMBLE)
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "course.kernel_service")
ERROR_EXIT = 70


class TemplateUnavailable(RuntimeError):
    """The template did not start, or cannot fork a box on this machine."""


# -- the grader's end ----------------------------------------------------------------------------------------


def imported_modules(notebook_json: str) -> set[str]:
    """The modules a released notebook's code cells import (its instructor's cells: never a submission)."""
    modules = set()
    for cell in json.loads(notebook_json).get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
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
                [*prefix, sys.executable, "-s", "-m", __name__, str(theirs.fileno())], env=environment,
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
            data, received, _, _ = socket.recv_fds(self._control, MESSAGE_BYTES, 3)
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


# -- the template ------------------------------------------------------------------------------------------


def _reply(control: socket.socket, message: dict, fds=()) -> None:
    socket.send_fds(control, [json.dumps(message).encode()], list(fds))


def _preload(modules: list[str]) -> dict:
    import importlib

    missing = []
    # a home for what the imports cache (matplotlib's fonts), removed at once: the template may be killed with
    # its worker, and nothing may stay behind; each kernel gets the sandbox's own home
    home = tempfile.mkdtemp(prefix="kernel-template-")
    os.environ["HOME"] = os.environ["MPLCONFIGDIR"] = home
    try:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # an optional module the lab can live without; the kernel will say so itself
                missing.append(name)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:  # a fork copies one thread: locks another one held would stay locked in every kernel
        return {"error": f"the template runs {threads} threads after importing {modules}; forking it is unsafe"}
    return {"missing": missing}


def _serve(control: socket.socket) -> None:
    template = os.getpid()
    while True:
        data, fds, _, _ = socket.recv_fds(control, MESSAGE_BYTES, 3)
        if not data:
            return  # the grader closed its end
        request = json.loads(data)
        if request["op"] == "preload":
            _reply(control, _preload(request["modules"]))
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            try:
                _box(*fds, template)
            finally:
                os._exit(ERROR_EXIT)
        for fd in fds:
            os.close(fd)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError as error:  # already gone: it failed before the grader could hold it
            _reply(control, {"error": f"the box ended at once ({error})"})
            continue
        _reply(control, {"pid": pid}, [pidfd])
        os.close(pidfd)


def _box(output: int, status: int, body: int, template: int) -> None:
    """The fork: read its request, leave the template's namespaces, then wait for the box's first process."""
    sandbox_entry.die_with_parent()
    if os.getppid() != template:
        return
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    with os.fdopen(body, "rb") as pipe:
        request = json.loads(pipe.read())
    steps = sandbox_entry.resolved_sources(request["steps"])
    sandbox_entry.unshare_namespaces(as_root=os.geteuid() == 0)
    alive, held = os.pipe()  # the kernel sees EOF on ``alive`` once this process is gone
    pid = os.fork()
    if pid == 0:
        os.close(held)
        os.close(status)
        _kernel(request, steps, output, alive)
    os.close(alive)
    os.close(output)
    _, waited = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(waited)  # negative: killed by that signal
    os.write(status, str(code).encode())
    os._exit(code if code >= 0 else 128 - code)


def _kernel(request: dict, steps: list, output: int, alive: int) -> None:
    """PID 1 of the box: build it, give up every privilege, and run what ``run`` says in a child (as
    bubblewrap does: PID 1 of a namespace ignores the signals it has no handler for, even SIGKILL from inside,
    so a kernel that kills itself must not be PID 1)."""
    try:
        sandbox_entry.die_with_parent()
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sandbox_entry.build_root(steps)
        sandbox_entry.confine(SimpleNamespace(**request["limits"]), request["uid"], HOSTNAME)
        sandbox_entry.die_with_parent()  # the change of user cleared it
        if select.select([alive], [], [], 0)[0]:  # EOF: the box's process died before the line above
            os._exit(ERROR_EXIT)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.environ.clear()
        os.environ.update(request["environment"])
        os.chdir(request["workdir"])
        child = os.fork()
        if child == 0:
            sandbox_entry.make_dumpable()
            _reseed()
            code = _run(request["run"])
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        code = _reap_until(child)
    except BaseException:
        traceback.print_exc()
        code = ERROR_EXIT
    os._exit(code)


def _reap_until(child: int) -> int:
    """An init's work: reap every process that ends, until ``child`` does; its exit code."""
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return ERROR_EXIT
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


def _reseed() -> None:
    """Fresh random states, as a new interpreter would have (the template's were drawn once for all forks)."""
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    if "torch" in sys.modules:
        sys.modules["torch"].seed()


def _run(run: dict) -> int:
    if sys.path and sys.path[0] == TEMPLATE_CWD:
        del sys.path[0]
    try:
        if "kernel" in run:
            from ipykernel import kernelapp

            sys.argv = ["ipykernel_launcher", "-f", run["kernel"]]
            kernelapp.launch_new_instance()
        else:
            sys.argv = ["-c", *run["argv"]]
            sys.path.insert(0, "")
            exec(compile(run["program"], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102 (python -c)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # as python -c: the traceback, and status 1
        traceback.print_exc()
        return 1
    return 0


def main() -> None:
    sandbox_entry.die_with_parent()
    control = socket.socket(fileno=int(sys.argv[1]))
    if os.getppid() == 1:  # the grader is already gone
        return
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the boxes are reaped at once; the grader holds pidfds
    try:
        _serve(control)
    except BaseException:
        try:
            _reply(control, {"error": traceback.format_exc(limit=4)})
        except OSError:
            pass


if __name__ == "__main__":
    main()
