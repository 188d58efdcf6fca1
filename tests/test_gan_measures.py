"""course.gan.measures: modes covered against their definition, distances against scipy."""

import math

import pytest
import scipy.stats
import torch

from course.gan.measures import HIGH_QUALITY_STDS, MODE_SAMPLES, mode_coverage, sliced_wasserstein, wasserstein_1d
from course.gan.targets import Spiral, grid_2d, ring_2d

# -- mode coverage ---------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [ring_2d(), grid_2d()], ids=lambda t: t.name)
def test_the_target_itself_covers_every_mode_with_the_rayleigh_share_of_high_quality_samples(target):
    coverage = mode_coverage(target.sample(MODE_SAMPLES * 8, generator=0), target)
    assert coverage.modes_covered == coverage.modes == target.means.shape[0]
    # in 2-D the distance to the mean in stds is Rayleigh distributed: P(r <= 3) = 1 - exp(-9/2)
    assert coverage.high_quality_share == pytest.approx(1 - math.exp(-HIGH_QUALITY_STDS**2 / 2), abs=0.005)


def test_a_collapsed_generator_covers_one_mode_and_stray_samples_are_not_high_quality():
    ring = ring_2d()
    collapsed = ring.means[3].float().expand(100, 2)
    stray = torch.zeros(100, 2)  # the centre of the ring, 100 stds from every mode
    coverage = mode_coverage(torch.cat([collapsed, stray]), ring)
    assert coverage.modes_covered == 1 and coverage.counts[3] == 100
    assert coverage.high_quality_share == 0.5
    just_inside = ring.means[0] + torch.tensor([2.99 * 0.02, 0.0], dtype=torch.float64)
    just_outside = ring.means[1] + torch.tensor([0.0, 3.01 * 0.02], dtype=torch.float64)
    edge = mode_coverage(torch.stack([just_inside, just_outside]), ring)
    assert edge.counts.tolist() == [1, 0, 0, 0, 0, 0, 0, 0]


def test_mode_coverage_refuses_targets_without_modes_and_empty_samples():
    with pytest.raises(TypeError, match="GaussianMixture"):
        mode_coverage(torch.zeros(3, 2), Spiral())
    with pytest.raises(ValueError, match="at least one sample"):
        mode_coverage(torch.zeros(0, 2), ring_2d())


# -- distances -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [(500, 500), (300, 700), (1, 9)])
def test_wasserstein_1d_matches_scipy(sizes):
    generator = torch.Generator().manual_seed(sum(sizes))
    a = torch.randn(sizes[0], generator=generator)
    b = 1.5 * torch.randn(sizes[1], generator=generator) + 0.7
    expected = scipy.stats.wasserstein_distance(a.numpy(), b.numpy())
    assert wasserstein_1d(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_wasserstein_1d_of_equal_sizes_is_the_mean_gap_of_sorted_values():
    a, b = torch.tensor([3.0, 1.0, 2.0]), torch.tensor([0.0, 5.0, 1.0])
    assert wasserstein_1d(a, b) == pytest.approx((1 + 1 + 2) / 3)  # sorted: 1 2 3 against 0 1 5


def test_sliced_wasserstein_is_the_mean_over_projections():
    a, b = ring_2d().sample(400, generator=0), grid_2d().sample(400, generator=1)
    directions = torch.randn(2, 16, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    directions /= directions.norm(dim=0, keepdim=True)
    expected = sum(scipy.stats.wasserstein_distance((a.double() @ directions[:, j]).numpy(),
                                                    (b.double() @ directions[:, j]).numpy()) for j in range(16)) / 16
    assert sliced_wasserstein(a, b, projections=16, seed=5) == pytest.approx(expected, rel=1e-9)
    assert sliced_wasserstein(a[:, :1], b[:, :1]) == pytest.approx(wasserstein_1d(a[:, 0], b[:, 0]))
