"""The student's kernel's end of a judged test: run one request of the judge, send back plain data.

When ``grader autograde`` judges a lab, the student's notebook has already run to its end; then the judge,
a process of the grader's own, sends requests one at a time, each an execute request that calls
:func:`serve` and carries the request in its metadata: look up the names the exercises define, call a function or
a method, read an attribute.
The reply goes back as a display message of type :data:`REPLY_MIME` carrying :mod:`course.wire`'s JSON.

Nothing here is trusted: it runs in the student's process, which may replace any of it. It exists so that
an honest notebook answers; a dishonest one can answer anything it likes, and the judge still reads only
data and makes every comparison itself.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import importlib
import pickle
import sys

import torch

from course import wire
from course.judging import _backward_applies

REPLY_MIME = "application/vnd.course.judge-reply+json"
REQUEST_KEY = "course_judge_request"  # the execute request's metadata entry that holds the judge's request
_handles: dict = {}


class ForbiddenCall(AssertionError):
    """Raised by a function the test switched off while the student's code runs."""

    def __init__(self, index: int):
        super().__init__(f"forbidden call #{index}")
        self.index = index


def with_grad(data: torch.Tensor, grad, requires_grad: bool, parameter: bool) -> torch.Tensor:
    """Rebuilds a tensor the judge lent with its gradient (plain pickling drops ``.grad``)."""
    tensor = torch.nn.Parameter(data, requires_grad=requires_grad) if parameter else data.requires_grad_(requires_grad)
    tensor.grad = grad
    return tensor


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, reference):
        kind, number = reference
        if kind != "handle" or number not in _handles:
            raise pickle.UnpicklingError(f"unknown object reference {reference!r}")
        return _handles[number]


def _notebook_globals() -> dict:
    shell = getattr(builtins, "get_ipython", lambda: None)()
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


def _resolve(target: str):
    """``torch.nn.functional.conv2d`` -> (owner, attribute); a bare name is the notebook's own global."""
    if "." not in target:
        return _notebook_globals(), target
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise ImportError(f"cannot find {target}")


@contextlib.contextmanager
def _patched(targets: list, replacement):
    """Each target replaced by ``replacement(index, original)`` (``original`` is None when the target is
    missing) for the block, then restored."""
    missing = object()
    saved = []
    try:
        for index, target in enumerate(targets):
            owner, name = _resolve(target)
            namespace = owner if isinstance(owner, dict) else vars(owner)
            saved.append((owner, name, namespace.get(name, missing)))
            current = owner.get(name) if isinstance(owner, dict) else getattr(owner, name, None)
            value = replacement(index, current)
            if value is None:
                continue
            if isinstance(owner, dict):
                owner[name] = value
            else:
                setattr(owner, name, value)
        yield
    finally:
        for owner, name, original in reversed(saved):
            if isinstance(owner, dict):
                owner.pop(name, None) if original is missing else owner.__setitem__(name, original)
            elif original is missing:
                if name in vars(owner):
                    delattr(owner, name)
            else:
                setattr(owner, name, original)


def _refusal(called: set):
    def make(index: int, original):
        def refuse(*args, **kwargs):
            called.add(index)
            raise ForbiddenCall(index)
        return refuse
    return make


def _counter(counts: list):
    def make(index: int, original):
        if original is None:  # nothing to count: calling it fails as it would have
            return None

        def counting(*args, **kwargs):
            counts[index] += 1
            return original(*args, **kwargs)
        return counting
    return make


@contextlib.contextmanager
def _judge_context(context: dict, called: set, counts: list):
    """Grad mode, default dtype, torch's thread count and random state as the judge has them (a test's
    ``single_cpu_thread`` block reaches the student's code), the trusted functions under the names the test gives
    them (course.judging.built_on), the forbidden functions and the counted ones."""
    grad_enabled, default_dtype, threads = torch.is_grad_enabled(), torch.get_default_dtype(), torch.get_num_threads()
    torch.set_grad_enabled(context.get("grad", True))
    torch.set_default_dtype(context.get("dtype", default_dtype))
    if context.get("threads", threads) != threads:
        torch.set_num_threads(context["threads"])
    if context.get("rng") is not None:
        torch.set_rng_state(context["rng"])
    try:
        trusted = context.get("built_on", [])
        with _lending([function for _, function in trusted]), \
                _patched([name for name, _ in trusted], lambda index, original: trusted[index][1]), \
                _patched(context.get("forbid", []), _refusal(called)), \
                _patched(context.get("count", []), _counter(counts)):
            yield
    finally:
        torch.set_grad_enabled(grad_enabled)
        torch.set_default_dtype(default_dtype)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def _lending(functions: list):
    """course.trusted.lending, imported only when a test lends trusted functions."""
    if not functions:
        return contextlib.nullcontext()
    from course.trusted import lending

    return lending(functions)


def _run(request: dict):
    op = request["op"]
    if op == "globals":
        namespace = _notebook_globals()
        return {name: namespace[name] for name in request["names"] if name in namespace}
    if op == "call_function":  # course.judging.in_kernel: a function of the course or of the lab's set-up cells
        return request["function"](*request["args"], **request["kwargs"])
    target = _handles[request["target"]]
    if op == "call":
        value = target(*request["args"], **request["kwargs"])
        if request.get("context", {}).get("backward") is True and _backward_applies(value):
            value.backward()  # course.judging.call_and_backward: the gradients come back with the arguments
        return value
    if op == "getattr":
        return getattr(target, request["name"])
    if op == "getitem":
        return target[request["key"]]
    if op == "list":
        return list(target)[: wire.MAX_ITEMS]
    if op == "len":
        return len(target)
    raise ValueError(f"unknown request {op!r}")


def answer(request: dict) -> dict:
    """The reply document to one request (never raises for what the student's code does)."""
    encoder = wire.Encoder(_handles)
    called: set = set()
    counts = [0] * len(request.get("context", {}).get("count", []))
    reply: dict = {}
    try:
        with _judge_context(request.get("context", {}), called, counts):
            value = _run(request)
        reply.update(ok=True, value=encoder.encode(value))
    except BaseException as error:  # noqa: BLE001 (the student's code may raise anything, SystemExit included)
        if isinstance(error, KeyboardInterrupt):
            raise
        reply.update(ok=False, raised=type(error).__name__, builtin=type(error) is getattr(builtins, type(error).__name__, None),
                     not_lent=_is_not_lent(error))
    reply["forbidden"] = sorted(called)
    reply["counted"] = counts
    if request["op"] in ("call", "call_function"):
        reply["after"] = [wire.snapshot(request["args"], encoder), wire.snapshot(request["kwargs"], encoder)]
    return reply


def _is_not_lent(error: BaseException) -> bool:
    """The error is course.trusted's refusal to answer outside a test that lends the function."""
    trusted = sys.modules.get("course.trusted")
    return trusted is not None and type(error) is trusted.NotLent


def serve() -> None:
    """Answer the request the judge put in the metadata of the execute request now running, under
    :data:`REQUEST_KEY`: the code the kernel runs stays one short line, so the kernel does not hash, transform
    and echo a payload of megabytes as a cell's code."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    request_b64 = get_ipython().kernel.get_parent("shell")["metadata"][REQUEST_KEY]
    request = _Unpickler(__import__("io").BytesIO(base64.b64decode(request_b64))).load()
    publish_display_data({REPLY_MIME: wire.dumps(answer(request))})
