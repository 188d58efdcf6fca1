"""course.compare.assert_close judges as torch.allclose does and says what differs, where, and by how much."""

import re

import pytest
import torch

from course.compare import assert_close


def failure(actual, expected, **options) -> str:
    with pytest.raises(AssertionError) as raised:
        assert_close(actual, expected, "the answer", **options)
    return str(raised.value)


@pytest.mark.parametrize("seed", range(20))
def test_it_passes_and_fails_exactly_where_torch_allclose_does(seed):
    generator = torch.Generator().manual_seed(seed)
    expected = torch.randn(5, generator=generator, dtype=torch.float64)
    scale = 10.0 ** -torch.randint(3, 9, (1,), generator=generator)
    noise = torch.randn(5, generator=generator, dtype=torch.float64) * scale
    actual = expected + noise
    for rtol, atol in ((1e-5, 1e-8), (1e-3, 1e-6), (0.0, 0.0)):
        close = torch.allclose(actual, expected, rtol=rtol, atol=atol)
        try:
            assert_close(actual, expected, "x", rtol=rtol, atol=atol)
            judged_close = True
        except AssertionError:
            judged_close = False
        assert judged_close == close, f"seed {seed}, rtol {rtol}, atol {atol}: allclose says {close}"


def test_it_broadcasts_as_torch_allclose_does():
    assert torch.allclose(torch.ones(3, 1), torch.ones(3)), "the premise: allclose broadcasts"
    assert_close(torch.ones(3, 1), torch.ones(3), "a broadcast answer")


def test_the_message_names_the_values_that_differ_with_both_numbers():
    message = failure(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, -2.0, 3.5]))
    assert message.startswith("the answer: 2 of 3 values differ"), message
    assert "index 1: got 2, expected -2" in message and "index 2: got 3, expected 3.5" in message, message
    assert "largest difference 4 at index 1" in message, message


def test_labels_say_which_value_is_wrong():
    names = [f"dE/dw{i}" for i in range(1, 7)]
    expected = torch.arange(6.0)
    actual = expected.clone()
    actual[2] = -7.0
    message = failure(actual, expected, labels=names)
    assert "dE/dw3: got -7, expected 2" in message, message


def test_many_differences_are_counted_not_listed():
    message = failure(torch.zeros(4, 5), torch.ones(4, 5))
    assert "20 of 20 values differ" in message and "and 17 more" in message, message
    assert len(re.findall(r"got 0, expected 1", message)) == 3, message


def test_a_number_against_a_number_reads_as_got_and_expected():
    assert failure(torch.tensor(2.331627), -2.331627) == "the answer: got 2.33163, expected -2.33163"


def test_nan_is_a_difference():
    message = failure(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0]))
    assert "index 1: got nan, expected 2" in message and "largest difference nan" in message, message


@pytest.mark.parametrize("actual, expected, said", [
    (torch.ones(3), torch.ones(2), "got shape (3,), expected (2,)"),
    (torch.ones(3, 1), torch.arange(3.0), "got shape (3, 1), expected (3,)"),
    (torch.ones(2), torch.ones(2, dtype=torch.float64), "got dtype float32, expected float64"),
    (None, torch.ones(2), "expected a tensor, got None"),
    ([1.0, 2.0], torch.ones(2), "expected a tensor, got a list"),
])
def test_a_wrong_kind_of_answer_is_named_as_such(actual, expected, said):
    assert failure(actual, expected) == f"the answer: {said}"


def test_exact_comparisons_say_they_must_be_equal():
    message = failure(torch.tensor([1, 2]), torch.tensor([1, 3]), rtol=0, atol=0)
    assert "index 1: got 2, expected 3" in message and "they must be equal" in message, message
