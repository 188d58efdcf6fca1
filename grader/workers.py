"""Grading processes: each submission in a process of its own, so that nothing one does reaches another.

A pool of long-lived workers (``concurrent.futures.ProcessPoolExecutor``) breaks as a whole when one worker
dies: every submission in flight then fails with it. Here a submission that kills its grading process (a
hostile kernel message that crashes a library, the grader's memory exhausted by what a judge compares) costs
only its own result, reported as a grader error with the process's exit status; the others go on.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
from multiprocessing.connection import wait
from typing import Callable, Iterator


class ProcessDied(Exception):
    """The process grading one job ended without sending back a result."""


def _die_with_parent() -> None:
    """Die when the grader dies (kill -9 included), and leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _run_one(function: Callable, job, connection) -> None:
    _die_with_parent()
    connection.send(function(job))
    connection.close()


def run_isolated(function: Callable, jobs: list, parallel: int) -> Iterator[tuple[object, object]]:
    """``(job, function(job))`` for every job, in the order they finish, at most ``parallel`` at a time, each in
    a fresh process; ``(job, ProcessDied(...))`` for a job whose process died. ``function`` must be importable
    by name (processes are spawned, not forked: the grader's threads and open kernels stay out of them)."""
    context = multiprocessing.get_context("spawn")
    waiting = list(reversed(jobs))
    running: dict = {}  # the process's sentinel -> (job, process, the parent's end of its pipe)
    try:
        while waiting or running:
            while waiting and len(running) < parallel:
                job = waiting.pop()
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(target=_run_one, args=(function, job, sender), daemon=True)
                process.start()
                sender.close()
                running[process.sentinel] = (job, process, receiver)
            readable = {connection for connection in wait([receiver for _, _, receiver in running.values()]
                                                           + list(running))}
            for sentinel, (job, process, receiver) in list(running.items()):
                if receiver not in readable and sentinel not in readable:
                    continue
                yield job, _outcome(process, receiver)
                del running[sentinel]
    finally:
        for job, process, receiver in running.values():
            process.kill()
            process.join()
            receiver.close()


def _outcome(process, receiver):
    """What the process sent, or why it sent nothing; the process is reaped either way."""
    try:
        result = receiver.recv()
    except (EOFError, OSError):
        result = None
    finally:
        receiver.close()
    process.join()
    if result is not None:
        return result
    code = process.exitcode
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
    return ProcessDied(f"the process grading this submission died ({how})")
