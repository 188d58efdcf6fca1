"""Topic 08's helpers against trusted references: torch.distributions for the KL and the Gaussian likelihood,
autograd for the reparameterisation, F.mse_loss for the AE's loss, and training that improves what it optimises."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from course.autoencoders import (
    PIXELS,
    VAE,
    Autoencoder,
    SampleScore,
    as_quality_images,
    digit_pixels,
    gaussian_kl,
    gaussian_negative_log_likelihood,
    held_out_negative_elbo,
    negative_elbo,
    reconstruction_error,
    reparameterise,
    score_table,
    sharpness,
    train_autoencoder,
    trained_digits_vae,
    train_vae,
)

F64 = {"dtype": torch.float64}


def test_digit_pixels_are_the_kits_split_in_unit_range():
    X_train, y_train = digit_pixels("train")
    X_test, y_test = digit_pixels("test")
    assert X_train.shape[1] == X_test.shape[1] == PIXELS and len(X_train) + len(X_test) == 1797
    assert X_train.min() >= 0 and X_train.max() <= 1 and set(y_test.tolist()) == set(range(10))
    images = as_quality_images(X_test[:3])
    assert images.shape == (3, 1, 32, 32) and images.min() >= -1 and images.max() <= 1


def test_the_slides_ae_loss_is_the_summed_squared_error_averaged_over_the_batch():
    x, x_hat = torch.rand(7, 64), torch.rand(7, 64)
    assert torch.allclose(reconstruction_error(x, x_hat), F.mse_loss(x_hat, x, reduction="sum") / 7)


def test_reparameterise_samples_the_normal_and_passes_gradients():
    mu, logvar = torch.tensor([0.5, -1.0], requires_grad=True), torch.tensor([0.0, math.log(9.0)], requires_grad=True)
    eps = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0))
    z = reparameterise(mu, logvar, eps)
    assert torch.allclose(z.mean(dim=0), mu.detach(), atol=0.02)
    assert torch.allclose(z.std(dim=0), torch.tensor([1.0, 3.0]), rtol=0.01)
    z[0].sum().backward()
    assert torch.allclose(mu.grad, torch.ones(2)) and torch.allclose(logvar.grad, 0.5 * torch.tensor([1.0, 3.0]) * eps[0])


def test_gaussian_kl_is_torch_distributions_and_zero_at_the_prior():
    mu, logvar = torch.randn(5, 3, **F64) * 2, torch.randn(5, 3, **F64) * 3
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(dim=1)
    assert torch.allclose(gaussian_kl(mu, logvar), expected)
    assert torch.equal(gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


@pytest.mark.parametrize("std", [0.2, 1.0])
def test_the_negative_elbo_is_the_gaussian_log_likelihood_plus_the_kl(std):
    x, x_hat = torch.rand(4, 64, **F64), torch.rand(4, 64, **F64)
    mu, logvar = torch.randn(4, 8, **F64), torch.randn(4, 8, **F64)
    terms = negative_elbo(x, x_hat, mu, logvar, std=std)
    likelihood = -Normal(x_hat, std).log_prob(x).sum(dim=1)
    assert torch.allclose(gaussian_negative_log_likelihood(x, x_hat, std), likelihood)
    assert torch.allclose(terms.reconstruction, likelihood.mean())
    assert torch.allclose(terms.kl, gaussian_kl(mu, logvar).mean())
    assert torch.allclose(terms.loss, terms.reconstruction + terms.kl)


def test_the_models_have_the_documented_shapes():
    x = torch.rand(3, 64)
    x_hat, z = Autoencoder(latent=5)(x)
    assert x_hat.shape == (3, 64) and z.shape == (3, 5) and 0 < x_hat.min() and x_hat.max() < 1
    vae = VAE(latent=4)
    x_hat, mu, logvar = vae(x, torch.zeros(3, 4))
    assert x_hat.shape == (3, 64) and mu.shape == logvar.shape == (3, 4)
    assert torch.allclose(x_hat, vae.decoder(mu))  # eps = 0 decodes the mean
    assert vae.sample(6, torch.Generator().manual_seed(0)).shape == (6, 64)


def test_training_lowers_what_it_optimises_and_repeats_with_its_seed():
    X, _ = digit_pixels("train")
    X_test, _ = digit_pixels("test")
    torch.manual_seed(0)
    autoencoder = Autoencoder()
    ae_losses = train_autoencoder(autoencoder, X, epochs=3)
    assert ae_losses[-1] < ae_losses[0]
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        vae = VAE()
        before = held_out_negative_elbo(vae, X_test).loss
        runs.append(train_vae(vae, X, epochs=3, seed=4))
        assert held_out_negative_elbo(vae, X_test).loss < before
    assert runs[0] == runs[1] and runs[0][-1] < runs[0][0]


def test_sharpness_is_the_mean_step_between_neighbouring_pixels():
    stripes = torch.tensor([[0.0, 1.0] * 4] * 8).reshape(1, 64)  # every step across is 1, every step down is 0
    assert sharpness(stripes) == pytest.approx(0.5)
    assert sharpness(torch.full((2, 64), 0.3)) == 0.0


def test_the_score_table_lists_each_model_beside_the_real_sharpness():
    scores = [SampleScore("VAE", 0.2, 0.39, 10, 22, 82.0), SampleScore("GAN", 0.23, 0.52, 9, 0, 141.5)]
    header, real, rule, vae, gan = score_table(scores, real_sharpness=0.24).splitlines()
    assert "Fréchet distance" in header and real.split() == ["(real", "digits)", "0.240"] and set(rule) == {"-"}
    assert vae.split() == ["VAE", "0.200", "39.0%", "10/10", "22", "82.0"]
    assert gan.split() == ["GAN", "0.230", "52.0%", "9/10", "0", "141.5"]


def test_the_benchmarks_draws_are_pixels_in_unit_range_from_both_models():
    from course.bench_vae_gan import SAMPLES, gan_draws, vae_draws

    for draws in (vae_draws(epochs=1, seed=0), gan_draws(steps=3, seed=0)):
        assert draws.shape == (SAMPLES, 64) and draws.min() >= 0 and draws.max() <= 1


def test_trained_digits_vae_is_the_seeded_training_and_each_call_a_fresh_copy():
    torch.manual_seed(1)
    model = VAE(latent=3)
    train_vae(model, digit_pixels("train")[0], epochs=1, seed=1)
    first = trained_digits_vae(latent=3, epochs=1, seed=1)
    assert not first.training
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), model.state_dict().values()))
    with torch.no_grad():
        next(first.parameters()).add_(1.0)  # a caller (a student's code, say) changes its copy
    second = trained_digits_vae(latent=3, epochs=1, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(second.state_dict().values(), model.state_dict().values()))
