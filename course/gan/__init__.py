"""The GAN game that topics 04 (objective and playground), 05 (BCE) and 06 (DCGAN) share.

A generative adversarial network (生成式对抗网络, GAN) pits a generator (生成器) G, which
turns noise z into samples, against a discriminator (判别器) D, which scores how real a sample
looks. This module holds the game itself:

* **players**: small MLPs; the discriminator returns *logits* (D(x) = sigmoid(logit));
* **losses**: the discriminator's and the generator's (saturating and non-saturating) losses,
  written as binary cross-entropy (course.bce) with real -> 1 and fake -> 0;
* **steps**: one alternating step (k discriminator steps, then one generator step).

Its submodules hold the rest: ``targets`` (the distributions G learns and the noise), ``measures``
(modes covered, Wasserstein distances), ``training`` (the seeded trainer and its history), ``seeds``
(the trainers' named random streams) and ``benchmark`` (mode-coverage runs and their table).

The players, losses and steps are defined here, not in a submodule, because the labs name them by these
paths: their hidden tests check a discriminator's type name ``course.gan.Discriminator`` and switch
``course.gan.discriminator_loss``, ``course.gan.alternating_step`` and the like off while a student's code
runs. The names imported at the bottom are the ones the labs import from ``course.gan``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from course.bce import bce_from_logits
from course.repro import autocast

GENERATOR_LOSSES = ("non-saturating", "saturating")

# the values at the equilibrium p_g = p_data, where D(x) = D(G(z)) = 1/2 everywhere
EQUILIBRIUM_D = 0.5
EQUILIBRIUM_D_LOSS = 2 * math.log(2)  # -log 1/2 - log(1 - 1/2)
EQUILIBRIUM_G_LOSS = {"non-saturating": math.log(2), "saturating": -math.log(2)}  # -log 1/2, log(1 - 1/2)


# -- models ---------------------------------------------------------------------------------


def mlp(in_features: int, out_features: int, hidden: int = 32, depth: int = 2,
        activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Sequential:
    """``depth`` hidden layers of ``hidden`` units with ``activation``, then a linear output layer."""
    if depth < 1 or hidden < 1:
        raise ValueError(f"depth={depth}, hidden={hidden}: need at least one hidden layer of one unit")
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]  # (N, hidden)
        width = hidden
    layers.append(nn.Linear(width, out_features))  # (N, out_features)
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """G(z): noise of shape (N, noise_dim) to samples of shape (N, data_dim), through a small MLP."""

    def __init__(self, noise_dim: int = 1, data_dim: int = 1, hidden: int = 32, depth: int = 2,
                 activation: Callable[[], nn.Module] = nn.ReLU):
        super().__init__()
        self.noise_dim, self.data_dim = noise_dim, data_dim
        self.net = mlp(noise_dim, data_dim, hidden, depth, activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)  # (N, data_dim)


class Discriminator(nn.Module):
    """D's logit for samples (N, data_dim): shape (N,). D(x) = sigmoid(logit) is P(real | x).

    Returning the logit, not the probability, lets the losses use the stable BCE-from-logits form.
    """

    def __init__(self, data_dim: int = 1, hidden: int = 32, depth: int = 2,
                 activation: Callable[[], nn.Module] = lambda: nn.LeakyReLU(0.2)):
        super().__init__()
        self.data_dim = data_dim
        self.net = mlp(data_dim, 1, hidden, depth, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)  # (N,)


# -- losses, all binary cross-entropy ----------------------------------------------------------


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """BCE(D(x), real_label) + BCE(D(G(z)), 0), each a mean over its batch.

    With ``real_label = 1`` this is exactly -V(D, G), the minus the value D maximises:
    -(mean log D(x) + mean log(1 - D(G(z)))). ``real_label = 0.9`` is one-sided label smoothing
    (单边标签平滑): only the real label is softened, the fake label stays 0.
    """
    real_loss = bce_from_logits(real_logits.float(), torch.full_like(real_logits, real_label, dtype=torch.float32))
    fake_loss = bce_from_logits(fake_logits.float(), torch.zeros_like(fake_logits, dtype=torch.float32))
    return real_loss + fake_loss


def generator_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """mean log(1 - D(G(z))) = -BCE(D(G(z)), 0): the minimax game's own generator loss.

    Its gradient w.r.t. the logit is -D(G(z)): nearly zero exactly when D rejects the fakes,
    i.e. early in training, when G needs it most (the loss saturates).
    """
    return -bce_from_logits(fake_logits.float(), torch.zeros_like(fake_logits, dtype=torch.float32))


def generator_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean log D(G(z)) = BCE(D(G(z)), 1): label the fakes "real" and minimise the usual BCE.

    Its gradient w.r.t. the logit is -(1 - D(G(z))): strongest when D rejects the fakes.
    """
    return bce_from_logits(fake_logits.float(), torch.ones_like(fake_logits, dtype=torch.float32))


def generator_loss(fake_logits: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """The generator loss of ``kind`` ("non-saturating" or "saturating")."""
    if kind == "non-saturating":
        return generator_loss_non_saturating(fake_logits)
    if kind == "saturating":
        return generator_loss_saturating(fake_logits)
    raise ValueError(f"kind={kind!r}; choose one of {GENERATOR_LOSSES}")


# -- one alternating step ------------------------------------------------------------------------


@dataclass(frozen=True)
class StepStats:
    """What one alternating step measured, as 0-d tensors (no GPU sync until read).

    ``d_loss`` and the means of what D says of the real and of the fake batch, ``real_verdict`` and
    ``fake_verdict``, come from the last discriminator step, before its update; ``g_loss`` from the generator
    step. In the BCE games here the verdicts are probabilities, mean D(x) and mean D(G(z)); in topic 07's
    they are whatever the variant's D outputs per sample (a critic's score, an energy).
    """

    d_loss: torch.Tensor
    g_loss: torch.Tensor
    real_verdict: torch.Tensor
    fake_verdict: torch.Tensor


def discriminator_step(generator: nn.Module, discriminator: nn.Module, d_optimizer: torch.optim.Optimizer,
                       real: torch.Tensor, noise: torch.Tensor, real_label: float = 1.0):
    """One update of D on a real batch and a fake batch; G is not updated (its output is detached).

    Returns (loss, mean D(x), mean D(G(z))), detached, measured before the update.
    """
    with autocast(real.device):
        fake = generator(noise)  # (N, data_dim)
        real_logits = discriminator(real)  # (N,)
        fake_logits = discriminator(fake.detach())  # (N,): no gradient flows back into G
    loss = discriminator_loss(real_logits, fake_logits, real_label)
    d_optimizer.zero_grad(set_to_none=True)
    loss.backward()
    d_optimizer.step()
    return (loss.detach(), torch.sigmoid(real_logits.detach().float()).mean(),
            torch.sigmoid(fake_logits.detach().float()).mean())


def generator_step(generator: nn.Module, discriminator: nn.Module, g_optimizer: torch.optim.Optimizer,
                   noise: torch.Tensor, generator_loss_kind: str = "non-saturating") -> torch.Tensor:
    """One update of G through the (current) discriminator; D's parameters get gradients but no step.

    Those stray gradients in D are harmless: the next discriminator step zeroes them first.
    """
    with autocast(noise.device):
        fake_logits = discriminator(generator(noise))  # (N,)
    loss = generator_loss(fake_logits, generator_loss_kind)
    g_optimizer.zero_grad(set_to_none=True)
    loss.backward()
    g_optimizer.step()
    return loss.detach()


def alternating_step(generator: nn.Module, discriminator: nn.Module, g_optimizer: torch.optim.Optimizer,
                     d_optimizer: torch.optim.Optimizer, real_batches, d_noise_batches, g_noise: torch.Tensor,
                     real_label: float = 1.0, generator_loss_kind: str = "non-saturating") -> StepStats:
    """k discriminator steps (one per real batch and noise batch), then one generator step.

    The seeds' algorithm: D is trained k times with G held fixed, then G once with D held fixed.
    """
    if len(real_batches) != len(d_noise_batches) or not real_batches:
        raise ValueError("give as many noise batches as real batches, and at least one of each")
    for real, noise in zip(real_batches, d_noise_batches):
        d_loss, real_verdict, fake_verdict = discriminator_step(generator, discriminator, d_optimizer, real, noise,
                                                                real_label)
    g_loss = generator_step(generator, discriminator, g_optimizer, g_noise, generator_loss_kind)
    return StepStats(d_loss, g_loss, real_verdict, fake_verdict)


# What the labs import from course.gan besides the game above (and what their hidden tests switch off by these
# paths); the training module is built on the players and steps above, so it is imported after them.
from course.gan.measures import mode_coverage, wasserstein_1d  # noqa: E402
from course.gan.targets import GaussianMixture, gaussian_1d, mixture_1d, sample_noise  # noqa: E402
from course.gan.training import GANTrainer, train_gan  # noqa: E402

__all__ = [
    "EQUILIBRIUM_D", "EQUILIBRIUM_D_LOSS", "EQUILIBRIUM_G_LOSS", "GENERATOR_LOSSES", "Discriminator", "Generator",
    "StepStats", "alternating_step", "discriminator_loss", "discriminator_step", "generator_loss",
    "generator_loss_non_saturating", "generator_loss_saturating", "generator_step", "mlp",
    "GANTrainer", "GaussianMixture", "gaussian_1d", "mixture_1d", "mode_coverage", "sample_noise", "train_gan",
    "wasserstein_1d",
]
