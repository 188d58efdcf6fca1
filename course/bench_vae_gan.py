"""Quality benchmark: lecture 08's VAE against the kit's plain GAN on the same digits, per seed.

    python -m course.bench_vae_gan                  # the lecture's default sizes: VAE 100 epochs, GAN 2,000 steps
    python -m course.bench_vae_gan --full --seeds 0 1 2   # the README's table: VAE 300 epochs, GAN 6,000 steps

Both models are the lecture's (course.autoencoders.VAE with 8-D codes; course.gan_variants.VariantTrainer's vanilla
GAN with 256 hidden units and 16-D noise), trained on the 1,347 training digits; 1,000 samples of each are scored by
:func:`course.autoencoders.score_samples` (sharpness, and the digits classifier's confident share, classes, smallest
class and Fréchet distance).
"""

from __future__ import annotations

import argparse

import torch

from course.autoencoders import VAE, digit_pixels, score_samples, score_table, sharpness, train_vae
from course.gan_variants import DigitsTarget, VariantTrainer
from course.repro import pick_device, seed_everything

DEFAULT = {"epochs": 100, "steps": 2000}
FULL = {"epochs": 300, "steps": 6000}
SAMPLES = 1000


def vae_draws(epochs: int, seed: int) -> torch.Tensor:
    X, _ = digit_pixels("train")
    seed_everything(seed)
    vae = VAE(latent=8)
    train_vae(vae, X, epochs, seed=seed)
    vae.eval()
    return vae.sample(SAMPLES, torch.Generator().manual_seed(1))


def gan_draws(steps: int, seed: int) -> torch.Tensor:
    gan = VariantTrainer(DigitsTarget(), "vanilla", seed=seed, noise_dim=16, hidden=256, batch_size=128, lr_d=1e-3,
                         lr_g=1e-3, device=pick_device())
    gan.step(steps)
    return ((gan.generate(SAMPLES, seed=1).cpu() + 1) / 2).clamp(0, 1)  # [-1, 1] -> pixels in [0, 1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course.bench_vae_gan", description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="the full sizes: VAE 300 epochs, GAN 6,000 steps")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    sizes = FULL if args.full else DEFAULT
    real = sharpness(digit_pixels("train")[0])
    for seed in args.seeds:
        scores = [score_samples(f"VAE, {sizes['epochs']} epochs", vae_draws(sizes["epochs"], seed)),
                  score_samples(f"GAN, {sizes['steps']} steps", gan_draws(sizes["steps"], seed))]
        print(f"seed {seed}\n{score_table(scores, real)}\n", flush=True)


if __name__ == "__main__":
    main()
