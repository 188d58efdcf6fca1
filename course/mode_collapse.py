"""Lecture 04's mode-collapse benchmark: plain GANs on the ring and the grid, as one computation.

Three settings (the non-saturating loss at k = 1 and k = 3, the saturating loss at k = 1), the same players
(MLPs of two hidden layers of 64 units, 2-D noise, Adam at 1e-3 for both, batch 256), both targets of
course.gan, several seeds each, scored with course.gan.measures.mode_coverage (the VEEGAN paper's definitions).
The full size (5 seeds x 10,000 steps) is too long for a lecture, so lecture 04 shows the shipped result at its
default size (course.shipped) and runs this at ``COURSE_FULL=1``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm.auto import tqdm

from course.gan.benchmark import CoverageRun, measure_mode_coverage
from course.gan.targets import grid_2d, ring_2d
from course.language import tr
from course.shipped import RESULTS, read_json, write_json

SETTINGS = {"non-saturating, k=1": dict(generator_loss_kind="non-saturating", d_steps=1),
            "non-saturating, k=3": dict(generator_loss_kind="non-saturating", d_steps=3),
            "saturating, k=1": dict(generator_loss_kind="saturating", d_steps=1)}
PLAYERS = dict(noise_dim=2, hidden=64, batch_size=256, lr_d=1e-3, lr_g=1e-3)
FULL_STEPS, FULL_SEEDS = 10_000, 5


def collapse_benchmark(steps: int = FULL_STEPS, seeds=range(FULL_SEEDS),
                       device: torch.device | str | None = None) -> list[CoverageRun]:
    """One :class:`course.gan.benchmark.CoverageRun` per (target, setting): ring first, then grid, settings in order."""
    runs = [(target, label, options) for target in (ring_2d(), grid_2d()) for label, options in SETTINGS.items()]
    return [measure_mode_coverage(target, label, steps, seeds, **options, **PLAYERS, device=device)
            for target, label, options in tqdm(runs, desc=tr("GANs trained"), unit="setting")]


def compute() -> tuple[list[dict], dict]:
    """The full-size benchmark on the CPU, as course.shipped stores it: (rows, settings)."""
    runs = collapse_benchmark(device="cpu")
    settings = {"steps": FULL_STEPS, "seeds": FULL_SEEDS, "players": PLAYERS, "settings": list(SETTINGS)}
    return [_as_row(run) for run in runs], settings


def save(path: Path, rows: list[dict], made: dict) -> None:
    write_json(path, rows, made)


def shipped_benchmark(path: Path | None = None) -> tuple[list[CoverageRun], dict]:
    """The shipped benchmark as CoverageRuns (without example samples) and how it was made."""
    rows, made = read_json(path or RESULTS["mode_collapse"].path)
    return [CoverageRun(row["label"], row["target"], row["modes"], tuple(row["modes_covered"]),
                        tuple(row["high_quality_share"])) for row in rows], made


def _as_row(run: CoverageRun) -> dict:
    return {"label": run.label, "target": run.target, "modes": run.modes,
            "modes_covered": list(run.modes_covered), "high_quality_share": list(run.high_quality_share)}
