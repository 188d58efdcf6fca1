"""The hand-worked 2-2-1 network of course.backprop against torch.autograd."""

import math

import pytest
import torch

from course.backprop import (
    WEIGHT_NAMES,
    forward_221,
    gradient_descent_step,
    gradients_221,
    sigmoid,
    sigmoid_derivative_from_output,
    squared_error,
)
from course.references import torch_221, weights_of_torch_221

CASES = 25


def random_case(generator):
    w = torch.randn(6, dtype=torch.float64, generator=generator) * 2
    x = torch.randn(2, dtype=torch.float64, generator=generator) * 2
    z = torch.rand((), dtype=torch.float64, generator=generator).item()
    return dict(zip(WEIGHT_NAMES, w.tolist())), w, x, z


@pytest.mark.parametrize("value", [-800.0, -30.0, -1.5, 0.0, 0.7, 30.0, 800.0])
def test_sigmoid_matches_torch_without_overflow(value):
    expected = torch.sigmoid(torch.tensor(value, dtype=torch.float64)).item()
    assert sigmoid(value) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("value", [-4.0, -0.3, 0.0, 2.5])
def test_sigmoid_derivative_matches_autograd(value):
    x = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(x).backward()
    assert sigmoid_derivative_from_output(sigmoid(value)) == pytest.approx(x.grad.item(), rel=1e-12)


def test_forward_matches_torch_nn():
    generator = torch.Generator().manual_seed(0)
    for _ in range(CASES):
        weights, w, x, _ = random_case(generator)
        net = torch_221(w)
        forward = forward_221(weights, *x.tolist())
        with torch.no_grad():
            hidden = net[:2](x)
            output = net(x).item()
        assert (forward.f1, forward.f2) == pytest.approx(hidden.tolist(), rel=1e-12)
        assert forward.y == pytest.approx(output, rel=1e-12)
        assert forward.f1 == sigmoid(forward.a1) and forward.y == sigmoid(forward.a3)


def test_gradients_match_autograd():
    generator = torch.Generator().manual_seed(1)
    for _ in range(CASES):
        weights, w, x, z = random_case(generator)
        leaf = w.clone().requires_grad_()
        f1 = torch.sigmoid(leaf[0] * x[0] + leaf[2] * x[1])
        f2 = torch.sigmoid(leaf[1] * x[0] + leaf[3] * x[1])
        y = torch.sigmoid(leaf[4] * f1 + leaf[5] * f2)
        ((y - z) ** 2).backward()
        by_hand = gradients_221(weights, *x.tolist(), z)
        assert [by_hand[name] for name in WEIGHT_NAMES] == pytest.approx(leaf.grad.tolist(), rel=1e-9, abs=1e-15)


def test_descent_step_follows_sgd_and_leaves_input_alone():
    generator = torch.Generator().manual_seed(2)
    weights, w, x, z = random_case(generator)
    original = dict(weights)
    net = torch_221(w)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.7)
    for _ in range(5):
        optimizer.zero_grad()
        ((net(x).squeeze() - z) ** 2).backward()
        optimizer.step()
        weights = gradient_descent_step(weights, gradients_221(weights, *x.tolist(), z), 0.7)
    assert [weights[name] for name in WEIGHT_NAMES] == pytest.approx(weights_of_torch_221(net).tolist(), rel=1e-9)
    assert original != weights


def test_squared_error():
    assert squared_error(0.25, 1.0) == pytest.approx(0.5625)
    assert squared_error(math.pi, math.pi) == 0.0
