"""Lab 08 judged outside the student's kernel, against students who try to pass without writing the pieces.

Rebinding ``torch`` and the tests' helpers to objects whose comparisons always succeed earns nothing; a KL or a
negative ELBO handed over to ``torch.distributions`` loses the exercise that asked for it, and only that one, and the
feedback says which rule was broken.
"""

from functools import partial

import pytest

from judged_lab import assert_student_loses_exactly, forger, graded_fixture, typed_answers
from sandbox_required import requires_sandbox
from shared_class import failure_messages

pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "08_autoencoders"
EXERCISES = 6

KL_BY_DISTRIBUTIONS = """
from torch.distributions import Normal, kl_divergence

def gaussian_kl(mu, logvar):
    posterior = Normal(mu, torch.exp(0.5 * logvar))
    return torch.distributions.kl_divergence(posterior, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
"""
ELBO_BY_DISTRIBUTIONS = """
def negative_elbo(x, x_hat, mu, logvar, std=0.2):
    reconstruction = -torch.distributions.Normal(x_hat, std).log_prob(x).sum(dim=1).mean()
    kl = gaussian_kl(mu, logvar).mean()
    return reconstruction + kl, reconstruction, kl
"""


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose: None for all of them)."""
    with_answers = partial(typed_answers, released, source)
    return {
        "rebinds-torch": (forger(released, "torch", "F", "nn", "math", "Normal", "kl_divergence"), None),
        "kl-by-distributions": (with_answers(ex3_kl=KL_BY_DISTRIBUTIONS), {"ex3_kl_tests"}),
        "elbo-by-distributions": (with_answers(ex4_elbo=ELBO_BY_DISTRIBUTIONS), {"ex4_elbo_tests"}),
    }


graded = graded_fixture(ASSIGNMENT, student_notebooks)


@pytest.mark.parametrize("student", ["rebinds-torch", "kl-by-distributions", "elbo-by-distributions"])
def test_a_shortcut_earns_nothing_and_costs_only_its_exercise(graded, student):
    assert_student_loses_exactly(graded, student, EXERCISES)


def test_the_broken_rule_is_named_in_the_feedback(graded):
    assert failure_messages(graded[2], ASSIGNMENT, "kl-by-distributions", "ex3_kl_tests") == [
        "write the KL divergence yourself"]
    assert failure_messages(graded[2], ASSIGNMENT, "elbo-by-distributions", "ex4_elbo_tests") == [
        "write the negative ELBO yourself"]
