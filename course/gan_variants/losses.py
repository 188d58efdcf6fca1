"""What the variants' players minimise beyond topic 04's BCE: feature matching, the Wasserstein critic's losses
and its Lipschitz constraints (clipping, gradient penalty), and EBGAN's energy losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course.gan_variants import guard


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """|| mean f(x) - mean f(G(z)) ||^2 over the batch (Salimans et al., 2016): G matches D's statistics."""
    guard.reference_guard()
    return (real_features.mean(dim=0) - fake_features.mean(dim=0)).pow(2).sum()


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """mean f(G(z)) - mean f(x): minimising it, the critic f estimates the Wasserstein-1 distance."""
    guard.reference_guard()
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """-mean f(G(z)): G moves its samples up the critic's slope."""
    guard.reference_guard()
    return -fake_scores.mean()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """mean (||grad f(x_hat)|| - 1)^2 at x_hat = eps x + (1 - eps) G(z), eps ~ U(0, 1) per sample (WGAN-GP).

    The gradient is taken with ``create_graph=True`` so that the penalty itself can be minimised.
    """
    guard.reference_guard()
    eps = torch.rand(len(real), *([1] * (real.dim() - 1)), generator=generator).to(real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (slope,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (slope.flatten(1).norm(dim=1) - 1).pow(2).mean()


def clip_weights(module: nn.Module, limit: float) -> None:
    """WGAN's crude Lipschitz constraint: every parameter clamped to [-limit, limit] in place."""
    guard.reference_guard()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.clamp_(-limit, limit)


def ebgan_discriminator_loss(real_energy: torch.Tensor, fake_energy: torch.Tensor, margin: float) -> torch.Tensor:
    """mean E(x) + mean max(0, m - E(G(z))): low energy for real data, at least ``margin`` for fakes."""
    guard.reference_guard()
    return real_energy.mean() + F.relu(margin - fake_energy).mean()


def pulling_away_term(embeddings: torch.Tensor) -> torch.Tensor:
    """EBGAN's repelling regulariser: mean squared cosine similarity between distinct samples' codes."""
    guard.reference_guard()
    unit = F.normalize(embeddings.flatten(1), dim=1)
    similarity = unit @ unit.T  # (N, N)
    n = len(unit)
    return (similarity.pow(2).sum() - similarity.diagonal().pow(2).sum()) / (n * (n - 1))
