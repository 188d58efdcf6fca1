"""Topic 00: PyTorch's own pieces, as the slides introduce them (seed 001, "PyTorch 简介").

The slides define a logistic regression as an ``nn.Module`` (an ``nn.Linear`` then an ``nn.Sigmoid``) and train
it with ``nn.BCELoss`` and ``torch.optim.SGD`` in the loop every PyTorch program shares: forward, loss,
``zero_grad``, ``backward``, ``step``. This module holds that model, a data set of the size it expects (16
features: scikit-learn's 8x8 digits averaged down to 4x4, the 8s against the 9s), and the reference versions of
what lab 00 asks for: standardising features, a ``Dataset``, the loop and its evaluation.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

DIGIT_PAIR = (8, 9)  # label 0 for the first, 1 for the second
PIXEL_MAX = 16.0  # scikit-learn's digits are integers 0..16
FEATURES = 16  # 4x4 after averaging 2x2 blocks: the size of the slides' LogisticRegression(16)
OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}


class LogisticRegression(nn.Module):
    """The slides' model: p(y = 1 | x) = sigmoid(w . x + b), one output per sample, shape (N, 1)."""

    def __init__(self, n_features: int):
        super().__init__()
        self.log_reg = nn.Sequential(nn.Linear(n_features, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_reg(x)


def digit_features(images: torch.Tensor) -> torch.Tensor:
    """(N, 8, 8) digits with pixels 0..16 -> (N, 16) features in [0, 1]: each 2x2 block's mean, row by row."""
    scaled = images.float() / PIXEL_MAX
    return F.avg_pool2d(scaled.unsqueeze(1), 2).flatten(1)


def digit_pair_images(pair: tuple[int, int] = DIGIT_PAIR) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits of ``pair`` as (N, 8, 8) images (pixels 0..16) and int64 labels (0 for pair[0], 1 for pair[1])."""
    digits = load_digits()
    labels = torch.as_tensor(digits.target)
    keep = (labels == pair[0]) | (labels == pair[1])
    return torch.as_tensor(digits.images, dtype=torch.float32)[keep], (labels[keep] == pair[1]).long()


def eights_and_nines(test_size: float = 0.3, seed: int = 0):
    """Features and float labels (1.0 for a 9) of the 8s and 9s, split once, stratified:
    ``X_train, y_train, X_test, y_test``."""
    images, labels = digit_pair_images()
    X_train, X_test, y_train, y_test = train_test_split(
        digit_features(images), labels.float(), test_size=test_size, random_state=seed, stratify=labels)
    return X_train, y_train, X_test, y_test


def standardise(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each column shifted to mean 0 and scaled to standard deviation 1 (the population one, as scikit-learn's
    StandardScaler); a constant column is only shifted. Returns ``(standardised, mean, std)``."""
    mean = features.mean(dim=0)
    std = features.std(dim=0, unbiased=False)
    safe_std = torch.where(std > 0, std, torch.ones_like(std))
    return (features - mean) / safe_std, mean, safe_std


class DigitFeatures(Dataset):
    """(N, 8, 8) digit images and their labels as a Dataset of ``(16 features, label of shape (1,))`` pairs."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels: give one label per image")
        self.features = digit_features(images)
        self.labels = labels.float().reshape(-1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.features[index], self.labels[index]


def shuffled_batches(X: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int) -> DataLoader:
    """Batches of (X, y) in a new order every epoch, the same orders for the same seed."""
    return DataLoader(TensorDataset(X, y.reshape(-1, 1)), batch_size=batch_size, shuffle=True,
                      generator=torch.Generator().manual_seed(seed))


def fit(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int, lr: float, seed: int,
        optimizer: str = "SGD", zero_grad: bool = True) -> list[float]:
    """The slides' loop, over shuffled minibatches: train ``model`` (probabilities out) in place with BCELoss and
    ``optimizer``; return the mean loss of each epoch. ``zero_grad=False`` forgets to clear the gradients, to
    show what that does: each step then follows the sum of every gradient so far."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r}; choose one of {sorted(OPTIMIZERS)}")
    batches = shuffled_batches(X, y, batch_size, seed)
    criterion = nn.BCELoss()
    step = OPTIMIZERS[optimizer](model.parameters(), lr=lr)
    return minibatch_descent(step, epochs, lambda: batches,
                             lambda features, labels: criterion(model(features), labels),  # (B, 1) each
                             zero_grad)


def minibatch_descent(optimizer: torch.optim.Optimizer, epochs: int, epoch_batches: Callable[[], Iterable[tuple]],
                      batch_loss: Callable[..., torch.Tensor], zero_grad: bool = True) -> list[float]:
    """The loop every PyTorch program shares: for each batch of each epoch, the loss, ``zero_grad``, ``backward``,
    ``step``; returns the mean loss of each epoch, weighted by batch size.

    ``epoch_batches()`` gives one epoch's batches, tuples of tensors whose first dimension counts the examples;
    ``batch_loss(*batch)`` is the loss of one. ``zero_grad=False`` leaves the gradients to pile up.
    """
    losses = []
    for _ in range(epochs):
        total, examples = 0.0, 0
        for batch in epoch_batches():
            loss = batch_loss(*batch)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch[0])
            examples += len(batch[0])
        losses.append(total / examples)
    return losses


def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """``(accuracy, mean BCE)`` of a model that outputs probabilities, a prediction of 0.5 or more read as 1;
    computed without recording a graph, in eval mode, and the model's mode restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            probabilities = model(X).reshape(-1)
    finally:
        model.train(was_training)
    labels = y.reshape(-1).float()
    accuracy = ((probabilities >= 0.5).float() == labels).float().mean().item()
    return accuracy, F.binary_cross_entropy(probabilities, labels).item()
