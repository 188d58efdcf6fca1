"""Speed benchmark: the kit's DCGAN training step against the textbook loop, same run, same device.

    python -m course.bench_dcgan                  # the default CPU run's sizes: 32x32x1, nz 64, widths 32, batch 64
    python -m course.bench_dcgan --full           # the paper's sizes: 64x64x3, nz 100, widths 64, batch 128
    python -m course.bench_dcgan --full --compile # on a GPU, with torch.compile
    python -m course.bench_dcgan --full --sweep   # every amp x channels_last choice of the kit, one process

The textbook loop is written here as pytorch/examples' ``dcgan/main.py`` writes it: a discriminator
ending in a sigmoid, ``nn.BCELoss``, labels filled with ``real_label``/``fake_label``, two backward
passes for D (real, then ``netD(fake.detach())``), ``.item()`` for the printed statistics, then the G
update through ``netD(fake)``. Both loops build the same architecture from the same weights and train
on the same real batch, already on the device (data loading is left out of both). Each repetition
times ``steps`` steps of one then of the other (warm-up steps excluded); the report gives the median
images per second of each and the ratio kit / textbook.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import TensorDataset

from course.dcgan_config import TrainConfig
from course.dcgan_train import DCGANTraining
from course.repro import cpu_threads, pick_device

# -- the textbook loop (pytorch/examples, dcgan/main.py) ---------------------------------------------------


class TextbookGenerator(nn.Module):
    """pytorch/examples' Generator, with one stage fewer for 32x32 images (layer for layer the kit's)."""

    def __init__(self, nz: int, ngf: int, nc: int, image_size: int = 64):
        super().__init__()
        mult = 8 if image_size == 64 else 4
        layers = [nn.ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False),  # state size. (ngf*mult) x 4 x 4
                  nn.BatchNorm2d(ngf * mult),
                  nn.ReLU(True)]
        while mult > 1:
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),  # twice the size
                       nn.BatchNorm2d(ngf * mult // 2),
                       nn.ReLU(True)]
            mult //= 2
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),  # state size. (nc) x image_size x image_size
                   nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        return self.main(input)


class TextbookDiscriminator(nn.Module):
    """pytorch/examples' Discriminator (sigmoid output), with one stage fewer for 32x32 images."""

    def __init__(self, ndf: int, nc: int, image_size: int = 64):
        super().__init__()
        top = 8 if image_size == 64 else 4
        layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),  # state size. (ndf) x S/2 x S/2
                  nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        while mult < top:
            layers += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False),  # half the size
                       nn.BatchNorm2d(ndf * mult * 2),
                       nn.LeakyReLU(0.2, inplace=True)]
            mult *= 2
        layers += [nn.Conv2d(ndf * top, 1, 4, 1, 0, bias=False),  # state size. 1 x 1 x 1
                   nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


def textbook_step(netG, netD, optimizerG, optimizerD, real_cpu, noise, criterion=None):
    """One iteration of pytorch/examples' training loop; returns (errD, errG, D_x, D_G_z1, D_G_z2)."""
    criterion = criterion or nn.BCELoss()
    real_label, fake_label = 1, 0
    device = real_cpu.device
    ############################
    # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
    ###########################
    # train with real
    netD.zero_grad()
    batch_size = real_cpu.size(0)
    label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
    output = netD(real_cpu)
    errD_real = criterion(output, label)
    errD_real.backward()
    D_x = output.mean().item()
    # train with fake
    fake = netG(noise)
    label.fill_(fake_label)
    output = netD(fake.detach())
    errD_fake = criterion(output, label)
    errD_fake.backward()
    D_G_z1 = output.mean().item()
    errD = errD_real + errD_fake
    optimizerD.step()
    ############################
    # (2) Update G network: maximize log(D(G(z)))
    ###########################
    netG.zero_grad()
    label.fill_(real_label)  # fake labels are real for generator cost
    output = netD(fake)
    errG = criterion(output, label)
    errG.backward()
    D_G_z2 = output.mean().item()
    optimizerG.step()
    return errD.item(), errG.item(), D_x, D_G_z1, D_G_z2


# -- the benchmark -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchResult:
    """Median images per second of the kit's step and of the textbook step, and every repetition's."""

    device: str
    kit: float
    textbook: float
    kit_runs: tuple[float, ...]
    textbook_runs: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """kit / textbook: above 1 means the kit trains faster."""
        return self.kit / self.textbook

    def report(self) -> str:
        return (f"device {self.device}: kit {self.kit:,.0f} images/s, textbook {self.textbook:,.0f} images/s, "
                f"ratio kit/textbook {self.ratio:.2f} (medians of {len(self.kit_runs)} repetitions)")


def _timed(device: torch.device, run, steps: int) -> float:
    """Seconds for ``steps`` calls of ``run``, with the device's queue drained before and after."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        run()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def benchmark(config: TrainConfig, channels: int = 1, steps: int = 20, warmup: int = 5,
              repeats: int = 5) -> BenchResult:
    """Time the kit's :meth:`DCGANTraining.train_step` and :func:`textbook_step` on one real batch."""
    if steps < 1 or repeats < 1 or warmup < 0:
        raise ValueError(f"steps={steps}, repeats={repeats}, warmup={warmup}: need steps, repeats >= 1")
    size, batch = config.image_size, config.batch_size
    images = torch.rand(batch, channels, size, size, generator=torch.Generator().manual_seed(config.seed)) * 2 - 1
    kit = DCGANTraining(config, dataset=TensorDataset(images, torch.zeros(batch)))
    device = kit.device
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as pytorch/examples sets it (for both loops)
    netG = TextbookGenerator(config.nz, config.ngf, channels, size).to(device)
    netD = TextbookDiscriminator(config.ndf, channels, size).to(device)
    netG.load_state_dict(kit.generator.state_dict())
    netD.load_state_dict(kit.discriminator.state_dict())
    optimizerG = torch.optim.Adam(netG.parameters(), lr=config.lr, betas=config.betas)
    optimizerD = torch.optim.Adam(netD.parameters(), lr=config.lr, betas=config.betas)
    criterion = nn.BCELoss()
    real = images.to(device)

    def kit_step():
        kit.train_step(real)

    def plain_step():
        noise = torch.randn(batch, config.nz, 1, 1, device=device)
        textbook_step(netG, netD, optimizerG, optimizerD, real, noise, criterion)

    kit_runs, plain_runs = [], []
    with cpu_threads(device, config.threads):  # the same CPU threads for both loops
        _timed(device, kit_step, warmup)
        _timed(device, plain_step, warmup)
        for _ in range(repeats):  # interleaved, so a slow patch of a shared machine hits both
            kit_runs.append(batch * steps / _timed(device, kit_step, steps))
            plain_runs.append(batch * steps / _timed(device, plain_step, steps))
    return BenchResult(str(device), statistics.median(kit_runs), statistics.median(plain_runs),
                       tuple(kit_runs), tuple(plain_runs))


def main(argv: list[str] | None = None) -> BenchResult:
    parser = argparse.ArgumentParser(prog="python -m course.bench_dcgan", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--full", action="store_true", help="64x64x3, nz 100, widths 64, batch 128")
    parser.add_argument("--batch-size", type=int, help="default: the trainer's (64, or 128 with --full)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per repetition")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default=None, help="default: course.repro.pick_device()")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (both loops) when on the CPU")
    parser.add_argument("--compile", action="store_true", help="torch.compile the kit's models")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None, help="default: on for CUDA")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                        help="default: on for CUDA")
    parser.add_argument("--sweep", action="store_true",
                        help="time the kit with amp and channels_last each on and off (the textbook every time)")
    args = parser.parse_args(argv)
    options = dict(device=args.device, threads=args.threads, compile=args.compile, amp=args.amp, channels_last=args.channels_last,
                   out_dir="unused-by-the-benchmark")
    if args.batch_size:
        options["batch_size"] = args.batch_size
    config = TrainConfig.full(**options) if args.full else TrainConfig.paper_rules(**options)  # the textbook has no code
    channels = 3 if args.full else 1
    device = pick_device(args.device)
    print(f"DCGAN step, {config.image_size}x{config.image_size}x{channels}, nz {config.nz}, ngf {config.ngf}, "
          f"ndf {config.ndf}, batch {config.batch_size}, device {device}, CPU threads {config.threads}; "
          f"kit: amp {config.amp if config.amp is not None else device.type == 'cuda'}, channels_last "
          f"{config.channels_last if config.channels_last is not None else device.type == 'cuda'}, "
          f"compile {config.compile}", flush=True)
    if not args.sweep:
        result = benchmark(config, channels, args.steps, args.warmup, args.repeats)
        print(result.report())
        return result
    results = []
    for amp in (True, False):
        for channels_last in (True, False):
            variant = dataclasses.replace(config, amp=amp, channels_last=channels_last)
            results.append(benchmark(variant, channels, args.steps, args.warmup, args.repeats))
            print(f"amp {amp!s:5} channels_last {channels_last!s:5}  {results[-1].report()}", flush=True)
    return max(results, key=lambda result: result.ratio)


if __name__ == "__main__":
    main()
