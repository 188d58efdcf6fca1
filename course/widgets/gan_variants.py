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
from contextlib import contextmanager

import ipywidgets as widgets
import torch

from course.gan.targets import TARGETS
from course.gan_variants.trainer import VariantTrainer
from course.gan_variants.variants import CGAN, EBGAN, VARIANTS, FeatureMatching, Variant, make_variant
from course.widgets.gan import GANPlayground, Readout, game_readout

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
        return "minus energy -E(x)"  # low energy reads as "real"
    if isinstance(variant, CGAN):
        return "max_y D(x, y)"  # D under the class that makes x look most real
    return variant.verdict_name


def variant_readout(variant: Variant) -> Readout:
    """The figure's labels for ``variant``: topic 04's Nash lines where its losses are BCE, none for a critic."""
    if variant.verdict_name != Variant.verdict_name:
        return Readout(verdict=variant.verdict_name, view=f"{view_name(variant)}, rescaled", probability=False,
                       game=variant.name)
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


class VariantPlayground(GANPlayground):
    """Train one of course.gan_variants' ``VARIANTS`` live on a chosen target and watch it (topic 07).

    Everything of :class:`GANPlayground` (controls, Step, Play, Reset, ``step(n)``, ``values()``,
    ``frame``, ``render()``), with the ``variant`` dropdown in place of the G loss toggle and, under it,
    what the variant changes in the game. Switching the variant restarts at step 0 with the variant's own
    ``d_steps`` (5 critic steps for the WGANs; ``d_steps=`` sets the first run's); CGAN and InfoGAN are
    offered only the Gaussian mixtures (CODED_TARGETS), and switching to one of them on another target
    moves it to FALLBACK_TARGET. In code an impossible combination is a ValueError.

    ``frame.d_grid`` holds what the heat map shows: D(x) for the BCE variants (for CGAN its best class),
    and the critic's score or minus the energy min-max rescaled to [0, 1] over the grid for WGAN, WGAN-GP
    and EBGAN; ``frame.field`` is ``trainer.generator_field``, -d(N * G's loss)/dx at the fakes. The
    status line leads with the variant's name, and its real_verdict, fake_verdict numbers (the variant's verdict)
    are labelled by ``variant.verdict_name``: D(x), critic f(x) or energy E(x).

    Measured (2-core CPU shared with other work, dpi 72, batch 256, ring, medians of 12 ticks, two runs):
    a tick of 20 steps plus the redraw takes 0.21-0.22 s for vanilla (the steps 0.03 s of it, as topic
    04's playground), 0.30-0.32 s for WGAN-GP (5 critic steps per G step, each with a gradient penalty:
    0.12 s) and 0.48-0.52 s for minibatch discrimination (its batch-wide distances: 0.29-0.31 s); the
    redraw is topic 04's, about 0.19 s. Play's TICK_MS = 200 is about one vanilla tick here; the other
    two lag behind it, and fewer steps per tick make them smoother.
    """

    def __init__(self, target: str = "ring", variant: str = "vanilla", d_steps: int | None = None, **options):
        if "generator_loss_kind" in options:
            raise TypeError("a variant brings its own losses: choose variant=, not generator_loss_kind=")
        check_combination(variant, target)
        self._restart_deferred = False
        self._first_variant = variant
        first_d_steps = make_variant(variant).d_steps if d_steps is None else d_steps
        super().__init__(target, d_steps=first_d_steps, **options)
        with self._restarts_held():  # the target stays: the run just built is the right one
            self._offer_targets()

    def reset(self) -> None:
        """Rebuild the trainer from the current settings and seed, back at step 0, and redraw."""
        if not self._restart_deferred:  # while a variant switch moves other controls, restart only once
            super().reset()

    def set_target(self, name: str) -> None:
        """Switch to the target ``name`` and restart; a ValueError if the variant cannot learn it."""
        check_combination(self.variant_picker.value, name)
        super().set_target(name)

    def readout(self) -> Readout:
        return variant_readout(self.trainer.variant)

    # -- the hooks of GANPlayground
    def _game_settings(self) -> dict:
        return {"variant": self.variant_picker.value}

    def _build_trainer(self, settings: dict, device: torch.device) -> VariantTrainer:
        return VariantTrainer(self.target, settings["variant"], **self._trainer_options(settings, device))

    def _heat_values(self, points: torch.Tensor) -> torch.Tensor:
        view = self.trainer.discriminator_view(points)
        return view if self.readout().probability else rescaled(view)

    def _generator_field(self, points: torch.Tensor) -> torch.Tensor:
        return self.trainer.generator_field(points)

    def _build_game_controls(self, generator_loss_kind: str, style: dict, layout: dict) -> list[widgets.Widget]:
        self.variant_picker = widgets.Dropdown(options=list(VARIANTS), value=self._first_variant,
                                               description="variant", style=style, layout=layout)
        self.changes_note = widgets.HTML()
        self._show_changes()
        self.variant_picker.observe(self._on_variant, names="value")
        return [self.variant_picker, self.changes_note]

    # -- switching the variant
    def _on_variant(self, change) -> None:
        with self._restarts_held():
            self._offer_targets()
            self.d_steps_slider.value = make_variant(change["new"]).d_steps
            self._show_changes()
        self.reset()

    @contextmanager
    def _restarts_held(self):
        """Controls moved inside do not restart the run each (the caller restarts once, if at all)."""
        self._restart_deferred = True
        try:
            yield
        finally:
            self._restart_deferred = False

    def _offer_targets(self) -> None:
        """Offer only the targets the variant can learn; an unsuited target moves to FALLBACK_TARGET."""
        target = self.target_picker.value
        self.target_picker.options = trainable_targets(self.variant_picker.value)  # selects the first option
        self.target_picker.value = target if target in self.target_picker.options else FALLBACK_TARGET

    def _show_changes(self) -> None:
        changes = html.escape(make_variant(self.variant_picker.value).changes)
        self.changes_note.value = f"<small>changes: {changes}</small>"


def variant_playground(**kwargs) -> VariantPlayground:
    """Build a :class:`VariantPlayground` (same keyword arguments); displays nothing itself."""
    return VariantPlayground(**kwargs)
