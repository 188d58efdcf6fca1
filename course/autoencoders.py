"""Topic 08: autoencoders and variational autoencoders (seed 002, "自编码" and "变分自编码"), on the 8x8 digits.

The slides put them first in the family of generative models. An **autoencoder** (AE) maps x to a single code
z = E(x) and back, x_hat = D(z), and learns from the reconstruction error ||x - D(E(x))||^2. A **variational
autoencoder** (VAE) makes the code a sample of a normal distribution, z ~ N(mu(x), sigma(x)^2), written
z = mu + sigma * eps with eps ~ N(0, I) (the reparameterisation, so gradients reach mu and sigma), and learns by
maximising the evidence lower bound (ELBO): the expected log-likelihood of x given z minus KL(q(z|x) || N(0, I)).
The KL term pulls every code towards the prior, so decoding z ~ N(0, I) gives new digits: a generator.

Pixels are in [0, 1] (scikit-learn's digits divided by 16); both decoders end in a sigmoid. The VAE's decoder is
Gaussian, p(x|z) = N(x_hat(z), sigma^2 I), so its reconstruction term is the AE's squared error divided by
2 sigma^2, plus a constant: the AE's loss, weighed against the KL term by sigma.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from course.data import digits
from course.digit_quality import digits_classifier, score_generated
from course.image_data import to_unit_range, upscale_digits
from course.language import tr
from course.pytorch_basics import minibatch_descent
from course.repro import single_cpu_thread

PIXELS = 64  # 8x8


def digit_pixels(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits (the kit's fixed split) as (N, 64) pixels in [0, 1], and their labels."""
    X_train, y_train, X_test, y_test = digits()
    images, labels = (X_train, y_train) if split == "train" else (X_test, y_test)
    return images.reshape(len(images), PIXELS), labels


def as_quality_images(pixels: torch.Tensor, image_size: int = 32) -> torch.Tensor:
    """(N, 64) pixels in [0, 1] to the (N, 1, S, S) images in [-1, 1] the digits classifier scores (S = 32), scaled up
    as the DCGAN's digits are."""
    return to_unit_range(upscale_digits(pixels.reshape(-1, 1, 8, 8).float().clamp(0, 1), image_size))


def classifier_verdicts(pixels: torch.Tensor) -> list[tuple[int, float]]:
    """(digit, probability) that the kit's digits classifier gives each row of (N, 64) pixels in [0, 1]."""
    classifier = digits_classifier()  # loaded or trained on first use: outside no_grad
    with torch.no_grad():
        probabilities = torch.softmax(classifier(as_quality_images(pixels)).double(), dim=1)
    confidence, digit = probabilities.max(dim=1)
    return list(zip(digit.tolist(), confidence.tolist()))


def mlp(sizes: tuple[int, ...]) -> nn.Sequential:
    """Linear layers of the given widths with ReLU between them (none after the last)."""
    layers = []
    for index, (width_in, width_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(width_in, width_out))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """x (N, 64) -> z = E(x) (N, latent) -> x_hat = D(z) (N, 64) in [0, 1]: the slides' AE, a single-valued code."""

    def __init__(self, latent: int = 8, hidden: int = 256):
        super().__init__()
        self.encoder = mlp((PIXELS, hidden, latent))
        self.decoder = nn.Sequential(mlp((latent, hidden, PIXELS)), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return self.decoder(z), z


def reconstruction_error(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """The slides' L_AE: the squared distance ||x - x_hat||^2 of each sample, averaged over the batch."""
    return (x - x_hat).pow(2).flatten(1).sum(dim=1).mean()


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with sigma = exp(logvar / 2): a sample of N(mu, sigma^2) through which gradients flow."""
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) of each sample, summed over the latent dimensions: shape (N,)."""
    return 0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar).sum(dim=-1)


DECODER_STD = 0.2  # sigma of the Gaussian decoder p(x|z) = N(x_hat(z), sigma^2 I); it weighs the two terms


@dataclass(frozen=True)
class ELBOTerms:
    """The negative ELBO of a batch (averaged over samples, in nats) and its two parts."""

    loss: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor


def gaussian_negative_log_likelihood(x: torch.Tensor, x_hat: torch.Tensor, std: float = DECODER_STD) -> torch.Tensor:
    """-log N(x; x_hat, std^2 I) of each sample: the slides' ||x - x_hat||^2, divided by 2 std^2, plus a constant."""
    dims = x.flatten(1).shape[1]
    squared = (x - x_hat).pow(2).flatten(1).sum(dim=1)
    return squared / (2 * std ** 2) + 0.5 * dims * math.log(2 * math.pi * std ** 2)


def negative_elbo(x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                  std: float = DECODER_STD) -> ELBOTerms:
    """-ELBO = E_q[-log p(x|z)] + KL(q(z|x) || p(z)), estimated with one z per sample (decoded to ``x_hat``)."""
    reconstruction = gaussian_negative_log_likelihood(x, x_hat, std).mean()
    kl = gaussian_kl(mu, logvar).mean()
    return ELBOTerms(reconstruction + kl, reconstruction, kl)


class VAE(nn.Module):
    """x (N, 64) -> (mu, logvar) (N, latent) each -> z = mu + sigma * eps -> x_hat (N, 64) in [0, 1]."""

    def __init__(self, latent: int = 8, hidden: int = 256):
        super().__init__()
        self.latent = latent
        self.encoder = mlp((PIXELS, hidden, 2 * latent))
        self.decoder = nn.Sequential(mlp((latent, hidden, PIXELS)), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decoder(reparameterise(mu, logvar, eps)), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n new digits: z ~ N(0, I) decoded to the decoder's means, (N, 64) in [0, 1]."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent, generator=generator).to(device)
        return self.decoder(z)


def batches(n: int, batch_size: int, generator: torch.Generator):
    """Shuffled index batches covering range(n) once."""
    order = torch.randperm(n, generator=generator)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def _train(model: nn.Module, X: torch.Tensor, epochs: int, batch_size: int, lr: float, seed: int,
           batch_loss: Callable[[torch.Tensor, torch.Generator], torch.Tensor]) -> list[float]:
    """Adam on ``batch_loss(batch, generator)`` over shuffled minibatches of ``X``, every draw from one generator
    seeded with ``seed``; the mean loss of each epoch."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    with single_cpu_thread(X.device):
        return minibatch_descent(optimizer, epochs,
                                 lambda: ((X[index],) for index in batches(len(X), batch_size, generator)),
                                 lambda batch: batch_loss(batch, generator))


def train_autoencoder(model: Autoencoder, X: torch.Tensor, epochs: int, batch_size: int = 64, lr: float = 1e-3,
                      seed: int = 0) -> list[float]:
    """Adam on the slides' L_AE; the mean loss of each epoch."""
    return _train(model, X, epochs, batch_size, lr, seed, lambda x, _: reconstruction_error(x, model(x)[0]))


def train_vae(model: VAE, X: torch.Tensor, epochs: int, batch_size: int = 64, lr: float = 1e-3,
              seed: int = 0) -> list[float]:
    """Adam on the negative ELBO, one eps ~ N(0, I) per sample and step; the mean loss of each epoch."""

    def batch_loss(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        eps = torch.randn(len(x), model.latent, generator=generator)
        return negative_elbo(x, *model(x, eps)).loss

    return _train(model, X, epochs, batch_size, lr, seed, batch_loss)


def trained_digits_vae(latent: int = 8, epochs: int = 60, seed: int = 0) -> VAE:
    """A VAE trained on the training digits (weights drawn after ``torch.manual_seed(seed)``, then
    :func:`train_vae` for ``epochs`` with ``seed``), in eval mode.

    The training runs once per process and arguments; each call returns a fresh copy of the result, so that a
    caller may lend it to a student's code (which may change it) without reaching the next caller's copy. Lab 09's
    tests use it in two test cells, and a grader's worker grades many submissions.
    """
    return copy.deepcopy(_trained_digits_vae(latent, epochs, seed))


@functools.lru_cache(maxsize=2)
def _trained_digits_vae(latent: int, epochs: int, seed: int) -> VAE:
    with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's global generator is left as it was
        torch.manual_seed(seed)
        model = VAE(latent=latent)
    train_vae(model, digit_pixels("train")[0], epochs=epochs, seed=seed)
    return model.eval()


@torch.no_grad()
def held_out_negative_elbo(model: VAE, X: torch.Tensor, seed: int = 0) -> ELBOTerms:
    """The negative ELBO of ``X`` (one eps per sample, drawn from ``seed``), in eval mode."""
    model.eval()
    eps = torch.randn(len(X), model.latent, generator=torch.Generator().manual_seed(seed))
    terms = negative_elbo(X, *model(X, eps))
    model.train()
    return terms


def sharpness(pixels: torch.Tensor) -> float:
    """Mean size of the steps between neighbouring pixels of (N, 64) images in [0, 1], across and down: crisp
    strokes make large steps, blur makes small ones."""
    images = pixels.reshape(-1, 8, 8)
    across = (images[:, :, 1:] - images[:, :, :-1]).abs().mean()
    down = (images[:, 1:, :] - images[:, :-1, :]).abs().mean()
    return ((across + down) / 2).item()


@dataclass(frozen=True)
class SampleScore:
    """How 1,000 generated digits score: crispness (:func:`sharpness`) and what the kit's digits classifier sees
    (course.digit_quality: confident share, classes covered, the smallest class's count, Fréchet distance)."""

    model: str
    sharpness: float
    confident_share: float
    classes_covered: int
    smallest_class: int
    frechet_distance: float


def score_samples(model: str, pixels: torch.Tensor, seed: int = 0) -> SampleScore:
    """Score (N, 64) generated pixels in [0, 1] with the digits classifier of ``seed``."""
    report = score_generated(as_quality_images(pixels), seed=seed)
    return SampleScore(model, sharpness(pixels), report.confident_share, report.classes_covered,
                       min(report.class_histogram), report.frechet_distance)


def score_table(scores: list[SampleScore], real_sharpness: float) -> str:
    """One row per model, with the real digits' sharpness in the header."""
    model_head, sharpness_head, confident_head = tr("model"), tr("sharpness"), tr("confident")
    classes_head, smallest_head, frechet_head = tr("classes"), tr("smallest class"), tr("Fréchet distance")
    header = (f"{model_head:<28}{sharpness_head:>10}{confident_head:>11}{classes_head:>9}{smallest_head:>16}"
              f"{frechet_head:>18}")
    real = tr("(real digits)")
    lines = [header, f"{real:<28}{real_sharpness:>10.3f}", "-" * len(header)]
    for score in scores:
        lines.append(f"{score.model:<28}{score.sharpness:>10.3f}{score.confident_share:>11.1%}"
                     f"{score.classes_covered:>6d}/10{score.smallest_class:>16d}{score.frechet_distance:>18.1f}")
    return "\n".join(lines)
