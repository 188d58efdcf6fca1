"""Lab 00 judged outside the student's kernel, against students who try to pass without writing the pieces.

Rebinding ``torch`` and the tests' helpers to objects whose comparisons always succeed earns nothing; a ``fit`` that
skips the loop (weights solved by scikit-learn, losses made up) reaches the accuracy but not the gradient-descent
steps; an ``evaluate`` that reports a perfect score is compared with the judge's own measurement; borrowing the
kit's classes is seen by the class's name. Each costs its own exercise and nothing else.
"""

from functools import partial

import pytest

from judged_lab import assert_student_loses_exactly, forger, graded_fixture, typed_answers
from sandbox_required import requires_sandbox
from shared_class import failure_messages

pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "00_pytorch_basics"
EXERCISES = 6

SKIPS_THE_LOOP = """
from sklearn.linear_model import LogisticRegression as SolvedByScikitLearn

def fit(model, X, y, epochs, batch_size, lr, seed):
    solved = SolvedByScikitLearn(C=10.0).fit(X.numpy(), y.numpy())
    linear = model.log_reg[0]
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(solved.coef_, dtype=linear.weight.dtype))
        linear.bias.copy_(torch.tensor(solved.intercept_, dtype=linear.bias.dtype))
    return [0.7 / (epoch + 1) for epoch in range(epochs)]
"""
PERFECT_SCORE = """
def evaluate(model, X, y):
    return 1.0, 0.0
"""
BORROWS_THE_KIT = {
    "ex3_module": "from course.pytorch_basics import LogisticRegression\n",
    "ex4_dataset": """
from course.pytorch_basics import DigitFeatures, shuffled_batches

def make_loader(dataset, batch_size, seed):
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
""",
}


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose: None for all of them)."""
    with_answers = partial(typed_answers, released, source)
    return {
        "rebinds-torch": (forger(released, "torch", "F", "nn", "StandardScaler"), None),
        "skips-the-loop": (with_answers(ex5_fit=SKIPS_THE_LOOP), {"ex5_fit_tests"}),
        "perfect-score": (with_answers(ex6_evaluate=PERFECT_SCORE), {"ex6_evaluate_tests"}),
        "borrows-the-kit": (with_answers(**BORROWS_THE_KIT), {"ex3_module_tests", "ex4_dataset_tests"}),
    }


graded = graded_fixture(ASSIGNMENT, student_notebooks)


@pytest.mark.parametrize("student", ["rebinds-torch", "skips-the-loop", "perfect-score", "borrows-the-kit"])
def test_a_shortcut_earns_nothing_and_costs_only_its_exercise(graded, student):
    assert_student_loses_exactly(graded, student, EXERCISES)


def test_the_skipped_loop_is_told_what_was_checked(graded):
    (message,) = failure_messages(graded[2], ASSIGNMENT, "skips-the-loop", "ex5_fit_tests")
    assert "steps of gradient descent on the BCE" in message, message


def test_the_borrowed_class_is_named_in_the_feedback(graded):
    (message,) = failure_messages(graded[2], ASSIGNMENT, "borrows-the-kit", "ex3_module_tests")
    assert "must be your own class" in message, message
