"""The switch that turns the kit's implementations of lab 07's exercises off while a student's code runs."""

from __future__ import annotations

from course.judging import forbid
from course.language import tr


def reference_guard() -> None:
    """Called first by each of the kit's implementations of a lab 07 exercise, as ``guard.reference_guard()`` so
    that the module attribute is looked up at each call; it does nothing, but :func:`course_variants_disabled`
    switches it off, which stops the implementation however it was reached
    (``from course.gan_variants import critic_loss as mine``, a wrapper, a subclass)."""


def course_variants_disabled():
    """A block in which the kit's implementations of lab 07's exercises raise, however the student's code
    reaches them (:func:`course.judging.forbid` of the guard each of them calls first): where the tests
    run, in the judge or in the student's kernel."""
    return forbid("course.gan_variants.guard.reference_guard",
                  message=tr("write this yourself instead of calling course.gan_variants"))
