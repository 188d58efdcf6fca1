"""Lab 04's rules and the trusted function its exercise 4 is judged on."""

from __future__ import annotations

from course import trusted
from course.judging import AUTOGRAD, built_on, forbid
from course.language import tr

# Every BCE torch and the course offer, and the notebook's discriminator_loss, for exercise 1's value function.
BCE_SHORTCUTS = ("torch.nn.functional.binary_cross_entropy", "torch.nn.functional.binary_cross_entropy_with_logits",
                 "torch.binary_cross_entropy_with_logits", "torch.nn.BCELoss.forward",
                 "torch.nn.BCEWithLogitsLoss.forward", "course.bce.bce_from_probabilities",
                 "course.bce.bce_from_logits", "course.gan.discriminator_loss", "discriminator_loss")
# The kit's closed-form BCE gradients, which exercise 5 asks the student to write.
KIT_GRADIENTS = ("course.bce.gradient_wrt_logit", "course.bce.gradient_wrt_probability")


def library_bce_disabled():
    """Every library BCE raises while the student's value function runs (exercise 1)."""
    return forbid(*BCE_SHORTCUTS,
                  message=tr("compute V(D, G) with torch.log yourself instead of calling a library's BCE"))


def library_divergence_disabled():
    """torch's KL divergence and scipy's Jensen-Shannon distance raise while the student's code runs (exercise 3)."""
    return forbid("torch.nn.functional.kl_div", "torch.nn.KLDivLoss.forward", "scipy.spatial.distance.jensenshannon",
                  message=tr("compute the divergence yourself instead of calling a library's"))


def jensen_shannon_disabled():
    """The notebook's jensen_shannon raises while value_at_optimum runs (exercise 4)."""
    return forbid("jensen_shannon",
                  message=tr("integrate V(D*, G) on the grid yourself; the test compares it with the JSD"))


def closed_forms_only():
    """Every way to have autograd differentiate, and the kit's gradients, raise while your code runs."""
    return forbid(*AUTOGRAD, *KIT_GRADIENTS,
                  message=tr("write the gradients in closed form instead of asking autograd"))


def kit_loops_disabled():
    """The kit's alternating loops, and the notebook's alternating_step, raise while the student's loop runs
    (exercise 7)."""
    return forbid("course.gan.alternating_step", "course.gan.train_gan", "course.gan.GANTrainer.step",
                  "course.gan.GANTrainer.train", "alternating_step",
                  message=tr("write the k-step loop yourself around discriminator_step and generator_step"))


def exercise_4_alone():
    """value_at_optimum judged on its own: the kit's optimal_discriminator where it calls yours."""
    return built_on(optimal_discriminator=trusted.optimal_discriminator)
