"""The random streams of a seeded GAN run, each named once with the offset from the run's seed that seeds it.

A run with seed s builds its players' weights under s itself and draws each stream below from its own generator,
seeded with s + offset, so one stream never shifts another. The offsets are part of every shipped result: the
same seed gives the same numbers only while they stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SeedOffsets:
    """How far each stream's seed lies from the run's seed."""

    data: int = 1  # the real batches
    noise: int = 2  # the noise batches
    eval_target: int = 3  # the fixed target samples the distance is measured against
    eval_noise: int = 4  # the fixed noise of G's evaluation samples
    codes: int = 5  # the classes (CGAN) or codes (InfoGAN) asked of G
    field_batch: int = 6  # the real batch behind a variant's gradient field
    variant: int = 7  # the randomness of a variant's own losses (WGAN-GP's interpolation points)
    scoring: int = 10_000  # the noise of the samples a benchmark scores, apart from every training stream


SEED_OFFSETS = SeedOffsets()


def stream(seed: int, offset: int) -> torch.Generator:
    """A CPU generator seeded with ``seed + offset``: one named stream of the run seeded ``seed``."""
    return torch.Generator().manual_seed(seed + offset)
