"""course.rnn: the character model and its data, and the names of course.rnn_by_hand and course.rnn_torch it offers."""

import math

import pytest
import torch
from torch import nn

from course import rnn, rnn_by_hand, rnn_torch
from course.data import zen_of_python
from course.rnn import CharRNN, CharVocabulary, char_loss, next_char_windows, sample, train_char_rnn

# The loss the lecture states for the default (small) char-RNN on the Zen of Python.
STATED_CHAR_LOSS = 0.5


def test_vocabulary_and_windows():
    text = zen_of_python()
    vocab = CharVocabulary.from_text(text)
    assert len(vocab) == len(set(text)) and vocab.decode(vocab.encode(text)) == text
    with pytest.raises(ValueError):
        vocab.encode("\u00e9")
    inputs, targets = next_char_windows(vocab.encode(text), 16, stride=4)
    assert inputs.shape == targets.shape == ((len(text) - 17) // 4 + 1, 16)
    assert torch.equal(inputs[:, 1:], targets[:, :-1])
    assert vocab.decode(inputs[2]) == text[8:24] and vocab.decode(targets[2]) == text[9:25]


def test_char_rnn_shapes_and_loss_match_cross_entropy():
    torch.manual_seed(0)
    model = CharRNN(7, hidden_size=8, num_layers=2)
    ids = torch.randint(7, (3, 5))
    scores, state = model(ids)
    assert scores.shape == (3, 5, 7) and state.shape == (2, 3, 8)
    # Feeding the sequence in two pieces, carrying the state, gives the same scores.
    first, carried = model(ids[:, :2])
    second, _ = model(ids[:, 2:], carried)
    assert torch.allclose(torch.cat([first, second], dim=1), scores, atol=1e-6)
    targets = torch.randint(7, (3, 5))
    expected = nn.functional.cross_entropy(scores.flatten(0, 1), targets.flatten()).item()
    assert char_loss(model, ids, targets, batch_size=2) == pytest.approx(expected, rel=1e-5)


def test_char_rnn_reaches_the_stated_loss_with_clipping():
    text = zen_of_python()
    training = train_char_rnn(text, seed=0, device=torch.device("cpu"))
    inputs, targets = next_char_windows(training.vocab.encode(text), 32)
    loss = char_loss(training.model, inputs, targets)
    assert loss < STATED_CHAR_LOSS < math.log(len(training.vocab))
    assert len(training.losses) == len(training.grad_norms) == 300
    assert training.losses[-1] < training.losses[0]
    again = train_char_rnn(text, seed=0, device=torch.device("cpu"), steps=5)
    assert again.losses == training.losses[:5], "the same seed must give the same run"
    continuation = sample(training.model, training.vocab, "Beautiful is ", length=40, temperature=0)
    assert continuation.startswith("Beautiful is ") and len(continuation) == 53
    assert sample(training.model, training.vocab, "Now", 30, seed=1) == sample(training.model, training.vocab, "Now", 30, seed=1)


def test_training_clips_the_gradient(monkeypatch):
    seen = []
    original = nn.utils.clip_grad_norm_

    def spy(parameters, max_norm, *args, **kwargs):
        parameters = list(parameters)
        total = original(parameters, max_norm, *args, **kwargs)
        seen.append(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in parameters])).item())
        return total

    monkeypatch.setattr(nn.utils, "clip_grad_norm_", spy)
    training = train_char_rnn("abcabcabdabcabcabd" * 4, hidden_size=16, length=8, steps=5, max_grad_norm=0.1,
                              device=torch.device("cpu"))
    assert len(seen) == 5 and max(seen) <= 0.1 + 1e-5
    assert max(training.grad_norms) > 0.1  # the norms recorded are those before clipping


def test_course_rnn_defines_the_character_model_and_offers_the_rnn_by_hand_and_its_torch_twin():
    # the labs name the character model's classes by their module, course.rnn
    assert CharVocabulary.__module__ == CharRNN.__module__ == "course.rnn"
    offered = {name: getattr(rnn, name) for name in rnn.__all__}
    assert {"SLIDES_INPUTS", "RNNWeights", "bidirectional_outputs", "bidirectional_states", "bptt",
            "deep_rnn_states", "orthogonal_recurrence", "rnn_cell", "rnn_forward", "rnn_states", "slides_weights",
            "torch_rnn"} <= set(offered)  # what lecture 03 and lab 03 import from course.rnn
    for module in (rnn_by_hand, rnn_torch):
        for name, value in vars(module).items():
            if name in offered:
                assert offered[name] is value, f"course.rnn.{name}"
