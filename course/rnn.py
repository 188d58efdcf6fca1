"""Recurrent neural networks (循环神经网络) in the slides' notation, checked against torch.nn.RNN.

The slides write one step of a simple RNN as::

    s_t = f(U x_t + W s_{t-1})        hidden state (隐藏层), the network's memory
    o_t = g(V s_t)                    output

``U`` (hidden x input) is torch's ``weight_ih``, ``W`` (hidden x hidden) its
``weight_hh``; torch adds two biases, ``b_ih + b_hh``, inside ``f``. Sequences
are laid out as torch's ``batch_first=True``: ``(..., T, features)``, so an
unbatched sequence is ``(T, features)`` and a batch ``(N, T, features)``.

Besides the forward pass this module has backpropagation through time by
hand, bidirectional and stacked RNNs, and a small character-level model with
its data preparation, training loop (gradient clipping, device-ready) and
sampling. The tests check every function against torch.nn.RNN and autograd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

import torch
from torch import nn

from course.repro import autocast, pick_device

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


# -- copying weights into and out of torch.nn.RNN ---------------------------------------------------
Layer = Union[RNNWeights, tuple[RNNWeights, RNNWeights]]


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


def _directions(layer: Layer) -> tuple[RNNWeights, ...]:
    return layer if isinstance(layer, tuple) else (layer,)


def torch_rnn(layers: Sequence[Layer], nonlinearity: str = "tanh") -> nn.RNN:
    """A ``torch.nn.RNN(batch_first=True)`` holding copies of ``layers``.

    ``layers`` lists the layers bottom up; each is an :class:`RNNWeights`, or a
    ``(forward, backward)`` pair for a bidirectional RNN. torch has no identity
    nonlinearity, only ``"tanh"`` and ``"relu"``.
    """
    if not layers:
        raise ValueError("layers is empty: give at least one layer")
    first = _directions(layers[0])
    bidirectional = len(first) == 2
    has_bias = first[0].b_ih is not None or first[0].b_hh is not None
    rnn = nn.RNN(
        input_size=first[0].input_size, hidden_size=first[0].hidden_size, num_layers=len(layers),
        nonlinearity=nonlinearity, bias=has_bias, batch_first=True, bidirectional=bidirectional,
        dtype=first[0].U.dtype,
    )
    for index, layer in enumerate(layers):
        directions = _directions(layer)
        if len(directions) != len(first):
            raise ValueError("mix of one-way and two-way layers: every layer needs the same number of directions")
        for reverse, weights in zip((False, True), directions):
            copy_into_torch(rnn, weights, index, reverse)
    return rnn


# -- bidirectional and deep RNNs ---------------------------------------------------------------------
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
        directions = _directions(layer)
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


# -- a character-level language model -----------------------------------------------------------------
@dataclass(frozen=True)
class CharVocabulary:
    """The characters of a text, each with an integer id (its position in ``chars``)."""

    chars: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> "CharVocabulary":
        return cls(tuple(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        index = {char: i for i, char in enumerate(self.chars)}
        try:
            return torch.tensor([index[char] for char in text], dtype=torch.int64)
        except KeyError as error:
            raise ValueError(f"character {error.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in torch.as_tensor(ids).tolist())


def next_char_windows(ids: torch.Tensor, length: int, stride: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Every window of ``length`` ids and the same window shifted one character on.

    Returns ``(inputs, targets)``, both (N, length): at each position the model
    reads ``inputs[n, t]`` and must predict ``targets[n, t] = inputs[n, t + 1]``.
    """
    if length < 1 or stride < 1 or len(ids) < length + 1:
        raise ValueError(f"length={length}, stride={stride}: need 1 <= length < len(ids)={len(ids)} and stride >= 1")
    windows = ids.unfold(0, length + 1, stride)  # (N, length + 1)
    return windows[:, :-1].contiguous(), windows[:, 1:].contiguous()


class CharRNN(nn.Module):
    """One-hot characters -> torch.nn.RNN (tanh) -> a linear layer giving one score per character.

    Feeding a one-hot x_t makes U x_t pick one column of U, exactly the slides' U x_t.
    """

    def __init__(self, vocab_size: int, hidden_size: int = 128, num_layers: int = 1):
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = nn.RNN(vocab_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)  # V, plus a bias

    def forward(self, ids: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``ids`` (N, T) -> scores (N, T, vocab) and the final state (layers, N, H)."""
        x = nn.functional.one_hot(ids, self.vocab_size).to(self.head.weight.dtype)  # (N, T, vocab)
        states, state = self.rnn(x, state)  # (N, T, H), (layers, N, H)
        return self.head(states), state  # (N, T, vocab)


@torch.no_grad()
def char_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 512) -> float:
    """Mean cross-entropy of the next character, in nats per character, over every window."""
    model.eval()
    device = next(model.parameters()).device
    total = 0.0
    for start in range(0, len(inputs), batch_size):
        scores, _ = model(inputs[start : start + batch_size].to(device))
        batch_targets = targets[start : start + batch_size].to(device)
        total += nn.functional.cross_entropy(scores.float().flatten(0, 1), batch_targets.flatten(), reduction="sum").item()
    return total / targets.numel()


@dataclass
class CharTraining:
    """What :func:`train_char_rnn` returns: the model, its vocabulary, the loss and gradient norm of each step."""

    model: CharRNN
    vocab: CharVocabulary
    losses: list[float]
    grad_norms: list[float]  # before clipping


def train_char_rnn(
    text: str,
    hidden_size: int = 128,
    length: int = 32,
    steps: int = 300,
    batch_size: int = 64,
    learning_rate: float = 5e-3,
    max_grad_norm: float = 1.0,
    seed: int = 0,
    device: torch.device | None = None,
) -> CharTraining:
    """Train a :class:`CharRNN` to predict the next character of ``text`` (Adam, cross-entropy).

    Each step draws ``batch_size`` random windows of ``length`` characters, and the
    gradient is clipped to global norm ``max_grad_norm`` before the update, so one
    exploding gradient cannot throw the weights away. On CUDA the forward pass runs
    under autocast; the model is left on ``device`` (``pick_device()`` when omitted).
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps={steps}, batch_size={batch_size}: both must be at least 1")
    device = device or pick_device()
    vocab = CharVocabulary.from_text(text)
    inputs, targets = next_char_windows(vocab.encode(text), length)
    inputs, targets = inputs.to(device), targets.to(device)  # small enough to live on the device
    torch.manual_seed(seed)  # the initial weights
    model = CharRNN(len(vocab), hidden_size).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)  # the batches, whatever else used the global generator
    losses, grad_norms = [], []
    model.train()
    for _ in range(steps):
        batch = torch.randint(len(inputs), (batch_size,), generator=generator).to(device)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device):
            scores, _ = model(inputs[batch])  # (B, T, vocab)
        loss = nn.functional.cross_entropy(scores.float().flatten(0, 1), targets[batch].flatten())
        loss.backward()
        grad_norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm))
        optimizer.step()
        losses.append(loss.detach())  # .item() here would wait for the GPU at every step
    model.eval()
    return CharTraining(model, vocab, torch.stack(losses).tolist(), torch.stack(grad_norms).tolist())


@torch.no_grad()
def sample(
    model: CharRNN, vocab: CharVocabulary, prompt: str, length: int = 200, temperature: float = 1.0, seed: int = 0
) -> str:
    """Continue ``prompt`` by ``length`` characters, each drawn from softmax(scores / temperature).

    ``temperature=0`` always takes the most likely character. The draw is seeded, so a
    call is repeatable.
    """
    if not prompt:
        raise ValueError("give a non-empty prompt to start from")
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    scores, state = model(vocab.encode(prompt).unsqueeze(0).to(device))  # read the whole prompt
    drawn = []
    for _ in range(length):
        last = scores[0, -1].float().cpu()
        if temperature == 0:
            next_id = int(last.argmax())
        else:
            next_id = int(torch.multinomial(torch.softmax(last / temperature, dim=-1), 1, generator=generator))
        drawn.append(next_id)
        scores, state = model(torch.tensor([[next_id]], device=device), state)  # one step on
    return prompt + vocab.decode(drawn)
