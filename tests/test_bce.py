"""course.bce against torch.nn.BCELoss, nn.BCEWithLogitsLoss and autograd, extremes included."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course.bce import (
    bce_from_logits,
    bce_from_probabilities,
    bce_naive,
    bce_terms,
    binary_entropy,
    gradient_wrt_logit,
    gradient_wrt_probability,
)


def random_case(n=50, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    z = 4 * torch.randn(n, generator=generator, dtype=dtype)
    y = torch.rand(n, generator=generator, dtype=dtype)  # soft labels too: BCE is defined for y in [0, 1]
    return z, y


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_from_probabilities_matches_bceloss(reduction, dtype):
    z, y = random_case(dtype=dtype)
    h = torch.sigmoid(z)
    expected = nn.BCELoss(reduction=reduction)(h, y)
    assert torch.allclose(bce_from_probabilities(h, y, reduction), expected, rtol=1e-5, atol=1e-6)


def test_probabilities_exactly_zero_and_one_are_clamped_like_bceloss():
    h = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5])
    y = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.3])
    ours = bce_from_probabilities(h, y, "none")
    assert torch.equal(ours, F.binary_cross_entropy(h, y, reduction="none"))
    assert ours[0] == 100 and ours[1] == 100  # the clamp, not infinity
    assert torch.isinf(bce_naive(h[:1], y[:1]))  # what the clamp protects against


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_from_logits_matches_bcewithlogitsloss(reduction, dtype):
    z, y = random_case(dtype=dtype)
    expected = nn.BCEWithLogitsLoss(reduction=reduction)(z, y)
    assert torch.allclose(bce_from_logits(z, y, reduction), expected, rtol=1e-6, atol=1e-6)


def test_from_logits_stays_exact_at_extreme_logits():
    z = torch.tensor([-1e4, -100.0, -20.0, 20.0, 100.0, 1e4], requires_grad=True)
    for label in (0.0, 1.0, 0.9):
        y = torch.full_like(z, label)
        ours = bce_from_logits(z, y, "none")
        expected = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        assert torch.isfinite(ours).all()
        assert torch.allclose(ours, expected, rtol=1e-6)
        (grad,) = torch.autograd.grad(ours.sum(), z)
        (expected_grad,) = torch.autograd.grad(expected.sum(), z)
        assert torch.allclose(grad, expected_grad, atol=1e-6)


def test_float32_sigmoid_rounds_to_one_and_naive_bce_breaks():
    z, y = torch.tensor([20.0]), torch.tensor([0.0])
    assert torch.sigmoid(z).item() == 1.0
    assert torch.isinf(bce_naive(torch.sigmoid(z), y))
    assert nn.BCELoss()(torch.sigmoid(z), y).item() == 100.0
    exact = F.binary_cross_entropy_with_logits(z.double(), y.double()).item()  # log(1 + e^20)
    assert bce_from_logits(z, y).item() == pytest.approx(exact, rel=1e-6)


def test_terms_are_never_positive_and_the_cost_never_negative():
    z, y = random_case(n=500, seed=1)
    positive, negative = bce_terms(torch.sigmoid(z), y)
    assert (positive <= 0).all() and (negative <= 0).all()
    assert (bce_from_logits(z, y, "none") >= 0).all()


def test_gradients_match_autograd():
    z, y = random_case(seed=2)
    z.requires_grad_(True)
    (dz,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(z, y, reduction="sum"), z)
    assert torch.allclose(gradient_wrt_logit(z.detach(), y), dz)
    h = torch.sigmoid(z.detach()).requires_grad_(True)
    (dh,) = torch.autograd.grad(F.binary_cross_entropy(h, y, reduction="sum"), h)
    assert torch.allclose(gradient_wrt_probability(h.detach(), y), dh, rtol=1e-8)


@pytest.mark.parametrize("label", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_least_cost_for_a_label_is_its_entropy_reached_at_h_equal_y(label):
    h = torch.linspace(1e-6, 1 - 1e-6, 100001, dtype=torch.float64)
    costs = F.binary_cross_entropy(h, torch.full_like(h, label), reduction="none")
    entropy = binary_entropy(torch.tensor(label, dtype=torch.float64)).item()
    assert costs.min().item() == pytest.approx(entropy, abs=2e-6)  # the grid stops 1e-6 short of 0 and 1
    assert h[costs.argmin()].item() == pytest.approx(label, abs=2e-5)


def test_unknown_reduction_is_refused():
    with pytest.raises(ValueError, match="reduction"):
        bce_from_logits(torch.zeros(2), torch.zeros(2), reduction="median")


def test_logit_gradient_is_right_at_exactly_zero():
    """max(z, 0) and |z| have one-sided slopes at 0; the loss must still give sigmoid(0) - y = 1/2 - y there."""
    z = torch.zeros(3, requires_grad=True)
    y = torch.tensor([0.0, 0.5, 1.0])
    (ours,) = torch.autograd.grad(bce_from_logits(z, y, reduction="sum"), z)
    (torchs,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(z, y, reduction="sum"), z)
    assert torch.equal(ours, torchs) and torch.equal(ours, 0.5 - y)
