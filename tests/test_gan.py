"""course.gan against torch references: losses vs nn.BCE*Loss, steps replayed with plain torch code."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course.gan import (Discriminator, Generator, alternating_step, discriminator_loss, discriminator_step,
                        generator_loss, generator_loss_non_saturating, generator_loss_saturating, generator_step)
from course.gan.targets import gaussian_1d, sample_noise
from gan_helpers import parameters

# -- models and losses -----------------------------------------------------------------------------


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


# -- steps, replayed with plain torch code ---------------------------------------------------------


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
