"""A plain full-batch training loop that runs unchanged on CPU, MPS and CUDA."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from course.repro import autocast, pick_device


def train_full_batch(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    steps: int,
    learning_rate: float,
    device: torch.device | None = None,
) -> list[float]:
    """Train ``model`` with gradient descent on the whole of ``(X, y)``; return the loss per step.

    The model and data move to ``device`` (``pick_device()`` when omitted) and
    the forward pass runs under autocast on CUDA. The model is left on that device.
    """
    if steps < 1:
        raise ValueError(f"steps={steps}: train for at least one step")
    device = device or pick_device()
    model.to(device)
    X, y = X.to(device), y.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        with autocast(device):
            prediction = model(X).squeeze(-1)
        loss = loss_fn(prediction.float(), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())  # .item() here would wait for the GPU at every step
    return torch.stack(losses).tolist()


@torch.no_grad()
def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, threshold: float = 0.5) -> float:
    """Share of samples whose output, thresholded at ``threshold``, equals the 0/1 label."""
    device = next(model.parameters()).device
    prediction = model(X.to(device)).squeeze(-1).float().cpu()
    return ((prediction > threshold).float() == y.cpu()).float().mean().item()


def _to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    # Pinned host memory lets the copy to a CUDA device overlap with compute.
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def train_epochs(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batch_size: int,
    device: torch.device | None = None,
    seed: int = 0,
) -> list[float]:
    """Minibatch training over in-memory tensors; returns the mean training loss of each epoch.

    Batches are reshuffled every epoch by a generator seeded with ``seed``, so a
    run is repeatable whatever else used the global generators. On CUDA the
    batches travel from pinned memory and the forward pass runs under autocast.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs={epochs}, batch_size={batch_size}: both must be at least 1")
    device = device or pick_device()
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    epoch_losses = []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(X), generator=generator)
        batch_losses = []
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            inputs, targets = _to_device(X[batch], device), _to_device(y[batch], device)
            optimizer.zero_grad(set_to_none=True)
            with autocast(device):
                outputs = model(inputs)
            loss = loss_fn(outputs.float(), targets)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.detach() * len(batch))
        epoch_losses.append((torch.stack(batch_losses).sum() / len(X)).item())
    model.eval()
    return epoch_losses


@torch.no_grad()
def predict_classes(model: nn.Module, X: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Arg-max class of each sample, computed in batches on the model's device; returned on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    predictions = [model(_to_device(X[start : start + batch_size], device)).argmax(dim=-1).cpu()
                   for start in range(0, len(X), batch_size)]
    return torch.cat(predictions)
