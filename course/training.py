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
