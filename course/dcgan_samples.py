"""What the reference DCGAN training's generator draws: samples, the grids a run saves, and their quality."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch import nn

from course.dcgan import NATIVE_DIGITS_SIZE
from course.image_data import upscale_tanh_digits
from course.language import tr

GRID_SIDE = 8  # the sample grid is 8 x 8 = 64 images of G(fixed_noise)
SCORED_SAMPLES = 1000
SCORE_SEED = 12345  # the noise every score of a run draws its samples from


@torch.no_grad()
def generate_as_trained(generator: nn.Module, noise: torch.Tensor, precision=contextlib.nullcontext) -> torch.Tensor:
    """G(noise) on the CPU, float32 in [-1, 1]: (n, C, S, S); ``precision()`` is the autocast G runs under.

    G runs in training mode, with the batch statistics it was trained with (as pytorch/examples
    samples), and its BatchNorm running averages are put back afterwards so that sampling never
    changes the state a resumed run must reproduce.
    """
    saved = {name: buffer.clone() for name, buffer in generator.named_buffers()}
    was_training = generator.training
    generator.train()
    try:
        with precision():
            images = generator(noise.to(next(generator.parameters()).device))
    finally:
        for name, buffer in generator.named_buffers():
            buffer.copy_(saved[name])
        generator.train(was_training)
    return images.float().cpu()


def viewable(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """Images as a reader (and course.digit_quality) sees the data: 8x8 digits scaled up to 32x32 as the
    32x32 digits are made, other sizes as they are."""
    return upscale_tanh_digits(images) if image_size == NATIVE_DIGITS_SIZE else images


def save_grid(images: torch.Tensor, path: Path) -> Path:
    """A PNG grid of ``images`` (GRID_SIDE to a row) in [-1, 1] at ``path``."""
    from torchvision.utils import save_image

    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images, path, nrow=GRID_SIDE, normalize=True, value_range=(-1, 1))
    return path


def sample_quality(training, samples: int = SCORED_SAMPLES, seed: int = SCORE_SEED):
    """course.digit_quality's report on ``samples`` images a :class:`course.dcgan_train.DCGANTraining`'s G draws
    from ``seed``'s noise (digits only)."""
    from course import digit_quality  # only scoring needs the classifier

    noise = training.latent(samples, torch.Generator().manual_seed(seed))
    return digit_quality.score_generated(training.viewable(training.generate(noise)))


def quality_report(training, samples: int = SCORED_SAMPLES, seed: int = SCORE_SEED) -> str:
    """:func:`sample_quality` beside the real training digits' figures, as text."""
    config = training.config
    if config.dataset != "digits" or config.image_size not in (NATIVE_DIGITS_SIZE, 32):
        return tr("quality: the digits scorer reads digits at 8x8 or 32x32, not {dataset} at {size}").format(
            dataset=config.dataset, size=config.image_size)
    try:
        from course import digit_quality
    except ImportError:
        return tr("quality: course.digit_quality is not available in this checkout")
    report = sample_quality(training, samples, seed)
    baseline = digit_quality.real_baseline(samples)
    return tr("quality of {samples} samples: {report}\nreal training digits, {samples} scored alike: {share:.1%} "
              "confident, {covered}/10 classes, Fréchet distance {distance:.2f}").format(
        samples=samples, report=report, share=baseline.confident_share, covered=baseline.classes_covered,
        distance=baseline.frechet_distance)
