"""Each GAN variant as a :class:`Variant`: which players it builds and what D and G minimise."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course.gan import Discriminator, Generator, discriminator_loss, generator_loss_non_saturating
from course.gan.targets import Target
from course.gan_variants.layers import (AutoencoderDiscriminator, CodedGenerator, ConditionalDiscriminator,
                                        HistoricalAverage, InfoDiscriminator, MinibatchDiscriminator, VBNGenerator,
                                        last_hidden_features)
from course.gan_variants.losses import (clip_weights, critic_loss, ebgan_discriminator_loss, feature_matching_loss,
                                        gradient_penalty, pulling_away_term, wasserstein_generator_loss)
from course.language import tr


@dataclass(frozen=True)
class Batch:
    """One step's data: real samples and the component each came from, noise, and the fakes' codes.

    ``codes`` (N,) are the classes a CGAN is asked for or an InfoGAN's categorical code; for the
    variants without codes they are unused.
    """

    real: torch.Tensor | None
    labels: torch.Tensor | None
    noise: torch.Tensor
    codes: torch.Tensor


class Variant:
    """The vanilla GAN (non-saturating); each variant overrides what it changes, nothing else.

    ``d_objective`` returns D's loss with D's raw outputs on the real and the fake batch (logits,
    critic scores or energies, whatever ``verdict`` turns into the number recorded per step);
    ``g_objective`` returns G's loss on fakes that carry their graph. The trainer detaches the fakes
    for D, steps the optimisers and calls the ``after_*`` hooks.
    """

    name = "vanilla"
    # what a lecture or widget shows: in the language the kit speaks when this module is imported
    changes = tr("nothing: topic 04's GAN with the non-saturating generator loss")
    d_steps = 1
    uses_codes = False
    verdict_name = "D(x)"
    generator_class: type[nn.Module] = Generator  # built as (noise_dim, data_dim, hidden, depth)
    discriminator_class: type[nn.Module] = Discriminator  # built as (data_dim, hidden, depth)

    # -- the players
    def code_classes(self, target: Target) -> int:
        """How many categories G's code has (0: no code)."""
        return getattr(target, "classes", 0) if self.uses_codes else 0

    def players(self, noise_dim: int, data_dim: int, codes: int, hidden: int, depth: int) -> tuple[nn.Module, nn.Module]:
        """G, then D (in that order: the trainer builds them under its seed)."""
        return (self.generator_class(noise_dim, data_dim, hidden, depth),
                self.discriminator_class(data_dim, hidden, depth))

    def attach(self, generator: nn.Module, discriminator: nn.Module, rng: torch.Generator) -> None:
        """Called once the players exist (on their device): per-run state; ``rng`` seeds any randomness of the losses."""
        self.rng = rng

    def optimizers(self, generator: nn.Module, discriminator: nn.Module, lr_g: float, lr_d: float,
                   betas: tuple[float, float]):
        return (torch.optim.Adam(generator.parameters(), lr=lr_g, betas=betas),
                torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=betas))

    def fake(self, generator: nn.Module, batch: Batch) -> torch.Tensor:
        return generator(batch.noise)  # (N, data_dim)

    # -- the objectives
    def d_objective(self, discriminator: nn.Module, batch: Batch, fake: torch.Tensor):
        real_logits, fake_logits = discriminator(batch.real), discriminator(fake)
        return discriminator_loss(real_logits, fake_logits), real_logits, fake_logits

    def g_objective(self, discriminator: nn.Module, batch: Batch, fake: torch.Tensor) -> torch.Tensor:
        return generator_loss_non_saturating(discriminator(fake))

    def after_d_step(self, discriminator: nn.Module) -> None:
        pass

    def after_g_step(self, generator: nn.Module) -> None:
        pass

    # -- what is recorded and drawn
    def verdict(self, outputs: torch.Tensor) -> torch.Tensor:
        """D's raw outputs as the per-step number: the probability "real" for the BCE variants."""
        return torch.sigmoid(outputs.float())

    def discriminator_view(self, discriminator: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """What D says of the points x (N, dim), for the playground's heat map; higher means "real"."""
        return self.verdict(discriminator(x))


class LabelSmoothing(Variant):
    name = "label smoothing"
    changes = tr("D's target for real samples is 0.9 instead of 1 (one-sided: fakes stay at 0)")
    real_label = 0.9

    def d_objective(self, discriminator, batch, fake):
        real_logits, fake_logits = discriminator(batch.real), discriminator(fake)
        return discriminator_loss(real_logits, fake_logits, self.real_label), real_logits, fake_logits


class FeatureMatching(Variant):
    name = "feature matching"
    changes = tr("G minimises || mean f(x) - mean f(G(z)) ||^2 over D's last hidden features f")

    def g_objective(self, discriminator, batch, fake):
        return feature_matching_loss(last_hidden_features(discriminator, batch.real).detach(),
                                     last_hidden_features(discriminator, fake))


class MinibatchDiscriminationVariant(Variant):
    name = "minibatch discrimination"
    changes = tr("D gets, per sample, how close it is to the rest of its batch (a minibatch layer before its output)")
    discriminator_class = MinibatchDiscriminator


class HistoricalAveraging(Variant):
    name = "historical averaging"
    changes = tr("each player's loss gains weight * ||theta - (mean of its past thetas)||^2")
    weight = 1e-2

    def attach(self, generator, discriminator, rng):
        super().attach(generator, discriminator, rng)
        self.g_history, self.d_history = HistoricalAverage(generator), HistoricalAverage(discriminator)

    def d_objective(self, discriminator, batch, fake):
        loss, real_logits, fake_logits = super().d_objective(discriminator, batch, fake)
        return loss + self.weight * self.d_history.penalty(), real_logits, fake_logits

    def g_objective(self, discriminator, batch, fake):
        return super().g_objective(discriminator, batch, fake) + self.weight * self.g_history.penalty()

    def after_d_step(self, discriminator):
        self.d_history.update()

    def after_g_step(self, generator):
        self.g_history.update()


class VirtualBatchNormVariant(Variant):
    name = "virtual batch norm"
    changes = tr("G normalises each hidden layer against a fixed reference batch (no dependence on its own batch)")
    generator_class = VBNGenerator


class WGAN(Variant):
    name = "WGAN"
    changes = tr("a critic f (no sigmoid) estimates W1 = max E f(x) - E f(G(z)); weights clipped to [-c, c]; RMSprop")
    d_steps = 5
    clip = 0.01
    verdict_name = tr("critic f(x)")

    def optimizers(self, generator, discriminator, lr_g, lr_d, betas):
        return (torch.optim.RMSprop(generator.parameters(), lr=lr_g),
                torch.optim.RMSprop(discriminator.parameters(), lr=lr_d))

    def d_objective(self, critic, batch, fake):
        real_scores, fake_scores = critic(batch.real), critic(fake)
        return critic_loss(real_scores, fake_scores), real_scores, fake_scores

    def g_objective(self, critic, batch, fake):
        return wasserstein_generator_loss(critic(fake))

    def after_d_step(self, critic):
        clip_weights(critic, self.clip)

    def verdict(self, outputs):
        return outputs.float()


class WGANGP(WGAN):
    name = "WGAN-GP"
    changes = tr("WGAN's critic kept 1-Lipschitz by the penalty lambda * (||grad f(x_hat)|| - 1)^2 instead of clipping")
    penalty_weight = 10.0

    def optimizers(self, generator, discriminator, lr_g, lr_d, betas):
        return Variant.optimizers(self, generator, discriminator, lr_g, lr_d, (0.5, 0.9))

    def d_objective(self, critic, batch, fake):
        loss, real_scores, fake_scores = super().d_objective(critic, batch, fake)
        return loss + self.penalty_weight * gradient_penalty(critic, batch.real, fake, self.rng), real_scores, fake_scores

    def after_d_step(self, critic):
        pass


class EBGAN(Variant):
    name = "EBGAN"
    changes = tr("D is an autoencoder; energy E = reconstruction error; D: E(x) + max(0, m - E(G(z))); G: E(G(z)) + PT")
    margin = 1.0
    pulling_away_weight = 0.1
    verdict_name = tr("energy E(x)")
    discriminator_class = AutoencoderDiscriminator

    def d_objective(self, discriminator, batch, fake):
        real_energy, fake_energy = discriminator(batch.real), discriminator(fake)
        return ebgan_discriminator_loss(real_energy, fake_energy, self.margin), real_energy, fake_energy

    def g_objective(self, discriminator, batch, fake):
        energy, code = discriminator.energy_and_code(fake)
        return energy.mean() + self.pulling_away_weight * pulling_away_term(code)

    def verdict(self, outputs):
        return outputs.float()

    def discriminator_view(self, discriminator, x):
        return -discriminator(x).float()  # low energy = "real"


class CGAN(Variant):
    name = "CGAN"
    changes = tr("G(z, y) and D(x, y) both get the class y as a one-hot; G is asked for a class")
    uses_codes = True

    def players(self, noise_dim, data_dim, codes, hidden, depth):
        return (CodedGenerator(noise_dim, data_dim, codes, hidden, depth),
                ConditionalDiscriminator(data_dim, codes, hidden, depth))

    def fake(self, generator, batch):
        return generator(batch.noise, batch.codes)

    def d_objective(self, discriminator, batch, fake):
        real_logits, fake_logits = discriminator(batch.real, batch.labels), discriminator(fake, batch.codes)
        return discriminator_loss(real_logits, fake_logits), real_logits, fake_logits

    def g_objective(self, discriminator, batch, fake):
        return generator_loss_non_saturating(discriminator(fake, batch.codes))

    def discriminator_view(self, discriminator, x):
        # D(x, y) for the class y that makes x look most real
        labels = torch.arange(discriminator.classes, device=x.device)
        logits = torch.stack([discriminator(x, label.expand(len(x))) for label in labels], dim=1)
        return torch.sigmoid(logits.float().max(dim=1).values)


class InfoGAN(Variant):
    name = "InfoGAN"
    changes = tr("G gets a categorical code c; a head Q on D predicts c from G(z, c); both add lambda * CE(Q, c)")
    uses_codes = True
    information_weight = 1.0

    def players(self, noise_dim, data_dim, codes, hidden, depth):
        return CodedGenerator(noise_dim, data_dim, codes, hidden, depth), InfoDiscriminator(data_dim, codes, hidden, depth)

    def fake(self, generator, batch):
        return generator(batch.noise, batch.codes)

    def d_objective(self, discriminator, batch, fake):
        real_logits = discriminator(batch.real)
        fake_logits, code_logits = discriminator.both(fake)
        information = F.cross_entropy(code_logits.float(), batch.codes)
        return (discriminator_loss(real_logits, fake_logits) + self.information_weight * information,
                real_logits, fake_logits)

    def g_objective(self, discriminator, batch, fake):
        fake_logits, code_logits = discriminator.both(fake)
        information = F.cross_entropy(code_logits.float(), batch.codes)
        return generator_loss_non_saturating(fake_logits) + self.information_weight * information


VARIANTS: dict[str, type[Variant]] = {variant.name: variant for variant in (
    Variant, LabelSmoothing, FeatureMatching, MinibatchDiscriminationVariant, HistoricalAveraging,
    VirtualBatchNormVariant, WGAN, WGANGP, EBGAN, CGAN, InfoGAN)}


def make_variant(variant: str | Variant) -> Variant:
    """A fresh variant by name (``VARIANTS``); a Variant instance is returned as it is."""
    if isinstance(variant, Variant):
        return variant
    try:
        return VARIANTS[variant]()
    except KeyError:
        raise ValueError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)}") from None
