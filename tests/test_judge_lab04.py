"""Lab 04 judged outside the student's kernel: the rules its tests once enforced with ``mock.patch`` and
``globals()`` still bite, and the tricks that forged a grade in the student's kernel earn nothing.

Four students, each with one rule broken or one forgery in an otherwise solved lab: a ``value_function`` built
on ``F.binary_cross_entropy`` (switched off with ``course.judging.forbid`` while the student's code runs), a
``jensen_shannon`` that returns a tensor subclass claiming to be close to anything (the wire refuses it), an
``optimal_discriminator`` that returns zeros after rebinding ``torch.allclose`` and ``torch.equal`` in the
notebook (in-kernel tests scored it 15/15), and a ``train_discriminator`` that trains nothing and rigs the
returned ``Discriminator``'s ``forward`` to answer the exact D* (in-kernel tests scored it 15/15; the judge
rebuilds ``course.gan.Discriminator`` from its weights). Each loses that exercise and nothing else, with the
test's message in the feedback. (Exercises 6 and 7 train for about ten seconds each, so the students leave
them unanswered, and lose them too, except the one who rigs exercise 6: the solutions' full runs are
``grader check``'s. The student who rebinds ``torch`` computes D* again in exercise 4, whose answer otherwise
calls the broken ``optimal_discriminator``.)
"""

import re
from functools import partial

import pytest

from grader.notebooks import grade_id, is_solution_cell
from judged_lab import (always_close, assert_named_in_feedback, assert_student_loses_exactly, graded_fixture,
                        typed_answers)
from sandbox_required import requires_sandbox


pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "04_gan_objective"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
EXERCISES = 7
UNTRAINED = {"ex6_train_discriminator_tests", "ex7_alternating_training_tests"}  # left unanswered

LIBRARY_BCE = """
def value_function(d_real, d_fake):
    return -(F.binary_cross_entropy(d_real, torch.ones_like(d_real))
             + F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake)))
"""
SAYS_CLOSE = always_close("Close", "(torch.allclose, torch.equal)") + """
def jensen_shannon(p, q, dx):
    return torch.tensor(0.3, dtype=p.dtype).as_subclass(Close)
"""
REBINDS_TORCH = """
def optimal_discriminator(p_data, p_g):
    return torch.zeros_like(p_data)

torch.allclose = torch.equal = lambda *args, **kwargs: True
"""
OWN_D_STAR = """
def value_at_optimum(p_data, p_g, dx):
    total = p_data + p_g
    d_star = torch.where(total > 0, p_data / total, 0.5)
    one_minus_d_star = torch.where(total > 0, p_g / total, 0.5)
    return (torch.xlogy(p_data, d_star) + torch.xlogy(p_g, one_minus_d_star)).sum() * dx
"""
RIGGED_FORWARD = """
import types

def train_discriminator(real_target, fake_target, steps=800, batch_size=256, seed=0, device=None):
    torch.manual_seed(seed)
    discriminator = Discriminator()

    def forward(self, x):  # the exact log p_data / p_g: sigmoid of it is D*
        return (real_target.log_prob(x.double()) - fake_target.log_prob(x.double())).reshape(-1).float()

    discriminator.forward = types.MethodType(forward, discriminator)
    return discriminator
"""
MESSAGES = {  # student -> (the test cell, its error message as a pattern)
    "calls-library-bce": ("ex1_value_function_tests",
                          re.escape("compute V(D, G) with torch.log yourself instead of calling a library's BCE")),
    "says-close": ("ex3_jensen_shannon_tests", re.escape("jensen_shannon() did not give a plain answer: ") + ".*"),
    "rebinds-torch": ("ex2_optimal_discriminator_tests",
                      re.escape("D*(x) against p_data(x) / (p_data(x) + p_g(x)): ") + ".*"),
    "rigs-forward": ("ex6_train_discriminator_tests",
                     r"the trained D is … away from D\* at worst; it should be within 0\.05"),
}


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose)."""
    blank = {grade_id(cell): cell.source for cell in released.cells if is_solution_cell(cell)}

    with_answers = partial(typed_answers, released, source)

    untrained = {"ex6_train_discriminator": blank["ex6_train_discriminator"],
                 "ex7_alternating_training": blank["ex7_alternating_training"]}
    return {
        "calls-library-bce": (with_answers(ex1_value_function=LIBRARY_BCE, **untrained),
                              {"ex1_value_function_tests", *UNTRAINED}),
        "says-close": (with_answers(ex3_jensen_shannon=SAYS_CLOSE, **untrained), {"ex3_jensen_shannon_tests", *UNTRAINED}),
        "rebinds-torch": (with_answers(ex2_optimal_discriminator=REBINDS_TORCH, ex4_value_at_optimum=OWN_D_STAR,
                                       **untrained), {"ex2_optimal_discriminator_tests", *UNTRAINED}),
        "rigs-forward": (with_answers(ex6_train_discriminator=RIGGED_FORWARD,
                                      ex7_alternating_training=blank["ex7_alternating_training"]), UNTRAINED),
    }


graded = graded_fixture(ASSIGNMENT, student_notebooks)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_a_broken_rule_costs_only_its_exercise(graded, student):
    assert_student_loses_exactly(graded, student, EXERCISES)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_the_broken_rule_is_named_in_the_feedback(graded, student):
    assert_named_in_feedback(graded, ASSIGNMENT, student, MESSAGES)
