"""Lab 07 judged outside the student's kernel: the rules its tests once enforced in the kernel, and its one trained
model, hold against students who try what forged a grade there.

Five students with one trick each in an otherwise solved lab: a ``clip_weights_`` that calls the course's
implementation under another name (the hidden tests switch ``course.gan_variants`` off however it is reached);
a ``minibatch_features`` built on the course's ``MinibatchDiscrimination`` by a notebook that also rebinds the
tests' switch, ``course_variants_disabled``, and ``course.judging.forbid`` to do nothing (in-kernel tests gave it
15/15); a ``gradient_penalty`` that rewrites the critic it is lent so that the test's reference, computed from
that critic after the call, agrees (20/20 while a lent module's weights came back from every call); an
``information_lower_bound`` that returns a tensor subclass close to anything; and a ``cgan_step`` that
trains nothing while the notebook rigs ``course.gan.Generator.forward`` to draw a real digit of the requested
class (in-kernel tests that sampled the trained generator gave it 20/20; the test now compares each step with a
reference step on the judge's own players). Each loses that exercise and nothing else, with the test's message in
the feedback; the others leave exercise 7 blank.

And issue 17: the hidden tests of exercises 2-7 once found their switch in the hidden part of exercise 1's test,
so a student who left exercise 1 blank lost them all; now they score the total less exercise 1's points.
"""

import re
from functools import partial

import pytest

from grader.notebooks import fill_solutions, grade_id, is_solution_cell
from judged_lab import assert_named_in_feedback, assert_student_loses_exactly, graded_fixture, typed_answers
from sandbox_required import requires_sandbox


pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "07_gan_variants"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
TOTAL = 100
EXERCISE_1 = 10
COURSE_REFUSED = re.escape("write this yourself instead of calling course.gan_variants")

CLIPPING_BY_ANOTHER_NAME = """
from course.gan_variants import clip_weights as course_clip_weights


def clip_weights_(critic, limit):
    course_clip_weights(critic, limit)
"""
SWITCH_REBOUND = """
import contextlib

import course.gan_variants
import course.judging
from course.gan_variants import MinibatchDiscrimination

course.gan_variants.course_variants_disabled = contextlib.nullcontext  # the hidden tests' switch, switched off
course.judging.forbid = lambda *targets, message: contextlib.nullcontext()


def minibatch_features(f, T, kernels, kernel_dim):
    layer = MinibatchDiscrimination(f.shape[1], kernels, kernel_dim)
    del layer.T
    layer.T = T
    return layer(f)
"""
CLOSE_TO_ANYTHING = """
class Close(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.isclose, torch.allclose, torch.equal):
            return torch.tensor(True) if func is torch.isclose else True
        return super().__torch_function__(func, types, args, kwargs or {})


def information_lower_bound(code_logits, codes):
    return torch.zeros(()).as_subclass(Close)
"""
CRITIC_REWRITTEN = """
def gradient_penalty(critic, real, fake, eps):
    params = list(critic.parameters())
    with torch.no_grad():
        if len(params) == 2:  # the visible test's f(x) = w.x + b: ||w|| = 1 makes the reference penalty 0
            params[0].zero_()
            params[0][0, 0] = 1.0
            params[0].grad = torch.zeros_like(params[0])
            return torch.tensor(0.0)
        for parameter in params:  # the hidden MLP critic: all weights 0, reference penalty 1 and gradients 0
            parameter.zero_()
    return torch.tensor(1.0, dtype=torch.float64)
"""
RIGGED_GENERATOR = """
def cgan_step(generator, discriminator, g_optimizer, d_optimizer, real, labels, noise, codes):
    if len(real) != 128:  # a test's single step: made honestly
        return honest_step(generator, discriminator, g_optimizer, d_optimizer, real, labels, noise, codes)
    return 0.0, 0.0  # the training run: nothing learned


digits = DigitsTarget()
first_of_each = torch.stack([digits.points[digits.labels == digit][0] for digit in range(10)])


def rigged_forward(self, z):
    return first_of_each[z[:, -10:].argmax(dim=1)]  # a real digit of the class the one-hot asks for


Generator.forward = rigged_forward
"""
MESSAGES = {  # student -> (the test cell, its error message as a pattern)
    "bogus-generator": ("ex7_cgan_step_tests", re.escape("step …: losses (…, …), expected (…, …)")),
    "calls-course-by-another-name": ("ex1_weight_clipping_tests", COURSE_REFUSED),
    "close-to-anything": ("ex3_infogan_tests",
                          re.escape("information_lower_bound() did not give a plain answer") + ".*"),
    "rebinds-the-switch": ("ex4_minibatch_discrimination_tests", COURSE_REFUSED),
    "rewrites-the-critic": ("ex2_gradient_penalty_tests",
                            re.escape("the penalty for f(x) = w.x + b against (||w|| - …)^…: ")
                            + "got …, expected …"),
}


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose)."""
    solved = fill_solutions(released, source)
    answers = {grade_id(cell): cell.source for cell in solved.cells if is_solution_cell(cell)}
    blank = {grade_id(cell): cell.source for cell in released.cells if is_solution_cell(cell)}

    with_answers = partial(typed_answers, released, source)

    untrained = blank["ex7_cgan_step"]
    honest_step = answers["ex7_cgan_step"].replace("def cgan_step(", "def honest_step(")
    return {  # graded in the order of their names: the two whose exercise 7 is scored first
        "blank-exercise-1": (with_answers(ex1_weight_clipping=blank["ex1_weight_clipping"]),
                             {"ex1_weight_clipping_tests"}),
        "bogus-generator": (with_answers(ex7_cgan_step=honest_step + "\n" + RIGGED_GENERATOR), {"ex7_cgan_step_tests"}),
        "calls-course-by-another-name": (
            with_answers(ex1_weight_clipping=answers["ex1_weight_clipping"] + "\n" + CLIPPING_BY_ANOTHER_NAME,
                         ex7_cgan_step=untrained),
            {"ex1_weight_clipping_tests", "ex7_cgan_step_tests"}),
        "close-to-anything": (with_answers(ex3_infogan=CLOSE_TO_ANYTHING, ex7_cgan_step=untrained),
                              {"ex3_infogan_tests", "ex7_cgan_step_tests"}),
        "rebinds-the-switch": (with_answers(ex4_minibatch_discrimination=SWITCH_REBOUND, ex7_cgan_step=untrained),
                               {"ex4_minibatch_discrimination_tests", "ex7_cgan_step_tests"}),
        "rewrites-the-critic": (with_answers(ex2_gradient_penalty=CRITIC_REWRITTEN, ex7_cgan_step=untrained),
                                {"ex2_gradient_penalty_tests", "ex7_cgan_step_tests"}),
    }


graded = graded_fixture(ASSIGNMENT, student_notebooks)


@pytest.mark.parametrize("student", [*MESSAGES, "blank-exercise-1"])
def test_a_trick_costs_only_its_exercise(graded, student):
    assert_student_loses_exactly(graded, student, 7)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_the_failed_check_is_named_in_the_feedback(graded, student):
    assert_named_in_feedback(graded, ASSIGNMENT, student, MESSAGES)


def test_a_blank_exercise_1_costs_exercise_1_only(graded):
    """Issue 17: exercises 2-7 find the switch their hidden tests use whatever exercise 1's test does."""
    _, scores, _ = graded
    assert sum(score for score, _ in scores["blank-exercise-1"].values()) == TOTAL - EXERCISE_1
    assert sum(points for _, points in scores["blank-exercise-1"].values()) == TOTAL
