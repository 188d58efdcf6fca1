"""The torch.nn references themselves: wiring, round trips and clear errors."""

import pytest
import torch

from course.references import torch_221, torch_mlp, weights_of_torch_221


def test_torch_221_wiring_follows_the_slides():
    w = torch.arange(1.0, 7.0, dtype=torch.float64) / 10
    x = torch.tensor([0.5, -2.0], dtype=torch.float64)
    net = torch_221(w)
    f1 = torch.sigmoid(w[0] * x[0] + w[2] * x[1])  # a1 = w1 x1 + w3 x2
    f2 = torch.sigmoid(w[1] * x[0] + w[3] * x[1])  # a2 = w2 x1 + w4 x2
    with torch.no_grad():
        assert torch.allclose(net(x).squeeze(), torch.sigmoid(w[4] * f1 + w[5] * f2))
    assert torch.equal(weights_of_torch_221(net), w)


def test_torch_221_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        torch_221(torch.ones(5))


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_torch_mlp_copies_parameters(activation):
    params = [(torch.randn(4, 3), torch.randn(4)), (torch.randn(2, 4), torch.randn(2))]
    net = torch_mlp(params, activation)
    X = torch.randn(5, 3)
    hidden = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}[activation](X @ params[0][0].T + params[0][1])
    with torch.no_grad():
        assert torch.allclose(net(X), torch.sigmoid(hidden @ params[1][0].T + params[1][1]), atol=1e-6)


def test_torch_mlp_errors_are_clear():
    with pytest.raises(ValueError, match="unknown activation"):
        torch_mlp([(torch.ones(2, 2), torch.ones(2)), (torch.ones(1, 2), torch.ones(1))], "swish")
    with pytest.raises(ValueError, match="empty"):
        torch_mlp([])
