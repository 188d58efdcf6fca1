"""The files of a reference DCGAN run: ``log.csv``, one row per step, and ``checkpoint.pt``, everything a resumed
run needs to continue exactly where the interrupted one stopped."""

from __future__ import annotations

import csv
import dataclasses
import os
import random
from pathlib import Path

import numpy as np
import torch

from course.dcgan_config import noise_seed
from course.dcgan_distributed import gathered, share_running_statistics

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.csv"
LOG_COLUMNS = ("step", "d_loss", "g_loss", "d_real", "d_fake")


# -- the log ------------------------------------------------------------------------------------------


def write_log(out_dir: Path, rows: list[list[float]], fresh: bool = False) -> None:
    """Append ``rows`` (of LOG_COLUMNS) to ``out_dir/log.csv``; ``fresh``: start the file anew, header first."""
    if fresh:
        out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOG_NAME, "w" if fresh else "a", newline="") as log:
        writer = csv.writer(log)
        if fresh:
            writer.writerow(LOG_COLUMNS)
        writer.writerows([[int(row[0]), *(f"{v:.6g}" for v in row[1:])] for row in rows])


def read_log(out_dir: str | os.PathLike) -> dict[str, list[float]]:
    """``out_dir/log.csv`` as columns: {"step": [...], "d_loss": [...], ...}."""
    with open(Path(out_dir) / LOG_NAME, newline="") as log:
        rows = list(csv.DictReader(log))
    return {column: [float(row[column]) for row in rows] for column in LOG_COLUMNS}


# -- the checkpoint ----------------------------------------------------------------------------------------


def training_state(training) -> dict:
    """Everything a resumed :class:`course.dcgan_train.DCGANTraining` needs (collective: call it on every rank).

    Only tensors and plain Python values, so ``torch.load(..., weights_only=True)`` reads it. The training's
    pending statistics must be flushed into its history first.
    """
    if training.world_size > 1:
        share_running_statistics(training.generator, training.discriminator)
    noise_states = gathered(training.noise_rng.get_state(), training.world_size)
    code_head = {} if training.code_head is None else {"code_head": training.code_head.state_dict(),
                                                      "q_optimizer": training.q_optimizer.state_dict()}
    return {
        "step": training.step,
        "generator": training.generator.state_dict(),
        "discriminator": training.discriminator.state_dict(),
        "g_optimizer": training.g_optimizer.state_dict(),
        "d_optimizer": training.d_optimizer.state_dict(),
        **code_head,
        "scaler": training.scaler.state_dict(),
        "history": torch.tensor(training.history, dtype=torch.float64).reshape(-1, len(LOG_COLUMNS)),
        "fixed_noise": training.fixed_noise,
        "noise_rng": noise_states,  # one per rank
        "data_order": training.data.position(training.step),
        **global_random_states(),
        "config": dataclasses.asdict(training.config),
    }


def restore_training(training, state: dict) -> None:
    """Put a :func:`training_state` back: models, optimisers, step, history and every random state."""
    training.generator.load_state_dict(state["generator"])
    training.discriminator.load_state_dict(state["discriminator"])
    training.g_optimizer.load_state_dict(state["g_optimizer"])
    training.d_optimizer.load_state_dict(state["d_optimizer"])
    if training.code_head is not None:
        training.code_head.load_state_dict(state["code_head"])
        training.q_optimizer.load_state_dict(state["q_optimizer"])
    training.scaler.load_state_dict(state["scaler"])
    training.step = int(state["step"])
    training.history = state["history"].tolist()
    training.fixed_noise = state["fixed_noise"]
    training.data.seed = int(state["data_order"]["seed"])  # the data order continues as it began
    noise_states = state["noise_rng"]
    if len(noise_states) == training.world_size:
        training.noise_rng.set_state(noise_states[training.rank].cpu())
    else:  # another number of processes: the streams cannot continue, so each rank starts a new one
        training.noise_rng.manual_seed(noise_seed(training.config.seed, training.rank, training.step))
    restore_global_random_states(state)


def global_random_states() -> dict:
    """The states of torch's (CPU and CUDA), NumPy's and Python's global generators, as tensors and tuples."""
    numpy_state = np.random.get_state()
    return {
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy_rng": [numpy_state[0], torch.from_numpy(numpy_state[1].astype(np.int64)), *numpy_state[2:]],
        "python_rng": random.getstate(),
    }


def restore_global_random_states(state: dict) -> None:
    """Set the global generators to a :func:`global_random_states`."""
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    name, keys, *rest = state["numpy_rng"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    random.setstate(_as_tuples(state["python_rng"]))


def _as_tuples(value):
    """torch.load gives lists back where random.getstate() had tuples; random.setstate wants tuples."""
    return tuple(_as_tuples(item) for item in value) if isinstance(value, (list, tuple)) else value


def save_checkpoint(state: dict, out_dir: Path, write: bool = True) -> Path:
    """Write ``state`` to ``out_dir/checkpoint.pt`` when ``write`` (rank 0); atomic: a crash keeps the old one."""
    path = out_dir / CHECKPOINT_NAME
    if write:
        out_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        torch.save(state, partial)
        os.replace(partial, path)
    return path


def load_checkpoint(out_dir: Path) -> dict:
    """``out_dir/checkpoint.pt`` on the CPU, or a FileNotFoundError that says how to start instead."""
    path = out_dir / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}; start without --resume, "
                                f"or give the --out-dir of the run to continue")
    return torch.load(path, map_location="cpu", weights_only=True)
