"""Topic 09's helpers against trusted references: SciPy's chisquare, scikit-learn's mean squared error, F.avg_pool2d
and F.interpolate's definitions, and searches and training that improve what they optimise."""

import math

import pytest
import torch
from scipy.stats import chisquare
from sklearn.metrics import mean_squared_error

from course.autoencoders import VAE, digit_pixels, train_vae
from course.generative_ai import (
    bilinear_upsample,
    class_audit,
    detection,
    detector,
    downsample,
    inpaint,
    mean_fill,
    missing_block,
    missing_pixel_error,
    morph_frames,
    psnr,
    super_resolver,
    train_detector,
    train_pixels_to_pixels,
)


def test_missing_block_hides_exactly_the_given_rows_and_columns():
    mask = missing_block(rows=slice(2, 5), columns=slice(1, 3)).reshape(8, 8)
    assert mask.sum() == 64 - 6 and torch.equal(mask[2:5, 1:3], torch.zeros(3, 2))
    assert torch.equal(missing_block().reshape(8, 8)[4:], torch.zeros(4, 8))


def test_mean_fill_and_the_error_count_only_the_missing_pixels():
    x, mean_image, mask = torch.rand(3, 64), torch.full((64,), 0.5), missing_block()
    filled = mean_fill(x, mask, mean_image)
    assert torch.equal(filled[:, :32], x[:, :32]) and torch.equal(filled[:, 32:], torch.full((3, 32), 0.5))
    expected = math.sqrt(mean_squared_error(x[:, 32:].numpy().ravel(), filled[:, 32:].numpy().ravel()))
    assert missing_pixel_error(filled, x, mask) == pytest.approx(expected, rel=1e-6)


def test_psnr_is_ten_log_peak_squared_over_sklearns_mse():
    x, reference = torch.rand(4, 64), torch.rand(4, 64)
    mse = mean_squared_error(reference.numpy().ravel(), x.numpy().ravel())
    assert psnr(x, reference) == pytest.approx(10 * math.log10(1 / mse), rel=1e-6)
    assert psnr(255 * x, 255 * reference, peak=255.0) == pytest.approx(psnr(x, reference), rel=1e-6)
    assert psnr(x, x.clone()) == math.inf


def test_downsample_averages_blocks_and_bilinear_upsample_keeps_constant_images():
    pixels = torch.arange(64.0).reshape(1, 64)
    low = downsample(pixels).reshape(4, 4)
    assert low[0, 0] == (0 + 1 + 8 + 9) / 4 and low.shape == (4, 4)
    assert torch.allclose(bilinear_upsample(torch.full((2, 16), 0.3)), torch.full((2, 64), 0.3))


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    model = VAE(latent=8)
    train_vae(model, digit_pixels("train")[0], epochs=20)
    return model.eval()


def test_inpaint_keeps_the_observed_pixels_and_beats_the_mean_digit(vae):
    X_train, _ = digit_pixels("train")
    x, mask = digit_pixels("test")[0][:60], missing_block()
    completed = inpaint(vae.decoder, x, mask, latent=8, steps=200)
    assert torch.equal(completed[:, :32], x[:, :32])
    assert missing_pixel_error(completed, x, mask) < missing_pixel_error(mean_fill(x, mask, X_train.mean(0)), x, mask)
    assert torch.equal(completed, inpaint(vae.decoder, x, mask, latent=8, steps=200))


def test_morph_frames_start_and_end_at_the_two_decodings(vae):
    start, end = torch.zeros(8), torch.ones(8)
    frames = morph_frames(vae.decoder, start, end, frames=5)
    with torch.no_grad():
        assert frames.shape == (5, 64) and torch.allclose(frames[0], vae.decoder(start[None])[0])
        assert torch.allclose(frames[-1], vae.decoder(end[None])[0])


def test_the_super_resolver_learns_to_beat_bilinear_interpolation():
    X, _ = digit_pixels("train")
    X_test, _ = digit_pixels("test")
    torch.manual_seed(0)
    model = super_resolver()
    losses = train_pixels_to_pixels(model, downsample(X), X, epochs=20)
    with torch.no_grad():
        learned = model(downsample(X_test))
    assert losses[-1] < losses[0]
    assert psnr(learned, X_test) > psnr(bilinear_upsample(downsample(X_test)), X_test) + 2


def test_a_detector_learns_to_tell_noise_from_digits():
    X, _ = digit_pixels("train")
    X_test, _ = digit_pixels("test")
    noise = torch.rand(len(X), 64, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    model = detector()
    train_detector(model, X, noise, epochs=3)
    result = detection(model, X_test, torch.rand(200, 64, generator=torch.Generator().manual_seed(2)))
    assert result.real_called_real > 0.95 and result.fake_called_fake > 0.95
    assert result.accuracy == pytest.approx((result.real_called_real + result.fake_called_fake) / 2)


def test_class_audit_is_scipys_chisquare_with_the_total_variation():
    predicted = torch.tensor([0] * 50 + [1] * 30 + [3] * 20)
    audit = class_audit(predicted, classes=4)
    reference = chisquare([50, 30, 0, 20])
    assert audit.counts == (50, 30, 0, 20)
    assert audit.chi_square == pytest.approx(reference.statistic) and audit.p_value == pytest.approx(reference.pvalue)
    assert audit.total_variation == pytest.approx(0.5 * (0.25 + 0.05 + 0.25 + 0.05))
    even = class_audit(torch.arange(5).repeat(4), classes=5)
    assert even.total_variation == 0 and even.p_value == pytest.approx(1.0)
