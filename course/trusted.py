"""The labs' exercises as trusted functions, with the signatures the labs ask for.

A later exercise builds on the student's earlier ones (``descend_221`` calls the student's ``gradients_221``), so
a slip in one would cost every exercise after it. A test judges an exercise alone by handing the student's code
these functions under the earlier names (:func:`course.judging.built_on`); the student's own notebook still
builds on the student's own code. Each is built from torch.nn and torch.autograd (:mod:`course.references`),
never from the lab's solution.

A trusted function answers only while a test lends it (:func:`lending`, which ``built_on`` enters): imported
into a notebook as an answer, under any name, it raises. The check runs in the student's process, like every
rule there, so it stops the obvious shortcut, not a student set on forging a grade.
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from typing import Sequence

import torch

from course.cnn import DigitsCNN
from course.references import torch_221, torch_mlp

Params = Sequence[tuple[torch.Tensor, torch.Tensor]]
_lent_now: Counter = Counter()  # trusted functions and classes a running test lends, with how many blocks lend them


class NotLent(RuntimeError):
    """A trusted function was called by a notebook's answer rather than lent by a test."""

    def __init__(self, name: str):
        super().__init__(f"course.trusted.{name} stands in for an earlier exercise while a test judges a later one; "
                         "it is not an answer: write your own")


@contextlib.contextmanager
def lending(objects):
    """Inside this block the trusted ones among ``objects`` answer (the others are left as they are)."""
    lent = [item for item in objects if getattr(item, "__module__", None) == __name__]
    _lent_now.update(lent)
    try:
        yield
    finally:
        _lent_now.subtract(lent)


def _answers_only_when_lent(function):
    @functools.wraps(function)
    def lent_function(*args, **kwargs):
        if _lent_now[lent_function] <= 0:
            raise NotLent(function.__name__)
        return function(*args, **kwargs)

    return lent_function

# -- lab 01: backpropagation ---------------------------------------------------------------------------------


@_answers_only_when_lent
def sigmoid_prime(x: torch.Tensor) -> torch.Tensor:
    fx = torch.sigmoid(x)
    return fx * (1 - fx)


@_answers_only_when_lent
def forward_221(w: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(f1, f2, y)`` of the slides' 2-2-1 network with weights ``w``, for the input ``x`` (two numbers)."""
    net = torch_221(w)
    hidden = net[:2](x.to(torch.float64))
    y = net[2:](hidden).squeeze()
    return hidden[0].to(x.dtype), hidden[1].to(x.dtype), y.to(x.dtype)


@_answers_only_when_lent
def gradients_221(w: torch.Tensor, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """dE/d[w1, ..., w6] of E = (y - z)^2, by autograd (switched on here, whatever the caller's mode)."""
    with torch.enable_grad():
        net = torch_221(w)
        loss = (net(x.to(torch.float64)).squeeze() - z) ** 2
        hidden, output = torch.autograd.grad(loss, [net[0].weight, net[2].weight])
    grads = torch.stack([hidden[0, 0], hidden[1, 0], hidden[0, 1], hidden[1, 1], output[0, 0], output[0, 1]])
    return grads.to(w.dtype)


@_answers_only_when_lent
def activate(A: torch.Tensor, name: str) -> torch.Tensor:
    if name == "sigmoid":
        return torch.sigmoid(A)
    if name == "relu":
        return torch.relu(A)
    raise ValueError(f"unknown activation {name!r}: use 'sigmoid' or 'relu'")


@_answers_only_when_lent
def mlp_forward(params: Params, X: torch.Tensor, hidden_activation: str = "sigmoid") -> list[torch.Tensor]:
    """``[X, H1, ..., Y]``: the input and every layer's output (sigmoid output layer)."""
    net = torch_mlp(params, hidden_activation)
    outputs = [X]
    for layer in range(0, len(net), 2):
        outputs.append(net[layer:layer + 2](outputs[-1]).detach())
    return outputs


@_answers_only_when_lent
def mlp_backward(params: Params, X: torch.Tensor, Z: torch.Tensor, hidden_activation: str = "sigmoid"):
    """``(loss, [(dW, db), ...])`` of the mean squared error, by autograd (switched on here)."""
    with torch.enable_grad():
        net = torch_mlp(params, hidden_activation)
        loss = ((net(X) - Z) ** 2).mean()
        linears = [layer for layer in net if isinstance(layer, torch.nn.Linear)]
        grads = torch.autograd.grad(loss, [tensor for layer in linears for tensor in (layer.weight, layer.bias)])
    return loss.detach(), [(grads[index], grads[index + 1]) for index in range(0, len(grads), 2)]


# -- lab 02: convolutional networks ---------------------------------------------------------------------------


@_answers_only_when_lent
def output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """The side of a convolution's output, by the formula in the documentation of torch.nn.Conv2d."""
    if n + 2 * padding < kernel:
        raise ValueError(f"a {kernel}-wide kernel does not fit an input of side {n} padded by {padding}")
    return (n + 2 * padding - kernel) // stride + 1


class DigitNet(DigitsCNN):
    """The network of lab 02's table: two 3x3 convolutions with 8 and 16 kernels (course.cnn.DigitsCNN)."""

    def __init__(self):
        if _lent_now[DigitNet] <= 0:
            raise NotLent("DigitNet")
        super().__init__(channels=(8, 16))
