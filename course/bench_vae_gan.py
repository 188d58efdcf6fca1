"""Quality benchmark: lecture 08's VAE against the kit's plain GAN on the same digits, per seed.

    python -m course.bench_vae_gan                  # the lecture's default sizes: VAE 100 epochs, GAN 2,000 steps
    python -m course.bench_vae_gan --full --seeds 0 1 2   # docs/results.md's table: VAE 300 epochs, GAN 6,000 steps
    python -m course.shipped vae_vs_gan                   # the same, written to the file lecture 08 shows

Both models are the lecture's (course.autoencoders.VAE with 8-D codes; course.gan_variants.VariantTrainer's vanilla
GAN with 256 hidden units and 16-D noise), trained on the 1,347 training digits; 1,000 samples of each are scored by
:func:`course.autoencoders.score_samples` (sharpness, and the digits classifier's confident share, classes, smallest
class and Fréchet distance). The full-size table over seeds 0-2 ships with the kit (course.shipped), so that lecture
08 shows the repeated runs its claim rests on beside its own single run.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

import torch

from course.autoencoders import VAE, SampleScore, digit_pixels, score_samples, score_table, sharpness, train_vae
from course.gan_variants import DigitsTarget, VariantTrainer
from course.language import tr
from course.repro import pick_device, seed_everything
from course.shipped import RESULTS, read_json, write_json

DEFAULT = {"epochs": 100, "steps": 2000}
FULL = {"epochs": 300, "steps": 6000}
SAMPLES = 1000
SHIPPED_SEEDS = (0, 1, 2)


def vae_draws(epochs: int, seed: int) -> torch.Tensor:
    X, _ = digit_pixels("train")
    seed_everything(seed)
    vae = VAE(latent=8)
    train_vae(vae, X, epochs, seed=seed)
    vae.eval()
    return vae.sample(SAMPLES, torch.Generator().manual_seed(1))


def gan_draws(steps: int, seed: int, device: torch.device | str | None = None) -> torch.Tensor:
    gan = VariantTrainer(DigitsTarget(), "vanilla", seed=seed, noise_dim=16, hidden=256, batch_size=128, lr_d=1e-3,
                         lr_g=1e-3, device=pick_device() if device is None else device)
    gan.step(steps)
    return ((gan.generate(SAMPLES, seed=1).cpu() + 1) / 2).clamp(0, 1)  # [-1, 1] -> pixels in [0, 1]


def seed_scores(sizes: dict, seed: int, device: torch.device | str | None = None) -> list[SampleScore]:
    """[the VAE's score, the GAN's score] for one seed at ``sizes`` ({"epochs": ..., "steps": ...})."""
    return [score_samples(f"VAE, {sizes['epochs']} epochs", vae_draws(sizes["epochs"], seed)),
            score_samples(f"GAN, {sizes['steps']} steps", gan_draws(sizes["steps"], seed, device))]


def compute() -> tuple[list[dict], dict]:
    """The full-size comparison over :data:`SHIPPED_SEEDS` on the CPU, as course.shipped stores it: one row per
    (seed, model), and the settings."""
    rows = [{"seed": seed, **asdict(score)} for seed in SHIPPED_SEEDS for score in seed_scores(FULL, seed, "cpu")]
    return rows, {**FULL, "seeds": list(SHIPPED_SEEDS), "samples": SAMPLES}


def save(path: Path, rows: list[dict], made: dict) -> None:
    write_json(path, rows, made)


def shipped_comparison(path: Path | None = None) -> tuple[dict[int, list[SampleScore]], dict]:
    """The shipped comparison, {seed: [VAE's score, GAN's score]}, and how it was made."""
    rows, made = read_json(path or RESULTS["vae_vs_gan"].path)
    by_seed: dict[int, list[SampleScore]] = {}
    for row in rows:
        by_seed.setdefault(row.pop("seed"), []).append(SampleScore(**row))
    return by_seed, made


def seeded_table(by_seed: dict[int, list[SampleScore]], real_sharpness: float) -> str:
    """:func:`course.autoencoders.score_table` with a seed column: one row per (seed, model)."""
    tables = {seed: score_table(scores, real_sharpness).splitlines() for seed, scores in by_seed.items()}
    header, real, rule = next(iter(tables.values()))[:3]
    seed_head = tr("seed")
    lines = [f"{seed_head:<6}{header}", f"      {real}", f"------{rule}"]
    lines += [f"{seed:<6}{line}" for seed, table in tables.items() for line in table[3:]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course.bench_vae_gan", description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="the full sizes: VAE 300 epochs, GAN 6,000 steps")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    sizes = FULL if args.full else DEFAULT
    real = sharpness(digit_pixels("train")[0])
    for seed in args.seeds:
        print(f"seed {seed}\n{score_table(seed_scores(sizes, seed), real)}\n", flush=True)


if __name__ == "__main__":
    main()
