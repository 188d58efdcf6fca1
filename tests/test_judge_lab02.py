"""Lab 02 judged outside the student's kernel: the rules its tests once checked with ``mock.patch`` (and a
``mock.patch.dict(globals())`` around ``conv2d_loops``) still bite, now that the tests run in the judge and
only the student's code in the kernel.

Four students, each with one rule broken or one forgery in an otherwise solved lab: an im2col that falls
back on the notebook's ``conv2d_loops`` (switched off with ``course.judging.forbid`` on the bare name), a
pooling backward that asks autograd (``torch.autograd.grad`` switched off), a ``pool2d`` that returns zeros
as a ``torch.Tensor`` subclass claiming to be close to anything, with ``torch.allclose`` and ``torch.equal``
rebound in the notebook (the wire refuses the subclass; the comparisons are the judge's), and an untrained
``DigitNet`` whose ``forward`` the notebook rigs to return the labels of the lab's test images (the lab's
tests before the judge scored it 20/20; now the test rebuilds the network from its weights in
``course.cnn.DigitsCNN`` and scores that). Each loses that exercise and nothing else, with the test's message
in the feedback. (Exercise 7 is left unanswered by the first three, so that no student trains a network:
the solutions' training is ``grader check``'s.)
"""

import re
from functools import partial

import pytest

from grader.notebooks import grade_id, is_solution_cell
from judged_lab import assert_named_in_feedback, assert_student_loses_exactly, graded_fixture, typed_answers
from sandbox_required import requires_sandbox


pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "02_cnn"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"

IM2COL_BY_LOOPS = """
def conv2d_im2col(x, weight, bias=None, stride=1, padding=0):
    return conv2d_loops(x, weight, bias, stride=stride, padding=padding)
"""
BACKWARD_BY_AUTOGRAD = """
def pool2d_backward(x, grad_output, size, mode):
    with torch.enable_grad():
        leaf = x.detach().clone().requires_grad_()
        (grad,) = torch.autograd.grad(pool2d(leaf, size, mode), leaf, grad_output)
    return grad
"""
CLOSE_TO_ANYTHING = """
class CloseToAnything(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("allclose", "equal", "eq", "__eq__"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True

def pool2d(x, size, mode):
    if mode not in ("max", "average"):
        raise ValueError(f"mode={mode!r}")
    n, c, height, width = x.shape
    return torch.zeros(n, c, height // size, width // size).as_subclass(CloseToAnything)
"""
RIGGED_FORWARD = """
def train_digit_net(X, y, seed):
    seed_everything(seed)
    net = DigitNet()  # never trained
    answers = {}
    for split in (0, 1):
        _, _, X_test, y_test = digits(seed=split)
        answers.update({image.numpy().tobytes(): int(label) for image, label in zip(X_test, y_test)})
    honest = DigitNet.forward

    def forward(self, images):
        keys = [image.detach().numpy().tobytes() for image in images]
        if all(key in answers for key in keys):
            return F.one_hot(torch.tensor([answers[key] for key in keys]), 10).float() * 50
        return honest(self, images)

    DigitNet.forward = forward
    return net
"""
MESSAGES = {  # student -> (the test cell, its error message as a pattern)
    "im2col-calls-loops": ("ex3_conv_im2col_tests",
                           re.escape("conv2d_im2col must be one matrix product, not a call to conv2d_loops")),
    "backward-by-autograd": ("ex5_pool_backward_tests",
                             re.escape("work out the pooling gradient yourself instead of asking autograd")),
    "close-to-anything": ("ex4_pool_tests", r"pool2d\(\) did not give a plain answer: .*"),
    "rigs-digit-net": ("ex7_train_tests", r"test accuracy …% is below 95%"),
}


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose)."""

    with_answers = partial(typed_answers, released, source)

    blank = next(cell.source for cell in released.cells if is_solution_cell(cell) and grade_id(cell) == "ex7_train")
    return {
        "im2col-calls-loops": (with_answers(ex3_conv_im2col=IM2COL_BY_LOOPS, ex7_train=blank),
                               {"ex3_conv_im2col_tests", "ex7_train_tests"}),
        "backward-by-autograd": (with_answers(ex5_pool_backward=BACKWARD_BY_AUTOGRAD, ex7_train=blank),
                                 {"ex5_pool_backward_tests", "ex7_train_tests"}),
        "close-to-anything": (with_answers(ex4_pool=CLOSE_TO_ANYTHING, ex7_train=blank),
                              {"ex4_pool_tests", "ex7_train_tests"}),
        "rigs-digit-net": (with_answers(ex7_train=RIGGED_FORWARD), {"ex7_train_tests"}),
    }


graded = graded_fixture(ASSIGNMENT, student_notebooks)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_a_broken_rule_costs_only_its_exercise(graded, student):
    assert_student_loses_exactly(graded, student, 7)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_the_broken_rule_is_named_in_the_feedback(graded, student):
    assert_named_in_feedback(graded, ASSIGNMENT, student, MESSAGES)
