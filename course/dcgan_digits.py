"""Lecture 06's DCGAN on the digits, shipped: the generator of ``python -m course.dcgan_train``'s default run.

The default run trains for longer than a lecture cell should wait, so lecture 06 loads its generator from
``course/shipped/dcgan_digits.pt`` (with the run's traces and how it was made) to show good samples at once;
``python -m course.shipped dcgan_digits`` repeats the run and rewrites the file. The weights are stored in
float16 (half the bytes); every score the lecture prints is measured on the weights as shipped.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from course.dcgan import DCGANGenerator, random_latent
from course.dcgan_checkpoint import LOG_COLUMNS
from course.dcgan_config import TrainConfig
from course.dcgan_samples import quality_report
from course.dcgan_train import DCGANTraining
from course.image_data import upscale_tanh_digits
from course.shipped import RESULTS, read_torch, write_torch

HISTORY_EVERY = 10  # the traces keep every 10th step's row of LOG_COLUMNS


@dataclass
class ShippedDCGAN:
    """The shipped generator (float32, eval mode), the run's configuration, traces and provenance."""

    generator: DCGANGenerator
    config: dict
    history: torch.Tensor  # (rows, len(LOG_COLUMNS)): step, D loss, G loss, D(x), D(G(z))
    made: dict

    @property
    def nz(self) -> int:
        return self.config["nz"]

    @property
    def codes(self) -> int:
        return self.config["codes"]

    def latent(self, n: int, seed: int, codes: torch.Tensor | None = None) -> torch.Tensor:
        """G's input for n images from ``seed``: noise, then a one-hot code (random, or ``codes`` (n,))."""
        return random_latent(n, self.nz, self.codes, torch.Generator().manual_seed(seed), codes)

    @torch.no_grad()
    def draw(self, latent: torch.Tensor) -> torch.Tensor:
        """G(latent) scaled up as the 32x32 digits are made: (n, 1, 32, 32) in [-1, 1]."""
        return upscale_tanh_digits(self.generator(latent))

    def trace(self, column: str) -> torch.Tensor:
        return self.history[:, LOG_COLUMNS.index(column)]


def compute() -> tuple[dict, dict]:
    """The default run of course.dcgan_train on the CPU: (payload, settings) for course.shipped."""
    config = TrainConfig(device="cpu", out_dir=tempfile.mkdtemp(prefix="dcgan_digits_"))
    training = DCGANTraining(config)
    training.train()
    print(quality_report(training), flush=True)
    history = torch.tensor(training.history, dtype=torch.float32)[HISTORY_EVERY - 1::HISTORY_EVERY].clone()  # not all rows
    settings = {name: value for name, value in dataclasses.asdict(config).items()
                if name not in ("out_dir", "device", "data_root", "download")}
    weights = {name: (value.half() if value.is_floating_point() else value)
               for name, value in training.generator.state_dict().items()}
    return {"generator": weights, "history": history}, settings


def save(path: Path, payload: dict, made: dict) -> None:
    write_torch(path, payload, made)


def shipped_dcgan(path: Path | None = None) -> ShippedDCGAN:
    """Load the shipped generator (in eval mode, float32) with its run's configuration and traces."""
    path = path or RESULTS["dcgan_digits"].path
    stored, made = read_torch(path)
    config = made["settings"]
    generator = DCGANGenerator(config["nz"] + config["codes"], config["ngf"], 1, config["image_size"])
    generator.load_state_dict({name: value.float() if value.is_floating_point() else value
                               for name, value in stored["generator"].items()})
    return ShippedDCGAN(generator.eval(), config, stored["history"], made)


class ScaledUpGenerator(nn.Module):
    """A generator of 8x8 digits whose images come out at 32x32, as the 32x32 digits are made (for widgets)."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return upscale_tanh_digits(self.generator(latent))
