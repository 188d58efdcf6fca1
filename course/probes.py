"""Measures a lab's test takes where the student's code runs: in the student's kernel under the grader's judge
(through :func:`course.judging.in_kernel`, or as a hook on a module lent to the student's code), in the test's
own process elsewhere. :mod:`course.judging` offers them to the labs' test cells.

- :func:`weighted_backward` calls a function and backpropagates a weighted sum of what it returns: a gradient
  through an answer that is not one number (a vector, a tuple of losses).
- :func:`call_and_compare_arguments` calls a function and says whether it changed a tensor among its arguments in
  place.
- :func:`log_inputs` makes a module log every call it gets (whether its input required grad, the batch's length
  and a fingerprint of it), in buffers, which travel with a module lent to the student's code and come back with it.
"""

from __future__ import annotations

import sys


def weighted_backward(function, weights, *args, **kwargs):
    """``function(*args, **kwargs)``, then a backward pass from the sum of its result times ``weights``
    (a tuple of weights for a tuple result, a number or a tensor of the result's shape for each); returns the
    result, detached. Afterwards the tensors given that require grad hold the gradient of that weighted sum
    in ``.grad`` (None where no gradient reached them, a result of another shape adds nothing).

    Labs' tests run it where the student's code runs (:func:`course.judging.in_kernel`), so that a gradient is taken
    through an answer that is not one number: in the judge, answers come back without their graph.
    """
    torch = sys.modules["torch"]  # loaded: the caller passes tensors (this file leaves torch to its callers)
    result = function(*args, **kwargs)
    results, scales = (result, weights) if isinstance(weights, tuple) else ((result,), (weights,))
    total = None
    for value, scale in zip(results, scales):
        if not (isinstance(value, torch.Tensor) and value.requires_grad):
            continue
        if isinstance(scale, torch.Tensor) and scale.shape != value.shape:
            continue
        term = (value * scale).sum()
        total = term if total is None else total + term
    if total is not None:
        total.backward()
    if isinstance(result, tuple):
        return tuple(value.detach() if isinstance(value, torch.Tensor) else value for value in result)
    return result.detach() if isinstance(result, torch.Tensor) else result


def call_and_compare_arguments(function, *args, **kwargs):
    """``(function(*args, **kwargs), changed)``: whether the call changed a tensor among the arguments in place
    (the kernel's half of :func:`course.judging.call_noting_changes`)."""
    torch = sys.modules["torch"]
    lent = list(_tensors_in((args, kwargs), torch))
    before = [tensor.detach().clone() for tensor in lent]
    value = function(*args, **kwargs)
    return value, any(_differs(tensor.detach(), saved, torch) for tensor, saved in zip(lent, before))


def _differs(after, before, torch) -> bool:
    if after.shape != before.shape:
        return True
    both_nan = torch.isnan(after) & torch.isnan(before)  # NaN stays NaN: not a change
    return not bool(((after == before) | both_nan).all())


def _tensors_in(value, torch):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors_in(item, torch)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors_in(item, torch)


def log_inputs(module, rows: int = 256):
    """``module`` with buffers ``input_log`` (``rows`` x 3, float64) and ``input_count``, and a forward hook
    (:func:`record_input`) that fills them; returns the module. Row i of the log describes call i's input:
    whether it required grad (1 or 0), its length, and the sum of its entries (a fingerprint that tells one random
    batch from another); ``input_count`` counts every call, those beyond the log's rows too."""
    torch = sys.modules["torch"]  # loaded: a module is given (this file leaves torch to its callers)
    module.register_buffer("input_log", torch.zeros(rows, 3, dtype=torch.float64))
    module.register_buffer("input_count", torch.zeros((), dtype=torch.long))
    module.register_forward_hook(record_input)
    return module


def record_input(module, inputs: tuple, output) -> None:
    """The forward hook of :func:`log_inputs`."""
    batch, log = inputs[0], module.input_log
    index = int(module.input_count)
    if index < len(log):
        log[index, 0] = float(batch.requires_grad)
        log[index, 1] = float(len(batch))
        log[index, 2] = batch.detach().double().sum().to(log.device)  # one number: tells random batches apart
    module.input_count.add_(1)


def logged_inputs(module):
    """The rows of ``module``'s :func:`log_inputs` log that its calls filled: a (calls, 3) tensor."""
    return module.input_log[:int(module.input_count)]
