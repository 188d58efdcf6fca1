"""What a lab's test cell may use beyond plain asserts, the same in every place a test runs.

A test cell runs in three places: in the student's JupyterLab (its visible part), under plain
``nbgrader autograde`` (all of it, in the student's kernel), and under ``grader autograde``, where all of it
runs in the grader's judge and only the calls of the student's functions reach the student's kernel. The
helpers here do the right thing in each:

- :func:`forbid` switches functions off while the student's code runs ("compute it yourself"): in a kernel
  it patches them there; in the judge it asks the kernel to patch them around each call of the student's code.
- :func:`count_calls` counts the calls of a function while the student's code runs ("clip with your own
  clip_grad_norm"), the same way: wrapped in a kernel, or by the kernel around each call the judge makes.
- :func:`type_name` names the class of an object the student's code returned (``isinstance`` cannot: in the
  judge the object stays in the kernel, and the name is the kernel's report of it).

A rule like these is checked in the student's process, so a student who sets out to hide a call can;
the values a test compares are judged outside it all the same.
"""

from __future__ import annotations

import contextlib
import pkgutil
import sys
from unittest import mock

_forbidden_here: list = []  # (target, message) pairs in force in the judge
_counted_here: list = []  # (target, Calls) pairs in force in the judge
_in_judge = False


def running_in_judge() -> bool:
    return _in_judge


@contextlib.contextmanager
def judge_mode():
    """The grader's judge runs the tests inside this block: the student's code runs elsewhere."""
    global _in_judge
    _in_judge = True
    try:
        yield
    finally:
        _in_judge = False
        _forbidden_here.clear()
        _counted_here.clear()


def forbidden_targets() -> list:
    """The (target, message) pairs of the :func:`forbid` blocks the judge is inside."""
    return list(_forbidden_here)


def counted_targets() -> list:
    """The (target, :class:`Calls`) pairs of the :func:`count_calls` blocks the judge is inside."""
    return list(_counted_here)


class Calls:
    """How many times the target of a :func:`count_calls` block was called so far."""

    def __init__(self):
        self.count = 0

    def __repr__(self) -> str:
        return f"Calls(count={self.count})"


@contextlib.contextmanager
def forbid(*targets: str, message: str):
    """Inside this block, each target raises ``AssertionError(message)`` when called.

    A target is a dotted path (``"torch.sigmoid"``, ``"torch.Tensor.sigmoid"``) or the bare name of a
    function the notebook defines (``"conv2d_loops"``).
    """
    if not targets:
        raise ValueError("forbid() needs at least one target")
    if _in_judge:
        _forbidden_here.extend((target, message) for target in targets)
        try:
            yield
        finally:
            del _forbidden_here[len(_forbidden_here) - len(targets):]
        return
    refusal = mock.Mock(side_effect=AssertionError(message))
    with contextlib.ExitStack() as stack:
        for target in targets:
            if "." in target:
                stack.enter_context(mock.patch(target, refusal))
            else:
                stack.enter_context(_replaced_global(target, refusal))
        yield


@contextlib.contextmanager
def count_calls(target: str):
    """Counts the calls of ``target`` (a dotted path or a notebook global, as for :func:`forbid`) while the
    block runs; yields a :class:`Calls` whose ``count`` is read after the student's code has run.

    The target still does what it did: ``with count_calls("clip_grad_norm") as calls: train(...)``.
    """
    calls = Calls()
    if _in_judge:
        _counted_here.append((target, calls))
        try:
            yield calls
        finally:
            _counted_here.remove((target, calls))
        return
    if "." in target:
        owner_path, name = target.rsplit(".", 1)
        owner = pkgutil.resolve_name(owner_path)
        original = getattr(owner, name)
    else:
        owner, name = None, target
        original = _notebook_globals().get(name)
        if original is None:  # nothing to count: calling it fails as it would have
            yield calls
            return

    def counting(*args, **kwargs):
        calls.count += 1
        return original(*args, **kwargs)

    with mock.patch.object(owner, name, counting) if owner is not None else _replaced_global(name, counting):
        yield calls


def type_name(value) -> str:
    """``"module.QualName"`` of the value's class; for an object left in the student's kernel, the name the
    kernel reported (the student's claim: check what matters on data)."""
    remote = sys.modules.get("grader.remote")
    if remote is not None and isinstance(value, remote.Remote):
        return value._type_name
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


@contextlib.contextmanager
def _replaced_global(name: str, value):
    """One global of the notebook replaced (``mock.patch.dict`` would restore all of them on exit)."""
    namespace = _notebook_globals()
    missing = object()
    original = namespace.get(name, missing)
    namespace[name] = value
    try:
        yield
    finally:
        if original is missing:
            namespace.pop(name, None)
        else:
            namespace[name] = original


def _notebook_globals() -> dict:
    shell = getattr(sys.modules.get("builtins"), "get_ipython", lambda: None)()
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])
