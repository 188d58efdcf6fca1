"""grader.messages: a failure shows the lab's words, and no number the student's code could have chosen."""

import ast

import pytest
import torch

from grader import messages


def failure(source: str, sent=(), **names) -> str:
    """The shown failure of ``source``; ``sent`` are the strings the student's code sent."""
    namespace = {**messages.helpers(messages.lab_text([source]), lambda: list(sent)), **names}
    tree = messages.show_messages(ast.parse(source))
    with pytest.raises(Exception) as caught:
        exec(compile(tree, "<test>", "exec"), namespace)
    return messages.shown_text(caught.value)


def test_an_f_string_message_keeps_its_words_and_masks_the_values_it_prints():
    got = torch.zeros(0, 5496694202255670)
    assert failure('case = "case 2"\n'
                   'assert got.shape == (6,), f"expected shape (6,), got {tuple(got.shape)} in {case!r} {case}"',
                   got=got) == "expected shape (6,), got (…, …) in 'case 2' case 2"
    assert failure('assert x > 1, f"got {x:.3f}, expected more than 1"', x=0.25) == "got …, expected more than 1"


def test_a_plain_message_is_shown_as_written():
    assert failure('assert False, "25 losses, one per step"') == "25 losses, one per step"


@pytest.mark.parametrize("source", [
    'assert False, "got %d" % hidden',  # a message built another way is not the lab's own words
    'torch.allclose(torch.zeros(hidden), torch.zeros(6))',  # torch's message prints the student's shape
    'raise ValueError(hidden)',
])
def test_any_other_message_has_its_numbers_masked(source):
    text = failure(source, hidden=123457, torch=torch)
    assert "123457" not in text and "…" in text


def test_the_judges_own_notes_are_shown_as_written():
    assert messages.shown_text(ValueError(messages.Shown("conv2d() raised ValueError"))) == \
        "conv2d() raised ValueError"


def test_asserts_in_helpers_are_rewritten_too():
    source = 'def check(value):\n    assert value == 2, f"{value} is not 2"\ncheck(3)'
    assert failure(source) == "… is not 2"


@pytest.mark.parametrize("got", [
    "bcde_hijk",  # digits spelled as letters
    "ab",  # shorter than anything the judge cuts out by name
    ["abc", "def", "gh"],  # a list of short pieces
    "x\nabcd",  # a string whose repr is not its text
    {"hidden_bd": 1.0},
    object(),  # an object of a class the judge does not print
])
def test_what_the_students_code_sent_is_hidden(got):
    sent = ["bcde_hijk", "ab", "abc", "def", "gh", "x\nabcd", "hidden_bd"]
    assert failure('assert False, f"got {got!r}, expected a tensor"', sent, got=got) == "got …, expected a tensor"


def test_a_case_name_the_test_builds_is_shown_with_its_numbers_masked():
    source = 'case = f"{name}, step {step}"\nassert False, f"{case}: the weights differ"'
    assert failure(source, name="Adam", step=3) == "Adam, step …: the weights differ"


def test_numbers_tensors_and_their_containers_are_shown_masked():
    text = failure('assert False, f"got {got}"', got=[torch.tensor([1.5]), 3, None, torch.float32])
    assert text == "got [tensor([…]), …, None, torch.float…]"


def test_text_quoted_in_another_message_is_hidden():
    assert failure("raise KeyError(hidden)", hidden="bcde") == "'…'"
    assert failure('{}[hidden]', hidden="ab") == "'…'"
    assert failure("getattr(object(), hidden)", hidden="secret_name") == "'…' object has no attribute '…'"


def test_an_apostrophe_inside_a_word_is_not_a_quote():
    """course.compare's messages are a helper's (numbers masked), and read as words: the block's, the critic's."""
    message = "the block's output against the reference block's: 3 of 8 values differ"
    assert failure("raise AssertionError(message)", message=message) == (
        "the block's output against the reference block's: … of … values differ")
