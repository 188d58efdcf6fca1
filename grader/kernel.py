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
- a cell's outputs are capped in bytes as they arrive (nbgrader's LimitOutput caps lines, after the fact);
- the tokens of :mod:`grader.integrity` are picked out of the stream as it arrives, so a flood of output
  cannot push a test's token out of the kept part.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Any, Integer


OUTPUT_BYTES_PER_CELL = 64 * 1024
KERNEL_RECOVERY_SECONDS = 5
MAX_SOCKET_PATH = 108  # sizeof(sockaddr_un.sun_path) on Linux
TOKEN_TAIL = 128  # longer than a token


def error_output(name: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel started inside the sandbox, connected over Unix sockets in ``sockets``."""

    sandbox = Any(None, allow_none=True)  # a grader.sandbox.Sandbox, or None to run unprotected
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

    async def _async_pre_start_kernel(self, **kwargs):
        # the kernel's own console chatter goes to a log beside its sockets, not into the grader's output
        log = open(Path(self.sockets) / "kernel.log", "ab")  # noqa: SIM115 (the kernel process holds it)
        kwargs.setdefault("stdout", log)
        kwargs.setdefault("stderr", log)
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


class SafeExecute(Execute):
    """nbgrader's Execute, made safe against dying kernels, endless cells and floods of output."""

    output_bytes_per_cell = Integer(OUTPUT_BYTES_PER_CELL).tag(config=True)
    instrumentation = Any(None, allow_none=True)  # grader.integrity.Instrumentation
    test_cell_ids = Any(default_value={})  # cell index -> grade id, for the cells whose tokens count
    hidden_leading_cells = Integer(0)  # cells the grader put first (its guard), left out of cell numbers

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lost_kernel_reason: str | None = None
        self.tokens_seen: set[str] = set()
        self.truncated_cells: set[int] = set()
        self.timed_out_cells: set[int] = set()
        self._cell_bytes: dict[int, int] = {}
        self._stream_tail: dict[int, str] = {}  # the end of a test cell's stream, for a token split in two

    # -- the cells -------------------------------------------------------------------------
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

    # -- outputs as they arrive --------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        text = content.get("text", "") if msg.get("msg_type") == "stream" else ""
        if text and self.instrumentation is not None and cell_index in self.test_cell_ids:
            grade_id = self.test_cell_ids[cell_index]
            joined = self._stream_tail.get(cell_index, "") + text
            if self.instrumentation.token_seen(grade_id, joined):
                self.tokens_seen.add(grade_id)
            self._stream_tail[cell_index] = joined[-TOKEN_TAIL:]
            text = self.instrumentation.strip_tokens(text)
            if not text:
                return None
            msg = {**msg, "content": {**content, "text": text}}
        size = len(str(content))
        used = self._cell_bytes.get(cell_index, 0)
        self._cell_bytes[cell_index] = used + size
        if msg.get("msg_type") != "error" and used + size > self.output_bytes_per_cell:
            if cell_index not in self.truncated_cells:
                self.truncated_cells.add(cell_index)
                outs.append(NotebookNode(output_type="stream", name="stdout", text=(
                    f"\n[output truncated by the grader: more than {self.output_bytes_per_cell // 1024} KB]\n")))
            return None
        return super().output(outs, msg, display_id, cell_index)
