"""course.gan.targets against torch.distributions and their definitions: densities, samplers, modes."""

import pytest
import torch
from torch import distributions as dist

from course.gan.targets import TARGETS, Spiral, gaussian_1d, grid_2d, make_target, mixture_1d, ring_2d


def torch_mixture(target):
    """The same mixture as torch.distributions builds it."""
    components = dist.Independent(dist.Normal(target.means, target.stds[:, None].expand_as(target.means)), 1)
    return dist.MixtureSameFamily(dist.Categorical(probs=target.weights), components)


@pytest.mark.parametrize("target", [gaussian_1d(), mixture_1d(), mixture_1d((-3.0, 0.0, 4.0), 0.3, (1, 2, 1)),
                                    ring_2d(), grid_2d()], ids=lambda t: t.name)
def test_log_prob_matches_torch_distributions(target):
    x = target.sample(300, generator=1).double() + 0.1 * torch.randn(300, target.dim, dtype=torch.float64)
    assert torch.allclose(target.log_prob(x), torch_mixture(target).log_prob(x), atol=1e-9)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_samplers_are_seeded_and_shaped(name):
    target = make_target(name)
    first, again = target.sample(500, generator=7), target.sample(500, generator=7)
    assert first.shape == (500, target.dim) and first.dtype == torch.float32
    assert torch.equal(first, again)
    assert not torch.equal(first, target.sample(500, generator=8))
    generator = torch.Generator().manual_seed(7)
    assert torch.equal(target.sample(500, generator=generator), first)


def test_one_dimensional_targets_have_their_moments():
    samples = gaussian_1d(4.0, 1.25).sample(200_000, generator=0).double()
    assert samples.mean().item() == pytest.approx(4.0, abs=0.01)
    assert samples.std().item() == pytest.approx(1.25, abs=0.01)
    mixture = mixture_1d((-2.0, 2.0), 0.5).sample(200_000, generator=0).double()
    assert mixture.mean().item() == pytest.approx(0.0, abs=0.02)
    assert mixture.var().item() == pytest.approx(4.0 + 0.25, abs=0.05)  # between-mode + within-mode variance


def test_ring_and_grid_cover_their_modes_tightly():
    ring = ring_2d()
    samples = ring.sample(4000, generator=0)
    assert ring.means.shape == (8, 2)
    assert torch.allclose(ring.means.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    closest, in_stds = ring.nearest_mode(samples)
    assert set(closest.tolist()) == set(range(8)) and (in_stds < 6).all()
    assert ring.stds[0].item() == 0.02
    grid = grid_2d()
    closest, _ = grid.nearest_mode(grid.sample(4000, generator=0))
    assert grid.means.shape == (25, 2) and set(closest.tolist()) == set(range(25))
    assert set(grid.means.flatten().tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}  # the VEEGAN grid


def test_spiral_winds_outwards():
    points = Spiral(noise=0.0).sample(1000, generator=0)
    radius = points.norm(dim=1)
    assert points.shape == (1000, 2) and radius.min() >= 0.2 - 1e-5 and radius.max() <= 2.0 + 1e-5


def test_bad_targets_are_refused():
    with pytest.raises(ValueError, match="unknown target"):
        make_target("moons")
    with pytest.raises(ValueError):
        mixture_1d((0.0, 1.0), std=-1.0)
