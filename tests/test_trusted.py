"""course.trusted: the functions a test hands the student's code in place of earlier exercises are right, checked
against the slides' formulas and central differences rather than the modules they are built from."""

import copy

import pytest
import torch

from course import trusted
from test_gan import reference_step  # the textbook PyTorch GAN step, with nn.BCEWithLogitsLoss

F64 = {"dtype": torch.float64}


def by_formula_221(w, x):
    f1 = 1 / (1 + torch.exp(-(w[0] * x[0] + w[2] * x[1])))
    f2 = 1 / (1 + torch.exp(-(w[1] * x[0] + w[3] * x[1])))
    return f1, f2, 1 / (1 + torch.exp(-(w[4] * f1 + w[5] * f2)))


def central_differences(function, w, step=1e-6):
    grads = torch.zeros_like(w)
    for index in range(w.numel()):
        shift = torch.zeros_like(w)
        shift.view(-1)[index] = step
        grads.view(-1)[index] = (function(w + shift) - function(w - shift)) / (2 * step)
    return grads


@pytest.mark.parametrize("seed", range(3))
def test_the_221_network_and_its_gradients_follow_the_slides(seed):
    generator = torch.Generator().manual_seed(seed)
    w, x, z = (torch.randn(6, generator=generator, **F64), torch.randn(2, generator=generator, **F64),
               torch.rand((), generator=generator, **F64))
    with trusted.lending([trusted.forward_221, trusted.gradients_221]):
        check_221(w, x, z)


def check_221(w, x, z):
    for got, expected in zip(trusted.forward_221(w, x), by_formula_221(w, x)):
        assert got.shape == () and torch.allclose(got, expected)
    with torch.no_grad():  # as the tests call it: autograd off outside
        grads = trusted.gradients_221(w, x, z)
    expected = central_differences(lambda v: (by_formula_221(v, x)[2] - z) ** 2, w)
    assert torch.allclose(grads, expected, atol=1e-8)


def test_the_sigmoid_derivative_is_autograds():
    x = torch.linspace(-8, 8, 33, requires_grad=True, **F64)
    torch.sigmoid(x).sum().backward()
    with trusted.lending([trusted.sigmoid_prime]):
        assert torch.allclose(trusted.sigmoid_prime(x.detach()), x.grad)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_the_mlp_passes_follow_their_definitions(activation):
    with trusted.lending([trusted.activate, trusted.mlp_forward, trusted.mlp_backward]):
        check_mlp(activation)


def check_mlp(activation):
    generator = torch.Generator().manual_seed(4)
    sizes = [3, 5, 4, 2]
    params = [(torch.randn(n_out, n_in, generator=generator, **F64), torch.randn(n_out, generator=generator, **F64))
              for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    X, Z = torch.randn(7, 3, generator=generator, **F64), torch.rand(7, 2, generator=generator, **F64)

    def forward(layers):
        H = X
        for index, (W, b) in enumerate(layers):
            A = H @ W.T + b
            H = torch.sigmoid(A) if index == len(layers) - 1 else trusted.activate(A, activation)
        return H

    outputs = trusted.mlp_forward(params, X, activation)
    assert len(outputs) == len(sizes) and torch.allclose(outputs[-1], forward(params))
    with torch.no_grad():
        loss, grads = trusted.mlp_backward(params, X, Z, activation)
    assert torch.allclose(loss, ((forward(params) - Z) ** 2).mean())
    W0, b0 = params[0]
    expected_dW0 = central_differences(lambda W: ((forward([(W, b0), *params[1:]]) - Z) ** 2).mean(), W0)
    assert torch.allclose(grads[0][0], expected_dW0, atol=1e-7)
    assert [tuple(dW.shape) for dW, _ in grads] == [tuple(W.shape) for W, _ in params]


def test_an_unknown_activation_says_which_are_known():
    with trusted.lending([trusted.activate]), pytest.raises(ValueError, match="use 'sigmoid' or 'relu'"):
        trusted.activate(torch.zeros(2), "tanh")


def test_a_trusted_function_answers_only_while_a_test_lends_it():
    w, x = torch.randn(6, **F64), torch.randn(2, **F64)
    kit_forward = trusted.forward_221  # imported into a notebook as an answer, under any name
    with pytest.raises(trusted.NotLent, match="not an answer: write your own"):
        kit_forward(w, x)
    with pytest.raises(trusted.NotLent):
        trusted.DigitNet()
    with trusted.lending([trusted.forward_221, torch.sigmoid]):
        assert len(kit_forward(w, x)) == 3
        with pytest.raises(trusted.NotLent):  # lent: only what the test lends
            trusted.gradients_221(w, x, torch.tensor(0.5, **F64))
    with pytest.raises(trusted.NotLent):
        kit_forward(w, x)


def test_the_lab_02_table_network_and_output_size():
    with trusted.lending([trusted.DigitNet, trusted.output_size]):
        assert trusted.DigitNet()(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
        for n, k, s, p in [(9, 3, 1, 0), (8, 3, 1, 1), (28, 5, 2, 2), (7, 2, 2, 0), (5, 5, 3, 0)]:
            side = torch.nn.functional.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p)
            assert trusted.output_size(n, k, s, p) == side.shape[-1]
        with pytest.raises(ValueError, match="does not fit"):
            trusted.output_size(3, 7, 1, 1)


def test_the_lab_03_recurrence_is_torchs():
    generator = torch.Generator().manual_seed(5)
    U, W = torch.randn(4, 3, generator=generator, **F64), torch.randn(4, 4, generator=generator, **F64)
    b_ih, b_hh = torch.randn(4, generator=generator, **F64), torch.randn(4, generator=generator, **F64)
    X, h0 = torch.randn(2, 6, 3, generator=generator, **F64), torch.randn(2, 4, generator=generator, **F64)
    for nonlinearity in ("tanh", "relu"):
        rnn = torch.nn.RNN(3, 4, nonlinearity=nonlinearity, batch_first=True, **F64)
        with torch.no_grad():
            for name, value in [("weight_ih_l0", U), ("weight_hh_l0", W), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)]:
                getattr(rnn, name).copy_(value)
        expected, expected_last = rnn(X, h0.unsqueeze(0))
        with trusted.lending([trusted.rnn_cell, trusted.rnn_forward]):
            outputs, last = trusted.rnn_forward(X, U, W, b_ih, b_hh, h0, nonlinearity=nonlinearity)
            single = trusted.rnn_cell(X[0, 0], h0[0], U, W, b_ih, b_hh, nonlinearity)
        assert torch.allclose(outputs, expected) and torch.allclose(last, expected_last[0])
        assert single.shape == (4,) and torch.allclose(single, expected[0, 0])


@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_the_lab_03_clipping_is_torchs(scale):
    generator = torch.Generator().manual_seed(6)
    mine = [torch.nn.Parameter(torch.zeros(shape, **F64)) for shape in [(3, 2), (4,), (2, 2)]]
    theirs = [torch.nn.Parameter(torch.zeros(shape, **F64)) for shape in [(3, 2), (4,), (2, 2)]]
    for index, (a, b) in enumerate(zip(mine, theirs)):
        if index != 1:  # one parameter without a gradient
            a.grad = torch.randn(a.shape, generator=generator, **F64) * scale
            b.grad = a.grad.clone()
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    with trusted.lending([trusted.clip_grad_norm]):
        total = trusted.clip_grad_norm(mine, 1.0)
    assert torch.allclose(total, expected)
    assert mine[1].grad is None
    assert all(torch.allclose(a.grad, b.grad) for a, b in zip(mine, theirs) if a.grad is not None)


def test_the_lab_04_optimal_discriminator_follows_its_definition():
    p_data = torch.tensor([0.0, 1.0, 0.3, 0.0, 2.0, 1e-300], **F64)
    p_g = torch.tensor([1.0, 0.0, 0.0, 0.0, 6.0, 1e-300], **F64)
    expected = [a / (a + b) if a + b > 0 else 0.5 for a, b in zip(p_data.tolist(), p_g.tolist())]
    with trusted.lending([trusted.optimal_discriminator]):
        got = trusted.optimal_discriminator(p_data, p_g)
        assert got.tolist() == expected
        assert trusted.optimal_discriminator(p_data.float(), p_g.float()).dtype == torch.float32


def test_the_lab_05_losses_are_torchs_bce():
    generator = torch.Generator().manual_seed(7)
    real = torch.cat([torch.tensor([1e4, -1e4, 30.0, -30.0]), 3 * torch.randn(6, generator=generator)])
    fake = torch.cat([torch.tensor([-1e4, 1e4]), 3 * torch.randn(5, generator=generator)])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    with trusted.lending([trusted.bce_from_logits, trusted.discriminator_loss, trusted.generator_loss]):
        for label in (1.0, 0.9):
            leaf, reference = real.clone().requires_grad_(), real.clone().requires_grad_()
            trusted.bce_from_logits(leaf, torch.full_like(real, label)).backward()
            bce(reference, torch.full_like(real, label)).backward()
            assert torch.allclose(leaf.grad, reference.grad, atol=1e-7)
            expected = bce(real, torch.full_like(real, label)) + bce(fake, torch.zeros_like(fake))
            assert torch.allclose(trusted.discriminator_loss(real, fake, label), expected)
        assert torch.allclose(trusted.generator_loss(fake), bce(fake, torch.ones_like(fake)))


def test_the_lab_05_gan_step_is_the_slides_algorithm():
    from course.gan import Discriminator, Generator

    torch.manual_seed(8)
    models = [Generator(noise_dim=2, hidden=8), Discriminator(hidden=8)]
    copies = [models, [copy.deepcopy(model) for model in models]]
    steps = [(G, D, torch.optim.Adam(G.parameters(), lr=0.01), torch.optim.Adam(D.parameters(), lr=0.01))
             for G, D in copies]
    for step in range(2):
        real, d_noise, g_noise = torch.randn(12, 1), torch.randn(12, 2), torch.randn(9, 2)
        with trusted.lending([trusted.gan_step]):
            losses = trusted.gan_step(*steps[0], real, d_noise, g_noise, real_label=0.9)
        G, D, g_optimizer, d_optimizer = steps[1]
        expected = reference_step(G, D, g_optimizer, d_optimizer, [real], [d_noise], g_noise, 0.9, saturating=False)
        assert torch.allclose(torch.tensor(losses), torch.tensor([loss.item() for loss in expected]))
        for ours, theirs in zip(copies[0], copies[1]):
            assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(ours.parameters(), theirs.parameters()))


def test_the_lab_06_blocks_and_init_make_the_kits_dcgan():
    from course.dcgan import DCGANDiscriminator, DCGANGenerator

    nz, width = 8, 4
    with trusted.lending([trusted.generator_block, trusted.discriminator_block, trusted.dcgan_init]):
        generator = torch.nn.Sequential(trusted.generator_block(nz, 4 * width, first=True),
                                        trusted.generator_block(4 * width, 2 * width),
                                        trusted.generator_block(2 * width, width),
                                        torch.nn.ConvTranspose2d(width, 1, 4, 2, 1, bias=False), torch.nn.Tanh())
        discriminator = torch.nn.Sequential(trusted.discriminator_block(1, width, batch_norm=False),
                                            trusted.discriminator_block(width, 2 * width),
                                            trusted.discriminator_block(2 * width, 4 * width),
                                            torch.nn.Conv2d(4 * width, 1, 4, 1, 0, bias=False), torch.nn.Flatten(0))
        torch.manual_seed(9)
        generator.apply(trusted.dcgan_init)
    kit_generator, kit_discriminator = DCGANGenerator(nz, width, 1, 32), DCGANDiscriminator(width, 1, 32)
    kit_generator.load_state_dict(dict(zip(kit_generator.state_dict(), generator.state_dict().values())))
    kit_discriminator.load_state_dict(dict(zip(kit_discriminator.state_dict(), discriminator.state_dict().values())))
    noise, images = torch.randn(3, nz, 1, 1), torch.rand(3, 1, 32, 32) * 2 - 1
    assert torch.allclose(generator(noise), kit_generator(noise))
    assert torch.allclose(discriminator(images), kit_discriminator(images))
    convolutions = torch.cat([m.weight.flatten() for m in generator.modules() if isinstance(m, torch.nn.ConvTranspose2d)])
    assert abs(convolutions.std().item() - 0.02) < 0.002 and abs(convolutions.mean().item()) < 0.002


def test_the_lab_08_stand_ins_are_torch_distributions():
    from torch.distributions import Normal, kl_divergence

    generator = torch.Generator().manual_seed(8)
    mu, logvar = torch.randn(6, 4, generator=generator, **F64), 3 * torch.randn(6, 4, generator=generator, **F64)
    eps = torch.randn(6, 4, generator=generator, **F64)
    x, x_hat = torch.rand(6, 10, generator=generator, **F64), torch.rand(6, 10, generator=generator, **F64)
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(dim=1)
    with trusted.lending([trusted.reparameterise, trusted.gaussian_kl, trusted.negative_elbo]):
        assert torch.allclose(trusted.reparameterise(mu, logvar, eps), mu + torch.exp(0.5 * logvar) * eps)
        assert torch.allclose(trusted.gaussian_kl(mu, logvar), kl)
        for std in (0.2, 0.05):
            loss, reconstruction, kl_mean = trusted.negative_elbo(x, x_hat, mu, logvar, std=std)
            expected = -Normal(x_hat, std).log_prob(x).sum(dim=1).mean()
            assert torch.allclose(reconstruction, expected) and torch.allclose(kl_mean, kl.mean())
            assert torch.allclose(loss, expected + kl.mean())


def test_the_lab_09_objective_is_torchs_gaussian_likelihood_masked_plus_the_prior():
    from torch.distributions import Normal

    generator = torch.Generator().manual_seed(9)
    x_hat, x = torch.rand(5, 64, generator=generator, **F64), torch.rand(5, 64, generator=generator, **F64)
    z, mask = torch.randn(5, 8, generator=generator, **F64), (torch.rand(64, generator=generator) > 0.5).double()
    log_likelihood = (mask * Normal(x_hat, 0.2).log_prob(x)).sum(dim=1) - mask.sum() * Normal(0.0, 0.2).log_prob(
        torch.tensor(0.0, **F64))  # constants dropped: the log-density at zero error
    expected = (-log_likelihood + 0.5 * (z ** 2).sum(dim=1)).mean()
    with trusted.lending([trusted.inpainting_objective]):
        assert torch.allclose(trusted.inpainting_objective(x_hat, x, mask, z), expected)
