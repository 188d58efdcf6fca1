"""Trusted references built from torch.nn, for checking hand-written code.

Lab tests and course tests compare students' and the course's own
implementations against these modules (and torch.autograd through them),
never against numbers copied from an earlier run.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


def _activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


def torch_221(w: torch.Tensor) -> nn.Sequential:
    """The slides' 2-2-1 sigmoid network (no biases) with weights ``w = [w1, ..., w6]``.

    Wiring: a1 = w1 x1 + w3 x2, a2 = w2 x1 + w4 x2, a3 = w5 f1 + w6 f2.
    """
    w = torch.as_tensor(w, dtype=torch.float64).detach()
    if w.shape != (6,):
        raise ValueError(f"expected the six weights w1..w6 as a tensor of shape (6,), got {tuple(w.shape)}")
    hidden = nn.Linear(2, 2, bias=False, dtype=torch.float64)
    output = nn.Linear(2, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        hidden.weight.copy_(torch.stack([torch.stack([w[0], w[2]]), torch.stack([w[1], w[3]])]))
        output.weight.copy_(w[4:6].reshape(1, 2))
    return nn.Sequential(hidden, nn.Sigmoid(), output, nn.Sigmoid())


def weights_of_torch_221(net: nn.Sequential) -> torch.Tensor:
    """Read ``[w1, ..., w6]`` back out of a network made by :func:`torch_221`."""
    hidden, output = net[0].weight.detach(), net[2].weight.detach()
    return torch.stack([hidden[0, 0], hidden[1, 0], hidden[0, 1], hidden[1, 1], output[0, 0], output[0, 1]])


def torch_mlp(
    params: Sequence[tuple[torch.Tensor, torch.Tensor]], hidden_activation: str = "sigmoid"
) -> nn.Sequential:
    """A fully connected network with copies of ``params = [(W, b), ...]`` (W is out x in).

    Hidden layers use ``hidden_activation``; the output layer uses a sigmoid.
    """
    if not params:
        raise ValueError("params is empty: give at least one (W, b) layer")
    layers: list[nn.Module] = []
    for index, (W, b) in enumerate(params):
        W, b = torch.as_tensor(W).detach(), torch.as_tensor(b).detach()
        linear = nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype)
        with torch.no_grad():
            linear.weight.copy_(W)
            linear.bias.copy_(b)
        is_last = index == len(params) - 1
        layers += [linear, nn.Sigmoid() if is_last else _activation(hidden_activation)]
    return nn.Sequential(*layers)
