"""Topic 09: generative AI in the world, each application the slides list shown at the digits' small size, offline.

- **inpainting** (图像修复): fill the missing pixels of a digit by searching the code of a trained VAE whose decoding
  matches the pixels that are there (a MAP estimate under the VAE's prior), against filling them with the mean digit;
- **super-resolution** (低清变高清): a small network trained to turn 4x4 digits into 8x8 ones, against bilinear
  interpolation, measured in PSNR;
- **video**: frames decoded along a straight path between two codes (a morph, the simplest generated video);
- **deepfake detection**: a real-versus-generated classifier trained on one generator's samples, tested on another's;
- **an audit in the spirit of the regulator's Article 12**: does a generator over- or under-produce some classes?
  The classes its samples fall in, against an even share (a chi-square test) and the total variation distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from scipy.stats import chisquare
from torch import nn

from course.autoencoders import DECODER_STD, mlp
from course.training import train_epochs

SIDE, LOW_SIDE = 8, 4


# -- inpainting ---------------------------------------------------------------------------------------------------


def missing_block(rows: slice = slice(4, 8), columns: slice = slice(0, 8)) -> torch.Tensor:
    """An 8x8 mask, flattened to 64: 1 where a pixel is observed, 0 where it is missing (default: the bottom half)."""
    mask = torch.ones(SIDE, SIDE)
    mask[rows, columns] = 0.0
    return mask.reshape(-1)


def mean_fill(x: torch.Tensor, mask: torch.Tensor, mean_image: torch.Tensor) -> torch.Tensor:
    """The baseline: observed pixels kept, missing ones taken from the mean training digit."""
    return mask * x + (1 - mask) * mean_image


def inpaint(decoder: nn.Module, x: torch.Tensor, mask: torch.Tensor, latent: int, steps: int = 300, lr: float = 0.05,
            seed: int = 0) -> torch.Tensor:
    """Fill the pixels where ``mask`` is 0: find for each digit the code z that maximises
    log p(observed pixels | z) + log p(z) under the VAE (Adam from a random start), and take the missing pixels
    from its decoding. Observed pixels are returned unchanged."""
    z = torch.randn(len(x), latent, generator=torch.Generator().manual_seed(seed)).requires_grad_()
    optimizer = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        misfit = (mask * (decoder(z) - x)).pow(2).sum(dim=1) / (2 * DECODER_STD ** 2)
        loss = (misfit + 0.5 * z.pow(2).sum(dim=1)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return mask * x + (1 - mask) * decoder(z)


def missing_pixel_error(completed: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> float:
    """Root mean squared error over the missing pixels only."""
    missing = (1 - mask).expand_as(x).bool()
    return (completed - x)[missing].pow(2).mean().sqrt().item()


# -- super-resolution ---------------------------------------------------------------------------------------------


def downsample(pixels: torch.Tensor) -> torch.Tensor:
    """(N, 64) 8x8 digits to (N, 16) 4x4 ones: the mean of each 2x2 block."""
    return F.avg_pool2d(pixels.reshape(-1, 1, SIDE, SIDE), 2).flatten(1)


def bilinear_upsample(low: torch.Tensor) -> torch.Tensor:
    """(N, 16) 4x4 digits to (N, 64) by bilinear interpolation, the baseline of super-resolution."""
    images = F.interpolate(low.reshape(-1, 1, LOW_SIDE, LOW_SIDE), size=(SIDE, SIDE), mode="bilinear",
                           align_corners=False)
    return images.flatten(1)


def psnr(x: torch.Tensor, reference: torch.Tensor, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(peak^2 / MSE), the MSE over every pixel of the batch."""
    mse = F.mse_loss(x.double(), reference.double()).item()
    return math.inf if mse == 0 else 10 * math.log10(peak ** 2 / mse)


def super_resolver(hidden: int = 256) -> nn.Sequential:
    """16 pixels in, 64 out in [0, 1]."""
    return nn.Sequential(mlp((LOW_SIDE * LOW_SIDE, hidden, SIDE * SIDE)), nn.Sigmoid())


def train_pixels_to_pixels(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, epochs: int,
                           batch_size: int = 64, lr: float = 1e-3, seed: int = 0) -> list[float]:
    """Adam on the mean squared error between model(inputs) and targets; the mean loss of each epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return train_epochs(model, inputs, targets, F.mse_loss, optimizer, epochs, batch_size, seed=seed)


# -- video: a path through the code space ---------------------------------------------------------------------------


def morph_frames(decoder: nn.Module, start: torch.Tensor, end: torch.Tensor, frames: int) -> torch.Tensor:
    """(frames, 64) decodings of codes evenly spaced on the straight line from ``start`` to ``end``."""
    weights = torch.linspace(0, 1, frames).unsqueeze(1)
    with torch.no_grad():
        return decoder((1 - weights) * start + weights * end)


# -- deepfake detection ---------------------------------------------------------------------------------------------


def detector(hidden: int = 64) -> nn.Sequential:
    """64 pixels in, one logit out: positive for "generated"."""
    return mlp((SIDE * SIDE, hidden, 1))


def train_detector(model: nn.Module, real: torch.Tensor, fake: torch.Tensor, epochs: int, batch_size: int = 64,
                   lr: float = 1e-3, seed: int = 0) -> list[float]:
    """Adam on the BCE of telling ``fake`` (label 1) from ``real`` (label 0); the mean loss of each epoch."""
    inputs = torch.cat([real, fake])
    labels = torch.cat([torch.zeros(len(real)), torch.ones(len(fake))]).unsqueeze(1)  # (N, 1): 1 = generated
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return train_epochs(model, inputs, labels, F.binary_cross_entropy_with_logits, optimizer, epochs, batch_size,
                        seed=seed)


@dataclass(frozen=True)
class Detection:
    """How a detector does on real and on generated samples (a logit above 0 says "generated")."""

    real_called_real: float
    fake_called_fake: float

    @property
    def accuracy(self) -> float:
        """Balanced accuracy: the mean of the two rates."""
        return (self.real_called_real + self.fake_called_fake) / 2


def detection(model: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> Detection:
    with torch.no_grad():
        return Detection((model(real) <= 0).float().mean().item(), (model(fake) > 0).float().mean().item())


# -- an audit of what a generator produces ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassAudit:
    """How the samples of a generator fall into ``classes`` classes, against an even share."""

    counts: tuple[int, ...]
    chi_square: float
    p_value: float
    total_variation: float  # half the L1 distance between the class shares and the even share: 0 even, 1 - 1/K at most


def class_audit(predicted: torch.Tensor, classes: int) -> ClassAudit:
    """Count the predicted classes of a generator's samples; test them against an even share (SciPy's chisquare)."""
    counts = torch.bincount(predicted.long(), minlength=classes)[:classes]
    shares = counts.double() / counts.sum()
    statistic, p_value = chisquare(counts.numpy())
    total_variation = 0.5 * (shares - 1.0 / classes).abs().sum().item()
    return ClassAudit(tuple(counts.tolist()), float(statistic), float(p_value), total_variation)
