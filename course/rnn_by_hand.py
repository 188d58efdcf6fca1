"""Recurrent neural networks (循环神经网络) by hand, in the slides' notation.

The slides write one step of a simple RNN as::

    s_t = f(U x_t + W s_{t-1})        hidden state (隐藏层), the network's memory
    o_t = g(V s_t)                    output

``U`` (hidden x input) is torch's ``weight_ih``, ``W`` (hidden x hidden) its
``weight_hh``; torch adds two biases, ``b_ih + b_hh``, inside ``f``. Sequences
are laid out as torch's ``batch_first=True``: ``(..., T, features)``, so an
unbatched sequence is ``(T, features)`` and a batch ``(N, T, features)``.

Here: one layer's weights and its forward pass, bidirectional and stacked RNNs, and backpropagation through
time. course.rnn_torch puts the same weights into torch.nn.RNN, against which the tests check every function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

import torch

ACTIVATIONS = ("tanh", "relu", "identity")

# The slides' worked example: every weight 1, no bias, identity activations,
# a 2-dimensional input, hidden state and output, and the state starting at 0.
SLIDES_INPUTS = ((1.0, 1.0), (1.0, 1.0), (2.0, 2.0))
SLIDES_OUTPUTS = ((4.0, 4.0), (12.0, 12.0), (32.0, 32.0))


# -- one layer ------------------------------------------------------------------------------------
@dataclass
class RNNWeights:
    """The weights of one RNN layer in one direction.

    ``U`` is (H, I) and ``W`` is (H, H); ``b_ih`` and ``b_hh`` are (H,) or both ``None``.
    """

    U: torch.Tensor
    W: torch.Tensor
    b_ih: torch.Tensor | None = None
    b_hh: torch.Tensor | None = None

    @property
    def bias(self) -> torch.Tensor | None:
        """The one bias the cell adds: torch keeps two, but only their sum matters."""
        if self.b_ih is None and self.b_hh is None:
            return None
        zeros = torch.zeros(self.hidden_size, dtype=self.U.dtype, device=self.U.device)
        return (zeros if self.b_ih is None else self.b_ih) + (zeros if self.b_hh is None else self.b_hh)

    @property
    def hidden_size(self) -> int:
        return self.W.shape[0]

    @property
    def input_size(self) -> int:
        return self.U.shape[1]

    @classmethod
    def random(
        cls,
        input_size: int,
        hidden_size: int,
        generator: torch.Generator | None = None,
        bias: bool = True,
        dtype: torch.dtype = torch.float64,
    ) -> "RNNWeights":
        """Uniform in [-1/sqrt(H), 1/sqrt(H)], torch.nn.RNN's own initialisation."""
        bound = 1.0 / math.sqrt(hidden_size)

        def draw(*shape):
            return (torch.rand(*shape, generator=generator, dtype=dtype) * 2 - 1) * bound

        U, W = draw(hidden_size, input_size), draw(hidden_size, hidden_size)
        if not bias:
            return cls(U, W)
        return cls(U, W, draw(hidden_size), draw(hidden_size))


def slides_weights(dtype: torch.dtype = torch.float64) -> tuple[RNNWeights, torch.Tensor]:
    """The slides' example: U, W and V all 2x2 matrices of ones, no bias. Returns ``(weights, V)``."""
    ones = torch.ones(2, 2, dtype=dtype)
    return RNNWeights(U=ones.clone(), W=ones.clone()), ones.clone()


def orthogonal_recurrence(hidden_size: int, scale: float, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    """``scale`` times a random orthogonal matrix: every singular value of W equals ``scale``.

    With the identity activation a gradient sent back k steps is then scaled by
    exactly ``scale ** k``, which makes vanishing and exploding gradients plain to see.
    """
    generator = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(hidden_size, hidden_size, generator=generator, dtype=dtype))
    return scale * q * torch.sign(torch.diagonal(r))  # the sign fix makes q unique (Haar-distributed)


def activate(a: torch.Tensor, name: str) -> torch.Tensor:
    """f(a) for f in tanh, ReLU or the identity."""
    if name == "tanh":
        return torch.tanh(a)
    if name == "relu":
        return torch.relu(a)
    if name == "identity":
        return a
    raise ValueError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")


def activation_slope(s: torch.Tensor, name: str) -> torch.Tensor:
    """f'(a) read off the output s = f(a): 1 - s^2 for tanh, [s > 0] for ReLU, 1 for the identity."""
    if name == "tanh":
        return 1 - s * s
    if name == "relu":
        return (s > 0).to(s.dtype)
    if name == "identity":
        return torch.ones_like(s)
    raise ValueError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")


def rnn_cell(x_t: torch.Tensor, s_prev: torch.Tensor, weights: RNNWeights, activation: str = "tanh") -> torch.Tensor:
    """One step: s_t = f(U x_t + W s_{t-1} + b). ``x_t`` is (..., I), ``s_prev`` (..., H)."""
    a = x_t @ weights.U.T + s_prev @ weights.W.T
    bias = weights.bias
    return activate(a if bias is None else a + bias, activation)


def _initial_state(xs: torch.Tensor, weights: RNNWeights, s0: torch.Tensor | None) -> torch.Tensor:
    if s0 is not None:
        return s0
    return torch.zeros(*xs.shape[:-2], weights.hidden_size, dtype=xs.dtype, device=xs.device)


def rnn_states(
    xs: torch.Tensor, weights: RNNWeights, s0: torch.Tensor | None = None, activation: str = "tanh"
) -> torch.Tensor:
    """Every hidden state s_1..s_T of a sequence ``xs`` (..., T, I): returns (..., T, H).

    ``s0`` (..., H) is the state before the first step, zeros when omitted.
    """
    s = _initial_state(xs, weights, s0)
    states = []
    for t in range(xs.shape[-2]):
        s = rnn_cell(xs[..., t, :], s, weights, activation)
        states.append(s)
    return torch.stack(states, dim=-2)


def rnn_outputs(states: torch.Tensor, V: torch.Tensor, activation: str = "identity") -> torch.Tensor:
    """o_t = g(V s_t) for every step: (..., T, H) -> (..., T, O)."""
    return activate(states @ V.T, activation)


def rnn_forward(
    xs: torch.Tensor,
    weights: RNNWeights,
    V: torch.Tensor,
    s0: torch.Tensor | None = None,
    activation: str = "tanh",
    output_activation: str = "identity",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The slides' simple RNN over a whole sequence: returns ``(states, outputs)``."""
    states = rnn_states(xs, weights, s0, activation)
    return states, rnn_outputs(states, V, output_activation)


# -- bidirectional and deep RNNs -------------------------------------------------------------------
Layer = Union[RNNWeights, tuple[RNNWeights, RNNWeights]]


def layer_directions(layer: Layer) -> tuple[RNNWeights, ...]:
    """One layer's directions: (forward,) or (forward, backward)."""
    return layer if isinstance(layer, tuple) else (layer,)


def backward_states(
    xs: torch.Tensor, weights: RNNWeights, s0: torch.Tensor | None = None, activation: str = "tanh"
) -> torch.Tensor:
    """The right-to-left pass s'_t = f(U' x_t + W' s'_{t+1}), returned in the original time order."""
    return rnn_states(xs.flip(-2), weights, s0, activation).flip(-2)


def bidirectional_states(
    xs: torch.Tensor, forward: RNNWeights, backward: RNNWeights, activation: str = "tanh"
) -> torch.Tensor:
    """[s_t ; s'_t] at every step, (..., T, 2H): what torch.nn.RNN(bidirectional=True) outputs."""
    return torch.cat([rnn_states(xs, forward, activation=activation),
                      backward_states(xs, backward, activation=activation)], dim=-1)


def bidirectional_outputs(
    states: torch.Tensor, V: torch.Tensor, V_prime: torch.Tensor, activation: str = "identity"
) -> torch.Tensor:
    """The slides' y_t = g(V s_t + V' s'_t) from the concatenated states (..., T, 2H).

    Equal to g([V V'] [s_t ; s'_t]): one matrix applied to the concatenation.
    """
    hidden = V.shape[1]
    return activate(states[..., :hidden] @ V.T + states[..., hidden:] @ V_prime.T, activation)


def deep_rnn_states(
    xs: torch.Tensor, layers: Sequence[Layer], activation: str = "tanh"
) -> tuple[torch.Tensor, torch.Tensor]:
    """A stacked RNN, layer by layer: s^(i)_t = f(U^(i) s^(i-1)_t + W^(i) s^(i)_{t-1}), with s^(0) = x.

    Returns ``(top, last)`` like torch.nn.RNN: ``top`` (..., T, H * directions) are the
    top layer's states, ``last`` (layers * directions, ..., H) every layer's final state
    (for a backward direction, its state after reading x_1).
    """
    below, finals = xs, []
    for layer in layers:
        directions = layer_directions(layer)
        if len(directions) == 2:
            below = bidirectional_states(below, *directions, activation=activation)
            hidden = directions[0].hidden_size
            finals += [below[..., -1, :hidden], below[..., 0, hidden:]]
        else:
            below = rnn_states(below, directions[0], activation=activation)
            finals.append(below[..., -1, :])
    return below, torch.stack(finals)


# -- backpropagation through time -------------------------------------------------------------------
@dataclass
class BPTTResult:
    """Loss, weight gradients and dL/ds_t (the total derivative through every later step)."""

    loss: torch.Tensor
    grads: dict[str, torch.Tensor]  # "U", "W", "b", "V"
    state_grads: torch.Tensor  # (..., T, H)


def bptt(
    xs: torch.Tensor,
    targets: torch.Tensor,
    weights: RNNWeights,
    V: torch.Tensor,
    s0: torch.Tensor | None = None,
    activation: str = "tanh",
    last_step_only: bool = False,
) -> BPTTResult:
    """Backpropagation through time (随时间反向传播), by hand, for L = 1/2 sum_t |V s_t - y_t|^2.

    With ``last_step_only`` the loss is 1/2 |V s_T - y_T|^2, the error made at the last step.
    Walking back from t = T, with delta_t = dL/da_t for the pre-activation a_t:

        dL/ds_t = V^T (o_t - y_t) + W^T delta_{t+1},     delta_t = dL/ds_t * f'(a_t)
        dL/dU = sum_t delta_t x_t^T,  dL/dW = sum_t delta_t s_{t-1}^T,  dL/db = sum_t delta_t,
        dL/dV = sum_t (o_t - y_t) s_t^T.

    Batched inputs (..., T, I) sum the loss over the batch too.
    """
    states = rnn_states(xs, weights, s0, activation)
    previous = torch.cat([_initial_state(xs, weights, s0).unsqueeze(-2), states[..., :-1, :]], dim=-2)
    errors = rnn_outputs(states, V) - targets  # (..., T, O)
    if last_step_only:
        errors = torch.cat([torch.zeros_like(errors[..., :-1, :]), errors[..., -1:, :]], dim=-2)
    loss = 0.5 * (errors**2).sum()

    slopes = activation_slope(states, activation)
    state_grads = torch.empty_like(states)
    deltas = torch.empty_like(states)
    from_later = torch.zeros_like(states[..., 0, :])  # W^T delta_{t+1}, nothing after the last step
    for t in reversed(range(xs.shape[-2])):
        state_grads[..., t, :] = errors[..., t, :] @ V + from_later
        deltas[..., t, :] = state_grads[..., t, :] * slopes[..., t, :]
        from_later = deltas[..., t, :] @ weights.W

    def outer_sum(a, b):  # sum over batch and time of a_t b_t^T
        return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])

    grads = {
        "U": outer_sum(deltas, xs),
        "W": outer_sum(deltas, previous),
        "b": deltas.reshape(-1, deltas.shape[-1]).sum(dim=0),
        "V": outer_sum(errors, states),
    }
    return BPTTResult(loss=loss, grads=grads, state_grads=state_grads)
