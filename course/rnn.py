"""Recurrent neural networks: a character-level language model, its data, training loop and sampling.

The RNN itself, by hand in the slides' notation, lives in course.rnn_by_hand, and its torch.nn.RNN twin in
course.rnn_torch; their names are offered here too, so that ``from course.rnn import ...`` finds every part.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course.repro import autocast, pick_device
from course.rnn_by_hand import (ACTIVATIONS, SLIDES_INPUTS, SLIDES_OUTPUTS, BPTTResult, Layer, RNNWeights, activate,
                                activation_slope, backward_states, bidirectional_outputs, bidirectional_states, bptt,
                                deep_rnn_states, orthogonal_recurrence, rnn_cell, rnn_forward, rnn_outputs,
                                rnn_states, slides_weights)
from course.rnn_torch import copy_into_torch, torch_rnn, weights_from_torch

__all__ = ["ACTIVATIONS", "SLIDES_INPUTS", "SLIDES_OUTPUTS", "BPTTResult", "CharRNN", "CharTraining", "CharVocabulary",
           "Layer", "RNNWeights", "activate", "activation_slope", "backward_states", "bidirectional_outputs",
           "bidirectional_states", "bptt", "char_loss", "copy_into_torch", "deep_rnn_states", "next_char_windows",
           "orthogonal_recurrence", "rnn_cell", "rnn_forward", "rnn_outputs", "rnn_states", "sample",
           "slides_weights", "torch_rnn", "train_char_rnn", "weights_from_torch"]


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
