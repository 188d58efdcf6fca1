"""The reference DCGAN training under torchrun: the process group, and the players wrapped for training.

Outside torchrun every helper here is the identity: one process, rank 0 of 1, the models as they are.
"""

from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from course.repro import pick_device


def world() -> tuple[int, int]:
    """(rank, world size) of the running process group, (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def launched_by_torchrun() -> bool:
    """True inside a torchrun job of more than one process (torchrun sets WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@contextlib.contextmanager
def process_group(device_preference: str | None = None):
    """Join torchrun's process group (nccl on CUDA, gloo otherwise) for the block, then leave it.

    Outside torchrun it does nothing. Each process drives the GPU of its LOCAL_RANK.
    """
    if not launched_by_torchrun():
        yield
        return
    device = pick_device(device_preference)
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def process_device(preference: str | None, world_size: int) -> torch.device:
    """The device this process trains on: its own GPU in a multi-process CUDA job, else course.repro.pick_device's."""
    device = pick_device(preference)
    if device.type == "cuda" and world_size > 1:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def wrap_players(generator: nn.Module, discriminator: nn.Module, code_head: nn.Module | None,
                 device: torch.device, world_size: int, compile: bool):
    """(G to train, D to train, D for the generator step, the code head to train): DDP and torch.compile where asked.

    The generator step goes through D's plain module with D's parameters frozen: no weight
    gradients are computed for D there, and DDP does not all-reduce gradients that nobody uses.
    """
    g_train, d_train, d_frozen, q_train = generator, discriminator, discriminator, code_head
    if world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        # D runs twice (real, then fake) before one backward; with broadcast_buffers DDP would overwrite
        # BatchNorm's buffers in place between the two, which autograd can reject. Each rank keeps its own
        # running averages instead, and checkpoints take rank 0's (share_running_statistics).
        g_train = DistributedDataParallel(g_train, device_ids=ids, broadcast_buffers=False)
        d_train = DistributedDataParallel(d_train, device_ids=ids, broadcast_buffers=False)
    if compile:
        g_train, d_train, d_frozen = torch.compile(g_train), torch.compile(d_train), torch.compile(d_frozen)
    if code_head is not None and world_size > 1:
        q_train = DistributedDataParallel(code_head, device_ids=ids)
    return g_train, d_train, d_frozen, q_train


def share_running_statistics(*models: nn.Module) -> None:
    """Give every rank rank 0's BatchNorm running averages (collective).

    DDP sends rank 0's buffers to the others before each forward pass, so after the last one every
    rank holds statistics of its own batch; training never reads them (BatchNorm uses batch
    statistics in training mode), but a checkpoint and the final models should agree across ranks.
    """
    for model in models:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def gathered(value, world_size: int) -> list:
    """``value`` of every rank, in rank order (collective): [value] in a single process."""
    if world_size == 1:
        return [value]
    values = [None] * world_size
    dist.all_gather_object(values, value)
    return values
