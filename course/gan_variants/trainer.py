"""course.gan's seeded trainer playing a variant's game."""

from __future__ import annotations

import torch

from course.gan import StepStats
from course.gan.seeds import SEED_OFFSETS, stream
from course.gan.targets import Target, sample_noise
from course.gan.training import GANTrainer
from course.gan_variants.variants import Batch, Variant, make_variant
from course.repro import autocast


def balanced_codes(n: int, classes: int) -> torch.Tensor:
    """0, 1, ..., classes - 1, 0, 1, ...: n codes, each class as often as possible (zeros if no classes)."""
    return torch.arange(n) % classes if classes else torch.zeros(n, dtype=torch.long)


def _sample_labeled(target: Target, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    if hasattr(target, "sample_labeled"):
        return target.sample_labeled(n, generator)
    return target.sample(n, generator), torch.zeros(n, dtype=torch.long)


class VariantTrainer(GANTrainer):
    """course.gan's ``GANTrainer`` playing a :class:`Variant`'s game: same seeding, targets, history, evaluation.

    ``variant`` is a name of ``VARIANTS`` (or an instance); ``d_steps`` defaults to the variant's
    (5 critic steps for the WGANs). Codes for the fakes (CGAN's requested class, InfoGAN's code) are
    drawn uniformly from their own seeded generator; the fixed evaluation set asks for every code
    equally often. The per-step ``real_verdict``/``fake_verdict`` are the variant's ``verdict`` (a probability for
    the BCE variants, a critic score or an energy otherwise).
    """

    def __init__(self, target: Target, variant: str | Variant = "vanilla", **options):
        self.variant = make_variant(variant)
        self.codes = self.variant.code_classes(target)
        if self.variant.uses_codes and not self.codes:
            raise ValueError(f"{self.variant.name} needs a target with classes (a Gaussian mixture or the digits), "
                             f"not {getattr(target, 'name', type(target).__name__)}")
        options.setdefault("d_steps", self.variant.d_steps)
        super().__init__(target, **options)
        self.variant.attach(self.generator, self.discriminator, stream(self.seed, SEED_OFFSETS.variant))
        self._code_rng = stream(self.seed, SEED_OFFSETS.codes)
        self._eval_codes = balanced_codes(len(self._eval_noise), self.codes)

    def _build_players(self, noise_dim, hidden, depth):
        return self.variant.players(noise_dim, self.target.dim, self.codes, hidden, depth)

    def _build_optimizers(self, lr_g, lr_d, betas):
        return self.variant.optimizers(self.generator, self.discriminator, lr_g, lr_d, betas)

    def _batch(self) -> Batch:
        real, labels = _sample_labeled(self.target, self.batch_size, self._data_rng)
        noise = sample_noise(self.batch_size, self.noise_dim, generator=self._noise_rng)
        codes = (torch.randint(self.codes, (self.batch_size,), generator=self._code_rng) if self.codes
                 else torch.zeros(self.batch_size, dtype=torch.long))
        return Batch(real.to(self.device), labels.to(self.device), noise.to(self.device), codes.to(self.device))

    def _train_step(self) -> StepStats:
        variant, generator, discriminator = self.variant, self.generator, self.discriminator
        for _ in range(self.d_steps):
            batch = self._batch()
            with autocast(self.device):
                fake = variant.fake(generator, batch).detach()  # D's step must not reach into G
                d_loss, real_out, fake_out = variant.d_objective(discriminator, batch, fake)
            self.d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            self.d_optimizer.step()
            variant.after_d_step(discriminator)
        batch = self._batch()
        with autocast(self.device):
            g_loss = variant.g_objective(discriminator, batch, variant.fake(generator, batch))
        self.g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_optimizer.step()
        variant.after_g_step(generator)
        return StepStats(d_loss.detach(), g_loss.detach(), variant.verdict(real_out.detach()).mean(),
                         variant.verdict(fake_out.detach()).mean())

    @torch.no_grad()
    def generate(self, n: int | None = None, seed: int | None = None, codes: torch.Tensor | None = None) -> torch.Tensor:
        """Samples G(z[, c]) on the CPU: the fixed evaluation set, or ``n`` fresh ones from ``seed``.

        ``codes`` (n,) chooses the class or code of each sample; by default every code equally often.
        """
        self.generator.eval()
        noise = self._eval_noise if n is None else sample_noise(n, self.noise_dim, generator=seed)
        if codes is None:
            codes = self._eval_codes if n is None else balanced_codes(n, self.codes)
        batch = Batch(None, None, noise.to(self.device), torch.as_tensor(codes).to(self.device))
        fake = self.variant.fake(self.generator, batch).float().cpu()
        self.generator.train()
        return fake

    @torch.no_grad()
    def discriminator_view(self, x: torch.Tensor) -> torch.Tensor:
        """The variant's view of the points x (N, dim): D(x) for the BCE variants, the critic's score, -energy."""
        self.discriminator.eval()
        x = torch.as_tensor(x, dtype=torch.float32).reshape(-1, self.target.dim).to(self.device)
        view = torch.cat([self.variant.discriminator_view(self.discriminator, chunk) for chunk in x.split(self.batch_size)])
        self.discriminator.train()
        return view.float().cpu()

    def generator_field(self, points: torch.Tensor) -> torch.Tensor:
        """-d(N * G's loss)/dx at ``points`` (N, dim) taken as the fakes of one batch: where G's loss pushes them."""
        x = torch.as_tensor(points, dtype=torch.float32).reshape(len(points), -1).to(self.device).requires_grad_(True)
        real, labels = _sample_labeled(self.target, len(x), stream(self.seed, SEED_OFFSETS.field_batch))
        batch = Batch(real.to(self.device), labels.to(self.device), torch.zeros(len(x), self.noise_dim, device=self.device),
                      balanced_codes(len(x), self.codes).to(self.device))
        with torch.enable_grad():
            (gradient,) = torch.autograd.grad(self.variant.g_objective(self.discriminator, batch, x) * len(x), x)
        return -gradient.float().cpu()
