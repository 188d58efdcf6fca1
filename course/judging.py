"""What a lab's test cell may use beyond plain asserts, the same in every place a test runs.

A test cell runs in three places: in the student's JupyterLab (its visible part), under plain
``nbgrader autograde`` (all of it, in the student's kernel), and under ``grader autograde``, where all of it
runs in the grader's judge and only the calls of the student's functions reach the student's kernel. The
helpers here do the right thing in each:

- :func:`forbid` switches functions off while the student's code runs ("compute it yourself"): in a kernel
  it patches them there; in the judge it asks the kernel to patch them around each call of the student's code.
  ``forbid(*AUTOGRAD, ...)`` switches off every way to have autograd differentiate ("derive it by hand").
- :func:`count_calls` counts the calls of a function while the student's code runs ("clip with your own
  clip_grad_norm"), the same way: wrapped in a kernel, or by the kernel around each call the judge makes.
- :func:`call_and_backward` calls a function of the student's and backpropagates the loss it returns, where
  that code runs, so that a test can compare the gradients autograd gives through it ("its gradient must be
  finite"): the tensors lent to the call come back with their ``.grad``.
- :func:`lets_train` lets the student's code change the modules and optimisers lent to it (a training step, a
  weight initialiser): inside the block their parameters, buffers and state come back as the call left them.
  Outside it only gradients come back, so a reference computed from a lent module after a call is computed
  from the module the test chose.
- :func:`built_on` gives the student's code trusted functions under the names of earlier exercises ("judge
  forward_221 alone, on the kit's sigmoid"): a mistake costs the exercise where it was made, not every later
  one; in a kernel it rebinds the notebook's globals, in the judge it asks the kernel to around each call.
- :func:`in_kernel` runs a function of the course (or of the lab's set-up cells) on the student's code where
  that code runs: work that would take too many calls over the wire (a training loop that calls the
  student's step a thousand times), or that needs the autograd graph the student's code built (a gradient
  of an answer that is not one number). What it returns, and the arguments as it leaves them, are the
  student's answer.
- :func:`weighted_backward` (from :mod:`course.probes`, as :func:`log_inputs`) calls a function and
  backpropagates a weighted sum of what it returns: run through :func:`in_kernel`, it takes a gradient through an
  answer that is not one number (a vector, a tuple of losses).
- :func:`call_noting_changes` calls a function of the student's and says whether it changed a tensor among
  its arguments in place ("leave the caller's weights alone"): in the judge the student's code works on
  copies, and what it does to them never reaches the tensors a test goes on to use.
- :func:`log_inputs` makes a module log every call it gets (whether its input required grad, the batch's
  length and a fingerprint of it), so that a test can read the order of a training loop's updates and see that
  each drew a fresh batch, without dictating the loop: the log is kept in buffers, which travel with a module
  lent to the student's code and come back with it.
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

from course.language import translate_message
# The measures the labs' tests run where the student's code runs; the tests import them from here, with the rules.
from course.probes import call_and_compare_arguments, log_inputs, logged_inputs, weighted_backward  # noqa: F401

# Every public way to have autograd compute a derivative, for forbid(*AUTOGRAD, message=...) around code that must
# derive its gradients by hand (Tensor.backward and torch.autograd.functional go through the first two).
AUTOGRAD = ("torch.autograd.grad", "torch.autograd.backward", "torch.func.grad", "torch.func.grad_and_value",
            "torch.func.vjp", "torch.func.jacrev", "torch.func.jacfwd", "torch.func.hessian")
# Every binary cross-entropy torch and the course offer, for forbid(*LIBRARY_BCE, message=...) around code that
# must compute the BCE itself (course.trusted's losses, which a test may lend, are built on F.softplus instead).
LIBRARY_BCE = ("torch.nn.functional.binary_cross_entropy", "torch.nn.functional.binary_cross_entropy_with_logits",
               "torch.binary_cross_entropy_with_logits", "torch._C._nn.binary_cross_entropy",
               "torch.nn.BCELoss.forward", "torch.nn.BCEWithLogitsLoss.forward",
               "course.bce.bce_from_probabilities", "course.bce.bce_from_logits", "course.gan.discriminator_loss",
               "course.gan.generator_loss", "course.gan.generator_loss_non_saturating")

_forbidden_here: list = []  # (target, message) pairs in force in the judge
_counted_here: list = []  # (target, Calls) pairs in force in the judge
_backward_here: list = []  # in the judge: one entry while a call_and_backward call runs
_training_here: list = []  # in the judge: one entry per lets_train block
_built_on_here: list = []  # (notebook name, trusted function) pairs in force in the judge
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
        _backward_here.clear()
        _training_here.clear()
        _built_on_here.clear()


def forbidden_targets() -> list:
    """The (target, message) pairs of the :func:`forbid` blocks the judge is inside."""
    return list(_forbidden_here)


def counted_targets() -> list:
    """The (target, :class:`Calls`) pairs of the :func:`count_calls` blocks the judge is inside."""
    return list(_counted_here)


def backward_requested() -> bool:
    """Whether the judge's current call of the student's code is a :func:`call_and_backward`."""
    return bool(_backward_here)


def built_on_targets() -> list:
    """The (notebook name, trusted function) pairs of the :func:`built_on` blocks the judge is inside."""
    return list(_built_on_here)


def training_allowed() -> bool:
    """Whether the judge is inside a :func:`lets_train` block."""
    return bool(_training_here)


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
    function the notebook defines (``"conv2d_loops"``). The message is the student's to read: a rule passes it
    through ``tr``, and one the catalogue holds as written (a test cell's own) is translated here.
    """
    if not targets:
        raise ValueError("forbid() needs at least one target")
    message = translate_message(message)
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


@contextlib.contextmanager
def built_on(**trusted):
    """Inside this block the student's code finds each given function under its name instead of the notebook's
    own: ``with built_on(sigmoid=torch.sigmoid): forward_221(w, x)`` judges ``forward_221`` alone, whatever the
    student's ``sigmoid`` does, while the student's notebook goes on building on their own ``sigmoid``.

    A function must be importable by name where the student's code runs (torch's, the course package's): in the
    judge it travels to the kernel by reference.
    """
    if not trusted:
        raise ValueError("built_on() needs at least one name=function")
    if _in_judge:
        pairs = list(trusted.items())
        _built_on_here.extend(pairs)
        try:
            yield
        finally:
            del _built_on_here[len(_built_on_here) - len(pairs):]
        return
    from course.trusted import lending  # here: course.trusted imports torch and the course's networks, judging neither

    with contextlib.ExitStack() as stack:
        stack.enter_context(lending(trusted.values()))
        for name, function in trusted.items():
            stack.enter_context(_replaced_global(name, function))
        yield


@contextlib.contextmanager
def lets_train():
    """Inside this block the modules and optimisers lent to the student's code come back as the call left them:
    ``with lets_train(): loss = d_step(netD, netG, optimizer, real)`` and then read ``netD``'s weights.

    Everywhere but the judge the student's code changes them in place anyway. In the judge only the ``.grad`` of
    lent tensors and parameters comes back outside such a block: a test that declares the block treats what the
    module holds afterwards as the student's answer, and takes its references from a copy made before the call.
    """
    if not _in_judge:
        yield
        return
    _training_here.append(True)
    try:
        yield
    finally:
        _training_here.pop()


def call_and_backward(function, *args, **kwargs):
    """``function(*args, **kwargs)``, then ``.backward()`` on the value it returned when that is a one-element
    tensor that requires grad, both where the student's code runs; returns the value, detached.

    Afterwards the tensors among the arguments that require grad hold the gradients autograd found through the
    student's code (in the judge they come back with the arguments); ``.grad`` stays None when no gradient
    reached them. ``loss = call_and_backward(bce_from_logits, z, y)`` then ``z.grad``.
    """
    if _in_judge:
        _backward_here.append(True)
        try:
            value = function(*args, **kwargs)
        finally:
            _backward_here.pop()
    else:
        value = function(*args, **kwargs)
        if _backward_applies(value):
            value.backward()
    return value.detach() if callable(getattr(value, "detach", None)) else value


def _backward_applies(value) -> bool:
    """The value is a one-element tensor that requires grad (the kernel's test, in :mod:`course.kernel_service`)."""
    torch = sys.modules.get("torch")
    return (torch is not None and isinstance(value, torch.Tensor) and value.requires_grad
            and value.numel() == 1)


def in_kernel(function, *args, **kwargs):
    """``function(*args, **kwargs)``, run where the student's code runs.

    Elsewhere that is here; in the judge, it is the student's kernel when an argument is the student's object,
    with the arguments lent as to a call of the student's code (they come back as the call left them: tensors
    with their ``.grad``, the parameters and buffers of modules, the state of optimisers, as inside
    :func:`lets_train`) and the :func:`forbid` and
    :func:`count_calls` blocks in force. ``function`` travels by name, so it must be importable there: a
    function of the course package or of the lab's set-up cells. It runs in the student's process: what it
    returns is the student's answer, never a reference; compute expected values in the test.
    ``in_kernel(train_for_the_test, cgan_step, generator, ...)`` trains the judge's ``generator`` with the
    student's ``cgan_step``, at the cost of one call.
    """
    remote = sys.modules.get("grader.remote")
    if _in_judge and remote is not None:
        for value in (*args, *kwargs.values()):
            if isinstance(value, remote.Remote):
                label = f"{getattr(function, '__name__', 'function')}({value._label})"
                return value._link.call_function(function, args, kwargs, label)
    return function(*args, **kwargs)


def call_noting_changes(function, *args, **kwargs):
    """``(function(*args, **kwargs), changed)``, where ``changed`` says whether the call changed a tensor among the
    arguments in place (at any depth of lists, tuples and dicts), both found where the student's code runs.

    ``changed`` is the student's process's report, a rule like :func:`forbid`'s; the value is judged as any answer.
    """
    return in_kernel(call_and_compare_arguments, function, *args, **kwargs)


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
