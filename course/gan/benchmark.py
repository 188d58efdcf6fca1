"""The mode-collapse benchmark: modes covered per seed of one setting, and the one table that prints such runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from course.gan.measures import MODE_SAMPLES, mode_coverage
from course.gan.seeds import SEED_OFFSETS
from course.gan.targets import GaussianMixture
from course.gan.training import GANTrainer
from course.language import tr


@dataclass(frozen=True)
class CoverageRun:
    """Modes covered and high-quality share of one setting (``label``) on a target of ``modes`` modes, one entry
    per seed, with the first seed's samples as an ``example`` (None where the run was stored without them)."""

    label: str
    target: str
    modes: int
    modes_covered: tuple[int, ...]
    high_quality_share: tuple[float, ...]
    example: torch.Tensor | None = field(default=None, repr=False, compare=False)

    @property
    def mean_modes_covered(self) -> float:
        return sum(self.modes_covered) / len(self.modes_covered)

    @property
    def mean_high_quality_share(self) -> float:
        return sum(self.high_quality_share) / len(self.high_quality_share)


def measure_mode_coverage(target: GaussianMixture, label: str, steps: int, seeds, samples: int = MODE_SAMPLES,
                          trainer: Callable[..., GANTrainer] | None = None, **trainer_options) -> CoverageRun:
    """Train one GAN per seed for ``steps`` steps and measure :func:`mode_coverage` on ``samples`` samples.

    ``trainer_options`` go to ``trainer`` (:class:`GANTrainer` by default; topic 07 passes its
    ``VariantTrainer``): loss kind, d_steps, learning rates, sizes. The generated samples come from
    noise seeded apart from training, so every seed is scored alike.
    """
    trainer = trainer or GANTrainer
    seeds = list(seeds)
    if not seeds or steps < 1:
        raise ValueError(f"steps={steps}, seeds={seeds}: need at least one step and one seed")
    covered, shares, generated = [], [], []
    for seed in seeds:
        run = trainer(target, seed=seed, **trainer_options)
        run.step(steps)
        generated.append(run.generate(samples, seed=seed + SEED_OFFSETS.scoring))
        coverage = mode_coverage(generated[-1], target)
        covered.append(coverage.modes_covered)
        shares.append(coverage.high_quality_share)
    return CoverageRun(label, target.name, coverage.modes, tuple(covered), tuple(shares), generated[0])


def coverage_table(runs: list[CoverageRun], published=()) -> str:
    """A plain-text table of :class:`CoverageRun` results, target by target: means over seeds with the per-seed
    modes, then the target's ``published`` rows (``course.gan_variants.papers.PUBLISHED``, from another setting)."""
    width = max([26] + [len(run.label) for run in runs] + [len(row.method) for row in published]) + 1
    target_head, method_head, source_head = tr("target"), tr("method"), tr("source")
    covered_head, quality_head, seeds_head = tr("modes covered"), tr("high quality"), tr("per seed")
    header = (f"{target_head:<7}{method_head:<{width}}{source_head:<23}{covered_head:>14}{quality_head:>14}   "
              f"{seeds_head}")
    ours_source = tr("this notebook")
    lines = [header, "-" * len(header)]
    for target in dict.fromkeys(run.target for run in runs):
        ours = [run for run in runs if run.target == target]
        for run in ours:
            lines.append(f"{target:<7}{run.label:<{width}}{ours_source:<23}{run.mean_modes_covered:>8.1f} / "
                         f"{run.modes:<3}{run.mean_high_quality_share:>14.1%}   {', '.join(map(str, run.modes_covered))}")
        for row in (row for row in published if row.target == target):
            lines.append(f"{target:<7}{row.method:<{width}}{row.source:<23}{row.modes_covered:>8.1f} / "
                         f"{ours[0].modes:<3}{row.high_quality_share:>14.1%}")
        lines.append("")
    return "\n".join(lines).rstrip()
