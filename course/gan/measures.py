"""How close generated samples come to a target: modes covered (the VEEGAN paper's definitions) and
Wasserstein-1 distances (exact in 1-D, sliced in 2-D)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from course.gan.targets import GaussianMixture

HIGH_QUALITY_STDS = 3.0
MODE_SAMPLES = 2500


@dataclass(frozen=True)
class ModeCoverage:
    """How a sample covers the modes of a mixture, as the VEEGAN paper measures it.

    A sample is *high quality* when it lies within ``threshold`` standard deviations of its nearest
    mode; a mode is *covered* when it is the nearest mode of at least one high-quality sample.
    ``counts[k]`` is the number of high-quality samples whose nearest mode is k.
    """

    counts: torch.Tensor
    samples: int
    threshold: float

    @property
    def modes(self) -> int:
        return len(self.counts)

    @property
    def modes_covered(self) -> int:
        return int((self.counts > 0).sum())

    @property
    def high_quality_share(self) -> float:
        return self.counts.sum().item() / self.samples


def mode_coverage(samples: torch.Tensor, mixture: GaussianMixture,
                  threshold: float = HIGH_QUALITY_STDS) -> ModeCoverage:
    """Modes covered and high-quality share of ``samples`` (n, dim) against a Gaussian ``mixture``.

    The definitions of the GAN literature on the ring and grid benchmarks (VEEGAN, PacGAN, which
    report Unrolled GAN with them too): 3 standard deviations, on 2,500 samples (``MODE_SAMPLES``).
    """
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(f"modes are defined for a GaussianMixture target, not {type(mixture).__name__}")
    samples = torch.as_tensor(samples).detach().cpu()
    if samples.numel() == 0:
        raise ValueError("give at least one sample")
    closest, in_stds = mixture.nearest_mode(samples)
    high_quality = in_stds <= threshold
    counts = torch.bincount(closest[high_quality], minlength=mixture.means.shape[0])
    return ModeCoverage(counts, len(closest), threshold)


# -- distances between samples --------------------------------------------------------------------


def wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> float:
    """The Wasserstein-1 (earth mover's) distance between two 1-D samples.

    It is the area between the two empirical CDFs; for samples of equal size it reduces to the
    mean absolute difference of the sorted values, mean |sort(a) - sort(b)|.
    """
    a = torch.as_tensor(a, dtype=torch.float64).detach().cpu().reshape(-1)
    b = torch.as_tensor(b, dtype=torch.float64).detach().cpu().reshape(-1)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("both samples need at least one value")
    if len(a) == len(b):
        return (a.sort().values - b.sort().values).abs().mean().item()
    a, b = a.sort().values, b.sort().values
    points = torch.cat([a, b]).sort().values
    widths = points.diff()
    cdf_a = torch.searchsorted(a, points[:-1], right=True).double() / len(a)
    cdf_b = torch.searchsorted(b, points[:-1], right=True).double() / len(b)
    return ((cdf_a - cdf_b).abs() * widths).sum().item()


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = 64, seed: int = 0) -> float:
    """Mean 1-D Wasserstein distance of the samples projected on ``projections`` random directions.

    For 1-D samples it is :func:`wasserstein_1d`; in 2-D it tells how far generated points lie from the
    target (a collapsed generator that covers one mode of the ring scores badly).
    """
    a = torch.as_tensor(a, dtype=torch.float64).detach().cpu()
    b = torch.as_tensor(b, dtype=torch.float64).detach().cpu()
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if a.shape[1] == 1:
        return wasserstein_1d(a, b)
    directions = torch.randn(a.shape[1], projections, generator=torch.Generator().manual_seed(seed),
                             dtype=torch.float64)
    directions /= directions.norm(dim=0, keepdim=True)
    projected_a, projected_b = a @ directions, b @ directions  # (n, projections)
    return sum(wasserstein_1d(projected_a[:, j], projected_b[:, j]) for j in range(projections)) / projections
