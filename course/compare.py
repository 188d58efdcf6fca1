"""Comparisons for the labs' test cells whose failures say what differs, where, and by how much.

``assert torch.allclose(mine, reference), "the gradients differ"`` leaves a student guessing which value is
wrong and by how much. :func:`assert_close` judges exactly as ``torch.allclose`` does (the same broadcasting,
the same default tolerances), and when it fails its message names the first values that differ with both
numbers, how many differ, and the largest difference:

    >>> assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, -2.0]), "the gradient")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    AssertionError: the gradient: 1 of 2 values differ; index 1: got 2, expected -2 (largest difference 4 ...)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from course.language import tr, translate_message

SHOWN = 3  # mismatches spelled out; the count and the largest difference cover the rest


def assert_close(actual, expected, what: str, *, rtol: float = 1e-5, atol: float = 1e-8,
                 labels: Sequence[str] | None = None) -> None:
    """Fail unless ``torch.allclose(actual, expected, rtol, atol)``, with a message about ``what``.

    ``actual`` is the student's answer, ``expected`` the reference (a tensor or a number); ``labels`` names
    the values of a 1-d answer (``["dE/dw1", ..., "dE/dw6"]``) so that the message says which one is wrong.
    A wrong type, dtype or shape is said as such rather than compared.
    """
    expected = torch.as_tensor(expected)
    what = translate_message(str(what))  # the lab's description, in the student's language when it has a translation
    if not isinstance(actual, torch.Tensor):
        if isinstance(actual, (int, float)) and expected.dim() == 0:
            actual = torch.tensor(actual, dtype=expected.dtype)
        else:
            raise AssertionError(tr("{what}: expected a tensor, got {kind}").format(what=what, kind=_kind(actual)))
    if actual.dtype != expected.dtype:
        raise AssertionError(tr("{what}: got dtype {got}, expected {expected}").format(
            what=what, got=_dtype(actual), expected=_dtype(expected)))
    wrong_shape = AssertionError(tr("{what}: got shape {got}, expected {expected}").format(
        what=what, got=tuple(actual.shape), expected=tuple(expected.shape)))
    try:
        torch.broadcast_shapes(actual.shape, expected.shape)
    except RuntimeError:
        raise wrong_shape from None
    actual, expected = actual.detach().cpu(), expected.detach().cpu()
    if torch.allclose(actual, expected, rtol=rtol, atol=atol):
        return
    if actual.shape != expected.shape:  # broadcast shapes pass as torch.allclose lets them, but fail as shapes
        raise wrong_shape
    raise AssertionError(_mismatch_message(actual, expected, what, rtol, atol, labels))


def _mismatch_message(actual, expected, what, rtol, atol, labels) -> str:
    if actual.dim() == 0:
        return tr("{what}: got {got}, expected {expected}").format(what=what, got=_number(actual),
                                                                   expected=_number(expected))
    close = torch.isclose(actual, expected, rtol=rtol, atol=atol)
    wrong = (~close).nonzero().tolist()
    gaps = (actual.to(torch.float64) - expected.to(torch.float64)).abs()
    worst = tuple(int(i) for i in torch.unravel_index(gaps.nan_to_num(nan=float("inf")).argmax(), actual.shape))
    shown = "; ".join(tr("{where}: got {got}, expected {expected}").format(
        where=_location(index, labels), got=_number(actual[index]), expected=_number(expected[index]))
        for index in map(tuple, wrong[:SHOWN]))
    more = tr("; and {count} more").format(count=len(wrong) - SHOWN) if len(wrong) > SHOWN else ""
    return tr("{what}: {wrong} of {total} values differ; {shown}{more} (largest difference {largest} at {where}; "
              "{tolerance})").format(what=what, wrong=len(wrong), total=actual.numel(), shown=shown, more=more,
                                     largest=_number(gaps[worst]), where=_location(worst, labels),
                                     tolerance=_tolerance(rtol, atol))


def _tolerance(rtol: float, atol: float) -> str:
    if rtol == atol == 0:
        return tr("they must be equal")
    return tr("allowed: {atol:g} + {rtol:g} x |expected|").format(atol=atol, rtol=rtol)


def _location(index: tuple[int, ...], labels) -> str:
    if labels is not None and len(index) == 1:
        return str(labels[index[0]])
    return tr("index {index}").format(index=index[0] if len(index) == 1 else index)


def _number(value: torch.Tensor) -> str:
    number = value.item()
    return f"{number:.6g}" if isinstance(number, float) else str(number)


def _dtype(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _kind(value) -> str:
    return "None" if value is None else tr("a {type_name}").format(type_name=type(value).__name__)
