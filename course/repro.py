"""Seeding, device choice and the full-size switch: the one place for each.

Every notebook starts with ``seed_everything()`` and asks ``pick_device()``
where to run, so a CPU laptop, an Apple GPU and a CUDA cluster all run the
same code unchanged.
"""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

DEFAULT_SEED = 0
DEVICE_ENV = "COURSE_DEVICE"
FULL_SIZE_ENV = "COURSE_FULL"


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python's, NumPy's and PyTorch's generators (CPU and every GPU). Returns nothing, so that a cell
    ending with it prints nothing."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(preference: str | None = None) -> torch.device:
    """Return the device to train on: CUDA, then Apple MPS, then the CPU.

    ``preference`` (or the ``COURSE_DEVICE`` environment variable) forces one,
    e.g. ``"cpu"`` to compare timings; asking for one that is not there is an
    error rather than a silent fallback.
    """
    wanted = preference or os.environ.get(DEVICE_ENV)
    if wanted:
        device = torch.device(wanted)
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": _mps_available(),
        }.get(device.type)
        if available is None:
            raise ValueError(f"unknown device {wanted!r}: use 'cpu', 'cuda' or 'mps'")
        if not available:
            raise RuntimeError(
                f"device {wanted!r} was asked for (argument or {DEVICE_ENV}) but this "
                "machine has none; unset it to let pick_device() choose"
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast(device: torch.device):
    """Mixed precision where it pays: bf16 (or fp16) autocast on CUDA, nothing elsewhere."""
    device = torch.device(device)
    if device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


@contextlib.contextmanager
def cpu_threads(device: torch.device, threads: int | None):
    """Run the block on ``threads`` CPU threads when ``device`` is the CPU; other devices, and None, are left alone.

    Small models gain nothing from several threads, and when another process holds a
    core, threads that wait on each other make training many times slower.
    """
    if torch.device(device).type != "cpu" or threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def single_cpu_thread(device: torch.device):
    """Run the block on one CPU thread when ``device`` is the CPU: :func:`cpu_threads` with one thread."""
    return cpu_threads(device, 1)


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def full_size() -> bool:
    """The one switch between the tests' small sizes and the full course sizes.

    Set ``COURSE_FULL=1`` to train longer and on more data; everything else
    (tests, CI, a first read on a laptop) uses the small sizes.
    """
    return os.environ.get(FULL_SIZE_ENV, "").strip().lower() in {"1", "true", "yes"}
