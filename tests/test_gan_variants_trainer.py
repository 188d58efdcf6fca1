"""course.gan_variants.trainer: every variant trained seeded, leaving the global generator alone, honouring
CGAN's classes, its gradient field and heat map against course.gan and plain autograd."""

import math

import pytest
import torch
import torch.nn.functional as F

from course.gan.benchmark import measure_mode_coverage
from course.gan.measures import mode_coverage
from course.gan.targets import Spiral, ring_2d
from course.gan.training import generator_gradient_field
from course.gan_variants.trainer import VariantTrainer
from course.gan_variants.variants import VARIANTS
from gan_helpers import SMALL, one_cpu_thread, parameters, rng

pytestmark = pytest.mark.usefixtures(one_cpu_thread.__name__)  # every test here on one CPU thread


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_trains_finitely_and_records_its_history(name):
    trainer = VariantTrainer(ring_2d(), name, seed=0, **SMALL)
    trainer.step(4)
    history = trainer.history
    assert len(history) == 4 and trainer.variant.name == name
    values = history.d_loss + history.g_loss + history.real_verdict + history.fake_verdict
    assert all(math.isfinite(v) for v in values)
    if trainer.variant.verdict_name == "D(x)":
        assert all(0 < p < 1 for p in history.real_verdict + history.fake_verdict)
    elif trainer.variant.verdict_name.startswith("energy"):
        assert all(e >= 0 for e in history.real_verdict + history.fake_verdict)
    samples = trainer.generate()
    assert samples.shape == (2000, 2) and torch.isfinite(samples).all()
    view = trainer.discriminator_view(torch.randn(70, 2, generator=rng(34)))
    assert view.shape == (70,) and torch.isfinite(view).all()
    step_count = trainer.d_optimizer.state[next(trainer.discriminator.parameters())]["step"]
    assert int(step_count) == 4 * trainer.d_steps


@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_same_seed_gives_the_same_samples_and_the_global_generator_is_left_alone(name):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = VariantTrainer(ring_2d(), name, seed=3, **SMALL)
    first.step(3)
    again = VariantTrainer(ring_2d(), name, seed=3, **SMALL)
    again.step(3)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first.generate(), again.generate()) and first.history == again.history
    other = VariantTrainer(ring_2d(), name, seed=4, **SMALL)
    other.step(3)
    assert not torch.equal(first.generate(), other.generate())


@pytest.mark.parametrize("name", list(VARIANTS))
def test_d_steps_default_to_the_variants(name):
    expected = 5 if name in ("WGAN", "WGAN-GP") else 1
    assert VariantTrainer(ring_2d(), name, seed=0, **SMALL).d_steps == expected
    assert VariantTrainer(ring_2d(), name, seed=0, d_steps=2, **SMALL).d_steps == 2


@pytest.mark.parametrize("name", ["CGAN", "InfoGAN"])
def test_coded_variants_refuse_targets_without_classes(name):
    with pytest.raises(ValueError, match="needs a target with classes"):
        VariantTrainer(Spiral(), name, **SMALL)


def test_unknown_variants_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown variant 'BigGAN'") as refused:
        VariantTrainer(ring_2d(), "BigGAN", **SMALL)
    assert all(repr(name) in str(refused.value) for name in VARIANTS)


@pytest.mark.parametrize("seed", [0, 1])
def test_cgan_draws_the_mode_it_is_asked_for(seed):
    ring = ring_2d()
    trainer = VariantTrainer(ring, "CGAN", seed=seed, device="cpu", batch_size=64, hidden=32)
    trainer.step(600)
    codes = torch.arange(8).repeat_interleave(50)
    nearest, _ = ring.nearest_mode(trainer.generate(len(codes), seed=123, codes=codes))
    hits = (nearest == codes).double().view(8, 50).mean(dim=1)
    assert hits.mean() > 0.9 and (hits > 0.5).all(), hits
    # by default every class equally often, in order
    assert torch.equal(trainer.generate(16, seed=5), trainer.generate(16, seed=5, codes=torch.arange(16) % 8))


def test_wgan_keeps_its_critic_clipped_and_wgan_gp_does_not_clip():
    wgan = VariantTrainer(ring_2d(), "WGAN", seed=0, **SMALL)
    wgan.step(3)
    clip = wgan.variant.clip
    assert all((p.abs() <= clip).all() for p in wgan.discriminator.parameters())
    gp = VariantTrainer(ring_2d(), "WGAN-GP", seed=0, **SMALL)
    gp.step(3)
    assert any((p.abs() > clip).any() for p in gp.discriminator.parameters())


def spying(name):
    """The variant ``name``, recording G's gradients and parameters after each D step."""

    class Spy(VARIANTS[name]):
        def attach(self, generator, discriminator, rng):
            super().attach(generator, discriminator, rng)
            self.watched, self.seen = generator, []

        def after_d_step(self, discriminator):
            super().after_d_step(discriminator)
            self.seen.append(([p.grad for p in self.watched.parameters()], parameters(self.watched),
                              parameters(discriminator)))

    return Spy()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_d_steps_do_not_reach_into_the_generator(name):
    spy = spying(name)
    trainer = VariantTrainer(ring_2d(), spy, seed=0, **SMALL)
    g_before, d_before = parameters(trainer.generator), parameters(trainer.discriminator)
    trainer.step(1)
    assert len(spy.seen) == trainer.d_steps
    for g_grads, g_params, d_params in spy.seen:
        assert all(grad is None for grad in g_grads), "D's loss must see the fakes detached"
        assert torch.equal(g_params, g_before)
    assert not torch.equal(spy.seen[0][2], d_before)  # D did move
    assert not torch.equal(parameters(trainer.generator), g_before)  # and G moves in its own step
    frozen = VariantTrainer(ring_2d(), name, seed=0, lr_g=0.0, **SMALL)
    frozen.step(1)
    assert torch.equal(parameters(frozen.generator), g_before)
    assert not torch.equal(parameters(frozen.discriminator), d_before)


def test_generator_field_of_the_vanilla_variant_is_course_gans():
    trainer = VariantTrainer(ring_2d(), "vanilla", seed=0, **SMALL)
    trainer.step(5)
    points = 2 * torch.randn(20, 2, generator=rng(35))
    expected = generator_gradient_field(trainer.discriminator, points)
    assert torch.allclose(trainer.generator_field(points), expected, atol=1e-7)
    assert expected.abs().sum() > 0


def test_generator_field_of_wgan_gp_climbs_the_critic():
    trainer = VariantTrainer(ring_2d(), "WGAN-GP", seed=0, **SMALL)
    trainer.step(2)
    points = (2 * torch.randn(20, 2, generator=rng(36))).requires_grad_(True)
    (slope,) = torch.autograd.grad(trainer.discriminator(points).sum(), points)
    assert torch.allclose(trainer.generator_field(points.detach()), slope, atol=1e-6)
    assert slope.abs().sum() > 0


@pytest.mark.parametrize("name", ["vanilla", "WGAN", "EBGAN", "CGAN"])
def test_discriminator_view_is_what_each_variant_calls_real(name):
    trainer = VariantTrainer(ring_2d(), name, seed=0, **SMALL)
    x = 2 * torch.randn(70, 2, generator=rng(37))  # more than a batch: chunked
    D = trainer.discriminator
    with torch.no_grad():
        if name == "vanilla":
            expected = torch.sigmoid(D(x))
        elif name == "WGAN":
            expected = D(x)
        elif name == "EBGAN":
            expected = -F.mse_loss(D.decoder(D.encoder(x)), x, reduction="none").mean(dim=1)
        else:  # D(x, y) of the class y that makes x look most real
            one_hot = F.one_hot(torch.arange(8), 8).float()
            expected = torch.stack([torch.sigmoid(D.net(torch.cat([x, one_hot[k].expand(70, 8)], 1)))
                                    for k in range(8)]).max(dim=0).values
    assert torch.allclose(trainer.discriminator_view(x), expected, atol=1e-6)


def test_measure_mode_coverage_with_the_variant_trainer_scores_seeds_like_by_hand():
    options = dict(variant="vanilla", **SMALL)
    ring = ring_2d()
    run = measure_mode_coverage(ring, "vanilla", steps=10, seeds=[0, 1], trainer=VariantTrainer, **options)
    assert run.label == "vanilla" and run.target == "ring" and run.modes == 8
    for index, seed in enumerate([0, 1]):
        trainer = VariantTrainer(ring, seed=seed, **options)
        trainer.step(10)
        samples = trainer.generate(2500, seed=10_000 + seed)
        by_hand = mode_coverage(samples, ring)
        assert run.modes_covered[index] == by_hand.modes_covered
        assert run.high_quality_share[index] == by_hand.high_quality_share
        if index == 0:
            assert torch.equal(run.example, samples)


@pytest.mark.parametrize("name", ["minibatch discrimination", "InfoGAN", "vanilla"])
def test_every_discriminator_builds_with_one_hidden_layer(name):
    trainer = VariantTrainer(ring_2d(), name, hidden=8, depth=1, batch_size=16, seed=0, device="cpu")
    trainer.step(2)
    assert torch.isfinite(trainer.generate(10)).all()
