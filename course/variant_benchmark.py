"""Lecture 07's measurements of the GAN variants on the ring and the grid, as one computation.

Three tables of :class:`course.gan.benchmark.CoverageRun` (the VEEGAN paper's definitions,
:func:`course.gan.measures.mode_coverage`):

- **benchmark**: every variant of ``course.gan_variants.variants.VARIANTS`` on both targets with the same players
  (MLPs of two hidden layers of 64 units, 2-D noise, batch 256, learning rate 1e-3 for both);
- **settled**: vanilla, InfoGAN and CGAN with 128 units and both rates decaying linearly to zero;
- **ablation**: InfoGAN on the grid with each of those two changes alone (the table puts the benchmark's and the
  settled game's InfoGAN rows around them).

At full size (5 seeds x 10,000 steps) that is too long for a lecture, so lecture 07 shows the shipped result at its
default size (course.shipped) and computes it at ``COURSE_FULL=1``. Each seed of each setting is trained on its
own, seeded as in :func:`course.gan.benchmark.measure_mode_coverage`, so the work spreads over processes (one
thread each) and gives the same runs as one process would.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from course.gan.benchmark import CoverageRun, measure_mode_coverage
from course.gan.targets import grid_2d, ring_2d
from course.gan_variants.trainer import VariantTrainer
from course.gan_variants.variants import VARIANTS
from course.language import tr
from course.repro import available_cores, pick_device
from course.shipped import RESULTS, read_torch, write_torch

COMMON = dict(noise_dim=2, hidden=64, batch_size=256, lr_d=1e-3, lr_g=1e-3)
SETTLED_HIDDEN = 128
SETTLED_VARIANTS = ("vanilla", "InfoGAN", "CGAN")
FULL_STEPS, FULL_SEEDS = 10_000, 5
TARGETS = {"ring": ring_2d, "grid": grid_2d}


@dataclass(frozen=True)
class Setting:
    """One row of a table: a variant on a target with its trainer options (the decay spans the run when set)."""

    table: str
    target: str
    label: str
    variant: str
    hidden: int = COMMON["hidden"]
    decaying: bool = False

    def options(self, steps: int) -> dict:
        return {**COMMON, "hidden": self.hidden, "lr_decay_steps": steps if self.decaying else None}


def settings() -> list[Setting]:
    """Every row trained, in the order the lecture prints them."""
    rows = [Setting("benchmark", target, name, name) for target in TARGETS for name in VARIANTS]
    rows += [Setting("settled", target, name, name, SETTLED_HIDDEN, True) for target in TARGETS
             for name in SETTLED_VARIANTS]
    rows += [Setting("ablation", "grid", "InfoGAN, 64 units, decaying", "InfoGAN", decaying=True),
             Setting("ablation", "grid", "InfoGAN, 128 units, constant", "InfoGAN", SETTLED_HIDDEN)]
    return rows


def train_one_seed(setting: Setting, steps: int, seed: int, device: str | None = None) -> CoverageRun:
    """One seed of one setting: :func:`course.gan.benchmark.measure_mode_coverage` for that seed alone."""
    return measure_mode_coverage(TARGETS[setting.target](), setting.label, steps, [seed], trainer=VariantTrainer,
                                 variant=setting.variant, device=device, **setting.options(steps))


def _train_on_one_thread(setting: Setting, steps: int, seed: int) -> CoverageRun:
    torch.set_num_threads(1)
    return train_one_seed(setting, steps, seed, "cpu")


def variant_tables(steps: int = FULL_STEPS, seeds=range(FULL_SEEDS), device: torch.device | str | None = None,
                   workers: int | None = None) -> dict[str, list[CoverageRun]]:
    """{"benchmark": [...], "settled": [...], "ablation": [...]}: each run holds every seed and the first seed's
    samples. ``workers`` processes train seeds side by side on the CPU (default: one per core); on another
    device, or with one worker, everything runs here."""
    seeds = list(seeds)
    jobs = [(setting, seed) for setting in settings() for seed in seeds]
    device = pick_device() if device is None else torch.device(device)
    workers = available_cores() if workers is None else workers
    progress = dict(total=len(jobs), desc=tr("GANs trained"), unit="seed")
    if device.type == "cpu" and workers > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_train_on_one_thread, setting, steps, seed) for setting, seed in jobs]
            for _ in tqdm(as_completed(futures), **progress):
                pass
            done = [future.result() for future in futures]
    else:
        done = [train_one_seed(setting, steps, seed, device) for setting, seed in tqdm(jobs, **progress)]
    tables: dict[str, list[CoverageRun]] = {}
    for index, setting in enumerate(settings()):
        tables.setdefault(setting.table, []).append(merge_seeds(done[index * len(seeds):(index + 1) * len(seeds)]))
    return tables


def merge_seeds(runs: list[CoverageRun]) -> CoverageRun:
    """One run of several one-seed runs of a setting, the first one's samples as its example."""
    return replace(runs[0], modes_covered=tuple(covered for run in runs for covered in run.modes_covered),
                   high_quality_share=tuple(share for run in runs for share in run.high_quality_share))


def ablation_table(tables: dict[str, list[CoverageRun]]) -> list[CoverageRun]:
    """InfoGAN on the grid with neither change (the benchmark's row), each alone, and both (the settled row)."""
    def infogan_on_grid(table: str) -> CoverageRun:
        return next(run for run in tables[table] if run.target == "grid" and run.label == "InfoGAN")

    return [replace(infogan_on_grid("benchmark"), label="InfoGAN, 64 units, constant"), *tables["ablation"],
            replace(infogan_on_grid("settled"), label="InfoGAN, 128 units, decaying")]


def compute() -> tuple[dict, dict]:
    """The full size on the CPU, as course.shipped stores it: (tables as rows, settings)."""
    tables = variant_tables(device="cpu")
    return ({name: [_as_row(run, keep_example=name == "benchmark" and run.target == "grid") for run in runs]
             for name, runs in tables.items()}, expected_settings())


def expected_settings() -> dict:
    return {"steps": FULL_STEPS, "seeds": FULL_SEEDS, "players": COMMON, "settled_hidden": SETTLED_HIDDEN,
            "rows": [f"{row.table}: {row.target}, {row.label}" for row in settings()]}


def save(path: Path, tables: dict, made: dict) -> None:
    write_torch(path, {"tables": tables}, made)


def shipped_tables(path: Path | None = None) -> tuple[dict[str, list[CoverageRun]], dict]:
    """The shipped tables (the grid's benchmark runs with their first seed's samples) and how they were made."""
    stored, made = read_torch(path or RESULTS["variant_benchmark"].path)
    tables = {name: [CoverageRun(row["label"], row["target"], row["modes"], tuple(row["modes_covered"]),
                                 tuple(row["high_quality_share"]), row["example"]) for row in rows]
              for name, rows in stored["tables"].items()}
    return tables, made


def _as_row(run: CoverageRun, keep_example: bool) -> dict:
    return {"label": run.label, "target": run.target, "modes": run.modes, "modes_covered": list(run.modes_covered),
            "high_quality_share": list(run.high_quality_share),
            "example": run.example.float().clone() if keep_example else None}
