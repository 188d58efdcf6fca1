"""Topic 07's GAN playground: topic 04's live playground (course.widgets.gan) with the GAN variant as a setting.

The figure is the same: the data space with D's view as a heat map (a curve in 1-D), the real and generated
samples and the arrows along which G's loss pushes the fakes, next to the loss and verdict traces. What a
variant changes shows in it: a WGAN's critic or an EBGAN's energy is no probability, so its view is
min-max rescaled to [0, 1] over the grid (the colour bar says so), its trace is not clamped to [0, 1] and
no Nash line of 1/2, 2 log 2 or log 2 is drawn for it; the arrows follow the variant's own G loss.
"""

from __future__ import annotations

import dataclasses
import html

import ipywidgets as widgets
import torch

from course.gan.targets import TARGETS
from course.gan_variants.trainer import VariantTrainer
from course.gan_variants.variants import CGAN, EBGAN, VARIANTS, FeatureMatching, Variant, make_variant
from course.language import tr
from course.widgets.gan import GANPlayground
from course.widgets.gan_figure import Readout, game_readout

FALLBACK_TARGET = "ring"  # where switching to a variant with codes moves a target it cannot learn
# a class or code names one of several Gaussian components: a mixture of at least two
CODED_TARGETS = tuple(name for name, factory in TARGETS.items() if getattr(factory(), "classes", 0) > 1)


def trainable_targets(variant: str) -> tuple[str, ...]:
    """The targets ``variant`` can train on: all of TARGETS, or CODED_TARGETS for CGAN and InfoGAN."""
    return CODED_TARGETS if make_variant(variant).uses_codes else tuple(TARGETS)


def check_combination(variant: str, target: str) -> None:
    """Refuse an unknown variant, or a variant with codes on a target without several components."""
    if target in TARGETS and target not in trainable_targets(variant):  # unknown targets: GANPlayground says so
        raise ValueError(f"{variant} gives G a class or code to generate, so it needs a Gaussian mixture "
                         f"({', '.join(CODED_TARGETS)}); the target {target!r} has no components to name")


def view_name(variant: Variant) -> str:
    """What ``VariantTrainer.discriminator_view`` returns for ``variant``, named for the heat map."""
    if isinstance(variant, EBGAN):
        return tr("minus energy -E(x)")  # low energy reads as "real"
    if isinstance(variant, CGAN):
        return "max_y D(x, y)"  # D under the class that makes x look most real
    return variant.verdict_name


def variant_readout(variant: Variant) -> Readout:
    """The figure's labels for ``variant``: topic 04's Nash lines where its losses are BCE, none for a critic."""
    if variant.verdict_name != Variant.verdict_name:
        return Readout(verdict=variant.verdict_name, view=tr("{view}, rescaled").format(view=view_name(variant)),
                       probability=False, game=variant.name)
    bce = game_readout("non-saturating")
    d_nash, g_nash = bce.nash_losses
    if isinstance(variant, FeatureMatching):
        g_nash = None  # G's loss is a distance between feature means, not a BCE
    return dataclasses.replace(bce, view=view_name(variant), nash_losses=(d_nash, g_nash), game=variant.name)


def rescaled(values: torch.Tensor) -> torch.Tensor:
    """``values`` min-max scaled to [0, 1] (all 1/2 where they are flat), to fit D's colour scale."""
    low, high = values.min(), values.max()
    if high == low:
        return torch.full_like(values, 0.5)
    return (values - low) / (high - low)


class VariantGame:
    """Topic 07's game for a :class:`course.widgets.gan.GANPlayground`: one of course.gan_variants' ``VARIANTS``,
    chosen by ``variant_picker`` with what it changes shown under it (``changes_note``).

    A variant brings its own k (5 critic steps for the WGANs) and, for CGAN and InfoGAN, only the Gaussian
    mixtures (CODED_TARGETS) to learn: switching to one of them on another target moves it to FALLBACK_TARGET.
    The heat map shows D(x) for the BCE variants (for CGAN its best class), and the critic's score or minus the
    energy min-max rescaled to [0, 1] over the grid for WGAN, WGAN-GP and EBGAN; the arrows are
    ``VariantTrainer.generator_field``, -d(N * G's loss)/dx at the fakes. The status line leads with the variant's
    name, and its verdicts are labelled by ``variant.verdict_name``: D(x), critic f(x) or energy E(x).
    """

    fallback_target = FALLBACK_TARGET

    def __init__(self, variant: str = "vanilla"):
        self.d_steps = make_variant(variant).d_steps  # an unknown variant: a ValueError naming the choices
        self.first_variant = variant
        self.variant_picker: widgets.Dropdown | None = None  # built with the playground's controls

    @property
    def variant(self) -> str:
        """The variant chosen now: the picker's, or the first one while the playground builds its controls."""
        return self.first_variant if self.variant_picker is None else self.variant_picker.value

    def controls(self, style, layout, changed):
        self.variant_picker = widgets.Dropdown(options=list(VARIANTS), value=self.first_variant,
                                               description=tr("variant"), style=style, layout=layout)
        self.changes_note = widgets.HTML()
        self._show_changes()

        def switched(change) -> None:
            self._show_changes()
            changed(make_variant(change["new"]).d_steps)

        self.variant_picker.observe(switched, names="value")
        return [self.variant_picker, self.changes_note]

    def settings(self):
        return {"variant": self.variant}

    def targets(self):
        return trainable_targets(self.variant)

    def check_target(self, name):
        check_combination(self.variant, name)

    def trainer(self, target, settings, options):
        return VariantTrainer(target, settings["variant"], **options)

    def heat_values(self, trainer, points):
        view = trainer.discriminator_view(points)
        return view if self.readout(trainer).probability else rescaled(view)

    def generator_field(self, trainer, points):
        return trainer.generator_field(points)

    def readout(self, trainer):
        return variant_readout(trainer.variant)

    def _show_changes(self) -> None:
        changes = html.escape(make_variant(self.variant).changes)
        self.changes_note.value = "<small>" + tr("changes: {changes}").format(changes=changes) + "</small>"


class VariantPlayground(GANPlayground):
    """A :class:`course.widgets.gan.GANPlayground` playing a :class:`VariantGame` of ``variant``, with the variant's
    k unless ``d_steps`` is given. In code an impossible combination of variant and target is a ValueError."""

    def __init__(self, target: str = "ring", variant: str = "vanilla", d_steps: int | None = None, **options):
        if "generator_loss_kind" in options:
            raise TypeError("a variant brings its own losses: choose variant=, not generator_loss_kind=")
        super().__init__(target, d_steps=d_steps, game=VariantGame(variant), **options)


def variant_playground(**kwargs) -> VariantPlayground:
    """Build a :class:`VariantPlayground` (same keyword arguments); displays nothing itself."""
    return VariantPlayground(**kwargs)
