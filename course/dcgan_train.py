"""The reference DCGAN training: one script for a laptop CPU, a CUDA GPU and a torchrun cluster.

    python -m course.dcgan_train --score              # the digits at 8x8 with a code, on whatever device pick_device() finds
    python -m course.dcgan_train --steps 200 --out-dir runs/try
    python -m course.dcgan_train --resume             # carry on from runs/dcgan/checkpoint.pt
    COURSE_FULL=1 python -m course.dcgan_train        # the paper's sizes: 64x64, nz 100, widths 64, batch 128
    torchrun --nproc_per_node=2 -m course.dcgan_train # DistributedDataParallel, gloo on CPU, nccl on CUDA

What it does, step by step (:meth:`DCGANTraining.train_step`): one generator pass G(z) on fresh noise,
a discriminator update on the real batch and on the detached fakes (course.gan's discriminator loss),
then a generator update through the freshly updated D with the non-saturating loss — course.gan's
``discriminator_step`` and ``generator_step``, with the fakes reused as pytorch/examples' dcgan does.

The default run differs from the paper's DCGAN in four measured ways (lecture 06, section 7): it draws the
digits at their own size, 8x8, and scales each sample up as the 32x32 digits are made; G gets a 10-way
categorical code beside the noise and InfoGAN's code head on D's features must read it back (``codes``,
``code_weight``); both learning rates fall linearly to zero over the run (``lr_decay``); D's target for real
images is 0.9, one-sided label smoothing (``real_label``).
``TrainConfig.paper_rules()`` is the paper's recipe on the 32x32 digits, ``TrainConfig.full()`` its sizes.

What it writes to ``out_dir`` (rank 0 alone): ``log.csv`` (per step: D loss, G loss, mean D(x), mean
D(G(z)) before D's update), ``samples_<step>.png`` (an 8x8 grid of G(fixed_noise), so grids from
different steps show the same 64 noise vectors) and ``checkpoint.pt`` (models, optimisers, step,
history and every random state; ``--resume`` continues to exactly the state an uninterrupted run
reaches on the same device).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from course.dcgan import (IMAGE_SIZES, NATIVE_DIGITS_SIZE, CodeHead, DCGANDiscriminator, DCGANGenerator,
                          dcgan_weights_init, latent_with_codes, random_latent)
from course.gan import discriminator_loss, generator_loss
from course.image_data import DATASETS, load_images, upscale_tanh_digits
from course.repro import autocast, full_size, pick_device

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.csv"
LOG_COLUMNS = ("step", "d_loss", "g_loss", "d_real", "d_fake")
GRID_SIDE = 8  # the sample grid is 8 x 8 = 64 images of G(fixed_noise)
DEFAULT_STEPS = 12_000


@dataclass
class TrainConfig:
    """Everything a run depends on. The defaults are the offline CPU run: digits at 8x8 with a code, small widths.

    ``batch_size`` is per process (a torchrun job of N processes takes N batches per step).
    ``amp`` and ``channels_last`` default to None, meaning "on for CUDA, off elsewhere".
    ``threads`` is the number of CPU threads each process trains with on the CPU: one by default, as
    course.repro.single_cpu_thread argues. The default run's layers are small: on 2 quiet cores a second thread
    made it no faster, and while another process holds a core, threads wait on each other and a step takes
    many times longer. None keeps torch's own number (every core unless OMP_NUM_THREADS says otherwise).
    """

    dataset: str = "digits"
    image_size: int = 8
    nz: int = 32
    ngf: int = 32
    ndf: int = 32
    batch_size: int = 32
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    steps: int = DEFAULT_STEPS
    codes: int = 10  # categories of G's code, read back by InfoGAN's head on D; 0: the paper's plain noise
    code_weight: float = 3.0
    lr_decay: bool = True  # both rates fall linearly to zero over ``steps``
    real_label: float = 0.9  # D's target for real images: 0.9 is one-sided label smoothing (topic 05), 1 the paper's
    seed: int = 0
    device: str | None = None
    out_dir: str = "runs/dcgan"
    checkpoint_every: int = 1000
    sample_every: int = 1000
    log_every: int = 50
    compile: bool = False
    amp: bool | None = None
    channels_last: bool | None = None
    download: bool = False
    data_root: str | None = None
    num_workers: int = 0
    threads: int | None = 1

    @classmethod
    def full(cls, **overrides) -> "TrainConfig":
        """The paper's and pytorch/examples' sizes: 64x64 images, nz 100, widths 64, batch 128."""
        sizes = dict(image_size=64, nz=100, ngf=64, ndf=64, batch_size=128, steps=10_000, codes=0, lr_decay=False,
                     real_label=1.0,
                     checkpoint_every=1000, sample_every=1000, log_every=100)
        return cls(**{**sizes, **overrides})

    @classmethod
    def paper_rules(cls, **overrides) -> "TrainConfig":
        """The paper's recipe on the 32x32 digits: no code, constant learning rates, hard labels."""
        recipe = dict(image_size=32, nz=64, batch_size=64, steps=3000, codes=0, lr_decay=False, real_label=1.0)
        return cls(**{**recipe, **overrides})

    @classmethod
    def default(cls, **overrides) -> "TrainConfig":
        """The small configuration, or the full one when ``COURSE_FULL=1`` (course.repro.full_size)."""
        return cls.full(**overrides) if full_size() else cls(**overrides)

    def __post_init__(self):
        self.betas = tuple(self.betas)
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset={self.dataset!r}; choose one of {DATASETS}")
        if self.image_size == NATIVE_DIGITS_SIZE and self.dataset != "digits":
            raise ValueError(f"image_size={NATIVE_DIGITS_SIZE} is the digits' own size; {self.dataset} takes 32 or 64")
        for name in ("nz", "ngf", "ndf", "batch_size", "steps", "checkpoint_every", "sample_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 1")
        if self.codes == 1 or self.codes < 0 or self.code_weight < 0:
            raise ValueError(f"codes={self.codes}, code_weight={self.code_weight}: give 0 codes (none) or at least 2, "
                             f"and a weight of at least 0")
        if not 0.5 < self.real_label <= 1.0:
            raise ValueError(f"real_label={self.real_label}: D's target for real images lies in (0.5, 1] (1: none, "
                             f"0.9: one-sided label smoothing)")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads={self.threads} must be at least 1 (or None for torch's own number)")


# -- distributed helpers ------------------------------------------------------------------------


def _world() -> tuple[int, int]:
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


# -- the training -------------------------------------------------------------------------------


class DCGANTraining:
    """A DCGAN, its optimisers, its data and its random streams, trained step by step.

    Seeded by ``config.seed`` without touching the global generators: the initial weights (seed), the
    fixed noise of the sample grids (seed + 1), each process's noise stream (seed + 2 + 1000 * rank)
    and the data order (DistributedSampler with the seed, one permutation per epoch). The order of the
    real batches is a function of (seed, step), so a resumed run picks it up where it stopped.

    Inside a process group (see :func:`process_group`) G and D are wrapped in DistributedDataParallel
    and each process reads its share of every epoch; only rank 0 writes files.
    """

    def __init__(self, config: TrainConfig, dataset: Dataset | None = None):
        self.config = config
        self.rank, self.world_size = _world()
        self.device = self._pick_device()
        self.dataset = dataset if dataset is not None else load_images(
            config.dataset, config.image_size, root=config.data_root, download=config.download)
        channels = self.dataset[0][0].shape[0]
        with torch.random.fork_rng(devices=[]):  # seeded weights; the global generator is left alone
            torch.manual_seed(config.seed)
            generator = DCGANGenerator(config.nz + config.codes, config.ngf, channels, config.image_size)
            discriminator = DCGANDiscriminator(config.ndf, channels, config.image_size)
            generator.apply(dcgan_weights_init)
            discriminator.apply(dcgan_weights_init)
            code_head = CodeHead(discriminator.main[-1].in_channels, config.codes) if config.codes else None
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.generator = generator.to(self.device, memory_format=self.memory_format)
        self.discriminator = discriminator.to(self.device, memory_format=self.memory_format)
        self.code_head = None if code_head is None else code_head.to(self.device)
        self._g_train, self._d_train, self._d_frozen = self._wrap_models()
        self._q_train = self._wrap_code_head()
        fused = self.device.type == "cuda"  # one kernel for the whole update instead of a few per tensor
        self.g_optimizer = torch.optim.Adam(self.generator.parameters(), lr=config.lr, betas=config.betas, fused=fused)
        self.d_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr, betas=config.betas,
                                            fused=fused)
        self.q_optimizer = None if code_head is None else torch.optim.Adam(
            self.code_head.parameters(), lr=config.lr, betas=config.betas, fused=fused)
        # fp16 needs loss scaling; bf16 (and fp32) do not, so the scaler is usually a no-op
        fp16 = self.amp and not torch.cuda.is_bf16_supported()
        self.scaler = torch.amp.GradScaler("cuda", enabled=fp16)
        self.fixed_noise = self.latent(GRID_SIDE**2, torch.Generator().manual_seed(config.seed + 1))
        # drawn where it is used: no host-to-device copy (and no wait) per step on a GPU
        self.noise_rng = torch.Generator(self.device).manual_seed(config.seed + 2 + 1000 * self.rank)
        self.sampler = DistributedSampler(self.dataset, num_replicas=self.world_size, rank=self.rank,
                                          shuffle=True, seed=config.seed, drop_last=True)
        self.batches_per_epoch = len(self.sampler) // config.batch_size
        if self.batches_per_epoch < 1:
            raise ValueError(f"{len(self.sampler)} images per process cannot fill a batch of {config.batch_size}")
        self.step = 0
        self.history: list[list[float]] = []  # rows of LOG_COLUMNS
        self._pending: list[torch.Tensor] = []  # per-step stats not yet copied to the CPU

    # -- set-up ----------------------------------------------------------------------------------

    def _pick_device(self) -> torch.device:
        device = pick_device(self.config.device)
        if device.type == "cuda" and self.world_size > 1:
            return torch.device("cuda", torch.cuda.current_device())
        return device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and shows progress."""
        return self.rank == 0

    @property
    def amp(self) -> bool:
        """Mixed precision (course.repro.autocast: bf16 where supported) — on CUDA unless switched off."""
        wanted = self.config.amp
        return self.device.type == "cuda" if wanted is None else bool(wanted and self.device.type == "cuda")

    @property
    def channels_last(self) -> bool:
        """NHWC memory layout, which the GPU's convolution kernels prefer — on CUDA unless switched off.

        Left off by default under ``--compile``: torch 2.11's inductor failed on the transposed
        convolutions' backward in NHWC (a stride assertion in convolution_backward) on an H100.
        """
        wanted = self.config.channels_last
        if wanted is None:
            return self.device.type == "cuda" and not self.config.compile
        return bool(wanted)

    def _autocast(self):
        return autocast(self.device) if self.amp else contextlib.nullcontext()

    def _wrap_models(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        """(G to train, D to train, D for the generator step): DDP and torch.compile where asked.

        The generator step goes through D's plain module with D's parameters frozen: no weight
        gradients are computed for D there, and DDP does not all-reduce gradients that nobody uses.
        """
        g_train, d_train, d_frozen = self.generator, self.discriminator, self.discriminator
        if self.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            # D runs twice (real, then fake) before one backward; with broadcast_buffers DDP would overwrite
            # BatchNorm's buffers in place between the two, which autograd rejects on torch 2.11 (not on 2.14).
            # Each rank keeps its own running averages instead, and checkpoints take rank 0's.
            g_train = DistributedDataParallel(g_train, device_ids=ids, broadcast_buffers=False)
            d_train = DistributedDataParallel(d_train, device_ids=ids, broadcast_buffers=False)
        if self.config.compile:
            g_train, d_train, d_frozen = torch.compile(g_train), torch.compile(d_train), torch.compile(d_frozen)
        return g_train, d_train, d_frozen

    def _wrap_code_head(self) -> nn.Module | None:
        if self.code_head is None or self.world_size == 1:
            return self.code_head
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(self.code_head, device_ids=ids)

    # -- one step ----------------------------------------------------------------------------------

    def sample_noise(self, n: int) -> torch.Tensor:
        """n noise vectors from this process's own stream, on the device: (n, nz)."""
        return torch.randn(n, self.config.nz, generator=self.noise_rng, device=self.device)

    def sample_latent(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """G's input for n images from this process's stream, and their codes: ((n, nz + codes), (n,) or None)."""
        noise = self.sample_noise(n)
        if not self.config.codes:
            return noise, None
        codes = torch.randint(self.config.codes, (n,), generator=self.noise_rng, device=self.device)
        return latent_with_codes(noise, codes, self.config.codes), codes

    def latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """G's input for n images from a CPU generator (the fixed noise, a scored sample): (n, nz + codes)."""
        return random_latent(n, self.config.nz, self.config.codes, generator)

    def _set_learning_rates(self) -> None:
        """With ``lr_decay``, step s of S runs at lr * (1 - s / S): a function of the step, so a resumed run agrees."""
        if not self.config.lr_decay:
            return
        rate = self.config.lr * max(0.0, 1.0 - self.step / self.config.steps)
        for optimizer in (self.g_optimizer, self.d_optimizer, self.q_optimizer):
            for group in [] if optimizer is None else optimizer.param_groups:
                group["lr"] = rate

    def train_step(self, real: torch.Tensor) -> torch.Tensor:
        """One DCGAN step on a real batch (N, C, S, S); returns [d_loss, g_loss, D(x), D(G(z))] (no sync).

        D: BCE(D(x), real_label) + BCE(D(G(z).detach()), 0), one update. G: BCE(D(G(z)), 1) through the updated
        D (the non-saturating loss), one update; with codes, G and the code head also minimise
        ``code_weight`` x the cross-entropy of the head's guess of each fake's code. D(x) and D(G(z)) are batch
        means before D's update.
        """
        real = real.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        latent, codes = self.sample_latent(len(real))
        self._set_learning_rates()
        with self._autocast():
            fake = self._g_train(latent)  # (N, C, S, S)
            real_logits = self._d_train(real)  # (N,)
            fake_logits = self._d_train(fake.detach())  # (N,): D's update leaves G alone
        d_loss = discriminator_loss(real_logits, fake_logits, self.config.real_label)
        self.d_optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(d_loss).backward()
        self.scaler.step(self.d_optimizer)

        with _frozen(self.discriminator), self._autocast():
            if codes is None:
                g_logits = self._d_frozen(fake)  # (N,)
            else:
                features = self.discriminator.features(fake)  # (N, width, 4, 4)
                g_logits = self.discriminator.logits(features)  # (N,)
                code_logits = self._q_train(features)  # (N, codes)
        g_loss = generator_loss(g_logits, "non-saturating")
        objective = g_loss
        if codes is not None:
            objective = g_loss + self.config.code_weight * F.cross_entropy(code_logits.float(), codes)
            self.q_optimizer.zero_grad(set_to_none=True)
        self.g_optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(objective).backward()
        self.scaler.step(self.g_optimizer)
        if codes is not None:
            self.scaler.step(self.q_optimizer)
        self.scaler.update()
        d_real = torch.sigmoid(real_logits.detach().float()).mean()
        d_fake = torch.sigmoid(fake_logits.detach().float()).mean()
        return torch.stack([d_loss.detach(), g_loss.detach(), d_real, d_fake])

    # -- data ------------------------------------------------------------------------------------

    def real_batches(self):
        """Real batches from the current step on, for ever: epoch e is the sampler's permutation for e."""
        epoch, offset = divmod(self.step, self.batches_per_epoch)
        size = self.config.batch_size
        while True:
            self.sampler.set_epoch(epoch)
            order = list(self.sampler)
            batches = [order[i * size:(i + 1) * size] for i in range(offset, self.batches_per_epoch)]
            yield from self._load(batches)
            epoch, offset = epoch + 1, 0

    def _load(self, batches: list[list[int]]):
        pin = self.device.type == "cuda"  # page-locked memory lets the copy overlap with compute
        if isinstance(self.dataset, TensorDataset) and self.config.num_workers == 0:
            images = self.dataset.tensors[0]  # in memory already: index it, no per-image collation
            for batch in batches:
                chunk = images[torch.tensor(batch)]
                yield chunk.pin_memory() if pin else chunk
            return
        loader = DataLoader(self.dataset, batch_sampler=batches, num_workers=self.config.num_workers,
                            pin_memory=pin)
        for images, _ in loader:
            yield images

    # -- the loop ----------------------------------------------------------------------------------

    def train(self, steps: int | None = None) -> list[list[float]]:
        """Train until ``steps`` steps in all (``config.steps`` by default); log, sample and checkpoint.

        Returns the history, one row of LOG_COLUMNS per step.
        """
        total = self.config.steps if steps is None else steps
        config = self.config
        if self.is_main and self.step == 0:
            self._rewrite_log()
        bar = tqdm(total=total, initial=self.step, unit="step", dynamic_ncols=True,
                   disable=None if self.is_main else True)  # None: off when not a terminal
        batches = self.real_batches()
        with cpu_threads(self.device, config.threads):
            self._loop(total, batches, bar)
        self._flush()
        if self.step % config.sample_every:
            self.save_samples()
        if self.step % config.checkpoint_every:
            self.save_checkpoint()
        return self.history

    def _loop(self, total: int, batches, bar) -> None:
        config = self.config
        try:
            while self.step < total:
                self.generator.train()
                self.discriminator.train()
                self._pending.append(self.train_step(next(batches)))
                self.step += 1
                bar.update()
                if self.step % config.log_every == 0:
                    self._flush(bar)
                if self.step % config.sample_every == 0:
                    self.save_samples()
                if self.step % config.checkpoint_every == 0:
                    self.save_checkpoint()
        finally:
            bar.close()

    def _flush(self, bar=None) -> None:
        """Copy the pending stats to the CPU in one transfer (not one GPU sync per step) and log them."""
        if not self._pending:
            return
        first = self.step - len(self._pending) + 1
        rows = [[float(first + i), *values] for i, values in enumerate(torch.stack(self._pending).cpu().tolist())]
        self._pending = []
        self.history.extend(rows)
        if self.is_main:
            with open(self.out_dir / LOG_NAME, "a", newline="") as log:
                csv.writer(log).writerows([[int(row[0]), *(f"{v:.6g}" for v in row[1:])] for row in rows])
        if bar is not None:
            _, d_loss, g_loss, d_real, d_fake = rows[-1]
            bar.set_postfix(d_loss=f"{d_loss:.3f}", g_loss=f"{g_loss:.3f}", d_x=f"{d_real:.2f}", d_g_z=f"{d_fake:.2f}")

    # -- samples -----------------------------------------------------------------------------------

    @property
    def out_dir(self) -> Path:
        return Path(self.config.out_dir)

    @torch.no_grad()
    def generate(self, noise: torch.Tensor | None = None) -> torch.Tensor:
        """G(noise) (G(fixed_noise) by default) on the CPU, float32 in [-1, 1]: (n, C, S, S).

        G runs in training mode, with the batch statistics it was trained with (as pytorch/examples
        samples), and its BatchNorm running averages are put back afterwards so that sampling never
        changes the state a resumed run must reproduce.
        """
        noise = self.fixed_noise if noise is None else noise
        saved = {name: buffer.clone() for name, buffer in self.generator.named_buffers()}
        was_training = self.generator.training
        self.generator.train()
        try:
            with self._autocast():
                images = self.generator(noise.to(self.device))
        finally:
            for name, buffer in self.generator.named_buffers():
                buffer.copy_(saved[name])
            self.generator.train(was_training)
        return images.float().cpu()

    def viewable(self, images: torch.Tensor) -> torch.Tensor:
        """Images as a reader (and course.digit_quality) sees the data: 8x8 digits scaled up to 32x32 as the
        32x32 digits are made, other sizes as they are."""
        return upscale_tanh_digits(images) if self.config.image_size == NATIVE_DIGITS_SIZE else images

    def samples_path(self, step: int | None = None) -> Path:
        return self.out_dir / f"samples_{self.step if step is None else step:06d}.png"

    def save_samples(self) -> Path | None:
        """Rank 0: an 8x8 PNG grid of G(fixed_noise) at the current step; returns its path."""
        if not self.is_main:
            return None
        from torchvision.utils import save_image

        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.samples_path()
        save_image(self.viewable(self.generate()), path, nrow=GRID_SIDE, normalize=True, value_range=(-1, 1))
        return path

    # -- checkpoints -------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything a resumed run needs to continue exactly (collective: call it on every rank).

        Only tensors and plain Python values, so ``torch.load(..., weights_only=True)`` reads it.
        """
        self._flush()
        noise_states = [self.noise_rng.get_state()]
        if self.world_size > 1:
            self._share_running_statistics()
            noise_states = [None] * self.world_size
            dist.all_gather_object(noise_states, self.noise_rng.get_state())
        numpy_state = np.random.get_state()
        return {
            "step": self.step,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            **({} if self.code_head is None else {"code_head": self.code_head.state_dict(),
                                                   "q_optimizer": self.q_optimizer.state_dict()}),
            "scaler": self.scaler.state_dict(),
            "history": torch.tensor(self.history, dtype=torch.float64).reshape(-1, len(LOG_COLUMNS)),
            "fixed_noise": self.fixed_noise,
            "noise_rng": noise_states,  # one per rank
            "data_order": {"seed": self.config.seed, "epoch": self.step // self.batches_per_epoch,
                           "batch_in_epoch": self.step % self.batches_per_epoch, "world_size": self.world_size},
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy_rng": [numpy_state[0], torch.from_numpy(numpy_state[1].astype(np.int64)), *numpy_state[2:]],
            "python_rng": random.getstate(),
            "config": dataclasses.asdict(self.config),
        }

    def _share_running_statistics(self) -> None:
        """Give every rank rank 0's BatchNorm running averages.

        DDP sends rank 0's buffers to the others before each forward pass, so after the last one every
        rank holds statistics of its own batch; training never reads them (BatchNorm uses batch
        statistics in training mode), but a checkpoint and the final models should agree across ranks.
        """
        for model in (self.generator, self.discriminator):
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def save_checkpoint(self) -> Path:
        """Write ``out_dir/checkpoint.pt`` (rank 0; every rank must call it). Atomic: a crash keeps the old one."""
        state = self.state_dict()
        path = self.out_dir / CHECKPOINT_NAME
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".tmp")
            torch.save(state, partial)
            os.replace(partial, path)
        return path

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`: models, optimisers, step, history and every random state."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        if self.code_head is not None:
            self.code_head.load_state_dict(state["code_head"])
            self.q_optimizer.load_state_dict(state["q_optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.history = state["history"].tolist()
        self._pending = []
        self.fixed_noise = state["fixed_noise"]
        self.sampler.seed = int(state["data_order"]["seed"])  # the data order continues as it began
        noise_states = state["noise_rng"]
        if len(noise_states) == self.world_size:
            self.noise_rng.set_state(noise_states[self.rank].cpu())
        else:  # another number of processes: the streams cannot continue, so each rank starts a new one
            self.noise_rng.manual_seed(self.config.seed + 2 + 1000 * self.rank + 7919 * self.step)
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        name, keys, *rest = state["numpy_rng"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
        random.setstate(_as_tuples(state["python_rng"]))

    def resume(self) -> None:
        """Continue from ``out_dir/checkpoint.pt``; the log is rewritten to the checkpoint's history."""
        path = self.out_dir / CHECKPOINT_NAME
        if not path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {path}; start without --resume, "
                                    f"or give the --out-dir of the run to continue")
        self.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        if self.is_main:
            self._rewrite_log()

    def _rewrite_log(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / LOG_NAME, "w", newline="") as log:
            writer = csv.writer(log)
            writer.writerow(LOG_COLUMNS)
            writer.writerows([[int(row[0]), *(f"{v:.6g}" for v in row[1:])] for row in self.history])


@contextlib.contextmanager
def cpu_threads(device: torch.device, threads: int | None):
    """Train on ``threads`` CPU threads inside the block when ``device`` is the CPU (None: as many as now)."""
    if torch.device(device).type != "cpu" or threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _frozen(module: nn.Module):
    """Switch off the parameters' gradients for the block (the input still gets its gradient)."""
    flags = [parameter.requires_grad for parameter in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in zip(module.parameters(), flags):
            parameter.requires_grad_(flag)


def _as_tuples(value):
    """torch.load gives lists back where random.getstate() had tuples; random.setstate wants tuples."""
    return tuple(_as_tuples(item) for item in value) if isinstance(value, (list, tuple)) else value


def read_log(out_dir: str | os.PathLike) -> dict[str, list[float]]:
    """``out_dir/log.csv`` as columns: {"step": [...], "d_loss": [...], ...}."""
    with open(Path(out_dir) / LOG_NAME, newline="") as log:
        rows = list(csv.DictReader(log))
    return {column: [float(row[column]) for row in rows] for column in LOG_COLUMNS}


# -- quality, when the digits scorer is installed ------------------------------------------------------


SCORED_SAMPLES = 1000
SCORE_SEED = 12345  # the noise every score of a run draws its samples from


def sample_quality(training: DCGANTraining, samples: int = SCORED_SAMPLES, seed: int = SCORE_SEED):
    """course.digit_quality's report on ``samples`` images the trained G draws from ``seed``'s noise (digits only)."""
    from course import digit_quality  # only scoring needs the classifier

    noise = training.latent(samples, torch.Generator().manual_seed(seed))
    return digit_quality.score_generated(training.viewable(training.generate(noise)))


def quality_report(training: DCGANTraining, samples: int = SCORED_SAMPLES, seed: int = SCORE_SEED) -> str:
    """:func:`sample_quality` beside the real training digits' figures, as text."""
    config = training.config
    if config.dataset != "digits" or config.image_size not in (NATIVE_DIGITS_SIZE, 32):
        return f"quality: the digits scorer reads digits at 8x8 or 32x32, not {config.dataset} at {config.image_size}"
    try:
        from course import digit_quality
    except ImportError:
        return "quality: course.digit_quality is not available in this checkout"
    report = sample_quality(training, samples, seed)
    baseline = digit_quality.real_baseline(samples)
    return (f"quality of {samples} samples: {report}\n"
            f"real training digits, {samples} scored alike: {baseline.confident_share:.1%} confident, "
            f"{baseline.classes_covered}/10 classes, Fréchet distance {baseline.frechet_distance:.2f}")


# -- command line --------------------------------------------------------------------------------------


def build_parser(base: TrainConfig) -> argparse.ArgumentParser:
    """The CLI: one option per TrainConfig field, defaults from ``base``."""
    parser = argparse.ArgumentParser(
        prog="python -m course.dcgan_train",
        description="Train the course's DCGAN (digits at 32x32 by default, offline). Runs unchanged on CPU, "
                    "CUDA and MPS, and under `torchrun --nproc_per_node=N -m course.dcgan_train` with "
                    "DistributedDataParallel. COURSE_FULL=1 or --full switches to the paper's sizes.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = parser.add_argument
    add("--full", action="store_true", help="the paper's sizes (64x64, nz 100, widths 64, batch 128) as defaults")
    add("--paper-rules", action="store_true",
        help="the paper's recipe on the 32x32 digits as defaults: no code, constant rates, 3,000 steps")
    add("--dataset", choices=DATASETS, default=base.dataset, help="digits needs no download")
    add("--image-size", type=int, choices=IMAGE_SIZES, default=None,
        help=f"default {base.image_size} for the digits, 32 for other data; 8 is the digits' own size (each "
             f"sample is scaled up to 32x32 as the 32x32 digits are made)")
    add("--nz", type=int, default=base.nz, help="noise dimension")
    add("--ngf", type=int, default=base.ngf, help="generator width")
    add("--ndf", type=int, default=base.ndf, help="discriminator width")
    add("--batch-size", type=int, default=base.batch_size, help="per process")
    add("--lr", type=float, default=base.lr)
    add("--betas", type=float, nargs=2, default=base.betas, metavar=("BETA1", "BETA2"))
    add("--codes", type=int, default=base.codes, help="categories of G's code read back by InfoGAN's head; 0: none")
    add("--code-weight", type=float, default=base.code_weight, help="weight of the code's cross-entropy in G's loss")
    add("--lr-decay", action=argparse.BooleanOptionalAction, default=base.lr_decay,
        help="both learning rates fall linearly to zero over the steps")
    add("--real-label", type=float, default=base.real_label,
        help="D's target for real images: 0.9 is one-sided label smoothing, 1 the paper's hard label")
    add("--steps", type=int, default=base.steps, help="total steps (a resumed run continues up to it)")
    add("--seed", type=int, default=base.seed)
    add("--device", default=base.device, help="cpu, cuda or mps (default: course.repro.pick_device)")
    add("--out-dir", default=base.out_dir, help="log.csv, samples_*.png and checkpoint.pt go here")
    add("--checkpoint-every", type=int, default=base.checkpoint_every)
    add("--sample-every", type=int, default=base.sample_every)
    add("--log-every", type=int, default=base.log_every)
    add("--compile", action=argparse.BooleanOptionalAction, default=base.compile, help="wrap G and D in torch.compile")
    add("--amp", action=argparse.BooleanOptionalAction, default=base.amp, help="autocast (default: on for CUDA)")
    add("--channels-last", action=argparse.BooleanOptionalAction, default=base.channels_last,
        help="NHWC layout (default: on for CUDA)")
    add("--download", action="store_true", help="let torchvision download the data set")
    add("--data-root", default=base.data_root, help="where data sets live (default: $COURSE_DATA or ~/.cache/course-data)")
    add("--num-workers", type=int, default=base.num_workers, help="DataLoader workers")
    add("--threads", type=int, default=base.threads,
        help="CPU threads per process when training on the CPU (the layers are small: more rarely help)")
    add("--resume", action="store_true", help="continue from OUT_DIR/checkpoint.pt")
    add("--score", action="store_true", help="digits: score 1,000 samples with course.digit_quality at the end")
    return parser


def parse_config(argv: list[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    """TrainConfig and the parsed arguments from the command line (``--full`` switches the defaults)."""
    given = sys.argv[1:] if argv is None else argv
    wants_full = "--full" in given
    if wants_full and "--paper-rules" in given:
        raise SystemExit("--full and --paper-rules each choose the defaults: give one of them")
    base = TrainConfig.full() if wants_full else TrainConfig.paper_rules() if "--paper-rules" in given else TrainConfig.default()
    args = build_parser(base).parse_args(argv)
    if args.image_size is None:
        args.image_size = base.image_size if args.dataset == "digits" or wants_full else 32
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{name: value for name, value in vars(args).items() if name in fields}), args


def main(argv: list[str] | None = None) -> DCGANTraining:
    """Run the CLI; returns the finished training (its models stay usable after the process group ends)."""
    config, args = parse_config(argv)
    with process_group(config.device):
        training = DCGANTraining(config)
        if args.resume:
            training.resume()
        if training.is_main:
            print(f"DCGAN on {config.dataset} {config.image_size}x{config.image_size}, device {training.device}"
                  f"{f' x {training.world_size} processes' if training.world_size > 1 else ''}, "
                  f"code of {config.codes} categories, learning rates {'decaying' if config.lr_decay else 'constant'}, "
                  f"real label {config.real_label:g}, "
                  f"amp {training.amp}, channels_last {training.channels_last}, compile {config.compile}, "
                  f"from step {training.step} to {config.steps}", flush=True)
        training.train()
        if training.is_main:
            d_loss, g_loss, d_real, d_fake = (sum(column) / len(column) for column in
                                              zip(*(row[1:] for row in training.history[-100:])))
            print(f"step {training.step}: last 100 steps' mean D loss {d_loss:.3f}, G loss {g_loss:.3f}, "
                  f"D(x) {d_real:.3f}, D(G(z)) {d_fake:.3f}")
            print(f"samples: {training.samples_path()}\nlog: {training.out_dir / LOG_NAME}\n"
                  f"checkpoint: {training.out_dir / CHECKPOINT_NAME}")
            if args.score:
                print(quality_report(training))
    return training


if __name__ == "__main__":
    main()
