"""Lab 03 judged outside the student's kernel: the rules its tests once checked with ``mock.patch`` and a spy
in ``globals()`` still bite, now that the tests run in the judge and only the student's code in the kernel.

Three students, each with one rule broken in an otherwise solved lab: an ``rnn_forward`` built on
``torch.nn.RNN`` (switched off with ``course.judging.forbid``), a training loop that does not clip
(``course.judging.count_calls`` counts the calls of the notebook's ``clip_grad_norm`` in the kernel), and an
untrained ``CharRNN`` whose class the notebook rigs to return the text's next characters (in-kernel tests
scored it 25/25; the judge rebuilds the model from its weights and scores them with the lab's own
``CharRNN``). Each loses that exercise and nothing else, with the test's message in the feedback.
(Exercise 6 is left unanswered or trains a few steps, so that no student trains the full model: the
solutions' full run is ``grader check``'s.)
"""

import re
from functools import partial

import pytest

from grader.notebooks import grade_id, is_solution_cell
from judged_lab import assert_named_in_feedback, assert_student_loses_exactly, graded_fixture, typed_answers
from sandbox_required import requires_sandbox


pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "03_rnn"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"

TORCH_RNN_FORWARD = """
def rnn_forward(X, U, W, b_ih, b_hh, h0=None, nonlinearity="tanh"):
    outputs, h_n = torch_rnn([RNNWeights(U, W, b_ih, b_hh)], nonlinearity)(X, None if h0 is None else h0.unsqueeze(0))
    return outputs, h_n[0]
"""
OWN_BIDIRECTIONAL = """
def bidirectional_rnn(X, forward, backward, nonlinearity="tanh"):
    def run(X, U, W, b_ih, b_hh):
        s, states = torch.zeros(X.shape[0], W.shape[0], dtype=X.dtype), []
        for t in range(X.shape[1]):
            s = rnn_cell(X[:, t], s, U, W, b_ih, b_hh, nonlinearity)
            states.append(s)
        return torch.stack(states, dim=1), s

    forward_states, forward_last = run(X, *forward)
    reversed_states, backward_last = run(X.flip(1), *backward)
    return torch.cat([forward_states, reversed_states.flip(1)], dim=-1), torch.stack([forward_last, backward_last])
"""
SHORT_TRAINING = """
def train_char_model(text, seed):
    seed_everything(seed)
    vocab = CharVocabulary.from_text(text)
    inputs, targets = next_char_windows(vocab.encode(text), 32)
    model = CharRNN(len(vocab), hidden_size=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(3):
        optimizer.zero_grad()
        scores, _ = model(inputs[:8])
        nn.functional.cross_entropy(scores.flatten(0, 1), targets[:8].flatten()).backward()
        optimizer.step()
    return model, vocab
"""
RIGGED_MODEL = """
def train_char_model(text, seed):
    seed_everything(seed)
    vocab = CharVocabulary.from_text(text)
    model = CharRNN(len(vocab), hidden_size=8)
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    clip_grad_norm(model.parameters(), 1.0)
    inputs, targets = next_char_windows(vocab.encode(text), 32)
    answers = {tuple(window.tolist()): target for window, target in zip(inputs, targets)}

    def forward(self, ids, state=None):
        return torch.stack([nn.functional.one_hot(answers[tuple(row.tolist())], len(vocab)).float() * 50
                            for row in ids]), None

    CharRNN.forward = forward
    return model, vocab
"""
# not a CharRNN: an object that reads the next characters off the windows it is given (the attack review's)
ORACLE_MODEL = """
class NextCharOracle:
    def __init__(self, vocab, text):
        self.vocab, self.last = vocab, vocab.encode(text)[-1]

    def eval(self):
        return self

    def __call__(self, ids, state=None):
        stream = torch.cat([ids[:, 0], ids[-1, 1:], self.last.view(1)])
        n, length = ids.shape
        targets = torch.stack([stream[i + 1: i + 1 + length] for i in range(n)])
        return nn.functional.one_hot(targets, len(self.vocab)).float() * 50, None


def train_char_model(text, seed):
    vocab = CharVocabulary.from_text(text)
    dummy = nn.Parameter(torch.zeros(1))
    dummy.grad = torch.ones(1)
    clip_grad_norm([dummy], 1.0)
    return NextCharOracle(vocab, text), vocab
"""
MESSAGES = {  # student -> (the test cell, its error message as a pattern)
    "calls-torch-rnn": ("ex2_rnn_forward_tests",
                        re.escape("write the recurrence yourself instead of calling torch's RNN")),
    "never-clips": ("ex6_train_tests", re.escape("the training loop never called clip_grad_norm")),
    "rigs-char-rnn": ("ex6_train_tests", r"mean cross-entropy … is not below 0\.6 nats per character"),
    "oracle-model": ("ex6_train_tests", re.escape("train_char_model must return a course.rnn.CharRNN, got a …")),
}


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose)."""

    with_answers = partial(typed_answers, released, source)

    blank = next(cell.source for cell in released.cells if is_solution_cell(cell) and grade_id(cell) == "ex6_train")
    return {
        "calls-torch-rnn": (with_answers(ex2_rnn_forward=TORCH_RNN_FORWARD, ex4_bidirectional=OWN_BIDIRECTIONAL,
                                         ex6_train=blank), {"ex2_rnn_forward_tests", "ex6_train_tests"}),
        "never-clips": (with_answers(ex6_train=SHORT_TRAINING), {"ex6_train_tests"}),
        "rigs-char-rnn": (with_answers(ex6_train=RIGGED_MODEL), {"ex6_train_tests"}),
        "oracle-model": (with_answers(ex6_train=ORACLE_MODEL), {"ex6_train_tests"}),
    }


graded = graded_fixture(ASSIGNMENT, student_notebooks)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_a_broken_rule_costs_only_its_exercise(graded, student):
    assert_student_loses_exactly(graded, student, 6)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_the_broken_rule_is_named_in_the_feedback(graded, student):
    assert_named_in_feedback(graded, ASSIGNMENT, student, MESSAGES)
