"""Lecture 06's table of what makes the digits DCGAN draw digits, shipped: the paper's recipe, then one change at a
time up to the default run of ``python -m course.dcgan_train``, each trained by the kit's own script and scored on
1,000 samples as ``--score`` scores them.

    python -m course.shipped dcgan_ablation   # seven runs, one process per core

Each row's figures come from the machine that made the table; the same seed on another CPU gives other numbers (GAN
training amplifies the last bit of a float sum that differs between CPUs), which is why the default's second seed
is a row too.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch

from course import digit_quality
from course.dcgan_config import TrainConfig
from course.dcgan_samples import SCORED_SAMPLES, sample_quality
from course.dcgan_train import DCGANTraining
from course.language import tr
from course.repro import available_cores
from course.shipped import RESULTS, read_json, write_json

@dataclass(frozen=True)
class Row:
    options: str  # what `python -m course.dcgan_train --score` is given for this row
    change: str  # what the row adds to the row above it
    overrides: dict  # TrainConfig fields; "paper_rules" starts from TrainConfig.paper_rules()

    def config(self, out_dir: str = TrainConfig.out_dir) -> TrainConfig:
        settings = {name: value for name, value in self.overrides.items() if name != "paper_rules"}
        base = TrainConfig.paper_rules if self.overrides.get("paper_rules") else TrainConfig
        return base(**settings, device="cpu", threads=1, out_dir=out_dir, checkpoint_every=10**9,
                    sample_every=10**9)


ROWS = (
    Row("--paper-rules", "the paper's recipe at 32x32, 3,000 steps of 64", {"paper_rules": True}),
    Row("--codes 0 --no-lr-decay --real-label 1 --lr 2e-4", "8x8, 12,000 steps of 32, constant rates",
        {"codes": 0, "lr_decay": False, "real_label": 1.0, "lr": 2e-4}),
    Row("--codes 0 --real-label 1 --lr 2e-4", "and rates falling to zero", {"codes": 0, "real_label": 1.0, "lr": 2e-4}),
    Row("--real-label 1 --lr 2e-4", "and a code of 10 read back (weight 3)", {"real_label": 1.0, "lr": 2e-4}),
    Row("--lr 2e-4", "and real labels of 0.9", {"lr": 2e-4}),
    Row("(none)", "and a learning rate of 3e-4 falling to zero: the default", {}),
    Row("--seed 1", "the default with another seed", {"seed": 1}),
)


def run_row(row: Row) -> dict:
    """Train one row's configuration on one CPU thread and score it: its figures and seconds."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dcgan_ablation_") as out_dir:  # the run's log and checkpoint
        training = DCGANTraining(row.config(out_dir))
        training.train()
    report = sample_quality(training)
    return {"options": row.options, "change": row.change, "confident": report.confident_share,
            "classes": report.classes_covered, "frechet": report.frechet_distance,
            "seconds": round(time.perf_counter() - start, 1)}


def compute() -> tuple[dict, dict]:
    """Every row, one process per core (spawned: each imports torch afresh); (payload, settings) for course.shipped."""
    workers = min(available_cores(), len(ROWS))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        rows = list(pool.map(run_row, ROWS))
    real = digit_quality.real_baseline(SCORED_SAMPLES)
    payload = {"rows": rows, "real": {"confident": real.confident_share, "classes": real.classes_covered,
                                      "frechet": real.frechet_distance}}
    return payload, {row.options: row.overrides for row in ROWS}


def save(path: Path, payload: dict, made: dict) -> None:
    write_json(path, payload, made)


def shipped_ablation(path: Path | None = None) -> tuple[dict, dict]:
    """(payload, provenance) of the shipped table."""
    return read_json(path or RESULTS["dcgan_ablation"].path)


def ablation_table(payload: dict) -> str:
    """The table as lecture 06 prints it: one row per run, then the real digits. (Each row's seconds are kept in
    the payload but not printed: they depend on what else the machine was doing while the table was made.)"""
    real = payload["real"]
    rows = [(row["options"], row["change"], row) for row in payload["rows"]]
    rows.append((tr("real training digits, 1,000"), "(course.digit_quality.real_baseline)", real))
    header = (tr("run: python -m course.dcgan_train --score with"), tr("adds"))
    run_width, adds_width = (max(len(text) for text in column) for column in zip(header, *[row[:2] for row in rows]))
    confident, classes, frechet = tr("confident"), tr("classes"), tr("Fréchet")
    lines = [f"{header[0]:<{run_width}} {header[1]:<{adds_width}} {confident:>9}  {classes:>7}  {frechet:>7}"]
    lines.append("-" * len(lines[0]))
    for options, change, scores in rows:
        lines.append(f"{options:<{run_width}} {change:<{adds_width}} {scores['confident']:>9.1%}  "
                     f"{scores['classes']:>4}/10  {scores['frechet']:>7.1f}")
    return "\n".join(lines)
