"""Running one submission: a kernel in the sandbox, and an executor that survives what the kernel does.

:class:`SandboxedKernelManager` is jupyter_client's kernel manager with two changes: the kernel command
is wrapped by :class:`grader.sandbox.Sandbox`, and the kernel talks over Unix sockets (``ipc``) in a
folder bound into the sandbox, because the sandbox has no network, not even loopback to the grader.

:class:`SafeExecute` is nbgrader's own ``Execute`` preprocessor with what nbgrader lacks:

- a kernel that dies part-way (``os._exit``, a segfault, a native library out of memory) fails the cell it died
  in and marks every later code cell "not run", so those tests count as failed; nbgrader instead stops the
  whole notebook and can leave an earlier grade standing;
- a cell that runs past the timeout is interrupted; when the kernel does not come back (the student
  ignores SIGINT), it is stopped and the rest is marked as above;
- a cell's outputs are capped in bytes as they arrive, as the notebook file will hold them, every kind
  together (:class:`grader.output_budget.BudgetedOutputs`, which it extends).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import Any, Integer, Type

from grader.kernel_client import ReadableMessagesClient, read_message_part
from grader.output_budget import BudgetedOutputs
from grader.sandbox_entry import EntryRefused, fresh_session_keyring


KERNEL_RECOVERY_SECONDS = 5
MAX_SOCKET_PATH = 108  # sizeof(sockaddr_un.sun_path) on Linux


def error_output(name: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


class ForkedKernelProvisioner(LocalProvisioner):
    """Starts the kernel by forking it from the manager's template (:mod:`grader.kernel_template`) instead of
    running the command line; everything else (the connection file, signals, waiting) is the local one's."""

    async def launch_kernel(self, cmd, **kwargs):
        manager = self.parent
        self.process = manager.template.fork_box(Path(manager.workdir), Path(manager.sockets), manager.uid,
                                                 kwargs["stdout"], {"kernel": manager.connection_file})
        self.pid, self.pgid, self.cwd = self.process.pid, None, manager.workdir
        return self.connection_info


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel started inside the sandbox, connected over Unix sockets in ``sockets``."""

    client_factory = Type(ReadableMessagesClient, klass=AsyncKernelClient)
    sandbox = Any(None, allow_none=True)  # a grader.sandbox.Sandbox, or None to run unprotected
    # a grader.kernel_template.KernelTemplate to fork the kernel from (a warm kernel, in the same sandbox), or
    # None to start a new interpreter in bubblewrap
    template = Any(None, allow_none=True)
    workdir = Any()
    sockets = Any()
    uid = Any(None, allow_none=True)

    def __init__(self, **kwargs):
        sockets = Path(kwargs["sockets"])
        if len(str(sockets / "k-99999")) >= MAX_SOCKET_PATH:
            raise RuntimeError(f"the folder for the kernel's sockets, {sockets}, is too deep for Unix sockets "
                               f"({MAX_SOCKET_PATH} bytes at most): set TMPDIR to a shorter folder")
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", str(sockets / "k"))
        kwargs.setdefault("connection_file", str(sockets / "connection.json"))
        super().__init__(**kwargs)
        self.session.unpacker = f"{read_message_part.__module__}.{read_message_part.__name__}"

    async def _async_pre_start_kernel(self, **kwargs):
        # the kernel's own console chatter goes to a log beside its sockets, not into the grader's output
        log = open(Path(self.sockets) / "kernel.log", "ab")  # noqa: SIM115 (the kernel process holds it)
        kwargs.setdefault("stdout", log)
        kwargs.setdefault("stderr", log)
        if self.sandbox is not None:  # bubblewrap is the sandbox's PID 1: none of the grader's environment
            kwargs["env"] = self.sandbox.launch_environment()
            # nor its session keyring: bubblewrap passes it on, so each cold kernel gets an empty one of its own
            # (a forked one makes its own, grader.sandbox_entry.confine); a machine whose keyctl is unknown here
            # still grades
            with contextlib.suppress(EntryRefused):
                fresh_session_keyring()
        if self.template is not None and self.provisioner is None:
            self.kernel_id = self.kernel_id or str(uuid.uuid4())
            self.provisioner = ForkedKernelProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                       parent=self)
        return await super()._async_pre_start_kernel(**kwargs)

    def format_kernel_cmd(self, extra_arguments=None):
        argv = super().format_kernel_cmd(extra_arguments)
        if self.sandbox is None:
            return argv
        return self.sandbox.command(argv, Path(self.workdir), Path(self.sockets), self.uid)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.uid is not None:  # the kernel runs as the sandbox user and must read its key
            os.chown(self.connection_file, self.uid, self.uid)

    async def _async_interrupt_kernel(self):
        # SIGINT would reach bubblewrap, not the kernel; ipykernel takes an interrupt message instead
        assert self.kernel_spec is not None
        self.kernel_spec.interrupt_mode = "message"
        await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel


def stop_kernel(executor, manager: SandboxedKernelManager) -> None:
    """Stop the kernel (the executor does not, since it was handed the manager); the sandbox's PID
    namespace goes with it, and every process the student started."""
    if executor.kc is not None:
        executor.kc.stop_channels()
    _shut_down(manager)
    run_sync(manager.cleanup_resources)()


def _shut_down(manager) -> None:
    try:
        if manager.has_kernel:
            run_sync(manager._async_shutdown_kernel)(now=True)
    except Exception:  # already dead, or half started
        pass


class SafeExecute(BudgetedOutputs):
    """nbgrader's Execute, made safe against dying kernels, endless cells and (through its base) floods of output."""

    hidden_leading_cells = Integer(0)  # cells the grader put first (its preamble), left out of cell numbers

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lost_kernel_reason: str | None = None
        self.lost_at: int | None = None  # index of the cell the kernel was lost in
        self.timed_out_cells: set[int] = set()

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self.lost_kernel_reason is not None:
            cell.outputs = [error_output("CellNotRun", f"not run: {self.lost_kernel_reason}")]
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.lost_kernel_reason = f"the kernel died in an earlier cell (cell {self.cell_number(index)})"
            self.lost_at = index
            cell.outputs.append(error_output(
                "DeadKernelError", "the kernel died while running this cell (it crashed, ran out of memory, "
                "or the code called os._exit)"))
            return cell, resources
        except CellTimeoutError:  # interrupted, but the kernel never went idle again
            cell.outputs.append(error_output("CellTimeoutError", "timed out"))
        if any(out.output_type == "error" and out.get("ename") == "CellTimeoutError" for out in cell.outputs):
            self.timed_out_cells.add(index)
            self._replace_timeout_error(cell)
            if not self._kernel_recovers():
                self.lost_at = index
                self.lost_kernel_reason = (f"cell {self.cell_number(index)} ran past the {self.timeout} s limit and "
                                           "the kernel did not stop when interrupted")
                _shut_down(self.km)
        return cell, resources

    def cell_number(self, index: int) -> int:
        """The 1-based number of a cell as the student counts them."""
        return index + 1 - self.hidden_leading_cells

    def _replace_timeout_error(self, cell) -> None:
        cell.outputs = [out for out in cell.outputs
                        if not (out.output_type == "error" and out.get("ename") == "CellTimeoutError")]
        cell.outputs.append(error_output(
            "TimeoutError", f"this cell ran for more than {self.timeout} s (the per-cell limit) and was stopped"))

    def _kernel_recovers(self) -> bool:
        """After an interrupt: does the kernel answer again within a few seconds?"""
        async def ask() -> bool:
            try:
                message_id = self.kc.kernel_info()
                await self.async_wait_for_reply(message_id)
            except Exception:
                return False
            return True

        async def bounded() -> bool:
            try:
                return await asyncio.wait_for(ask(), KERNEL_RECOVERY_SECONDS)
            except (asyncio.TimeoutError, TimeoutError):
                return False

        try:
            return bool(run_sync(bounded)())
        except Exception:
            return False
