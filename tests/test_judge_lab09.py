"""Lab 09 judged outside the student's kernel, against students who try to pass without writing the pieces.

Rebinding ``torch`` and the tests' helpers earns nothing; an audit handed to SciPy's ``chisquare`` loses the audit
and nothing else; an inpainting that fine-tunes the decoder on the very digits it completes (a model changed to fit
the test) is seen in the decoder's weights, which come back to the judge, and loses the inpainting only.
"""

from functools import partial

import pytest

from judged_lab import assert_student_loses_exactly, forger, graded_fixture, typed_answers
from sandbox_required import requires_sandbox
from shared_class import failure_messages

pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "09_generative_ai"
EXERCISES = 5

AUDIT_BY_SCIPY = """
import scipy.stats

def class_audit(predicted, classes):
    counts = torch.bincount(predicted.long(), minlength=classes)[:classes]
    result = scipy.stats.chisquare(counts.numpy())
    total_variation = 0.5 * (counts.double() / counts.sum() - 1 / classes).abs().sum().item()
    return counts.tolist(), float(result.statistic), float(result.pvalue), total_variation
"""
TRAINS_THE_DECODER = """
def inpaint(decoder, x, mask, latent, steps, lr, seed):
    z = torch.randn(len(x), latent, generator=torch.Generator().manual_seed(seed)).requires_grad_()
    optimizer = torch.optim.Adam([z, *decoder.parameters()], lr=lr)
    for _ in range(steps):
        loss = inpainting_objective(decoder(z), x, mask, z)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return mask * x + (1 - mask) * decoder(z)
"""


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose: None for all of them)."""
    with_answers = partial(typed_answers, released, source)
    return {
        "rebinds-torch": (forger(released, "torch", "F", "nn", "math", "chisquare", "mean_squared_error"), None),
        "audit-by-scipy": (with_answers(ex5_audit=AUDIT_BY_SCIPY), {"ex5_audit_tests"}),
        "trains-the-decoder": (with_answers(ex3_inpaint=TRAINS_THE_DECODER), {"ex3_inpaint_tests"}),
    }


graded = graded_fixture(ASSIGNMENT, student_notebooks)


@pytest.mark.parametrize("student", ["rebinds-torch", "audit-by-scipy", "trains-the-decoder"])
def test_a_shortcut_earns_nothing_and_costs_only_its_exercise(graded, student):
    assert_student_loses_exactly(graded, student, EXERCISES)


def test_the_feedback_says_what_was_checked(graded):
    assert failure_messages(graded[2], ASSIGNMENT, "audit-by-scipy", "ex5_audit_tests") == [
        "compute the statistic yourself (scipy.stats.chi2.sf gives the p-value)"]
    (message,) = failure_messages(graded[2], ASSIGNMENT, "trains-the-decoder", "ex3_inpaint_tests")
    assert "optimise the code z only" in message, message
