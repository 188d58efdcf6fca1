"""course.gan against torch references: targets vs torch.distributions, losses vs nn.BCE*Loss,
steps replayed with plain torch code, distances vs scipy, and the trainer seeded and converging."""

import copy
import math

import pytest
import scipy.stats
import torch
import torch.nn.functional as F
from torch import distributions as dist
from torch import nn

from course.gan import (
    HIGH_QUALITY_STDS,
    MODE_SAMPLES,
    TARGETS,
    Discriminator,
    GANHistory,
    GANTrainer,
    Generator,
    Spiral,
    StepStats,
    alternating_step,
    coverage_table,
    discriminator_loss,
    discriminator_step,
    gaussian_1d,
    generator_loss,
    generator_loss_non_saturating,
    generator_loss_saturating,
    generator_step,
    grid_2d,
    make_target,
    measure_mode_coverage,
    mixture_1d,
    mode_coverage,
    ring_2d,
    sample_noise,
    sliced_wasserstein,
    train_gan,
    wasserstein_1d,
)

# -- targets -----------------------------------------------------------------------------------


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


def test_spiral_winds_outwards():
    points = Spiral(noise=0.0).sample(1000, generator=0)
    radius = points.norm(dim=1)
    assert points.shape == (1000, 2) and radius.min() >= 0.2 - 1e-5 and radius.max() <= 2.0 + 1e-5


def test_bad_targets_are_refused():
    with pytest.raises(ValueError, match="unknown target"):
        make_target("moons")
    with pytest.raises(ValueError):
        mixture_1d((0.0, 1.0), std=-1.0)


# -- models and losses ---------------------------------------------------------------------------


def test_models_have_the_documented_shapes():
    generator, discriminator = Generator(noise_dim=3, data_dim=2), Discriminator(data_dim=2)
    fake = generator(sample_noise(10, 3, generator=0))
    assert fake.shape == (10, 2) and discriminator(fake).shape == (10,)


def logits_pair(seed=0, n=64, scale=3.0):
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, generator=generator), scale * torch.randn(n + 7, generator=generator)


@pytest.mark.parametrize("real_label", [1.0, 0.9])
def test_discriminator_loss_is_bce_with_real_and_fake_labels(real_label):
    real, fake = logits_pair()
    expected = (nn.BCEWithLogitsLoss()(real, torch.full_like(real, real_label))
                + nn.BCEWithLogitsLoss()(fake, torch.zeros_like(fake)))
    assert torch.allclose(discriminator_loss(real, fake, real_label), expected, atol=1e-6)
    via_probabilities = (nn.BCELoss()(torch.sigmoid(real), torch.full_like(real, real_label))
                         + nn.BCELoss()(torch.sigmoid(fake), torch.zeros_like(fake)))
    assert torch.allclose(discriminator_loss(real, fake, real_label), via_probabilities, atol=1e-5)


def test_discriminator_loss_is_minus_the_value_function():
    real, fake = logits_pair(seed=1)
    value = torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean()
    assert torch.allclose(discriminator_loss(real, fake), -value, atol=1e-5)


def test_generator_losses_match_bce_and_their_gradients():
    _, fake = logits_pair(seed=2)
    ones, zeros = torch.ones_like(fake), torch.zeros_like(fake)
    assert torch.allclose(generator_loss_non_saturating(fake), F.binary_cross_entropy_with_logits(fake, ones))
    assert torch.allclose(generator_loss(fake), nn.BCEWithLogitsLoss()(fake, ones))
    assert torch.allclose(generator_loss_saturating(fake), -F.binary_cross_entropy_with_logits(fake, zeros))
    assert torch.allclose(generator_loss(fake, "saturating"), torch.log1p(-torch.sigmoid(fake)).mean(), atol=1e-6)
    leaf = fake.clone().requires_grad_(True)
    (saturating_grad,) = torch.autograd.grad(generator_loss_saturating(leaf), leaf)
    (non_saturating_grad,) = torch.autograd.grad(generator_loss_non_saturating(leaf), leaf)
    d_fake = torch.sigmoid(fake)
    assert torch.allclose(saturating_grad, -d_fake / len(fake), atol=1e-7)
    assert torch.allclose(non_saturating_grad, -(1 - d_fake) / len(fake), atol=1e-7)
    with pytest.raises(ValueError):
        generator_loss(fake, "wasserstein")


def test_losses_stay_finite_at_extreme_logits():
    extreme = torch.tensor([-1e4, -50.0, 50.0, 1e4], requires_grad=True)
    losses = [discriminator_loss(extreme, extreme, 0.9), generator_loss(extreme), generator_loss(extreme, "saturating")]
    for loss in losses:
        (grad,) = torch.autograd.grad(loss, extreme)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()


# -- steps, replayed with plain torch code -------------------------------------------------------------


def small_gan(seed=0, optimizer=torch.optim.Adam):
    torch.manual_seed(seed)
    generator, discriminator = Generator(noise_dim=2, data_dim=1, hidden=8), Discriminator(data_dim=1, hidden=8)
    return (generator, discriminator, optimizer(generator.parameters(), lr=0.01),
            optimizer(discriminator.parameters(), lr=0.01))


def reference_step(netG, netD, optG, optD, real_batches, noise_batches, g_noise, real_label, saturating):
    """The textbook PyTorch GAN step (as in PyTorch's DCGAN tutorial), with nn.BCEWithLogitsLoss."""
    criterion = nn.BCEWithLogitsLoss()
    for real, noise in zip(real_batches, noise_batches):
        netD.zero_grad()
        fake = netG(noise)
        errD = (criterion(netD(real), torch.full((len(real),), real_label))
                + criterion(netD(fake.detach()), torch.zeros(len(noise))))
        errD.backward()
        optD.step()
    netG.zero_grad()
    output = netD(netG(g_noise))
    if saturating:
        errG = -criterion(output, torch.zeros(len(g_noise)))
    else:
        errG = criterion(output, torch.ones(len(g_noise)))
    errG.backward()
    optG.step()
    return errD, errG


def parameters(*modules):
    return torch.cat([p.detach().flatten() for module in modules for p in module.parameters()])


@pytest.mark.parametrize("d_steps, real_label, kind", [(1, 1.0, "non-saturating"), (3, 0.9, "saturating"),
                                                       (2, 1.0, "non-saturating")])
@pytest.mark.parametrize("optimizer", [torch.optim.Adam, torch.optim.SGD], ids=["adam", "sgd"])
def test_alternating_step_replays_the_reference(d_steps, real_label, kind, optimizer):
    ours = small_gan(optimizer=optimizer)
    G, D = copy.deepcopy(ours[0]), copy.deepcopy(ours[1])
    reference = (G, D, optimizer(G.parameters(), lr=0.01), optimizer(D.parameters(), lr=0.01))
    target = gaussian_1d()
    for step in range(3):
        real = [target.sample(32, generator=100 * step + i) for i in range(d_steps)]
        noise = [sample_noise(32, 2, generator=100 * step + 50 + i) for i in range(d_steps)]
        g_noise = sample_noise(32, 2, generator=100 * step + 99)
        stats = alternating_step(*ours, real, noise, g_noise, real_label, kind)
        errD, errG = reference_step(*reference, real, noise, g_noise, real_label, kind == "saturating")
        assert torch.allclose(parameters(ours[0], ours[1]), parameters(G, D), atol=1e-6)
        assert stats.d_loss.item() == pytest.approx(errD.item(), abs=1e-6)
        assert stats.g_loss.item() == pytest.approx(errG.item(), abs=1e-6)


def test_discriminator_step_leaves_the_generator_alone():
    generator, discriminator, _, d_optimizer = small_gan()
    before_g, before_d = parameters(generator), parameters(discriminator)
    real, noise = gaussian_1d().sample(16, generator=0), sample_noise(16, 2, generator=1)
    loss, d_real, d_fake = discriminator_step(generator, discriminator, d_optimizer, real, noise)
    assert torch.equal(parameters(generator), before_g)
    assert all(p.grad is None for p in generator.parameters()), "the fake must be detached for the D step"
    assert not torch.equal(parameters(discriminator), before_d)
    assert 0 < d_real.item() < 1 and 0 < d_fake.item() < 1 and loss.item() > 0


def test_generator_step_moves_only_the_generator():
    generator, discriminator, g_optimizer, _ = small_gan()
    before_g, before_d = parameters(generator), parameters(discriminator)
    generator_step(generator, discriminator, g_optimizer, sample_noise(16, 2, generator=2))
    assert not torch.equal(parameters(generator), before_g)
    assert torch.equal(parameters(discriminator), before_d)


# -- distances -----------------------------------------------------------------------------------


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


# -- training ------------------------------------------------------------------------------------


def test_trainer_is_seeded_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = GANTrainer(gaussian_1d(), seed=4, device="cpu")
    first.step(30)
    assert torch.equal(torch.get_rng_state(), state)
    second = GANTrainer(gaussian_1d(), seed=4, device="cpu")
    second.step(30)
    assert first.history == second.history
    assert torch.equal(parameters(first.generator), parameters(second.generator))
    third = GANTrainer(gaussian_1d(), seed=5, device="cpu")
    third.step(30)
    assert first.history.d_loss != third.history.d_loss


def test_trainer_records_every_step_and_the_distance():
    trainer = GANTrainer(gaussian_1d(), seed=0, device="cpu", d_steps=2, batch_size=32)
    history = trainer.train(25, eval_every=10)
    assert len(history) == 25 == trainer.steps_done
    assert history.distance_steps == [0, 10, 20, 25]
    assert trainer.d_optimizer.state[next(trainer.discriminator.parameters())]["step"].item() == 50  # k = 2
    assert all(0 < p < 1 for p in history.d_real + history.d_fake)
    assert history.distance[-1] == pytest.approx(wasserstein_1d(trainer.generate(), trainer._eval_target))


def test_history_losses_match_a_recomputation():
    trainer = GANTrainer(gaussian_1d(), seed=0, device="cpu")
    G0, D0 = copy.deepcopy(trainer.generator), copy.deepcopy(trainer.discriminator)
    real = trainer.target.sample(trainer.batch_size, generator=torch.Generator().manual_seed(1))
    trainer.step()
    noise = sample_noise(trainer.batch_size, trainer.noise_dim, generator=torch.Generator().manual_seed(2))
    real_logits, fake_logits = D0(real), D0(G0(noise))
    expected = F.binary_cross_entropy_with_logits(real_logits, torch.ones(len(real))) + \
        F.binary_cross_entropy_with_logits(fake_logits, torch.zeros(len(noise)))
    assert trainer.history.d_loss[0] == pytest.approx(expected.item(), rel=1e-5)
    assert trainer.history.d_real[0] == pytest.approx(torch.sigmoid(real_logits).mean().item(), rel=1e-5)
    assert trainer.history.d_fake[0] == pytest.approx(torch.sigmoid(fake_logits).mean().item(), rel=1e-5)


def test_default_run_learns_the_1d_gaussian():
    """The lecture's claim at the default size: 2000 steps bring the Wasserstein-1 distance below 0.25."""
    trainer = train_gan(gaussian_1d(), steps=2000, eval_every=500, seed=0, device="cpu")
    assert trainer.history.distance[0] > 2.0
    assert trainer.history.distance[-1] < 0.25
    assert abs(trainer.history.d_real[-1] - 0.5) < 0.1 and abs(trainer.history.d_fake[-1] - 0.5) < 0.1


def test_two_dimensional_targets_train_and_probe():
    trainer = train_gan(ring_2d(), steps=20, eval_every=10, seed=0, device="cpu", batch_size=64)
    grid = torch.cartesian_prod(torch.linspace(-3, 3, 5), torch.linspace(-3, 3, 5))
    probability = trainer.discriminator_probability(grid)
    assert probability.shape == (25,) and ((probability > 0) & (probability < 1)).all()
    assert trainer.generate(10, seed=0).shape == (10, 2)
    assert all(distance > 0 for distance in trainer.history.distance)


def test_bad_options_are_refused():
    with pytest.raises(ValueError):
        GANTrainer(gaussian_1d(), kind="minimax", device="cpu")
    with pytest.raises(ValueError):
        GANTrainer(gaussian_1d(), d_steps=0, device="cpu")
    with pytest.raises(ValueError, match="lr_decay_steps"):
        GANTrainer(gaussian_1d(), lr_decay_steps=0, device="cpu")


def test_learning_rates_decay_linearly_to_zero_like_rates_set_by_hand():
    """Step t runs at lr * (1 - t / lr_decay_steps) for both players; past the end the players stop moving."""
    decayed = GANTrainer(gaussian_1d(), seed=3, device="cpu", lr_d=4e-3, lr_g=2e-3, lr_decay_steps=4)
    by_hand = GANTrainer(gaussian_1d(), seed=3, device="cpu", lr_d=4e-3, lr_g=2e-3)
    for step in range(6):
        for optimizer, lr in ((by_hand.d_optimizer, 4e-3), (by_hand.g_optimizer, 2e-3)):
            optimizer.param_groups[0]["lr"] = lr * max(0.0, 1 - step / 4)
        decayed.step()
        by_hand.step()
        assert torch.equal(parameters(decayed.generator, decayed.discriminator),
                           parameters(by_hand.generator, by_hand.discriminator)), f"step {step}"
    assert decayed.d_optimizer.param_groups[0]["lr"] == decayed.g_optimizer.param_groups[0]["lr"] == 0.0
    frozen = parameters(decayed.generator, decayed.discriminator)
    decayed.step()
    assert torch.equal(parameters(decayed.generator, decayed.discriminator), frozen)


def test_measure_mode_coverage_scores_each_seed_like_a_trainer_scored_by_hand():
    options = dict(noise_dim=2, hidden=16, batch_size=64, device="cpu")
    run = measure_mode_coverage(ring_2d(), "vanilla", steps=30, seeds=[0, 1], samples=500, **options)
    for index, seed in enumerate([0, 1]):
        trainer = GANTrainer(ring_2d(), seed=seed, **options)
        trainer.step(30)
        by_hand = mode_coverage(trainer.generate(500, seed=10_000 + seed), ring_2d())
        assert run.modes_covered[index] == by_hand.modes_covered
        assert run.high_quality_share[index] == by_hand.high_quality_share
    assert run.mean_modes_covered == sum(run.modes_covered) / 2 and run.modes == 8
    table = coverage_table([run])
    assert "ring" in table and "vanilla" in table and f"{run.mean_high_quality_share:.1%}" in table
    with pytest.raises(ValueError, match="at least one step and one seed"):
        measure_mode_coverage(ring_2d(), "none", steps=10, seeds=[])


def test_history_records_steps_in_order():
    history = GANHistory()
    history.record([])
    steps = [StepStats(*(torch.tensor(float(4 * i + j)) for j in range(4))) for i in range(3)]
    history.record(steps)
    assert history.d_loss == [0.0, 4.0, 8.0] and history.g_loss == [1.0, 5.0, 9.0]
    assert history.d_real == [2.0, 6.0, 10.0] and history.d_fake == [3.0, 7.0, 11.0] and len(history) == 3
