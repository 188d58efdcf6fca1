"""Lab 01 judged outside the student's kernel, against students who try what once forged a grade.

The tricks are the ones an attack review used against the in-kernel checks: rebinding ``torch`` and the
tests' reference helpers to objects whose comparisons always succeed (in the kernel's tests that scored
100/100 with no answer at all), a tensor subclass that says it is close to anything, and calling
``torch.sigmoid`` in the exercise that forbids it. Each earns nothing, and a trick in one exercise of an
otherwise solved lab costs that exercise and nothing else.
"""

import re
from functools import partial

import pytest

from grader.notebooks import fill_solutions, grade_id, is_solution_cell
from judged_lab import always_close, assert_loses_exactly, forger, graded_fixture, typed_answers
from sandbox_required import requires_sandbox
from shared_class import failure_messages

pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "01_backprop"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"

LYING_DERIVATIVE = always_close("Close", "(torch.allclose, torch.equal, torch.isfinite, torch.Tensor.all)") + """
def sigmoid_prime(x):
    return x.as_subclass(Close)
"""
TORCH_SIGMOID = """
def sigmoid(x):
    return torch.sigmoid(x)

def sigmoid_prime(x):
    return torch.sigmoid(x) * (1 - torch.sigmoid(x))
"""

# what an earlier judge took back from the kernel: arguments changed in place (the tests' references, computed
# after the call, then saw zeros) and a generator state of all zeros (the tests' later draws all 0)
ZERO_RANDOM_STATE = """
def _zero_rng():
    state = torch.get_rng_state().clone()
    state[24:24 + 624 * 8] = 0
    torch.set_rng_state(state)
"""
ZEROES_ITS_INPUTS = {
    "ex1_sigmoid": ZERO_RANDOM_STATE + """
def sigmoid(x):  # honest: the later exercises' solutions call it
    return 1 / (1 + torch.exp(-x))

def sigmoid_prime(x):
    _zero_rng()
    x.zero_()
    return torch.full_like(x, 0.25)
""",
    "ex3_gradients": """
def gradients_221(w, x, z):
    w.zero_(); x.zero_(); z.fill_(0.5)
    return torch.zeros(6, dtype=w.dtype)
""",
    "ex4_descent": """
import math
def descend_221(w, x, z, learning_rate, steps):
    x.zero_()
    z.fill_(1 / (1 + math.exp(-0.5 * float(w[4] + w[5]))))
    return w.clone(), [0.0] * steps
""",
}
# a hidden input put into the shape of the answer, which a shape error would print
LEAKS_INPUT = """
_calls = [0]
def gradients_221(w, x, z):
    _calls[0] += 1
    if _calls[0] == 2:
        return torch.zeros(0, int(abs(float(w[0])) * 1e15) + 7, dtype=torch.float64)
    f1, f2, y = forward_221(w, x)
    delta3 = 2 * (y - z) * y * (1 - y)
    delta1, delta2 = delta3 * w[4] * f1 * (1 - f1), delta3 * w[5] * f2 * (1 - f2)
    return torch.stack([delta1 * x[0], delta2 * x[0], delta1 * x[1], delta2 * x[1], delta3 * f1, delta3 * f2])
"""


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose: None for all of them)."""
    solved = fill_solutions(released, source)
    answers = {grade_id(cell): cell.source for cell in solved.cells if is_solution_cell(cell)}

    with_answers = partial(typed_answers, released, source)
    honest_sigmoid = answers["ex1_sigmoid"].split("def sigmoid_prime")[0]
    return {
        "rebinds-torch": (forger(released, "torch", "torch_221", "torch_mlp"), None),
        "lying-tensor": (with_answers(ex1_sigmoid=honest_sigmoid + LYING_DERIVATIVE), {"ex1_sigmoid_tests"}),
        "calls-torch-sigmoid": (with_answers(ex1_sigmoid=TORCH_SIGMOID), {"ex1_sigmoid_tests"}),
        "zeroes-its-inputs": (with_answers(**ZEROES_ITS_INPUTS), {f"{answer}_tests" for answer in ZEROES_ITS_INPUTS}),
        "leaks-input": (with_answers(ex3_gradients=LEAKS_INPUT), {"ex3_gradients_tests"}),
    }


graded = graded_fixture(ASSIGNMENT, student_notebooks)


@pytest.mark.parametrize("student", ["rebinds-torch", "lying-tensor", "calls-torch-sigmoid", "zeroes-its-inputs",
                                     "leaks-input"])
def test_a_trick_earns_nothing_and_costs_only_its_exercise(graded, student):
    students, scores, _ = graded
    lost = students[student][1]
    assert_loses_exactly(scores[student], lost)


def test_the_forbidden_call_is_named_in_the_feedback(graded):
    assert failure_messages(graded[2], ASSIGNMENT, "calls-torch-sigmoid", "ex1_sigmoid_tests") == [
        "write the sigmoid formula yourself instead of calling torch's sigmoid"]


def test_a_number_the_students_code_chose_never_reaches_the_feedback(graded):
    (message,) = failure_messages(graded[2], ASSIGNMENT, "leaks-input", "ex3_gradients_tests")  # torch's, numbers masked
    assert "The size of tensor a (…) must match the size of tensor b (…)" in message, message
    assert not re.search(r"\d", message), message
