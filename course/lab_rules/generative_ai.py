"""Lab 09's rules and the trusted function its exercise 3 is judged on."""

from __future__ import annotations

from course import trusted
from course.judging import built_on, forbid
from course.language import tr


def kit_psnr_disabled():
    """The kit's psnr raises while the student's code runs (exercise 1)."""
    return forbid("course.generative_ai.psnr", message=tr("write the PSNR yourself"))


def kit_objective_disabled():
    """The kit's inpaint, which holds the objective, raises while the student's objective runs (exercise 2)."""
    return forbid("course.generative_ai.inpaint", message=tr("write the objective yourself"))


def kit_search_disabled():
    """The kit's inpaint raises while the student's search runs (exercise 3)."""
    return forbid("course.generative_ai.inpaint", message=tr("write the search yourself"))


def kit_detector_training_disabled():
    """The kit's train_detector raises while the student's training runs (exercise 4)."""
    return forbid("course.generative_ai.train_detector", message=tr("write the detector's training yourself"))


def library_chi_square_disabled():
    """scipy's chi-square test and the kit's class_audit raise while the student's audit runs (exercise 5)."""
    return forbid("scipy.stats.chisquare", "scipy.stats.power_divergence", "course.generative_ai.class_audit",
                  message=tr("compute the statistic yourself (scipy.stats.chi2.sf gives the p-value)"))


def exercise_3_alone():
    """inpaint judged on its own: the kit's objective where it calls your inpainting_objective."""
    return built_on(inpainting_objective=trusted.inpainting_objective)
