"""course.gan_variants against independent references: the losses vs torch.nn.functional and SciPy, the
gradient penalty vs a per-sample torch.autograd loop, the minibatch layer and virtual batch norm vs their
definitions written out, the trainer seeded, leaving the global generator alone and honouring CGAN's classes,
the digits target vs course.image_data, and the code-confusion scores vs scikit-learn and a brute force."""

import itertools
import math

import pytest
import scipy.stats
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import mutual_info_score
from torch import nn

from course.gan import CoverageRun, Discriminator, Spiral, generator_gradient_field, measure_mode_coverage, \
    mode_coverage, ring_2d
from course.gan_variants import (
    PUBLISHED,
    VARIANTS,
    AutoencoderDiscriminator,
    CodeConfusion,
    CodedGenerator,
    ConditionalDiscriminator,
    DigitsTarget,
    HistoricalAverage,
    InfoDiscriminator,
    MinibatchDiscrimination,
    MinibatchDiscriminator,
    VariantTrainer,
    VBNGenerator,
    VirtualBatchNorm,
    benchmark_verdict,
    best_run,
    clip_weights,
    code_confusion,
    comparison_table,
    course_variants_disabled,
    covers_every_mode,
    critic_loss,
    ebgan_discriminator_loss,
    feature_matching_loss,
    find_run,
    gradient_penalty,
    last_hidden_features,
    published_setting_note,
    pulling_away_term,
    train_with_cgan_step,
    wasserstein_generator_loss,
    with_one_hot,
)
from course.image_data import digits_images
from course.judging import weighted_backward
from course.repro import single_cpu_thread

SMALL = dict(device="cpu", batch_size=32, hidden=16, noise_dim=2)  # every trainer here: tiny, on the CPU


@pytest.fixture(autouse=True)
def one_cpu_thread():
    """The references are small tensors too: like the trainer, compute them on one CPU thread."""
    with single_cpu_thread(torch.device("cpu")):
        yield


def rng(seed):
    return torch.Generator().manual_seed(seed)


def parameters(*modules):
    return torch.cat([p.detach().flatten() for module in modules for p in module.parameters()])


def seeded(build, seed=0):
    """A module built under ``seed`` without touching the global generator's state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


# -- building blocks -------------------------------------------------------------------------------


def test_with_one_hot_appends_the_one_hot_code():
    x = torch.randn(5, 3, generator=rng(0), dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 2, 0])
    expected = torch.cat([x, F.one_hot(labels, 4).to(torch.float64)], dim=1)
    ours = with_one_hot(x, labels, 4)
    assert ours.dtype == torch.float64 and torch.equal(ours, expected)
    assert torch.equal(with_one_hot(x, labels.float(), 4), expected)  # float labels are taken as classes


def test_last_hidden_features_are_the_input_of_the_output_layer():
    discriminator = seeded(lambda: Discriminator(2, hidden=8))
    x = torch.randn(9, 2, generator=rng(1))
    captured = []
    handle = discriminator.net[-1].register_forward_hook(lambda module, inputs, output: captured.append(inputs[0]))
    logits = discriminator(x)
    handle.remove()
    features = last_hidden_features(discriminator, x)
    assert features.shape == (9, 8) and torch.equal(features, captured[0])
    assert torch.allclose(discriminator.net[-1](features).squeeze(-1), logits)


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


def minibatch_features_by_hand(f, T, kernels, kernel_dim):
    """o(i)_b = sum over j != i of exp(-sum_c |M[i, b, c] - M[j, b, c]|), M_i = f_i T as (kernels, kernel_dim)."""
    M = (f @ T).reshape(len(f), kernels, kernel_dim)
    rows = []
    for i in range(len(f)):
        rows.append(torch.stack([sum(torch.exp(-(M[i, b] - M[j, b]).abs().sum()) for j in range(len(f)) if j != i)
                                 for b in range(kernels)]))
    return torch.cat([f, torch.stack(rows)], dim=1)


def test_minibatch_discrimination_matches_its_definition_and_its_gradients():
    layer = seeded(lambda: MinibatchDiscrimination(4, kernels=3, kernel_dim=2), seed=4).double()
    with torch.no_grad():
        layer.T.mul_(5)  # distances of order one, so that the closeness terms are neither 0 nor 1
    f = torch.randn(5, 4, generator=rng(17), dtype=torch.float64).requires_grad_(True)
    weights = torch.randn(5, 7, generator=rng(18), dtype=torch.float64)
    ours = layer(f)
    expected = minibatch_features_by_hand(f, layer.T, 3, 2)
    assert ours.shape == (5, 4 + 3)
    assert torch.allclose(ours, expected, rtol=1e-10)
    assert ((ours[:, 4:] > 0.01) & (ours[:, 4:] < 3.99)).all()
    ours_grads = torch.autograd.grad((ours * weights).sum(), (f, layer.T))
    expected_grads = torch.autograd.grad((expected * weights).sum(), (f, layer.T))
    for ours_grad, expected_grad in zip(ours_grads, expected_grads):
        assert torch.allclose(ours_grad, expected_grad, rtol=1e-9, atol=1e-12)


def test_a_collapsed_batch_has_closeness_n_minus_one():
    layer = seeded(lambda: MinibatchDiscrimination(4, kernels=5, kernel_dim=3), seed=5)
    collapsed = torch.randn(1, 4, generator=rng(19)).expand(6, 4)
    closeness = layer(collapsed)[:, 4:]
    assert torch.allclose(closeness, torch.full((6, 5), 5.0))


def test_minibatch_discriminator_scores_each_sample_against_its_batch():
    discriminator = seeded(lambda: MinibatchDiscriminator(2, hidden=8), seed=6)
    x = torch.randn(7, 2, generator=rng(20))
    logits = discriminator(x)
    assert logits.shape == (7,)
    others = torch.randn(6, 2, generator=rng(21))
    assert not torch.allclose(discriminator(torch.cat([x[:1], others]))[0], logits[0])  # unlike a per-sample D


def virtual_batch_norm_by_hand(x, reference, eps):
    """Each row of x normalised with the (biased) mean and variance of the reference rows plus itself."""
    rows = []
    for row in x:
        pool = torch.cat([reference, row[None]])
        rows.append((row - pool.mean(dim=0)) / torch.sqrt(torch.var(pool, dim=0, unbiased=False) + eps))
    return torch.stack(rows)


def test_virtual_batch_norm_normalises_against_the_reference_and_the_example_itself():
    norm = VirtualBatchNorm(3).double()
    reference = 2 * torch.randn(10, 3, generator=rng(22), dtype=torch.float64) + 1
    x = 3 * torch.randn(4, 3, generator=rng(23), dtype=torch.float64) - 2
    expected = virtual_batch_norm_by_hand(x, reference, norm.eps)
    assert torch.allclose(norm(x, reference), expected, rtol=1e-9, atol=1e-12)
    with torch.no_grad():
        norm.gamma.copy_(torch.tensor([0.5, 2.0, -1.0]))
        norm.beta.copy_(torch.tensor([0.1, -0.3, 1.0]))
    assert torch.allclose(norm(x, reference), expected * norm.gamma + norm.beta, rtol=1e-9, atol=1e-12)


def test_virtual_batch_norm_does_not_depend_on_the_rest_of_the_batch_unlike_batch_norm():
    reference = torch.randn(16, 3, generator=rng(24))
    x, others = torch.randn(5, 3, generator=rng(25)), 4 * torch.randn(5, 3, generator=rng(26))
    norm = VirtualBatchNorm(3)
    alone, among = norm(x[:1], reference)[0], norm(torch.cat([x[:1], others]), reference)[0]
    assert torch.allclose(alone, norm(x, reference)[0]) and torch.allclose(alone, among)
    batch_norm = nn.BatchNorm1d(3).train()
    assert not torch.allclose(batch_norm(x)[0], batch_norm(torch.cat([x[:1], others]))[0], atol=1e-3)


def test_vbn_generator_has_the_documented_shape_and_treats_examples_alone():
    generator = seeded(lambda: VBNGenerator(3, 2, hidden=8, reference_size=16), seed=7)
    z = torch.randn(6, 3, generator=rng(27))
    out = generator(z)
    assert out.shape == (6, 2)
    assert torch.allclose(generator(z[2:3]), out[2:3], atol=1e-6)


def test_vbn_generator_normalises_its_reference_batch_with_plain_batch_norm():
    generator = seeded(lambda: VBNGenerator(3, 2, hidden=8, depth=2, reference_size=16), seed=8).double()
    z = torch.randn(5, 3, generator=rng(28), dtype=torch.float64)
    h, reference = z, generator.reference_noise
    for linear, norm in zip(generator.linears, generator.norms):
        h, reference = linear(h), linear(reference)
        h_next = torch.relu(virtual_batch_norm_by_hand(h, reference, norm.eps) * norm.gamma + norm.beta)
        plain = F.batch_norm(reference, None, None, norm.gamma, norm.beta, training=True, eps=norm.eps)
        h, reference = h_next, torch.relu(plain)
    assert torch.allclose(generator(z), generator.out(h), atol=1e-6)


def test_historical_average_is_the_mean_of_the_snapshots_and_its_penalty_the_squared_gap():
    module = seeded(lambda: nn.Linear(3, 2), seed=9).double()
    history = HistoricalAverage(module)
    snapshots = [[p.detach().clone() for p in module.parameters()]]
    noise = rng(29)
    for _ in range(4):
        with torch.no_grad():
            for p in module.parameters():
                p.add_(torch.randn(p.shape, generator=noise, dtype=torch.float64))
        history.update()
        snapshots.append([p.detach().clone() for p in module.parameters()])
        for index, average in enumerate(history.average):
            assert torch.allclose(average, torch.stack([snap[index] for snap in snapshots]).mean(dim=0), rtol=1e-12)
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(1.5)
    penalty = history.penalty()
    expected = sum(F.mse_loss(p, a, reduction="sum") for p, a in zip(module.parameters(), history.average))
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-12) and penalty.item() > 0
    ours_grads = torch.autograd.grad(penalty, list(module.parameters()))
    expected_grads = torch.autograd.grad(expected, list(module.parameters()))
    assert all(torch.allclose(a, b, rtol=1e-12) for a, b in zip(ours_grads, expected_grads))


def test_autoencoder_energy_is_the_mean_squared_reconstruction_error():
    discriminator = seeded(lambda: AutoencoderDiscriminator(3, hidden=8), seed=10)
    x = torch.randn(6, 3, generator=rng(30))
    code = discriminator.encoder(x)
    expected = F.mse_loss(discriminator.decoder(code), x, reduction="none").mean(dim=1)
    energy, ours_code = discriminator.energy_and_code(x)
    assert torch.allclose(discriminator(x), expected) and torch.allclose(energy, expected)
    assert torch.allclose(ours_code, code) and code.shape == (6, 8)


def test_info_discriminator_heads_share_the_body_and_agree_with_forward():
    discriminator = seeded(lambda: InfoDiscriminator(2, codes=4, hidden=8), seed=11)
    x = torch.randn(9, 2, generator=rng(31))
    seen = {}
    hooks = [head.register_forward_hook(lambda module, inputs, output, name=name: seen.__setitem__(name, inputs[0]))
             for name, head in (("d", discriminator.d_head), ("q", discriminator.q_head))]
    logits, code_logits = discriminator.both(x)
    for hook in hooks:
        hook.remove()
    assert logits.shape == (9,) and code_logits.shape == (9, 4)
    assert torch.allclose(logits, discriminator(x))
    assert torch.equal(seen["d"], seen["q"])  # the same features feed both heads
    assert torch.allclose(code_logits, F.linear(seen["q"], discriminator.q_head.weight, discriminator.q_head.bias))


def test_conditional_players_are_the_plain_nets_on_one_hot_inputs():
    discriminator = seeded(lambda: ConditionalDiscriminator(2, 3, hidden=8), seed=12)
    generator = seeded(lambda: CodedGenerator(4, 2, 3, hidden=8), seed=13)
    x, z = torch.randn(6, 2, generator=rng(32)), torch.randn(6, 4, generator=rng(33))
    labels = torch.tensor([0, 1, 2, 2, 1, 0])
    assert torch.allclose(discriminator(x, labels), discriminator.net(torch.cat([x, F.one_hot(labels, 3).float()], 1)))
    assert torch.allclose(generator(z, labels), generator.net(torch.cat([z, F.one_hot(labels, 3).float()], 1)))
    assert not torch.allclose(generator(z, labels), generator(z, (labels + 1) % 3))  # the class matters


# -- the trainer ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_trains_finitely_and_records_its_history(name):
    trainer = VariantTrainer(ring_2d(), name, seed=0, **SMALL)
    trainer.step(4)
    history = trainer.history
    assert len(history) == 4 and trainer.variant.name == name
    values = history.d_loss + history.g_loss + history.d_real + history.d_fake
    assert all(math.isfinite(v) for v in values)
    if trainer.variant.verdict_name == "D(x)":
        assert all(0 < p < 1 for p in history.d_real + history.d_fake)
    elif trainer.variant.verdict_name.startswith("energy"):
        assert all(e >= 0 for e in history.d_real + history.d_fake)
    samples = trainer.generate()
    assert samples.shape == (2000, 2) and torch.isfinite(samples).all()
    view = trainer.discriminator_probability(torch.randn(70, 2, generator=rng(34)))
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
    assert torch.allclose(trainer.discriminator_probability(x), expected, atol=1e-6)


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


# -- the digits target and the code-confusion scores ---------------------------------------------------


@pytest.fixture(scope="module")
def digits_target():
    return DigitsTarget()


def test_digits_target_is_the_train_split_in_unit_range(digits_target):
    train = digits_images(32, "train")
    points, labels = digits_target.points, digits_target.labels
    assert points.shape == (len(train), 64) and digits_target.dim == 64 and digits_target.classes == 10
    assert points.min() >= -1 and points.max() <= 1 and points.min() == -1
    assert torch.equal(labels, train.tensors[1]) and set(labels.tolist()) == set(range(10))
    images = DigitsTarget.to_images(points[:5])
    assert images.shape == (5, 1, 32, 32)
    assert torch.allclose(images, train.tensors[0][:5], atol=1e-6)
    assert torch.allclose(DigitsTarget.to_images(points[:5], 16), digits_images(16, "train").tensors[0][:5],
                          atol=1e-6)


def test_digits_target_samples_labeled_training_rows_reproducibly(digits_target):
    sampled, labels = digits_target.sample_labeled(20, 5)
    again, again_labels = digits_target.sample_labeled(20, rng(5))
    assert torch.equal(sampled, again) and torch.equal(labels, again_labels)
    assert torch.equal(digits_target.sample(20, 5), sampled)
    assert not torch.equal(digits_target.sample(20, 6), sampled)
    same_row = (sampled[:, None, :] == digits_target.points[None]).all(dim=2)  # (20, N)
    same_label = labels[:, None] == digits_target.labels[None]
    assert (same_row & same_label).any(dim=1).all()


def labels_of(counts):
    """Code and digit label vectors with counts[c, k] samples of (c, k)."""
    pairs = torch.cartesian_prod(torch.arange(counts.shape[0]), torch.arange(counts.shape[1]))
    repeated = pairs.repeat_interleave(counts.flatten(), dim=0)
    return repeated[:, 0], repeated[:, 1]


COUNTS = {
    "mixed": torch.tensor([[1, 7, 0, 2], [0, 2, 6, 1], [5, 1, 1, 0], [3, 0, 0, 4]]),
    "rectangular": torch.tensor([[4, 0, 1, 9, 0, 0], [0, 3, 3, 0, 1, 0], [2, 0, 0, 0, 0, 8]]),
    "independent": torch.full((10, 10), 3),
}


@pytest.mark.parametrize("name", list(COUNTS))
def test_code_confusion_scores_match_their_references(name):
    counts = COUNTS[name]
    confusion = CodeConfusion(counts)
    codes, digits = labels_of(counts)
    assert confusion.samples == len(codes) == counts.sum()
    assert confusion.agreement == pytest.approx((codes == digits).double().mean().item())
    purity = sum(torch.bincount(digits[codes == c]).max().item() for c in codes.unique()) / len(codes)
    assert confusion.purity == pytest.approx(purity)
    rows, columns = counts.shape
    if rows * columns <= 36:  # brute force over every one-to-one renaming of codes to digits
        best = max(sum(counts[c, k].item() for c, k in enumerate(choice))
                   for choice in itertools.permutations(range(columns), rows))
        assert confusion.matched_accuracy == pytest.approx(best / len(codes))
    nats = mutual_info_score(codes.numpy(), digits.numpy())
    assert confusion.mutual_information == pytest.approx(nats / math.log(2), abs=1e-12)


def test_a_permuted_diagonal_is_perfectly_matched_but_never_agrees():
    permutation = torch.tensor([3, 7, 0, 9, 1, 2, 5, 8, 4, 6])
    assert (permutation != torch.arange(10)).all()
    counts = torch.zeros(10, 10, dtype=torch.long)
    counts[torch.arange(10), permutation] = torch.arange(10) + 5
    confusion = CodeConfusion(counts)
    rows, columns = linear_sum_assignment(counts.numpy(), maximize=True)
    assert confusion.matched_accuracy == pytest.approx(counts[rows, columns].sum().item() / counts.sum().item())
    assert confusion.matched_accuracy == 1.0 and confusion.purity == 1.0 and confusion.agreement == 0.0
    codes, digits = labels_of(counts)
    assert confusion.mutual_information == pytest.approx(mutual_info_score(codes.numpy(), digits.numpy())
                                                         / math.log(2), abs=1e-12)
    assert CodeConfusion(torch.full((10, 10), 3)).mutual_information == pytest.approx(0.0, abs=1e-12)
    assert CodeConfusion(torch.eye(10, dtype=torch.long) * 4).mutual_information == pytest.approx(math.log2(10))


def test_code_confusion_counts_what_the_classifier_calls_each_code(digits_target):
    trainer = VariantTrainer(digits_target, "CGAN", seed=0, **SMALL)
    trainer.step(2)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 10))
    with torch.no_grad():
        classifier[1].weight.copy_(torch.randn(10, 32 * 32, generator=rng(38)))
        classifier[1].bias.zero_()
    confusion = code_confusion(trainer, per_code=7, seed=3, classifier=classifier)
    codes = torch.arange(10).repeat_interleave(7)
    with torch.no_grad():
        predicted = classifier(DigitsTarget.to_images(trainer.generate(70, seed=3, codes=codes))).argmax(dim=1)
    expected = torch.bincount(codes * 10 + predicted, minlength=100).view(10, 10)
    assert torch.equal(confusion.counts, expected)
    with pytest.raises(ValueError, match="no codes"):
        code_confusion(VariantTrainer(ring_2d(), "vanilla", **SMALL), classifier=classifier)


# -- the benchmark table -------------------------------------------------------------------------------


RUNS = [
    CoverageRun("vanilla", "ring", 8, (8, 8), (0.5, 0.6)),
    CoverageRun("WGAN-GP", "ring", 8, (8, 7), (0.9, 0.95)),  # best share, but misses a mode on one seed
    CoverageRun("CGAN", "ring", 8, (8, 8), (0.99, 0.98)),  # told the mode: left out by default
    CoverageRun("minibatch discrimination", "ring", 8, (8, 8), (0.7, 0.62)),
    CoverageRun("vanilla", "grid", 25, (25, 24), (0.3, 0.3)),
]


def test_covers_every_mode_means_on_every_seed():
    assert [covers_every_mode(run) for run in RUNS] == [True, False, True, True, False]


def test_best_run_is_the_best_complete_unsupervised_run():
    assert best_run(RUNS, "ring") is RUNS[3]
    assert best_run(RUNS, "ring", exclude=()) is RUNS[2]
    assert best_run(RUNS, "ring", exclude=("CGAN", "minibatch discrimination")) is RUNS[0]
    assert best_run(RUNS, "grid") is None and best_run(RUNS, "spiral") is None


def test_find_run_finds_by_target_and_label_and_names_the_choices_when_missing():
    assert find_run(RUNS, "ring", "CGAN") is RUNS[2] and find_run(RUNS, "grid", "vanilla") is RUNS[4]
    with pytest.raises(ValueError, match=r"no run labelled 'InfoGAN' on 'grid'; the runs there are \['vanilla'\]"):
        find_run(RUNS, "grid", "InfoGAN")


def test_benchmark_verdict_names_the_best_complete_run_and_cgan_beside_it_and_ranks_nothing_against_papers():
    ring, ring_cgan, grid = benchmark_verdict(RUNS).splitlines()
    best = RUNS[3]
    assert ring == (f"ring: best unsupervised variant covering every mode on every seed: {best.label}, "
                    f"{best.mean_high_quality_share:.1%} high quality")
    assert ring_cgan.split() == ["CGAN", "(told", "the", "mode):", "8.0/8", "modes,", "98.5%", "high", "quality,",
                                 "every", "mode", "on", "every", "seed:", "True"]
    assert grid == "grid: no unsupervised variant covered every mode on every seed"  # and no CGAN row there
    assert "paper" not in benchmark_verdict(RUNS)


def test_published_setting_note_says_what_differs_with_both_plain_gans_ring_coverage():
    vanilla_ring = next(run for run in RUNS if run.target == "ring" and run.label == "vanilla")
    note = published_setting_note(RUNS)
    assert f"covered 1 of the ring's 8 modes, this kit's {vanilla_ring.mean_modes_covered:.1f}" in note
    assert "not its setting" in note and "context" in note
    assert "(no vanilla ring run here)" in published_setting_note([run for run in RUNS if run.target == "grid"])


def test_comparison_table_lists_our_rows_then_the_published_ones_per_target():
    table = comparison_table(RUNS)
    header, rule, *lines = table.splitlines()
    assert set(rule) == {"-"} and len(rule) == len(header)
    method = slice(header.index("method"), header.index("source"))
    for target in ("ring", "grid"):
        ours = [run for run in RUNS if run.target == target]
        published = [p for p in PUBLISHED if p.target == target]
        block = [line for line in lines if line.startswith(target)]
        assert [line[method].strip() for line in block] == [run.label for run in ours] + [p.method for p in published]
        for run, line in zip(ours, block):
            assert f"{run.mean_high_quality_share:.1%}" in line and ", ".join(map(str, run.modes_covered)) in line
            assert f"{run.mean_modes_covered:.1f} / {run.modes}" in line
        for p, line in zip(published, block[len(ours):]):
            assert p.source in line and f"{p.high_quality_share:.1%}" in line and f"{p.modes_covered:.1f}" in line
    assert lines.index(next(line for line in lines if line.startswith("grid"))) > max(
        i for i, line in enumerate(lines) if line.startswith("ring"))
    only_ring = comparison_table(RUNS[:4])
    assert not any(line.startswith("grid") for line in only_ring.splitlines())


@pytest.mark.parametrize("name", ["minibatch discrimination", "InfoGAN", "vanilla"])
def test_every_discriminator_builds_with_one_hidden_layer(name):
    trainer = VariantTrainer(ring_2d(), name, hidden=8, depth=1, batch_size=16, seed=0, device="cpu")
    trainer.step(2)
    assert torch.isfinite(trainer.generate(10)).all()


# -- lab 07's tests --------------------------------------------------------------------------------------


def test_course_variants_disabled_stops_the_implementations_however_they_are_reached():
    import course.gan_variants

    alias = course.gan_variants.critic_loss
    scores = torch.randn(4)
    calls = [lambda: alias(scores, scores), lambda: course.gan_variants.wasserstein_generator_loss(scores),
             lambda: gradient_penalty(lambda x: x.sum(1), torch.randn(3, 2), torch.randn(3, 2)),
             lambda: feature_matching_loss(torch.randn(3, 2), torch.randn(3, 2)),
             lambda: ebgan_discriminator_loss(scores, scores, 1.0), lambda: pulling_away_term(torch.randn(3, 2)),
             lambda: MinibatchDiscrimination(2)(torch.randn(3, 2)),
             lambda: clip_weights(nn.Linear(2, 1), 0.01),
             lambda: VirtualBatchNorm(2)(torch.randn(3, 2), torch.randn(4, 2)),
             lambda: CodedGenerator(2, 2, 3)(torch.randn(3, 2), torch.zeros(3, dtype=torch.long)),
             lambda: ConditionalDiscriminator(2, 3)(torch.randn(3, 2), torch.zeros(3, dtype=torch.long))]
    with course_variants_disabled():
        for call in calls:
            with pytest.raises(AssertionError, match="write this yourself instead of calling course.gan_variants"):
                call()
        # not exercises: internal, or given to the lab (exercise 7 conditions its players with with_one_hot)
        assert last_hidden_features(Discriminator(2, hidden=4), torch.zeros(1, 2)).shape == (1, 4)
        assert with_one_hot(torch.zeros(2, 1), torch.tensor([0, 1]), 2).shape == (2, 3)
    for call in calls:  # switched on again
        call()


def test_weighted_backward_takes_the_gradient_of_the_weighted_sum():
    x = torch.randn(3, 2, requires_grad=True)
    weights = torch.randn(3, 4)
    value = weighted_backward(with_one_hot, weights, x, torch.tensor([0, 1, 1]), 2)
    assert torch.equal(value, with_one_hot(x, torch.tensor([0, 1, 1]), 2)) and not value.requires_grad
    assert torch.equal(x.grad, weights[:, :2])
    energy = torch.tensor([0.5, 2.0], requires_grad=True)
    both = weighted_backward(lambda e: (e.sum(), (e ** 2).sum()), (1.0, 0.0), energy)
    assert isinstance(both, tuple) and torch.equal(energy.grad, torch.ones(2))
    other_shape = torch.zeros(2, requires_grad=True)
    weighted_backward(lambda z: z * 2, torch.ones(3), other_shape)  # a result of another shape adds nothing
    assert other_shape.grad is None


def test_train_with_cgan_step_calls_the_step_on_seeded_batches():
    seen = []

    def step(generator, discriminator, g_optimizer, d_optimizer, real, labels, noise, codes):
        seen.append((generator, real.shape, labels.clone(), noise.shape, codes.clone()))

    train_with_cgan_step(step, "G", "D", None, None, steps=3, noise_dim=5, batch_size=7, seed=2)
    assert [(g, tuple(r), tuple(n)) for g, r, _, n, _ in seen] == [("G", (7, 64), (7, 5))] * 3
    again = []
    train_with_cgan_step(lambda *args: again.append(args[7].clone()), "G", "D", None, None, steps=3, noise_dim=5,
                         batch_size=7, seed=2)
    assert all(torch.equal(a, codes) for a, (*_, codes) in zip(again, seen))
