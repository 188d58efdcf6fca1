"""The template process of warm kernels (:mod:`grader.kernel_template` is the grader's end): it imports what the
labs import, then forks a box for each kernel the grader asks for, and never runs student code itself.

Four processes per kernel: the template; its fork (the *box* process), which reads the box's request from a pipe,
leaves the template's namespaces and waits; the first process of the new PID namespace, which builds the box
(:mod:`grader.sandbox_entry`), gives up every privilege and, as an init, reaps; and the kernel, its child. The
grader holds the box process through a pidfd; killing it kills the first process (its parent-death signal), and
with it the whole PID namespace.

Run as ``python -m grader.template_process FD``, where FD is the template's end of a socket pair.
"""

from __future__ import annotations

import json
import os
import random
import select
import shutil
import signal
import socket
import sys
import tempfile
import traceback
from types import SimpleNamespace

from grader import sandbox_entry
from grader.sandbox import HOSTNAME

MESSAGE_BYTES = 1 << 20
MAX_FDS = 3  # what one request carries: the box's output, its status pipe and its request pipe
TEMPLATE_CWD = "/"
ERROR_EXIT = 70


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
        data, fds, _, _ = socket.recv_fds(control, MESSAGE_BYTES, MAX_FDS)
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
