"""course.gan_variants.losses against independent references: torch.nn.functional, SciPy's W1 and a
per-sample torch.autograd loop for the gradient penalty."""

import math

import pytest
import scipy.stats
import torch
import torch.nn.functional as F
from torch import nn

from course.gan import Discriminator
from course.gan_variants.losses import (clip_weights, critic_loss, ebgan_discriminator_loss, feature_matching_loss,
                                        gradient_penalty, pulling_away_term, wasserstein_generator_loss)
from gan_helpers import one_cpu_thread, rng, seeded

pytestmark = pytest.mark.usefixtures(one_cpu_thread.__name__)  # every test here on one CPU thread


def test_feature_matching_loss_is_the_squared_distance_of_the_means():
    real = torch.randn(20, 6, generator=rng(2), dtype=torch.float64)
    fake = (0.5 * torch.randn(30, 6, generator=rng(3), dtype=torch.float64) + 0.3).requires_grad_(True)
    ours = feature_matching_loss(real, fake)
    expected = F.mse_loss(fake.mean(dim=0), real.mean(dim=0), reduction="sum")
    assert torch.allclose(ours, expected, rtol=1e-12)
    (ours_grad,) = torch.autograd.grad(ours, fake)
    (expected_grad,) = torch.autograd.grad(expected, fake)
    assert torch.allclose(ours_grad, expected_grad, rtol=1e-12)


def test_critic_losses_have_the_wasserstein_signs():
    real_scores = torch.randn(40, generator=rng(4), dtype=torch.float64)
    fake_scores = torch.randn(50, generator=rng(5), dtype=torch.float64)
    assert critic_loss(real_scores, fake_scores).item() == pytest.approx(fake_scores.mean() - real_scores.mean())
    assert wasserstein_generator_loss(fake_scores).item() == pytest.approx(-fake_scores.mean().item())
    # a critic scoring the real samples higher has a negative loss; G gains by raising its scores
    assert critic_loss(fake_scores.mean() + 1 + real_scores.abs(), fake_scores) < 0
    assert wasserstein_generator_loss(fake_scores + 1) < wasserstein_generator_loss(fake_scores)


@pytest.mark.parametrize("shift", [0.5, 3.0])
def test_minus_the_critic_loss_of_the_identity_is_w1_between_shifted_samples(shift):
    """For real = fake + shift (shift > 0), f(x) = x is an optimal 1-Lipschitz critic: -loss = W1."""
    fake = torch.randn(1000, generator=rng(6), dtype=torch.float64)
    real = fake + shift
    expected = scipy.stats.wasserstein_distance(real.numpy(), fake.numpy())
    assert -critic_loss(real, fake).item() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("shape", [(7, 3), (7, 1, 2, 2)], ids=["flat", "images"])
def test_gradient_penalty_of_a_linear_critic_is_the_norm_gap_squared(shape):
    critic = seeded(lambda: nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape[1:]), 1)), seed=1).double()
    with torch.no_grad():
        critic[1].weight.mul_(3.0)  # ||w|| away from 1
    real = torch.randn(*shape, generator=rng(7), dtype=torch.float64)
    fake = torch.randn(*shape, generator=rng(8), dtype=torch.float64)
    weight = critic[1].weight
    ours = gradient_penalty(critic, real, fake, rng(9))
    expected = (weight.norm() - 1) ** 2  # the slope of a linear critic is w at every x_hat
    assert ours.item() == pytest.approx(expected.item(), rel=1e-12)
    ours.backward()  # through create_graph=True, the penalty reaches w
    (expected_grad,) = torch.autograd.grad(expected, weight)
    assert torch.allclose(weight.grad, expected_grad, rtol=1e-12)
    assert critic[1].bias.grad is None  # the bias does not change the slope


def test_gradient_penalty_of_an_mlp_matches_a_per_sample_autograd_loop():
    critic = seeded(lambda: Discriminator(2, hidden=8), seed=2).double()
    real = torch.randn(6, 2, generator=rng(10), dtype=torch.float64)
    fake = torch.randn(6, 2, generator=rng(11), dtype=torch.float64) + 1.0
    params = list(critic.parameters())
    ours = gradient_penalty(critic, real, fake, rng(12))
    eps = torch.rand(6, 1, generator=rng(12))  # the documented draw: one U(0, 1) per sample
    terms = []
    for i in range(6):
        x_hat = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).requires_grad_(True)
        (slope,) = torch.autograd.grad(critic(x_hat[None]).sum(), x_hat, create_graph=True)
        terms.append((slope.norm() - 1) ** 2)
    expected = torch.stack(terms).mean()
    assert ours.item() == pytest.approx(expected.item(), rel=1e-10)
    ours_grads = torch.autograd.grad(ours, params, allow_unused=True, materialize_grads=True)
    expected_grads = torch.autograd.grad(expected, params, allow_unused=True, materialize_grads=True)
    for ours_grad, expected_grad in zip(ours_grads, expected_grads):
        assert torch.allclose(ours_grad, expected_grad, rtol=1e-9, atol=1e-12)
    assert torch.equal(ours_grads[-1], torch.zeros_like(params[-1]))  # the output bias never reaches the slope
    assert any(grad.abs().sum() > 0 for grad in ours_grads[:-1])
    # seeded: the same generator state gives the same penalty, another seed another one
    assert torch.equal(gradient_penalty(critic, real, fake, rng(12)), ours)
    assert not torch.equal(gradient_penalty(critic, real, fake, rng(13)), ours)


def test_clip_weights_clamps_every_parameter_in_place():
    module = seeded(lambda: nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1)), seed=3)
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(10)
    before = [p.detach().clone() for p in module.parameters()]
    identities = [id(p) for p in module.parameters()]
    clip_weights(module, 0.05)
    for p, original in zip(module.parameters(), before):
        assert torch.equal(p.detach(), torch.clamp(original, -0.05, 0.05)) and p.requires_grad
    assert [id(p) for p in module.parameters()] == identities
    assert any((original.abs() > 0.05).any() for original in before)  # something was clipped


@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_ebgan_discriminator_loss_is_energy_plus_hinge(margin):
    real_energy = torch.rand(10, generator=rng(14), dtype=torch.float64)
    fake_energy = 2 * torch.rand(12, generator=rng(15), dtype=torch.float64)
    expected = real_energy.mean() + F.hinge_embedding_loss(fake_energy, -torch.ones(12, dtype=torch.float64),
                                                           margin=margin)
    assert ebgan_discriminator_loss(real_energy, fake_energy, margin).item() == pytest.approx(expected.item(),
                                                                                             rel=1e-12)


@pytest.mark.parametrize("shape", [(7, 4), (5, 2, 3)], ids=["flat", "maps"])
def test_pulling_away_term_is_the_mean_squared_cosine_of_distinct_pairs(shape):
    embeddings = torch.randn(*shape, generator=rng(16), dtype=torch.float64)
    flat = embeddings.flatten(1)
    n = len(flat)
    pairs = [F.cosine_similarity(flat[i], flat[j], dim=0) ** 2 for i in range(n) for j in range(n) if i != j]
    assert pulling_away_term(embeddings).item() == pytest.approx(torch.stack(pairs).mean().item(), rel=1e-10)


def test_pulling_away_term_is_zero_for_orthogonal_and_one_for_parallel_codes():
    orthogonal = torch.diag(torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64))
    assert pulling_away_term(orthogonal).item() == pytest.approx(0.0, abs=1e-12)
    direction = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    parallel = torch.tensor([1.0, -2.0, 0.5, 4.0], dtype=torch.float64)[:, None] * direction
    assert pulling_away_term(parallel).item() == pytest.approx(1.0, rel=1e-12)


def test_pulling_away_term_with_a_zero_code_matches_the_pairwise_reference():
    embeddings = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    n = len(embeddings)
    pairs = [F.cosine_similarity(embeddings[i], embeddings[j], dim=0) ** 2
             for i in range(n) for j in range(n) if i != j]
    assert pulling_away_term(embeddings).item() == pytest.approx(torch.stack(pairs).mean().item(), abs=1e-9)
