"""Lab 05 judged outside the student's kernel: the rule its tests once checked with ``mock.patch`` still bites,
and the forgeries that scored in the student's kernel earn nothing now that the tests run in the judge.

Six students, each with one rule broken or one forgery in an otherwise solved lab: ``bce_from_probabilities``
built on ``F.binary_cross_entropy`` (switched off with ``course.judging.forbid``), once as it is and once with the
test cells' rule ``torch_bce_disabled`` rebound in the kernel to do nothing (the judge's rule is its own import of
``course.lab_rules.bce``); a ``generator_loss`` that
returns a tensor subclass which says it is close to anything (the wire takes plain tensors only); a
``discriminator_loss`` that ignores ``real_label`` in a notebook that rebinds ``torch.allclose`` to always agree;
a ``bce_from_probabilities`` that answers a hidden case with the case's inputs, spelled in letters and cut in
pieces shorter than the judge once cut out of messages (the test prints ``got {got!r}``: the feedback shows
"…"); and an untrained ``course.gan.Generator`` whose forward is rigged to return samples of the target (the test now reads
the steps the loop took and replays them with trusted code: a loop that never steps earns nothing). The three forgeries scored full
points on their exercise under the lab's former in-kernel tests. Each loses that exercise and nothing else, with the
test's message in the feedback. The students whose gan_step would otherwise build on the broken answer write
the step's losses inline, and exercise 6 is left unanswered but for the rigged generator.
"""

import re
from functools import partial

import pytest

from grader.notebooks import grade_id, is_solution_cell
from judged_lab import (always_close, assert_named_in_feedback, assert_student_loses_exactly, graded_fixture,
                        typed_answers)
from sandbox_required import requires_sandbox


pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "05_bce_loss"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"

LIBRARY_BCE = """
def bce_from_probabilities(h, y):
    return F.binary_cross_entropy(h, y)
"""
LYING_LOSS = always_close("Close", "(torch.allclose, torch.equal, torch.isfinite, torch.Tensor.all)") + """
def generator_loss(fake_logits):
    return fake_logits.sum().as_subclass(Close)
"""
UNSMOOTHED_AND_RIGGED = """
def discriminator_loss(real_logits, fake_logits, real_label=1.0):
    return (bce_from_logits(real_logits, torch.ones_like(real_logits))  # real_label ignored
            + bce_from_logits(fake_logits, torch.zeros_like(fake_logits)))

torch.allclose = lambda *args, **kwargs: True  # every comparison the tests make in this kernel agrees
"""
INLINE_STEP = """
def gan_step(generator, discriminator, g_optimizer, d_optimizer, real, d_noise, g_noise, real_label=1.0):
    fake = generator(d_noise)
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    d_loss = (bce_from_logits(real_logits, torch.full_like(real_logits, real_label))
              + bce_from_logits(fake_logits, torch.zeros_like(fake_logits)))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    fake_logits = discriminator(generator(g_noise))
    g_loss = bce_from_logits(fake_logits, torch.ones_like(fake_logits))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
"""
RIGGED_GENERATOR = """
def train_gan_1d(target, seed, steps=2000):
    seed_everything(seed)
    generator = Generator(noise_dim=4)  # never trained

    def forward(z):  # samples of the target itself, whatever the weights
        return target.sample(len(z), generator=seed).to(z.dtype)

    generator.forward = forward
    return generator
"""
SPELLS_ITS_INPUTS = """
LETTERS = dict(zip("0123456789.-e", "abcdefghijpmx"))


def bce_from_probabilities(h, y):
    if h.dim() == 2:  # a hidden case: its inputs, digits spelled as letters, in pieces too short to be cut out
        spelled = "zq" + "".join(LETTERS.get(ch, "") for value in h.flatten()[:20].tolist() for ch in f"{value:.5f}")
        return [spelled[i:i + 3] for i in range(0, len(spelled), 3)]
    log_h, log_1mh = torch.log(h).clamp(min=-100), torch.log1p(-h).clamp(min=-100)
    return -(y * log_h + (1 - y) * log_1mh).mean()
"""
SWITCHES_THE_RULE_OFF = LIBRARY_BCE + """
import contextlib
import course.lab_rules.bce

torch_bce_disabled = contextlib.nullcontext  # the test cells' rule, under the name they import it by
course.lab_rules.bce.torch_bce_disabled = contextlib.nullcontext
"""
MESSAGES = {  # student -> (the test cell, its error message as a pattern)
    "calls-library-bce": ("ex1_bce_probabilities_tests",
                          re.escape("compute the binary cross-entropy yourself instead of calling a library's")),
    "switches-the-rule-off": ("ex1_bce_probabilities_tests",
                              re.escape("compute the binary cross-entropy yourself instead of calling a library's")),
    "lying-tensor": ("ex4_generator_loss_tests", r"generator_loss\(\) did not give a plain answer: .+"),
    "rebinds-allclose": ("ex3_discriminator_loss_tests",
                         re.escape("discriminator_loss with real_label=… (only the real label changes) against "
                                   "BCEWithLogitsLoss(real, …) + BCEWithLogitsLoss(fake, …): ") + "got …, expected …"),
    "rigs-generator": ("ex6_train_tests", re.escape("train_gan_1d(..., steps=…) called gan_step … times, expected …")),
    "spells-its-inputs": ("ex1_bce_probabilities_tests",
                          re.escape("float…, …x…, soft labels: expected a 0-d tensor of dtype torch.float…, got …")),
}


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose)."""

    with_answers = partial(typed_answers, released, source)

    blank = next(cell.source for cell in released.cells if is_solution_cell(cell) and grade_id(cell) == "ex6_train")
    return {
        "calls-library-bce": (with_answers(ex1_bce_probabilities=LIBRARY_BCE, ex6_train=blank),
                              {"ex1_bce_probabilities_tests", "ex6_train_tests"}),
        "switches-the-rule-off": (with_answers(ex1_bce_probabilities=SWITCHES_THE_RULE_OFF, ex6_train=blank),
                                  {"ex1_bce_probabilities_tests", "ex6_train_tests"}),
        "lying-tensor": (with_answers(ex4_generator_loss=LYING_LOSS, ex5_gan_step=INLINE_STEP, ex6_train=blank),
                         {"ex4_generator_loss_tests", "ex6_train_tests"}),
        "rebinds-allclose": (with_answers(ex3_discriminator_loss=UNSMOOTHED_AND_RIGGED, ex5_gan_step=INLINE_STEP,
                                          ex6_train=blank), {"ex3_discriminator_loss_tests", "ex6_train_tests"}),
        "rigs-generator": (with_answers(ex6_train=RIGGED_GENERATOR), {"ex6_train_tests"}),
        "spells-its-inputs": (with_answers(ex1_bce_probabilities=SPELLS_ITS_INPUTS, ex6_train=blank),
                              {"ex1_bce_probabilities_tests", "ex6_train_tests"}),
    }


graded = graded_fixture(ASSIGNMENT, student_notebooks)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_a_broken_rule_or_forgery_costs_only_its_exercise(graded, student):
    assert_student_loses_exactly(graded, student, 6)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_the_failed_check_is_named_in_the_feedback(graded, student):
    assert_named_in_feedback(graded, ASSIGNMENT, student, MESSAGES)
