"""course.trusted: the functions a test hands the student's code in place of earlier exercises are right, checked
against the slides' formulas and central differences rather than the modules they are built from."""

import pytest
import torch

from course import trusted

F64 = {"dtype": torch.float64}


def by_formula_221(w, x):
    f1 = 1 / (1 + torch.exp(-(w[0] * x[0] + w[2] * x[1])))
    f2 = 1 / (1 + torch.exp(-(w[1] * x[0] + w[3] * x[1])))
    return f1, f2, 1 / (1 + torch.exp(-(w[4] * f1 + w[5] * f2)))


def central_differences(function, w, step=1e-6):
    grads = torch.zeros_like(w)
    for index in range(w.numel()):
        shift = torch.zeros_like(w)
        shift.view(-1)[index] = step
        grads.view(-1)[index] = (function(w + shift) - function(w - shift)) / (2 * step)
    return grads


@pytest.mark.parametrize("seed", range(3))
def test_the_221_network_and_its_gradients_follow_the_slides(seed):
    generator = torch.Generator().manual_seed(seed)
    w, x, z = (torch.randn(6, generator=generator, **F64), torch.randn(2, generator=generator, **F64),
               torch.rand((), generator=generator, **F64))
    with trusted.lending([trusted.forward_221, trusted.gradients_221]):
        check_221(w, x, z)


def check_221(w, x, z):
    for got, expected in zip(trusted.forward_221(w, x), by_formula_221(w, x)):
        assert got.shape == () and torch.allclose(got, expected)
    with torch.no_grad():  # as the tests call it: autograd off outside
        grads = trusted.gradients_221(w, x, z)
    expected = central_differences(lambda v: (by_formula_221(v, x)[2] - z) ** 2, w)
    assert torch.allclose(grads, expected, atol=1e-8)


def test_the_sigmoid_derivative_is_autograds():
    x = torch.linspace(-8, 8, 33, requires_grad=True, **F64)
    torch.sigmoid(x).sum().backward()
    with trusted.lending([trusted.sigmoid_prime]):
        assert torch.allclose(trusted.sigmoid_prime(x.detach()), x.grad)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_the_mlp_passes_follow_their_definitions(activation):
    with trusted.lending([trusted.activate, trusted.mlp_forward, trusted.mlp_backward]):
        check_mlp(activation)


def check_mlp(activation):
    generator = torch.Generator().manual_seed(4)
    sizes = [3, 5, 4, 2]
    params = [(torch.randn(n_out, n_in, generator=generator, **F64), torch.randn(n_out, generator=generator, **F64))
              for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    X, Z = torch.randn(7, 3, generator=generator, **F64), torch.rand(7, 2, generator=generator, **F64)

    def forward(layers):
        H = X
        for index, (W, b) in enumerate(layers):
            A = H @ W.T + b
            H = torch.sigmoid(A) if index == len(layers) - 1 else trusted.activate(A, activation)
        return H

    outputs = trusted.mlp_forward(params, X, activation)
    assert len(outputs) == len(sizes) and torch.allclose(outputs[-1], forward(params))
    with torch.no_grad():
        loss, grads = trusted.mlp_backward(params, X, Z, activation)
    assert torch.allclose(loss, ((forward(params) - Z) ** 2).mean())
    W0, b0 = params[0]
    expected_dW0 = central_differences(lambda W: ((forward([(W, b0), *params[1:]]) - Z) ** 2).mean(), W0)
    assert torch.allclose(grads[0][0], expected_dW0, atol=1e-7)
    assert [tuple(dW.shape) for dW, _ in grads] == [tuple(W.shape) for W, _ in params]


def test_an_unknown_activation_says_which_are_known():
    with trusted.lending([trusted.activate]), pytest.raises(ValueError, match="use 'sigmoid' or 'relu'"):
        trusted.activate(torch.zeros(2), "tanh")


def test_a_trusted_function_answers_only_while_a_test_lends_it():
    w, x = torch.randn(6, **F64), torch.randn(2, **F64)
    kit_forward = trusted.forward_221  # imported into a notebook as an answer, under any name
    with pytest.raises(trusted.NotLent, match="not an answer: write your own"):
        kit_forward(w, x)
    with pytest.raises(trusted.NotLent):
        trusted.DigitNet()
    with trusted.lending([trusted.forward_221, torch.sigmoid]):
        assert len(kit_forward(w, x)) == 3
        with pytest.raises(trusted.NotLent):  # lent: only what the test lends
            trusted.gradients_221(w, x, torch.tensor(0.5, **F64))
    with pytest.raises(trusted.NotLent):
        kit_forward(w, x)


def test_the_lab_02_table_network_and_output_size():
    with trusted.lending([trusted.DigitNet, trusted.output_size]):
        assert trusted.DigitNet()(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
        for n, k, s, p in [(9, 3, 1, 0), (8, 3, 1, 1), (28, 5, 2, 2), (7, 2, 2, 0), (5, 5, 3, 0)]:
            side = torch.nn.functional.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p)
            assert trusted.output_size(n, k, s, p) == side.shape[-1]
        with pytest.raises(ValueError, match="does not fit"):
            trusted.output_size(3, 7, 1, 1)
