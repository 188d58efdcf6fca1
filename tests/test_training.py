"""The device-agnostic training loop."""

import pytest
import torch
from torch import nn

from course.data import two_moons
from course.repro import pick_device, seed_everything
from course.training import accuracy, train_full_batch


def small_classifier():
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1), nn.Sigmoid())


def test_training_separates_the_moons():
    seed_everything(0)
    X_train, y_train, X_test, y_test = two_moons(n_samples=300)
    model = small_classifier()
    losses = train_full_batch(model, X_train, y_train, nn.functional.mse_loss, steps=1500, learning_rate=2.0)
    assert len(losses) == 1500
    assert losses[-1] < losses[0] / 4
    assert accuracy(model, X_test, y_test) >= 0.95
    assert next(model.parameters()).device.type == pick_device().type


def test_training_is_reproducible():
    X, y, _, _ = two_moons(n_samples=100)
    runs = []
    for _ in range(2):
        seed_everything(7)
        runs.append(train_full_batch(small_classifier(), X, y, nn.functional.mse_loss, steps=20, learning_rate=0.5))
    assert runs[0] == runs[1]


def test_accuracy_counts_thresholded_outputs():
    model = nn.Sequential(nn.Linear(1, 1))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[0].bias.fill_(0.0)
    X = torch.tensor([[0.2], [0.9], [0.7], [0.1]])
    y = torch.tensor([0.0, 1.0, 0.0, 0.0])
    assert accuracy(model, X, y) == pytest.approx(0.75)


def test_training_refuses_zero_steps():
    X, y, _, _ = two_moons(n_samples=40)
    with pytest.raises(ValueError, match="at least one step"):
        train_full_batch(small_classifier(), X, y, nn.functional.mse_loss, steps=0, learning_rate=0.1)
