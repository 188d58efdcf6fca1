"""The slides' 2-2-1 sigmoid network, worked by hand with the chain rule.

Notation follows the slides (no biases)::

    a1 = w1*x1 + w3*x2    f1 = f(a1)
    a2 = w2*x1 + w4*x2    f2 = f(a2)
    a3 = w5*f1 + w6*f2    y  = f(a3)
    E  = (y - z)**2

The lecture and the explorer widget use these functions; the tests check
every number they return against ``torch.autograd``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

WEIGHT_NAMES = ("w1", "w2", "w3", "w4", "w5", "w6")


def sigmoid(x: float) -> float:
    """f(x) = 1 / (1 + e^-x), written so that large |x| never overflows."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def sigmoid_derivative_from_output(fx: float) -> float:
    """f'(x) = f(x) (1 - f(x)): the derivative needs only the forward value."""
    return fx * (1.0 - fx)


def squared_error(y: float, z: float) -> float:
    """E = (y - z)^2, the slides' loss for one sample."""
    return (y - z) ** 2


@dataclass(frozen=True)
class Forward221:
    """Every intermediate value of one forward pass."""

    a1: float
    f1: float
    a2: float
    f2: float
    a3: float
    y: float


def forward_221(w: Mapping[str, float], x1: float, x2: float) -> Forward221:
    """One forward pass of the 2-2-1 network."""
    a1 = w["w1"] * x1 + w["w3"] * x2
    a2 = w["w2"] * x1 + w["w4"] * x2
    f1, f2 = sigmoid(a1), sigmoid(a2)
    a3 = w["w5"] * f1 + w["w6"] * f2
    return Forward221(a1=a1, f1=f1, a2=a2, f2=f2, a3=a3, y=sigmoid(a3))


def gradients_221(w: Mapping[str, float], x1: float, x2: float, z: float) -> dict[str, float]:
    """dE/dw for all six weights, by the chain rule.

    The slides drop the factor 2 of d(y-z)^2/dy (as if E were (y-z)^2 / 2);
    here it is kept, so that the numbers equal torch.autograd's.
    """
    fwd = forward_221(w, x1, x2)
    delta3 = 2.0 * (fwd.y - z) * sigmoid_derivative_from_output(fwd.y)  # dE/da3
    delta1 = delta3 * w["w5"] * sigmoid_derivative_from_output(fwd.f1)  # dE/da1
    delta2 = delta3 * w["w6"] * sigmoid_derivative_from_output(fwd.f2)  # dE/da2
    return {
        "w1": delta1 * x1,
        "w2": delta2 * x1,
        "w3": delta1 * x2,
        "w4": delta2 * x2,
        "w5": delta3 * fwd.f1,
        "w6": delta3 * fwd.f2,
    }


def gradient_descent_step(
    w: Mapping[str, float], grads: Mapping[str, float], learning_rate: float
) -> dict[str, float]:
    """w <- w - eta * dE/dw for every weight; returns new weights, leaves ``w`` alone."""
    return {name: w[name] - learning_rate * grads[name] for name in w}
