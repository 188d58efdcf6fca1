"""course.probes, called directly: what each measure reports of a function it runs."""

import torch

from course.probes import call_and_compare_arguments, log_inputs, logged_inputs, weighted_backward


def scale_in_place(tensors, by):
    tensors["w"].mul_(by)
    return tensors["w"].sum()


def test_an_in_place_change_is_noted_at_any_depth():
    w = torch.tensor([1.0, 2.0])
    value, changed = call_and_compare_arguments(scale_in_place, {"w": w}, by=3.0)
    assert changed and value == 9.0
    value, changed = call_and_compare_arguments(scale_in_place, {"w": w}, by=1.0)
    assert not changed


def test_nan_that_stays_nan_is_no_change_and_a_new_shape_is():
    w = torch.tensor([float("nan"), 1.0])
    assert not call_and_compare_arguments(lambda tensors: tensors[0].add_(0.0), [w])[1]
    assert call_and_compare_arguments(lambda x: x.resize_(1), w)[1]


def test_weighted_backward_sums_each_result_times_its_weight():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    first, second = weighted_backward(lambda v: (v ** 2, v.sum()), (torch.tensor([1.0, 0.5]), 2.0), x)
    assert not first.requires_grad and torch.equal(second, torch.tensor(3.0))
    assert torch.equal(x.grad, torch.tensor([2.0 * 1 + 2, 2.0 * 2 * 0.5 + 2]))


def test_log_inputs_notes_each_call_until_its_rows_run_out():
    layer = log_inputs(torch.nn.Linear(2, 1), rows=2)
    batches = [torch.ones(3, 2), torch.zeros(1, 2).requires_grad_(), torch.ones(5, 2)]
    for batch in batches:
        layer(batch)
    assert int(layer.input_count) == 3
    assert torch.equal(logged_inputs(layer), torch.tensor([[0.0, 3.0, 6.0], [1.0, 1.0, 0.0]], dtype=torch.float64))
