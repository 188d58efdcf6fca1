"""What a reference DCGAN run trains and draws with, as its config and seed make them: the players and their
optimisers, the noise streams, the real batches, and the sample grids. :class:`course.dcgan_train.DCGANTraining`
trains them."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from course.dcgan import latent_with_codes, random_latent, seeded_players
from course.dcgan_config import FIXED_NOISE_SEED_OFFSET, TrainConfig, noise_seed
from course.dcgan_data import RealBatches
from course.dcgan_distributed import process_device, world, wrap_players
from course.dcgan_samples import GRID_SIDE, generate_as_trained, viewable
from course.image_data import load_images
from course.repro import autocast


class DCGANSetup:
    """A DCGAN's players, optimisers, random streams and real batches, built from ``config`` (``dataset``: the
    real images, instead of loading ``config.dataset``).

    Seeded by ``config.seed`` without touching the global generators: the initial weights (seed), the
    fixed noise of the sample grids and each process's noise stream (course.dcgan_config's seed offsets)
    and the data order (course.dcgan_data). Inside a process group (course.dcgan_distributed) G and D are
    wrapped in DistributedDataParallel and each process reads its share of every epoch; only rank 0 writes
    files.
    """

    def __init__(self, config: TrainConfig, dataset: Dataset | None = None):
        self.config = config
        self.rank, self.world_size = world()
        self.device = process_device(config.device, self.world_size)
        dataset = dataset if dataset is not None else load_images(
            config.dataset, config.image_size, root=config.data_root, download=config.download)
        channels = dataset[0][0].shape[0]
        generator, discriminator, code_head = seeded_players(config.seed, config.nz + config.codes, config.ngf,
                                                             config.ndf, channels, config.image_size, config.codes)
        self.amp, self.channels_last = config.amp_on(self.device), config.channels_last_on(self.device)
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.generator = generator.to(self.device, memory_format=self.memory_format)
        self.discriminator = discriminator.to(self.device, memory_format=self.memory_format)
        self.code_head = None if code_head is None else code_head.to(self.device)
        self._g_train, self._d_train, self._d_frozen, self._q_train = wrap_players(
            self.generator, self.discriminator, self.code_head, self.device, self.world_size, config.compile)
        self.g_optimizer = self._adam(self.generator)
        self.d_optimizer = self._adam(self.discriminator)
        self.q_optimizer = None if code_head is None else self._adam(self.code_head)
        # fp16 needs loss scaling; bf16 (and fp32) do not, so the scaler is usually a no-op
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and not torch.cuda.is_bf16_supported())
        fixed = torch.Generator().manual_seed(config.seed + FIXED_NOISE_SEED_OFFSET)
        self.fixed_noise = self.latent(GRID_SIDE**2, fixed)
        # drawn where it is used: no host-to-device copy (and no wait) per step on a GPU
        self.noise_rng = torch.Generator(self.device).manual_seed(noise_seed(config.seed, self.rank))
        self.data = RealBatches(dataset, config.batch_size, config.seed, self.rank, self.world_size,
                                config.num_workers, pin=self.device.type == "cuda")

    def _adam(self, model: nn.Module) -> torch.optim.Adam:
        fused = self.device.type == "cuda"  # one kernel for the whole update instead of a few per tensor
        return torch.optim.Adam(model.parameters(), lr=self.config.lr, betas=self.config.betas, fused=fused)

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and shows progress."""
        return self.rank == 0

    @property
    def out_dir(self) -> Path:
        return Path(self.config.out_dir)

    def _autocast(self):
        return autocast(self.device) if self.amp else contextlib.nullcontext()

    def sample_latent(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """G's input for n images from this process's stream, and their codes: ((n, nz + codes), (n,) or None)."""
        noise = torch.randn(n, self.config.nz, generator=self.noise_rng, device=self.device)
        if not self.config.codes:
            return noise, None
        codes = torch.randint(self.config.codes, (n,), generator=self.noise_rng, device=self.device)
        return latent_with_codes(noise, codes, self.config.codes), codes

    def latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """G's input for n images from a CPU generator (the fixed noise, a scored sample): (n, nz + codes)."""
        return random_latent(n, self.config.nz, self.config.codes, generator)

    def generate(self, noise: torch.Tensor | None = None) -> torch.Tensor:
        """G(noise) (G(fixed_noise) by default) as course.dcgan_samples.generate_as_trained draws it."""
        return generate_as_trained(self.generator, self.fixed_noise if noise is None else noise, self._autocast)

    def viewable(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` as the data set shows them (course.dcgan_samples.viewable)."""
        return viewable(images, self.config.image_size)
