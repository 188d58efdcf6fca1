"""The reference DCGAN training's settings: :class:`TrainConfig`, the command line that fills it, and the
random streams a run draws from its seed.

``TrainConfig()`` is the offline CPU run (digits at 8x8 with a code), ``TrainConfig.paper_rules()`` the paper's
recipe on the 32x32 digits, ``TrainConfig.full()`` the paper's sizes; :func:`parse_config` reads the command line
of ``python -m course.dcgan_train`` into one of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass

import torch

from course.dcgan import IMAGE_SIZES, NATIVE_DIGITS_SIZE
from course.image_data import DATASETS
from course.repro import full_size

DEFAULT_STEPS = 12_000

# The random streams of a run, each seeded from config.seed at its own offset so that no two coincide: the
# initial weights (the seed itself) and the data order (DistributedSampler with the seed) use no offset.
FIXED_NOISE_SEED_OFFSET = 1  # the noise of every sample grid
NOISE_SEED_OFFSET = 2  # each process's noise stream, NOISE_SEED_OFFSET + RANK_SEED_STRIDE * rank
RANK_SEED_STRIDE = 1000
# a run resumed on another number of processes cannot continue the old streams: each rank starts one at the step
RESUME_STEP_SEED_STRIDE = 7919


def noise_seed(seed: int, rank: int, step: int = 0) -> int:
    """The seed of process ``rank``'s noise stream, started at ``step`` (0: the run's start)."""
    return seed + NOISE_SEED_OFFSET + RANK_SEED_STRIDE * rank + RESUME_STEP_SEED_STRIDE * step


@dataclass
class TrainConfig:
    """Everything a run depends on. The defaults are the offline CPU run: digits at 8x8 with a code, small widths.

    ``batch_size`` is per process (a torchrun job of N processes takes N batches per step).
    ``amp`` and ``channels_last`` default to None, meaning "on for CUDA, off elsewhere".
    ``threads`` is the number of CPU threads each process trains with on the CPU: one by default, for the reasons
    course.repro.cpu_threads gives; None keeps torch's own number (every core unless OMP_NUM_THREADS says otherwise).
    """

    dataset: str = "digits"
    image_size: int = 8
    nz: int = 32
    ngf: int = 32
    ndf: int = 32
    batch_size: int = 32
    lr: float = 3e-4  # the paper's 2e-4 (paper_rules, full) reaches digits more slowly while the rates fall to zero
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
        sizes = dict(image_size=64, nz=100, ngf=64, ndf=64, batch_size=128, steps=10_000, codes=0, lr=2e-4,
                     lr_decay=False, real_label=1.0,
                     checkpoint_every=1000, sample_every=1000, log_every=100)
        return cls(**{**sizes, **overrides})

    @classmethod
    def paper_rules(cls, **overrides) -> "TrainConfig":
        """The paper's recipe on the 32x32 digits: no code, a constant learning rate of 2e-4, hard labels."""
        recipe = dict(image_size=32, nz=64, batch_size=64, steps=3000, codes=0, lr=2e-4, lr_decay=False,
                      real_label=1.0)
        return cls(**{**recipe, **overrides})

    @classmethod
    def default(cls, **overrides) -> "TrainConfig":
        """The small configuration, or the full one when ``COURSE_FULL=1`` (course.repro.full_size)."""
        return cls.full(**overrides) if full_size() else cls(**overrides)

    def amp_on(self, device: torch.device) -> bool:
        """Mixed precision (course.repro.autocast): on CUDA unless switched off, never elsewhere."""
        cuda = device.type == "cuda"
        return cuda if self.amp is None else bool(self.amp and cuda)

    def channels_last_on(self, device: torch.device) -> bool:
        """The NHWC layout that the GPU's convolution kernels prefer: on CUDA unless switched off.

        Left off by default under ``compile``, whose backward of the transposed convolutions in NHWC can fail.
        """
        if self.channels_last is None:
            return device.type == "cuda" and not self.compile
        return bool(self.channels_last)

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
