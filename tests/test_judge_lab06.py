"""Lab 06 judged outside the student's kernel: the rules its tests once checked with ``mock.patch`` still bite,
and the forgeries the in-kernel tests scored earn nothing, now that the tests run in the judge.

Four students, each with one thing wrong in an otherwise solved lab:

- an output size asked of ``nn.ConvTranspose2d`` itself (exercise 1 switches PyTorch's transposed convolutions
  off with ``course.judging.forbid``, in the kernel, around the student's calls);
- a transposed convolution that returns a tensor subclass claiming to be close to anything (in-kernel tests
  scored it 15/15; the wire carries plain tensors only);
- a ``train_dcgan`` that returns an untrained generator whose ``forward`` hands out real training digits (in-kernel
  tests that sampled the returned object scored it 20/20; the test now reads the steps the loop took, replays them
  with trusted code and compares the weights, so a loop that never steps earns nothing);
- a discriminator block with the wrong LeakyReLU slope and everything else right (issue 17: exercise 4's test
  once redefined the helper ``compare_blocks`` of exercise 3; a failure in one exercise must cost exactly that
  exercise's points, so this student scores the total less exercise 4's).

Each loses that exercise and nothing else, with the test's message in the feedback. To keep the run short, the
first three leave the exercises they do not need unanswered (5 and 6, whose tests call the student's code with
whole networks, and 7, which builds on them): those are lost too, and every other exercise keeps its points. The
last answers everything.
"""

import re
from functools import partial

import pytest

from grader.notebooks import grade_id, is_solution_cell
from judged_lab import (always_close, assert_named_in_feedback, assert_student_loses_exactly, graded_fixture,
                        typed_answers)
from sandbox_required import requires_sandbox


pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "06_dcgan"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
TOTAL = 100

SIZE_FROM_PYTORCH = """
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0):
    layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding)
    return layer(torch.zeros(1, 1, size, size)).shape[-1]
"""
CLAIMS_CLOSENESS = always_close("AlwaysClose", "(torch.allclose, torch.equal)") + """
def conv_transpose2d_by_hand(x, weight, stride=1, padding=0, output_padding=0):
    def side(n):
        return (n - 1) * stride - 2 * padding + weight.shape[-1] + output_padding
    zeros = x.new_zeros(x.shape[0], weight.shape[1], side(x.shape[2]), side(x.shape[3]))
    return zeros.as_subclass(AlwaysClose)
"""
RIGGED_GENERATOR = """
def train_dcgan(real_images, seed, steps=600, nz=32, width=16, batch_size=32, lr=1e-3):
    seed_everything(seed)
    generator = nn.Sequential(generator_block(nz, 4 * width, first=True), generator_block(4 * width, 2 * width),
                              generator_block(2 * width, width), nn.ConvTranspose2d(width, 1, 4, 2, 1, bias=False),
                              nn.Tanh())
    picks = torch.Generator().manual_seed(seed)

    def forward(noise):  # real digits for any noise: no training at all
        return real_images[torch.randint(0, len(real_images), (len(noise),), generator=picks)]

    generator.forward = forward
    return generator
"""
SLOPE_OFF = """
def discriminator_block(in_channels, out_channels, batch_norm=True):
    layers = [nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=False)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.LeakyReLU(0.1))
    return nn.Sequential(*layers)
"""
MESSAGES = {  # student -> (the test cell, its error message as a pattern)
    "asks-pytorch-for-the-size": ("ex1_output_size_tests", re.escape("compute the transposed convolution yourself")),
    "claims-closeness": ("ex2_conv_transpose_by_hand_tests",
                         r"conv_transpose2d_by_hand\(\) did not give a plain answer: .*"),
    "rigs-the-generator": ("ex7_train_dcgan_tests",
                           re.escape("train_dcgan(..., steps=…) called dcgan_step … times, expected …")),
    "misses-exercise-4": ("ex4_discriminator_block_tests",
                          re.escape("the block's output in train mode against the reference block's: … of … values "
                                    "differ; ") + ".*"),
}


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose)."""
    with_answers = partial(typed_answers, released, source)

    blanks = {grade_id(cell): cell.source for cell in released.cells if is_solution_cell(cell)}
    costly = {"ex5_weights_init": blanks["ex5_weights_init"], "ex6_alternating_step": blanks["ex6_alternating_step"]}
    costly_tests = {"ex5_weights_init_tests", "ex6_alternating_step_tests"}
    return {
        "asks-pytorch-for-the-size": (
            with_answers(ex1_output_size=SIZE_FROM_PYTORCH, ex7_train_dcgan=blanks["ex7_train_dcgan"], **costly),
            {"ex1_output_size_tests", "ex7_train_dcgan_tests", *costly_tests}),
        "claims-closeness": (
            with_answers(ex2_conv_transpose_by_hand=CLAIMS_CLOSENESS, ex7_train_dcgan=blanks["ex7_train_dcgan"],
                         **costly),
            {"ex2_conv_transpose_by_hand_tests", "ex7_train_dcgan_tests", *costly_tests}),
        "rigs-the-generator": (with_answers(ex7_train_dcgan=RIGGED_GENERATOR, **costly),
                               {"ex7_train_dcgan_tests", *costly_tests}),
        "misses-exercise-4": (with_answers(ex4_discriminator_block=SLOPE_OFF),
                              {"ex4_discriminator_block_tests"}),
    }


graded = graded_fixture(ASSIGNMENT, student_notebooks)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_a_broken_rule_costs_only_its_exercise(graded, student):
    assert_student_loses_exactly(graded, student, 7)


def test_a_failed_exercise_4_costs_exactly_its_points(graded):
    """Issue 17: the helpers of exercise 3's test are defined once, so exercise 4's failure stays its own."""
    _, scores, _ = graded
    grades = scores["misses-exercise-4"]
    assert sum(maximum for _, maximum in grades.values()) == TOTAL
    assert sum(score for score, _ in grades.values()) == TOTAL - grades["ex4_discriminator_block_tests"][1] == 90


@pytest.mark.parametrize("student", list(MESSAGES))
def test_the_broken_rule_is_named_in_the_feedback(graded, student):
    assert_named_in_feedback(graded, ASSIGNMENT, student, MESSAGES)
