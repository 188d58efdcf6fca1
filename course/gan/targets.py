"""The distributions a toy GAN learns, each with a seeded sampler, and the generator's noise.

1-D: one Gaussian and a mixture; 2-D: the ring of 8 Gaussians and the 5x5 grid of the mode-collapse
benchmarks, and a spiral. Every sampler takes a ``torch.Generator`` or a seed and never touches the
global generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class GaussianMixture:
    """A mixture of isotropic Gaussians in ``dim`` dimensions: one Gaussian is a mixture of one.

    ``means`` is (K, dim), ``stds`` and ``weights`` are (K,). ``sample`` draws float32 samples
    of shape (n, dim) from a ``torch.Generator`` (seeded by the caller) or from a seed.
    """

    means: torch.Tensor
    stds: torch.Tensor
    weights: torch.Tensor
    name: str = "mixture"

    def __post_init__(self):
        means = torch.as_tensor(self.means, dtype=torch.float64)
        means = means[:, None] if means.dim() == 1 else means
        count = means.shape[0]
        stds = torch.as_tensor(self.stds, dtype=torch.float64).expand(count).clone()
        weights = torch.as_tensor(self.weights, dtype=torch.float64).expand(count).clone()
        if (stds <= 0).any() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("stds must be positive and weights non-negative with a positive sum")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "stds", stds)
        object.__setattr__(self, "weights", weights / weights.sum())

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def classes(self) -> int:
        """The number of components: the labels :meth:`sample_labeled` returns are 0 .. classes - 1."""
        return self.means.shape[0]

    def sample(self, n: int, generator: torch.Generator | int | None = None) -> torch.Tensor:
        """``n`` samples, (n, dim) float32 on the CPU; ``generator`` may be a seed."""
        return self.sample_labeled(n, generator)[0]

    def sample_labeled(self, n: int, generator: torch.Generator | int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` samples (n, dim) and the component each came from (n,) int64, e.g. a CGAN's condition."""
        generator = as_generator(generator)
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        return (self.means[component] + self.stds[component, None] * noise).float(), component

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) for x of shape (n, dim) (or (n,) when dim is 1); float64, shape (n,)."""
        x = torch.as_tensor(x, dtype=torch.float64).reshape(-1, self.dim)
        squared = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)  # (n, K)
        log_normal = -squared / (2 * self.stds**2) - self.dim * torch.log(self.stds * math.sqrt(2 * math.pi))
        return torch.logsumexp(torch.log(self.weights) + log_normal, dim=1)

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """p(x), e.g. to draw p_data or the optimal discriminator p_data / (p_data + p_g)."""
        return self.log_prob(x).exp()

    def nearest_mode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For each sample: the index of the closest mean and the distance to it in that mode's stds."""
        x = torch.as_tensor(x, dtype=torch.float64).reshape(-1, self.dim)
        distance = torch.cdist(x, self.means)  # (n, K)
        closest = distance.argmin(dim=1)
        return closest, distance.gather(1, closest[:, None])[:, 0] / self.stds[closest]


@dataclass(frozen=True)
class Spiral:
    """A 2-D spiral: points along r = radius * t, angle = 2 pi turns t for t in [0.1, 1], plus noise."""

    turns: float = 1.5
    radius: float = 2.0
    noise: float = 0.05
    name: str = "spiral"
    dim: int = 2

    def sample(self, n: int, generator: torch.Generator | int | None = None) -> torch.Tensor:
        generator = as_generator(generator)
        t = 0.1 + 0.9 * torch.rand(n, generator=generator, dtype=torch.float64)
        angle = 2 * math.pi * self.turns * t
        points = self.radius * t[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
        return (points + self.noise * torch.randn(n, 2, generator=generator, dtype=torch.float64)).float()


Target = GaussianMixture | Spiral


def as_generator(generator: torch.Generator | int | None) -> torch.Generator | None:
    """A sampler's ``generator`` argument as a generator: a seed becomes a freshly seeded one."""
    if isinstance(generator, int):
        return torch.Generator().manual_seed(generator)
    return generator


def gaussian_1d(mean: float = 4.0, std: float = 1.25) -> GaussianMixture:
    """One 1-D Gaussian N(mean, std^2): the classic first target of a GAN."""
    return GaussianMixture([[mean]], [std], [1.0], name="gaussian")


def mixture_1d(means=(-2.0, 2.0), std: float = 0.5, weights=None) -> GaussianMixture:
    """A 1-D mixture of Gaussians of equal ``std`` (equal weights unless given): two modes by default."""
    means = torch.tensor(means, dtype=torch.float64)[:, None]
    weights = [1.0] * len(means) if weights is None else weights
    return GaussianMixture(means, [std], weights, name="mixture")


def ring_2d(modes: int = 8, radius: float = 2.0, std: float = 0.02) -> GaussianMixture:
    """``modes`` tight Gaussians equally spaced on a circle: the mode-collapse test of GAN papers.

    The defaults are the Unrolled GAN and VEEGAN benchmark: 8 modes on a circle of radius 2, std 0.02.
    """
    angle = torch.arange(modes, dtype=torch.float64) * 2 * math.pi / modes
    means = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return GaussianMixture(means, [std], [1.0] * modes, name="ring")


def grid_2d(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """A side x side grid of Gaussians centred on the origin, ``spacing`` apart.

    The defaults are the VEEGAN (and PacGAN) benchmark: 25 modes at {-4, -2, 0, 2, 4}^2, std 0.05.
    """
    ticks = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    means = torch.cartesian_prod(ticks, ticks)
    return GaussianMixture(means, [std], [1.0] * (side * side), name="grid")


TARGETS: dict[str, Callable[..., Target]] = {
    "gaussian": gaussian_1d,
    "mixture": mixture_1d,
    "ring": ring_2d,
    "grid": grid_2d,
    "spiral": Spiral,
}


def make_target(name: str, **kwargs) -> Target:
    """A target by name (``TARGETS``), with its keyword arguments."""
    try:
        factory = TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; choose one of {sorted(TARGETS)}") from None
    return factory(**kwargs)


def sample_noise(n: int, noise_dim: int, generator: torch.Generator | int | None = None) -> torch.Tensor:
    """The generator's input: standard normal noise z of shape (n, noise_dim), float32 on the CPU."""
    return torch.randn(n, noise_dim, generator=as_generator(generator))
