"""course.gan_variants.layers against their definitions written out: the one-hot input, the minibatch layer,
virtual batch norm, historical averaging and the players built from course.gan's."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course.gan import Discriminator
from course.gan_variants.layers import (AutoencoderDiscriminator, CodedGenerator, ConditionalDiscriminator,
                                        HistoricalAverage, InfoDiscriminator, MinibatchDiscrimination,
                                        MinibatchDiscriminator, VBNGenerator, VirtualBatchNorm, last_hidden_features,
                                        with_one_hot)
from gan_helpers import one_cpu_thread, rng, seeded

pytestmark = pytest.mark.usefixtures(one_cpu_thread.__name__)  # every test here on one CPU thread


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
