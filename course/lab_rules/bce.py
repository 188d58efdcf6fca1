"""Lab 05's rules, the trusted functions its exercises are judged on, and the players of its gan_step tests."""

from __future__ import annotations

from course import trusted
from course.gan import Discriminator, Generator
from course.judging import LIBRARY_BCE, built_on, forbid
from course.lab_rules import gan_steps
from course.language import tr


def torch_bce_disabled():
    """PyTorch's (and the course's) BCE raise while the student's code runs."""
    return forbid(*LIBRARY_BCE, message=tr("compute the binary cross-entropy yourself instead of calling a library's"))


def on_the_kits_bce():
    """discriminator_loss (exercise 3) and generator_loss (exercise 4) judged on their own: the kit's
    bce_from_logits where they call yours."""
    return built_on(bce_from_logits=trusted.bce_from_logits)


def exercise_5_alone():
    """gan_step judged on its own: the kit's losses where it calls yours."""
    return built_on(discriminator_loss=trusted.discriminator_loss, generator_loss=trusted.generator_loss,
                    bce_from_logits=trusted.bce_from_logits)


def two_copies(seed: int, make_optimizer) -> list:
    """:func:`course.lab_rules.gan_steps.two_copies` of the exercise's small 1-D players (noise_dim=2, hidden=8)."""
    return gan_steps.two_copies(lambda: (Generator(noise_dim=2, hidden=8), Discriminator(hidden=8)), make_optimizer,
                                seed)
