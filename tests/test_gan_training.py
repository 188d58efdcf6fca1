"""course.gan.training: the trainer seeded, recording what it measured and converging."""

import copy

import pytest
import torch
import torch.nn.functional as F

from course.gan import StepStats
from course.gan.measures import wasserstein_1d
from course.gan.targets import gaussian_1d, ring_2d, sample_noise
from course.gan.training import GANHistory, GANTrainer, train_gan
from gan_helpers import parameters


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
    assert all(0 < p < 1 for p in history.real_verdict + history.fake_verdict)
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
    assert trainer.history.real_verdict[0] == pytest.approx(torch.sigmoid(real_logits).mean().item(), rel=1e-5)
    assert trainer.history.fake_verdict[0] == pytest.approx(torch.sigmoid(fake_logits).mean().item(), rel=1e-5)


def test_default_run_learns_the_1d_gaussian():
    """The lecture's claim at the default size: 2000 steps bring the Wasserstein-1 distance below 0.25."""
    trainer = train_gan(gaussian_1d(), steps=2000, eval_every=500, seed=0, device="cpu")
    assert trainer.history.distance[0] > 2.0
    assert trainer.history.distance[-1] < 0.25
    assert abs(trainer.history.real_verdict[-1] - 0.5) < 0.1 and abs(trainer.history.fake_verdict[-1] - 0.5) < 0.1


def test_two_dimensional_targets_train_and_probe():
    trainer = train_gan(ring_2d(), steps=20, eval_every=10, seed=0, device="cpu", batch_size=64)
    grid = torch.cartesian_prod(torch.linspace(-3, 3, 5), torch.linspace(-3, 3, 5))
    probability = trainer.discriminator_view(grid)
    assert probability.shape == (25,) and ((probability > 0) & (probability < 1)).all()
    assert trainer.generate(10, seed=0).shape == (10, 2)
    assert all(distance > 0 for distance in trainer.history.distance)


def test_bad_options_are_refused():
    with pytest.raises(ValueError):
        GANTrainer(gaussian_1d(), generator_loss_kind="minimax", device="cpu")
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


def test_history_records_steps_in_order():
    history = GANHistory()
    history.record([])
    steps = [StepStats(*(torch.tensor(float(4 * i + j)) for j in range(4))) for i in range(3)]
    history.record(steps)
    assert history.d_loss == [0.0, 4.0, 8.0] and history.g_loss == [1.0, 5.0, 9.0]
    assert history.real_verdict == [2.0, 6.0, 10.0] and history.fake_verdict == [3.0, 7.0, 11.0] and len(history) == 3
