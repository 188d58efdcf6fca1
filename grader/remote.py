"""The judge's line to a student's kernel: requests out, plain data back.

:class:`KernelLink` sends one request at a time (an execute request that calls
:func:`course.kernel_service.serve`, the request itself in the message's metadata) and reads the reply the kernel
publishes, with a time budget per test: a call that runs past it is interrupted, and a kernel that does not come
back, or dies, is *lost*: every later request fails at once.

:class:`Remote` is what a test holds in place of a name the student's notebook defines: calling it, or
reading an attribute, is a request. Arguments travel by pickle (the judge's own values, into a process
that may do what it likes with them); answers come back through :func:`course.wire.decode` only.
The student's code works on copies of the judge's values: what it does to a lent tensor's data never
reaches the tensor the test goes on to use (a reference computed after the call sees the inputs the test
chose). The ``.grad`` of lent tensors and parameters that take gradients comes back; the parameters and
buffers of lent modules and the state of lent optimisers come back only from a call the test lets train
(:func:`course.judging.lets_train`, and every :func:`course.judging.in_kernel` call). The judge's random state
goes with each call, so a seeded test draws the same numbers whichever process draws them; the kernel's state
never comes back (it would hand the student the judge's later draws): after every call the judge moves on to a
state of its own generator's choosing. The functions a test switches off, counts or puts in place of earlier
exercises (:func:`course.judging.forbid`, :func:`course.judging.count_calls`, :func:`course.judging.built_on`)
travel with each call too; the kernel patches them around it and reports which were called, and how often.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import contextlib
import io
import pickle
import queue
import time

import torch
from jupyter_core.utils import run_sync

from course import wire
from course.language import tr
from course.judging import (backward_requested, built_on_targets, counted_targets, forbidden_targets,
                            training_allowed)
from course.kernel_service import REPLY_MIME, REQUEST_KEY, with_grad
from grader.messages import Shown, mask_numbers
from grader.write_back import write_back

RECOVERY_SECONDS = 5
SERVE_CODE = "__import__('course.kernel_service', fromlist=['serve']).serve()"
POLL_SECONDS = 1.0
# what a student's code may raise and a test may catch by name; any other class is reported without its name
CATCHABLE = frozenset({
    "ArithmeticError", "AssertionError", "AttributeError", "IndexError", "KeyError", "LookupError",
    "MemoryError", "NameError", "NotImplementedError", "OverflowError", "RecursionError", "RuntimeError",
    "StopIteration", "TypeError", "ValueError", "ZeroDivisionError", "ImportError", "ModuleNotFoundError",
    "UnboundLocalError", "FloatingPointError", "OSError", "EOFError", "Exception",
})  # Exception subclasses only: a SystemExit or KeyboardInterrupt raised here would stop the grader itself


class KernelLost(Exception):
    """The student's kernel died or stopped answering; nothing more can be asked of it."""


class CallTimeout(Exception):
    """The student's code ran past the test's time budget and was interrupted."""


class StudentRaised(Exception):
    """The student's code raised an exception of a class the notebook defined itself."""


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Remote):
            return ("handle", obj._number)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor) and obj.grad is not None:
            return with_grad, (obj.detach(), obj.grad.detach(), obj.requires_grad,
                               isinstance(obj, torch.nn.Parameter))
        return NotImplemented


def _pickled(request: dict) -> str:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(request)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class KernelMessages:
    """The messages under a :class:`KernelLink`: one request at a time to the kernel, run within the current test's
    time budget; a request that runs past it is interrupted, and a kernel that does not come back, or dies, is
    *lost*."""

    def __init__(self, client, manager):
        self.client = client
        self.manager = manager
        self.lost: str | None = None
        self.budget = float("inf")  # seconds of the student's code left to the current test

    async def _send(self, request_b64: str, label: str) -> str | None:
        if self.budget <= 0:
            raise CallTimeout(Shown(tr("{label}: the test's time limit was used up by earlier calls").format(
                label=label)))
        message_id = self._execute_serve(request_b64)
        reply, idle = await self._collect(message_id, time.monotonic() + self.budget)
        if idle:
            return reply
        await self._interrupt()
        _, idle = await self._collect(message_id, time.monotonic() + RECOVERY_SECONDS)
        if idle:
            raise CallTimeout(Shown(tr("{label} ran past the test's time limit and was stopped").format(label=label)))
        self.lost = tr("{label} ran past the time limit and the kernel did not stop when interrupted").format(
            label=label)
        await self._shut_down()
        raise KernelLost(Shown(self.lost))

    def _execute_serve(self, request_b64: str) -> str:
        """Send an execute request that calls course.kernel_service.serve, with the request in its metadata
        (``KernelClient.execute`` has no metadata argument); its message id."""
        content = {"code": SERVE_CODE, "silent": False, "store_history": False, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": False}
        message = self.client.session.msg("execute_request", content, metadata={REQUEST_KEY: request_b64})
        self.client.shell_channel.send(message)
        return message["header"]["msg_id"]

    async def _collect(self, message_id: str, deadline: float):
        """(the reply's text, whether the kernel finished the request) by ``deadline``."""
        reply = None
        while time.monotonic() < deadline:
            try:
                message = await self.client.get_iopub_msg(timeout=min(POLL_SECONDS, deadline - time.monotonic()))
            except (queue.Empty, asyncio.TimeoutError, TimeoutError):
                if not await self.manager.is_alive():
                    self.lost = "the kernel died while the tests called the notebook's code"
                    raise KernelLost(Shown(self.lost)) from None
                continue
            if message.get("parent_header", {}).get("msg_id") != message_id:
                continue
            content = message.get("content", {})
            if message.get("msg_type") == "display_data" and reply is None:
                text = content.get("data", {}).get(REPLY_MIME)
                reply = text if isinstance(text, str) else None
            if message.get("msg_type") == "status" and content.get("execution_state") == "idle":
                return reply, True
        return reply, False

    async def _interrupt(self) -> None:
        try:
            await self.manager.interrupt_kernel()
        except Exception:  # already dead: the next wait notices
            pass

    async def _shut_down(self) -> None:
        try:
            await self.manager.shutdown_kernel(now=True)
        except Exception:
            pass


class KernelLink(KernelMessages):
    """Requests to one kernel, through the kernel client and manager that ran the notebook."""

    def __init__(self, client, manager):
        super().__init__(client, manager)
        self.seen_text: list[str] = []  # every string the kernel sent for the current test

    def start_test(self, seconds: float) -> None:
        self.budget = seconds
        self.seen_text = []

    # -- requests -------------------------------------------------------------------------------
    def globals(self, names: list[str]) -> dict:
        return self._ask({"op": "globals", "names": names}, "the notebook's names")

    def call(self, remote: "Remote", args: tuple, kwargs: dict):
        return self._call({"op": "call", "target": remote._number}, f"{remote._label}()", args, kwargs)

    def call_function(self, function, args: tuple, kwargs: dict, label: str):
        """``function`` called in the kernel on ``args`` as :meth:`call` calls the student's code
        (:func:`course.judging.in_kernel`). It travels by reference, so it must be importable there by name: a
        function of the course package or of the lab's set-up cells."""
        return self._call({"op": "call_function", "function": function}, label, args, kwargs)

    def _call(self, head: dict, label: str, args: tuple, kwargs: dict):
        forbidden, counted = forbidden_targets(), counted_targets()
        request = {**head, "args": args, "kwargs": kwargs,
                   "context": {"grad": torch.is_grad_enabled(), "dtype": torch.get_default_dtype(),
                               "threads": torch.get_num_threads(), "rng": torch.get_rng_state(),
                               "forbid": [target for target, _ in forbidden],
                               "count": [target for target, _ in counted], "backward": backward_requested(),
                               "built_on": built_on_targets()}}
        reply, decoder = self._exchange(request, label)
        with self._charged():
            return self._read_call(reply, decoder, request, forbidden, counted, label)

    def _read_call(self, reply: dict, decoder, request: dict, forbidden: list, counted: list, label: str):
        used = [forbidden[index][1] for index in reply.get("forbidden", []) if type(index) is int
                and 0 <= index < len(forbidden)]
        _add_counts(counted, reply.get("counted"))
        _move_on()
        after = reply.get("after")
        if isinstance(after, list) and len(after) == 2:
            training = request["op"] == "call_function" or training_allowed()
            write_back(request["args"], after[0], decoder, training)
            write_back(request["kwargs"], after[1], decoder, training)
        if used:
            raise AssertionError(Shown(used[0]))
        return self._value(reply, decoder, label)

    def attribute(self, remote: "Remote", name: str):
        return self._ask({"op": "getattr", "target": remote._number, "name": name}, f"{remote._label}.{name}")

    def item(self, remote: "Remote", key):
        return self._ask({"op": "getitem", "target": remote._number, "key": key}, f"{remote._label}[...]")

    def items(self, remote: "Remote") -> list:
        return self._ask({"op": "list", "target": remote._number}, f"list({remote._label})")

    def length(self, remote: "Remote") -> int:
        return self._ask({"op": "len", "target": remote._number}, f"len({remote._label})")

    def _ask(self, request: dict, label: str):
        reply, decoder = self._exchange(request, label)
        with self._charged():
            return self._value(reply, decoder, label)

    @contextlib.contextmanager
    def _charged(self):
        """Building the answer (tensors decoded from base64, gradients copied back) counts against the test's time:
        its size is the student's choice."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.budget -= time.monotonic() - started

    def _value(self, reply: dict, decoder, label: str):
        if reply.get("ok") is True:
            try:
                return decoder.value(reply.get("value"), 0)
            except wire.NotAnAnswer as error:
                raise AssertionError(_not_plain(label, error)) from None
        name = reply.get("raised")
        if isinstance(name, str) and name in CATCHABLE and reply.get("builtin") is True:
            raise getattr(builtins, name)(Shown(tr("{label} raised {name}").format(label=label, name=name)))
        if reply.get("builtin") is True and isinstance(name, str) and _builtin_exception(name):
            raise StudentRaised(Shown(tr("{label} raised {name}").format(label=label, name=name)))
        if reply.get("not_lent") is True:
            raise StudentRaised(Shown(tr("{label} called a function of course.trusted, which stands in for an "
                                         "earlier exercise only while a test lends it: write your own").format(
                label=label)))
        raise StudentRaised(Shown(tr("{label} raised an exception whose class is not one of Python's built-in "
                                     "ones").format(label=label)))

    def _exchange(self, request: dict, label: str):
        if self.lost is not None:
            raise KernelLost(Shown(self.lost))
        request = {"context": {}, **request}
        started = time.monotonic()
        try:  # reading the reply is charged to the test too: its size is the student's choice
            text = run_sync(self._send)(_pickled(request), label)
            if text is None:
                raise AssertionError(Shown(tr("the notebook did not answer the grader's request for {label}").format(
                    label=label)))
            reply = wire.parse(text)
        except wire.NotAnAnswer as error:
            raise AssertionError(_not_plain(label, error)) from None
        finally:
            self.budget -= time.monotonic() - started
        if not isinstance(reply, dict):
            raise AssertionError(Shown(tr("the notebook's reply for {label} is malformed").format(label=label)))
        return reply, wire.Decoder(self._handle_maker(label), self.seen_text)

    def _handle_maker(self, label: str):
        def make(number: int, type_name: str, is_callable: bool) -> Remote:
            return Remote(self, number, label, type_name, is_callable)

        return make


class Remote:
    """A student's function, class or object, left in the kernel; the judge holds this in its place."""

    def __init__(self, link: KernelLink, number: int, label: str, type_name: str, is_callable: bool):
        self._link, self._number, self._label = link, number, label
        self._type_name, self._callable = type_name, is_callable

    def __call__(self, *args, **kwargs):
        if not self._callable:
            raise TypeError(Shown(tr("{label} is not callable").format(label=self._label)))
        return self._link.call(self, args, kwargs)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._link.attribute(self, name)
        if isinstance(value, Remote):
            value._label = f"{self._label}.{name}"
        return value

    def __getitem__(self, key):
        return self._link.item(self, key)

    def __iter__(self):
        return iter(self._link.items(self))

    def __len__(self) -> int:
        return self._link.length(self)

    def __repr__(self) -> str:  # without the kernel's type name: a message that prints this reaches the feedback
        return f"<{self._label}: an object the notebook keeps>"


class Missing:
    """A name the exercise asks for that the notebook does not define."""

    def __init__(self, name: str):
        self._name = name

    def __call__(self, *args, **kwargs):
        raise NameError(Shown(tr("the notebook does not define {name}").format(name=self._name)))

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise NameError(Shown(tr("the notebook does not define {name}").format(name=self._name)))


def _builtin_exception(name: str) -> bool:
    """Python's own exception class of that name, as the judge's interpreter has it (the kernel may add classes
    to its ``builtins`` and report any name as built in)."""
    kind = vars(builtins).get(name)
    return isinstance(kind, type) and issubclass(kind, BaseException)


def _not_plain(label: str, error: wire.NotAnAnswer) -> Shown:
    """Why the reply is no answer; the wire's words may quote what the student sent, so its numbers are masked."""
    return Shown(tr("{label} did not give a plain answer: {why}").format(label=label, why=mask_numbers(str(error))))


def _add_counts(counted: list, counts) -> None:
    """Add the calls the kernel counted to the judge's :class:`course.judging.Calls` (the kernel's report)."""
    if isinstance(counts, list) and len(counts) == len(counted):
        for (_, calls), number in zip(counted, counts):
            if type(number) is int and number > 0:
                calls.count += number


def _move_on() -> None:
    """Reseed the judge's generator from itself after every call of the student's code: the judge's next draws
    are new ones, as after a call in one process, and owe nothing to the kernel, not even to whether the
    student's code drew numbers (which would let it choose between two streams)."""
    torch.manual_seed(int(torch.randint(0, 2 ** 62, ())))
