"""Matplotlib figures that more than one notebook draws."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch


def plot_decision_boundary(
    ax,
    predict_probability: Callable[[torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    resolution: int = 200,
    margin: float = 0.5,
):
    """Shade where ``predict_probability`` says class 1, and scatter the labelled points.

    ``predict_probability`` maps an (N, 2) CPU float tensor to N probabilities.
    """
    X_np, y_np = X.detach().cpu().numpy(), y.detach().cpu().numpy()
    x_min, y_min = X_np.min(axis=0) - margin
    x_max, y_max = X_np.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    grid = torch.tensor(np.c_[xx.ravel(), yy.ravel()], dtype=torch.float32)
    with torch.no_grad():
        probability = predict_probability(grid).detach().cpu().numpy().reshape(xx.shape)
    ax.contourf(xx, yy, probability, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    ax.contour(xx, yy, probability, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(X_np[:, 0], X_np[:, 1], c=y_np, cmap="RdBu_r", edgecolors="k", s=25)
    return ax


def plot_loss_curve(ax, losses: Sequence[float], label: str = "training loss", log_scale: bool = True):
    """The loss after each step, on a log axis by default (losses shrink by orders of magnitude)."""
    ax.plot(np.arange(1, len(losses) + 1), losses, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if log_scale and len(losses) and min(losses) > 0:
        ax.set_yscale("log")
    ax.legend()
    return ax
