"""Binary cross-entropy (二进制交叉熵, BCE) by hand, from probabilities and from logits.

The cost of predictions ``h`` in (0, 1) for labels ``y`` in [0, 1] is

    J = -1/m * sum_i [ y_i log h_i + (1 - y_i) log(1 - h_i) ].

Two ways to compute it, both mirrored from PyTorch so the tests can compare:

* from **probabilities**, as ``torch.nn.BCELoss`` does: each log is clamped at
  -100, so a prediction of exactly 0 or 1 costs at most 100 instead of infinity;
* from **logits** z (h = sigmoid(z)), as ``torch.nn.BCEWithLogitsLoss`` does, in
  the log-sum-exp form ``max(z, 0) - z y + log(1 + exp(-|z|))``, which never
  forms sigmoid(z) and so stays exact where sigmoid rounds to 0 or 1.
"""

from __future__ import annotations

import torch

# nn.BCELoss clamps each log at -100 ("so that an infinite term does not spoil the mean").
LOG_CLAMP = -100.0
REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "none":
        return per_sample
    raise ValueError(f"reduction={reduction!r}; choose one of {REDUCTIONS}")


def bce_terms(h: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms inside the sum, ``y log h`` and ``(1 - y) log(1 - h)``, logs clamped at -100.

    Both are <= 0 for h in [0, 1] and y in [0, 1]; the cost is minus their sum.
    """
    y = torch.as_tensor(y, dtype=h.dtype, device=h.device)
    log_h = torch.log(h).clamp(min=LOG_CLAMP)
    log_one_minus_h = torch.log1p(-h).clamp(min=LOG_CLAMP)
    return y * log_h, (1 - y) * log_one_minus_h


def bce_from_probabilities(h: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """BCE of probabilities ``h`` against labels ``y``, as ``F.binary_cross_entropy`` computes it."""
    positive, negative = bce_terms(h, y)
    return _reduce(-(positive + negative), reduction)


def bce_naive(h: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """The textbook formula with no clamp: inf (or nan, from 0 * -inf) when h hits exactly 0 or 1.

    Only here to show what the clamp and the logit form protect against.
    """
    y = torch.as_tensor(y, dtype=h.dtype, device=h.device)
    return _reduce(-(y * torch.log(h) + (1 - y) * torch.log(1 - h)), reduction)


def bce_from_logits(z: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """BCE of logits ``z`` (h = sigmoid(z)), as ``F.binary_cross_entropy_with_logits`` computes it.

    -[y log s(z) + (1-y) log(1 - s(z))] = log(1 + e^z) - z y, and log(1 + e^z) = max(z, 0) + log(1 + e^-|z|):
    no exponential of a large positive number is ever taken, and no sigmoid rounds to 0 or 1.
    ``torch.logaddexp(0, z)`` is log(e^0 + e^z) computed exactly that way, with a backward of sigmoid(z),
    so the gradient is right everywhere, z = 0 included (autograd through max(z, 0) and |z| would take
    one-sided slopes there).
    """
    y = torch.as_tensor(y, dtype=z.dtype, device=z.device)
    per_sample = torch.logaddexp(torch.zeros_like(z), z) - z * y
    return _reduce(per_sample, reduction)


def gradient_wrt_logit(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """dJ_i/dz_i = sigmoid(z_i) - y_i for each sample's cost (divide by m for the mean)."""
    return torch.sigmoid(z) - y


def gradient_wrt_probability(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """dJ_i/dh_i = -y/h + (1-y)/(1-h) = (h - y) / (h (1 - h)) for each sample's cost, h strictly in (0, 1)."""
    return (h - y) / (h * (1 - h))


def binary_entropy(y: torch.Tensor) -> torch.Tensor:
    """H(y) = -[y log y + (1-y) log(1-y)] (0 log 0 = 0): the least BCE any prediction reaches for label y.

    It is 0 for hard labels 0 and 1, and positive for a smoothed label such as 0.9.
    """
    y = torch.as_tensor(y, dtype=torch.get_default_dtype()) if not torch.is_tensor(y) else y
    return -(torch.special.xlogy(y, y) + torch.special.xlogy(1 - y, 1 - y)) + 0.0  # + 0.0: no -0.0 for hard labels
