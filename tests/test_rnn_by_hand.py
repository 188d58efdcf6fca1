"""course.rnn_by_hand against torch.nn.RNN (course.rnn_torch) and torch.autograd, and the slides' worked example
reproduced."""

import pytest
import torch
from torch import nn

from course.rnn_by_hand import (
    ACTIVATIONS,
    SLIDES_INPUTS,
    SLIDES_OUTPUTS,
    RNNWeights,
    activate,
    activation_slope,
    bidirectional_outputs,
    bidirectional_states,
    bptt,
    deep_rnn_states,
    orthogonal_recurrence,
    rnn_cell,
    rnn_forward,
    rnn_states,
    slides_weights,
)
from course.rnn_torch import copy_into_torch, torch_rnn, weights_from_torch


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def autograd_reference(xs, targets, weights, V, activation, last_step_only=False):
    """The same loss by plain torch operations, and autograd's gradients, including dL/ds_t of every state."""
    params = {name: t.clone().requires_grad_() for name, t in
              {"U": weights.U, "W": weights.W, "b": weights.bias, "V": V}.items()}
    s = torch.zeros(*xs.shape[:-2], weights.hidden_size, dtype=xs.dtype)
    states = []
    for t in range(xs.shape[-2]):
        a = xs[..., t, :] @ params["U"].T + s @ params["W"].T + params["b"]
        s = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda v: v}[activation](a)
        states.append(s)
    steps = [len(states) - 1] if last_step_only else range(len(states))
    loss = sum(0.5 * ((states[t] @ params["V"].T - targets[..., t, :]) ** 2).sum() for t in steps)
    grads = torch.autograd.grad(loss, list(params.values()) + states)
    return loss.detach(), dict(zip(params, grads[:4])), torch.stack(grads[4:], dim=-2)


def test_slides_worked_example():
    weights, V = slides_weights()
    xs = torch.tensor(SLIDES_INPUTS, dtype=torch.float64)
    states, outputs = rnn_forward(xs, weights, V, activation="identity")
    assert torch.equal(states, torch.tensor([[2.0, 2.0], [6.0, 6.0], [16.0, 16.0]], dtype=torch.float64))
    assert torch.equal(outputs, torch.tensor(SLIDES_OUTPUTS, dtype=torch.float64))
    # The identity net is a product of linear maps; torch's functional linear agrees step by step.
    s = torch.zeros(2, dtype=torch.float64)
    for x, o in zip(xs, outputs):
        s = nn.functional.linear(x, weights.U) + nn.functional.linear(s, weights.W)
        assert torch.equal(nn.functional.linear(s, V), o)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_and_its_slope_match_autograd(name):
    a = torch.linspace(-3, 3, 61, dtype=torch.float64).requires_grad_()
    out = activate(a, name)
    reference = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda v: v * 1}[name](a)
    assert torch.equal(out, reference)
    (slope,) = torch.autograd.grad(out.sum(), a)
    mask = a.detach() != 0  # ReLU's slope at exactly 0 is a convention
    assert torch.allclose(activation_slope(out.detach(), name)[mask], slope[mask])
    with pytest.raises(ValueError):
        activate(a, "sigmoid")


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch_rnn_cell(nonlinearity, bias):
    weights = RNNWeights.random(3, 5, generator(1), bias=bias)
    cell = nn.RNNCell(3, 5, bias=bias, nonlinearity=nonlinearity, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(weights.U)
        cell.weight_hh.copy_(weights.W)
        if bias:
            cell.bias_ih.copy_(weights.b_ih)
            cell.bias_hh.copy_(weights.b_hh)
    x, s = torch.randn(4, 3, generator=generator(2), dtype=torch.float64), torch.randn(4, 5, generator=generator(3), dtype=torch.float64)
    assert torch.allclose(rnn_cell(x, s, weights, nonlinearity), cell(x, s))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("shape", [(7, 3), (4, 7, 3), (1, 1, 3)])
def test_states_match_torch_rnn(nonlinearity, shape):
    weights = RNNWeights.random(3, 6, generator(4))
    xs = torch.randn(*shape, generator=generator(5), dtype=torch.float64)
    s0 = torch.randn(*shape[:-2], 6, generator=generator(6), dtype=torch.float64)
    rnn = torch_rnn([weights], nonlinearity)
    expected, last = rnn(xs, s0.unsqueeze(0))  # h0 is (layers, [N,] H)
    states = rnn_states(xs, weights, s0, nonlinearity)
    assert states.shape == expected.shape
    assert torch.allclose(states, expected)
    assert torch.allclose(states[..., -1, :], last.squeeze(0))


def test_weights_round_trip_through_torch():
    rnn = nn.RNN(4, 3, num_layers=2, bidirectional=True, dtype=torch.float64)
    for layer in range(2):
        for reverse in (False, True):
            weights = weights_from_torch(rnn, layer, reverse)
            suffix = f"_l{layer}" + ("_reverse" if reverse else "")
            assert torch.equal(weights.U, getattr(rnn, "weight_ih" + suffix))
            assert torch.equal(weights.bias, getattr(rnn, "bias_ih" + suffix) + getattr(rnn, "bias_hh" + suffix))
    new = RNNWeights.random(6, 3, generator(7))
    copy_into_torch(rnn, new, layer=1, reverse=True)
    assert torch.equal(rnn.weight_hh_l1_reverse, new.W) and torch.equal(rnn.bias_hh_l1_reverse, new.b_hh)
    without_bias = nn.RNN(4, 3, bias=False, dtype=torch.float64)
    with pytest.raises(ValueError):
        copy_into_torch(without_bias, RNNWeights.random(4, 3, generator(8)))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_bidirectional_matches_torch(nonlinearity):
    forward, backward = RNNWeights.random(3, 4, generator(9)), RNNWeights.random(3, 4, generator(10))
    xs = torch.randn(2, 6, 3, generator=generator(11), dtype=torch.float64)
    expected, last = torch_rnn([(forward, backward)], nonlinearity)(xs)
    states = bidirectional_states(xs, forward, backward, nonlinearity)
    assert torch.allclose(states, expected)
    assert torch.allclose(states[..., -1, :4], last[0]) and torch.allclose(states[..., 0, 4:], last[1])
    V, V_prime = torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    head = nn.Linear(8, 2, bias=False, dtype=torch.float64)
    with torch.no_grad():
        head.weight.copy_(torch.cat([V, V_prime], dim=1))
    assert torch.allclose(bidirectional_outputs(states, V, V_prime), head(expected))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_deep_rnn_matches_torch(bidirectional, num_layers):
    gen = generator(12)
    directions = 2 if bidirectional else 1
    layers = []
    for index in range(num_layers):
        size_in = 3 if index == 0 else 5 * directions
        pair = tuple(RNNWeights.random(size_in, 5, gen) for _ in range(directions))
        layers.append(pair if bidirectional else pair[0])
    xs = torch.randn(4, 7, 3, generator=gen, dtype=torch.float64)
    expected, expected_last = torch_rnn(layers)(xs)
    top, last = deep_rnn_states(xs, layers)
    assert torch.allclose(top, expected) and torch.allclose(last, expected_last)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(6, 2), (3, 6, 2), (1, 2)])
@pytest.mark.parametrize("last_step_only", [False, True])
def test_bptt_matches_autograd(activation, shape, last_step_only):
    gen = generator(13)
    weights = RNNWeights.random(2, 4, gen)
    V = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    xs = torch.randn(*shape, generator=gen, dtype=torch.float64)
    targets = torch.randn(*shape[:-1], 3, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        result = bptt(xs, targets, weights, V, activation=activation, last_step_only=last_step_only)
    loss, grads, state_grads = autograd_reference(xs, targets, weights, V, activation, last_step_only)
    assert torch.allclose(result.loss, loss)
    for name in ("U", "W", "b", "V"):
        assert torch.allclose(result.grads[name], grads[name]), name
    assert torch.allclose(result.state_grads, state_grads)


@pytest.mark.parametrize("scale", [0.5, 1.0, 1.5])
def test_orthogonal_recurrence_scales_gradients_exactly(scale):
    W = orthogonal_recurrence(6, scale, seed=3)
    assert torch.allclose(torch.linalg.svdvals(W), torch.full((6,), scale, dtype=torch.float64))
    no_bias = torch.zeros(6, dtype=torch.float64)
    weights = RNNWeights(U=torch.randn(6, 1, generator=generator(14), dtype=torch.float64), W=W, b_ih=no_bias, b_hh=no_bias)
    V = torch.randn(1, 6, generator=generator(15), dtype=torch.float64)
    xs, targets = torch.randn(10, 1, generator=generator(16), dtype=torch.float64), torch.zeros(10, 1, dtype=torch.float64)
    _, _, state_grads = autograd_reference(xs, targets, weights, V, "identity", last_step_only=True)
    norms = state_grads.norm(dim=-1)
    steps_back = torch.arange(9, -1, -1, dtype=torch.float64)
    assert torch.allclose(norms, norms[-1] * scale**steps_back)
