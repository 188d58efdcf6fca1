"""Matplotlib figures that more than one notebook draws."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from course.gan import EQUILIBRIUM_D, EQUILIBRIUM_D_LOSS, EQUILIBRIUM_G_LOSS, generator_loss
from course.language import tr


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


def plot_loss_curve(ax, losses: Sequence[float], label: str | None = None, log_scale: bool = True):
    """The loss after each step, on a log axis by default (losses shrink by orders of magnitude); ``label``
    defaults to "training loss" in the kit's language."""
    ax.plot(np.arange(1, len(losses) + 1), losses, label=tr("training loss") if label is None else label)
    ax.set_xlabel(tr("step"))
    ax.set_ylabel(tr("loss"))
    if log_scale and len(losses) and min(losses) > 0:
        ax.set_yscale("log")
    ax.legend()
    return ax


def plot_generator_loss_gradients(axes, points: int = 400):
    """Two panels: the saturating and non-saturating generator losses against D(G(z)), and the size of
    their gradients with respect to D's logit, taken by autograd through ``course.gan.generator_loss``.

    Returns the two gradients (saturating, non-saturating) so that a notebook can check them.
    """
    d_fake = torch.linspace(0.001, 0.999, points)
    logits = torch.logit(d_fake).requires_grad_(True)
    # generator_loss is a batch mean: times the batch size gives the per-example gradient
    (saturating,) = torch.autograd.grad(generator_loss(logits, "saturating") * points, logits)
    (non_saturating,) = torch.autograd.grad(generator_loss(logits, "non-saturating") * points, logits)
    loss_ax, gradient_ax = axes
    loss_ax.plot(d_fake, torch.log1p(-d_fake), label=tr("saturating: log(1 − D(G(z)))"))
    loss_ax.plot(d_fake, -torch.log(d_fake), label=tr("non-saturating: −log D(G(z))"))
    loss_ax.set_ylabel(tr("generator loss (per example)"))
    loss_ax.set_ylim(-5, 5)
    gradient_ax.plot(d_fake, saturating.abs(), label=tr("saturating: |∂/∂s| = D(G(z))"))
    gradient_ax.plot(d_fake, non_saturating.abs(), label=tr("non-saturating: |∂/∂s| = 1 − D(G(z))"))
    gradient_ax.axvspan(0, 0.1, color="gray", alpha=0.15)
    gradient_ax.text(0.02, 0.5, tr("early training:\nD rejects fakes"), fontsize=9)
    gradient_ax.set_ylabel(tr("gradient w.r.t. D's logit s"))
    for ax in axes:
        ax.set_xlabel("D(G(z))")
        ax.legend(fontsize=9)
    return saturating.detach(), non_saturating.detach()


def moving_average(values: Sequence[float], width: int = 50) -> torch.Tensor:
    """The mean of each ``width`` consecutive values (fewer values than ``width``: one mean of all)."""
    values = torch.as_tensor(values, dtype=torch.float32)
    width = max(1, min(width, len(values)))
    return values.unfold(0, width, 1).mean(dim=1)


def plot_gan_history(loss_ax, probability_ax, history, width: int = 50,
                     generator_loss_kind: str = "non-saturating"):
    """Moving averages of the GAN losses and of mean D(x), D(G(z)), with their equilibrium values.

    At the equilibrium D = 1/2 everywhere, so L_D = 2 log 2, L_G = log 2 (non-saturating) or -log 2
    (saturating, ``generator_loss_kind``) and both means of D are 1/2: the dotted lines.
    """
    g_equilibrium = EQUILIBRIUM_G_LOSS[generator_loss_kind]
    loss_ax.plot(moving_average(history.d_loss, width), label="L_D")
    loss_ax.plot(moving_average(history.g_loss, width), label="L_G")
    loss_ax.axhline(EQUILIBRIUM_D_LOSS, color="gray", linestyle=":",
                    label=f"2 log 2, {'log 2' if g_equilibrium > 0 else '-log 2'}")
    loss_ax.axhline(g_equilibrium, color="gray", linestyle=":")
    loss_ax.set_title(tr("losses (moving average of {width} steps)").format(width=width), fontsize=10)
    probability_ax.plot(moving_average(history.real_verdict, width), label=tr("mean D(x), real"))
    probability_ax.plot(moving_average(history.fake_verdict, width), label=tr("mean D(G(z)), fake"))
    probability_ax.axhline(EQUILIBRIUM_D, color="gray", linestyle=":")
    probability_ax.set_ylim(0, 1)
    probability_ax.set_title(tr("the discriminator's verdicts"), fontsize=10)
    for ax in (loss_ax, probability_ax):
        ax.set_xlabel(tr("step"))
        ax.legend(fontsize=8)
