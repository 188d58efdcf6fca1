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

The default run differs from the paper's DCGAN in five ways, each scored in lecture 06, section 7: it draws the
digits at their own size, 8x8, and scales each sample up as the 32x32 digits are made; G gets a 10-way
categorical code beside the noise and InfoGAN's code head on D's features must read it back (``codes``,
``code_weight``); both learning rates fall linearly to zero over the run (``lr_decay``); D's target for real
images is 0.9, one-sided label smoothing (``real_label``); the rates start at 3e-4 instead of 2e-4 (``lr``).
``TrainConfig.paper_rules()`` is the paper's recipe on the 32x32 digits, ``TrainConfig.full()`` its sizes.

What it writes to ``out_dir`` (rank 0 alone): ``log.csv`` (per step: D loss, G loss, mean D(x), mean
D(G(z)) before D's update), ``samples_<step>.png`` (an 8x8 grid of G(fixed_noise), so grids from
different steps show the same 64 noise vectors) and ``checkpoint.pt`` (models, optimisers, step,
history and every random state; ``--resume`` continues to exactly the state an uninterrupted run
reaches on the same device).

This module is the step and the loop (:class:`DCGANTraining`) and the command line's ``main``; the parts it
stands on have their own modules: course.dcgan_config (the settings, the CLI, the seed offsets),
course.dcgan_setup (the players, optimisers and random streams the settings build), course.dcgan_data (the real
batches), course.dcgan_distributed (torchrun's process group and DistributedDataParallel),
course.dcgan_checkpoint (the log and the checkpoint) and course.dcgan_samples (the grids and their quality).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from course.dcgan_checkpoint import (CHECKPOINT_NAME, LOG_COLUMNS, LOG_NAME, load_checkpoint, restore_training,
                                     save_checkpoint, training_state, write_log)
from course.dcgan_config import TrainConfig, parse_config
from course.dcgan_distributed import process_group
from course.dcgan_samples import quality_report, save_grid
from course.dcgan_setup import DCGANSetup
from course.gan import discriminator_loss, generator_loss
from course.repro import cpu_threads


class DCGANTraining(DCGANSetup):
    """The DCGAN step and the loop around it, on a :class:`course.dcgan_setup.DCGANSetup`'s players and streams.

    The loop logs every step (course.dcgan_checkpoint's ``log.csv``), draws a sample grid every ``sample_every``
    steps and checkpoints every ``checkpoint_every`` steps; :meth:`resume` continues a run exactly.
    """

    def __init__(self, config: TrainConfig, dataset: Dataset | None = None):
        super().__init__(config, dataset)
        self.step = 0
        self.history: list[list[float]] = []  # rows of LOG_COLUMNS
        self._pending: list[torch.Tensor] = []  # per-step stats not yet copied to the CPU

    def _set_learning_rates(self) -> None:
        """With ``lr_decay``, step s of S runs at lr * (1 - s / S): a function of the step, so a resumed run agrees."""
        if self.config.lr_decay:
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

    # -- the loop ----------------------------------------------------------------------------------

    def real_batches(self):
        """Real batches from the current step on, for ever (course.dcgan_data.RealBatches)."""
        return self.data.from_step(self.step)

    def train(self, steps: int | None = None) -> list[list[float]]:
        """Train until ``steps`` steps in all (``config.steps`` by default); log, sample and checkpoint.

        Returns the history, one row of LOG_COLUMNS per step.
        """
        total = self.config.steps if steps is None else steps
        config = self.config
        if self.is_main and self.step == 0:
            write_log(self.out_dir, self.history, fresh=True)
        bar = tqdm(total=total, initial=self.step, unit="step", dynamic_ncols=True,
                   disable=None if self.is_main else True)  # None: off when not a terminal
        batches = self.real_batches()
        with cpu_threads(self.device, config.threads), contextlib.closing(bar):
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
        self._flush()
        if self.step % config.sample_every:
            self.save_samples()
        if self.step % config.checkpoint_every:
            self.save_checkpoint()
        return self.history

    def _flush(self, bar=None) -> None:
        """Copy the pending stats to the CPU in one transfer (not one GPU sync per step) and log them."""
        if not self._pending:
            return
        first = self.step - len(self._pending) + 1
        rows = [[float(first + i), *values] for i, values in enumerate(torch.stack(self._pending).cpu().tolist())]
        self._pending = []
        self.history.extend(rows)
        if self.is_main:
            write_log(self.out_dir, rows)
        if bar is not None:
            _, d_loss, g_loss, d_real, d_fake = rows[-1]
            bar.set_postfix(d_loss=f"{d_loss:.3f}", g_loss=f"{g_loss:.3f}", d_x=f"{d_real:.2f}", d_g_z=f"{d_fake:.2f}")

    def samples_path(self, step: int | None = None) -> Path:
        return self.out_dir / f"samples_{self.step if step is None else step:06d}.png"

    def save_samples(self) -> Path | None:
        """Rank 0: an 8x8 PNG grid of G(fixed_noise) at the current step; returns its path."""
        return save_grid(self.viewable(self.generate()), self.samples_path()) if self.is_main else None

    def save_checkpoint(self) -> Path:
        """Write ``out_dir/checkpoint.pt`` (rank 0; every rank must call it): course.dcgan_checkpoint's state."""
        self._flush()
        return save_checkpoint(training_state(self), self.out_dir, write=self.is_main)

    def resume(self) -> None:
        """Continue from ``out_dir/checkpoint.pt``; the log is rewritten to the checkpoint's history."""
        restore_training(self, load_checkpoint(self.out_dir))
        self._pending = []
        if self.is_main:
            write_log(self.out_dir, self.history, fresh=True)


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


# -- command line ------------------------------------------------------------------------------------


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
