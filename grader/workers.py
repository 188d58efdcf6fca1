"""Grading processes: a failure of one costs the submission it was grading, and nothing else.

``concurrent.futures.ProcessPoolExecutor`` breaks as a whole when one worker dies: every submission in flight
then fails with it. :func:`run_isolated` keeps a few long-lived workers too (starting Python and torch for each
submission would cost seconds), but when one dies (a hostile kernel message that crashes a library, the
grader's memory exhausted by what a judge compares) only the job it held is reported, as :class:`ProcessDied`
with its exit status, and a fresh worker takes its place; the other submissions go on.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
from collections import deque
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


def _serve(function: Callable, connection) -> None:
    _die_with_parent()
    while (job := connection.recv()) is not None:
        connection.send(function(job))


class _Worker:
    def __init__(self, context, function: Callable):
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(function, child), daemon=True)
        self.process.start()
        child.close()
        self.job = None

    def outcome(self):
        """The result of the job it holds, or why there is none (the process is then reaped)."""
        try:
            return self.connection.recv()
        except (EOFError, OSError):
            self.process.join()
            code = self.process.exitcode
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            return ProcessDied(f"the process grading this submission died ({how})")

    def stop(self) -> None:
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


def run_isolated(function: Callable, jobs: list, parallel: int) -> Iterator[tuple[object, object]]:
    """``(job, function(job))`` for every job, in the order they finish, at most ``parallel`` at a time in worker
    processes; ``(job, ProcessDied(...))`` for a job whose worker died. ``function`` must be importable by name
    (workers are spawned, not forked: the grader's threads and open kernels stay out of them)."""
    context = multiprocessing.get_context("spawn")
    waiting = deque(jobs)
    workers = [_Worker(context, function) for _ in range(min(parallel, len(jobs)))]
    try:
        while True:
            for index, worker in enumerate(workers):
                if worker.job is None and waiting:
                    if not worker.process.is_alive():  # died between jobs: nothing of anyone's was lost
                        worker.stop()
                        workers[index] = worker = _Worker(context, function)
                    worker.job = waiting.popleft()
                    worker.connection.send(worker.job)
            busy = [worker for worker in workers if worker.job is not None]
            if not busy:
                return
            ready = set(wait([worker.connection for worker in busy] + [worker.process.sentinel for worker in busy]))
            for worker in busy:
                if worker.connection not in ready and worker.process.sentinel not in ready:
                    continue
                job, result = worker.job, worker.outcome()
                worker.job = None
                if isinstance(result, ProcessDied):
                    worker.connection.close()
                    workers[workers.index(worker)] = _Worker(context, function)
                yield job, result
    finally:
        for worker in workers:
            if worker.job is not None:
                worker.process.kill()
            worker.stop()
