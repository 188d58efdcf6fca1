"""torch.nn.RNN holding the weights of course.rnn_by_hand: the reference every by-hand RNN is checked against."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from course.rnn_by_hand import Layer, RNNWeights, layer_directions


def _suffix(layer: int, reverse: bool) -> str:
    return f"_l{layer}" + ("_reverse" if reverse else "")


def weights_from_torch(rnn: nn.RNN, layer: int = 0, reverse: bool = False) -> RNNWeights:
    """Detached copies of one layer's (and direction's) weights of a torch RNN."""
    suffix = _suffix(layer, reverse)

    def get(name):
        tensor = getattr(rnn, name + suffix, None)
        return None if tensor is None else tensor.detach().clone()

    return RNNWeights(U=get("weight_ih"), W=get("weight_hh"), b_ih=get("bias_ih"), b_hh=get("bias_hh"))


@torch.no_grad()
def copy_into_torch(rnn: nn.RNN, weights: RNNWeights, layer: int = 0, reverse: bool = False) -> None:
    """Overwrite one layer's (and direction's) weights of a torch RNN; a missing bias becomes zero."""
    suffix = _suffix(layer, reverse)
    getattr(rnn, "weight_ih" + suffix).copy_(weights.U)
    getattr(rnn, "weight_hh" + suffix).copy_(weights.W)
    if rnn.bias:
        for name, value in (("bias_ih", weights.b_ih), ("bias_hh", weights.b_hh)):
            target = getattr(rnn, name + suffix)
            target.copy_(value) if value is not None else target.zero_()
    elif weights.b_ih is not None or weights.b_hh is not None:
        raise ValueError("this torch RNN has no biases (bias=False) but the weights carry some")


def torch_rnn(layers: Sequence[Layer], nonlinearity: str = "tanh") -> nn.RNN:
    """A ``torch.nn.RNN(batch_first=True)`` holding copies of ``layers``.

    ``layers`` lists the layers bottom up; each is an :class:`RNNWeights`, or a
    ``(forward, backward)`` pair for a bidirectional RNN. torch has no identity
    nonlinearity, only ``"tanh"`` and ``"relu"``.
    """
    if not layers:
        raise ValueError("layers is empty: give at least one layer")
    first = layer_directions(layers[0])
    bidirectional = len(first) == 2
    has_bias = first[0].b_ih is not None or first[0].b_hh is not None
    rnn = nn.RNN(
        input_size=first[0].input_size, hidden_size=first[0].hidden_size, num_layers=len(layers),
        nonlinearity=nonlinearity, bias=has_bias, batch_first=True, bidirectional=bidirectional,
        dtype=first[0].U.dtype,
    )
    for index, layer in enumerate(layers):
        directions = layer_directions(layer)
        if len(directions) != len(first):
            raise ValueError("mix of one-way and two-way layers: every layer needs the same number of directions")
        for reverse, weights in zip((False, True), directions):
            copy_into_torch(rnn, weights, index, reverse)
    return rnn
