"""The labs' exercises as trusted functions, with the signatures the labs ask for.

A later exercise builds on the student's earlier ones (``descend_221`` calls the student's ``gradients_221``), so
a slip in one would cost every exercise after it. A test judges an exercise alone by handing the student's code
these functions under the earlier names (:func:`course.judging.built_on`); the student's own notebook still
builds on the student's own code. Each is built from torch.nn and torch.autograd (:mod:`course.references`),
never from the lab's solution, and each test forbids the one its own exercise asks for.
"""

from __future__ import annotations

from typing import Sequence

import torch

from course.references import torch_221, torch_mlp

Params = Sequence[tuple[torch.Tensor, torch.Tensor]]

# -- lab 01: backpropagation ---------------------------------------------------------------------------------


def sigmoid_prime(x: torch.Tensor) -> torch.Tensor:
    fx = torch.sigmoid(x)
    return fx * (1 - fx)


def forward_221(w: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(f1, f2, y)`` of the slides' 2-2-1 network with weights ``w``, for the input ``x`` (two numbers)."""
    net = torch_221(w)
    hidden = net[:2](x.to(torch.float64))
    y = net[2:](hidden).squeeze()
    return hidden[0].to(x.dtype), hidden[1].to(x.dtype), y.to(x.dtype)


def gradients_221(w: torch.Tensor, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """dE/d[w1, ..., w6] of E = (y - z)^2, by autograd (switched on here, whatever the caller's mode)."""
    with torch.enable_grad():
        net = torch_221(w)
        loss = (net(x.to(torch.float64)).squeeze() - z) ** 2
        hidden, output = torch.autograd.grad(loss, [net[0].weight, net[2].weight])
    grads = torch.stack([hidden[0, 0], hidden[1, 0], hidden[0, 1], hidden[1, 1], output[0, 0], output[0, 1]])
    return grads.to(w.dtype)


def activate(A: torch.Tensor, name: str) -> torch.Tensor:
    if name == "sigmoid":
        return torch.sigmoid(A)
    if name == "relu":
        return torch.relu(A)
    raise ValueError(f"unknown activation {name!r}: use 'sigmoid' or 'relu'")


def mlp_forward(params: Params, X: torch.Tensor, hidden_activation: str = "sigmoid") -> list[torch.Tensor]:
    """``[X, H1, ..., Y]``: the input and every layer's output (sigmoid output layer)."""
    net = torch_mlp(params, hidden_activation)
    outputs = [X]
    for layer in range(0, len(net), 2):
        outputs.append(net[layer:layer + 2](outputs[-1]).detach())
    return outputs


def mlp_backward(params: Params, X: torch.Tensor, Z: torch.Tensor, hidden_activation: str = "sigmoid"):
    """``(loss, [(dW, db), ...])`` of the mean squared error, by autograd (switched on here)."""
    with torch.enable_grad():
        net = torch_mlp(params, hidden_activation)
        loss = ((net(X) - Z) ** 2).mean()
        linears = [layer for layer in net if isinstance(layer, torch.nn.Linear)]
        grads = torch.autograd.grad(loss, [tensor for layer in linears for tensor in (layer.weight, layer.bias)])
    return loss.detach(), [(grads[index], grads[index + 1]) for index in range(0, len(grads), 2)]
