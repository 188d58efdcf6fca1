"""Lab 01's rules, the trusted functions each exercise is judged on, and its tests' random weights."""

from __future__ import annotations

import torch

from course import trusted
from course.judging import AUTOGRAD, built_on, forbid
from course.language import tr


def torch_sigmoid_disabled():
    """torch's sigmoid, in each of its spellings, raises while the student's code runs (exercise 1)."""
    return forbid("torch.sigmoid", "torch.special.expit", "torch.nn.functional.sigmoid", "torch.Tensor.sigmoid",
                  message=tr("write the sigmoid formula yourself instead of calling torch's sigmoid"))


def kit_forward_221_disabled():
    """The kit's forward_221 raises while the student's code runs (exercise 2)."""
    return forbid("course.trusted.forward_221", message=tr("write the forward pass yourself"))


def kit_gradients_221_disabled():
    """The kit's gradients_221 raises while the student's code runs (exercise 3)."""
    return forbid("course.trusted.gradients_221", message=tr("derive the gradients yourself"))


def kit_mlp_forward_disabled():
    """The kit's mlp_forward and activate raise while the student's code runs (exercise 5)."""
    return forbid("course.trusted.mlp_forward", "course.trusted.activate",
                  message=tr("write the forward pass yourself"))


def autograd_disabled():
    """Every way to have autograd differentiate raises while your code runs, enable_grad or not."""
    return forbid(*AUTOGRAD, message=tr("derive the gradients by the chain rule instead of asking autograd"))


def on_torchs_sigmoid():
    """forward_221 (exercise 2) and mlp_forward (exercise 5) judged on their own: they find torch's sigmoid where
    they call yours (exercise 1 is judged there)."""
    return built_on(sigmoid=torch.sigmoid, sigmoid_prime=trusted.sigmoid_prime)


def exercise_3_alone():
    """gradients_221 judged on its own: torch's sigmoid and the kit's forward_221 where it calls yours."""
    return built_on(sigmoid=torch.sigmoid, sigmoid_prime=trusted.sigmoid_prime, forward_221=trusted.forward_221)


def exercise_4_alone():
    """descend_221 judged on its own: the kit's forward_221 and gradients_221 where it calls yours."""
    return built_on(sigmoid=torch.sigmoid, sigmoid_prime=trusted.sigmoid_prime, forward_221=trusted.forward_221,
                    gradients_221=trusted.gradients_221)


def exercise_6_alone():
    """mlp_backward judged on its own: torch's sigmoid and the kit's mlp_forward where it calls yours."""
    return built_on(sigmoid=torch.sigmoid, sigmoid_prime=trusted.sigmoid_prime, activate=trusted.activate,
                    mlp_forward=trusted.mlp_forward)


def exercise_7_alone():
    """train_mlp judged on its own: the kit's forward and backward passes where it calls yours."""
    return built_on(sigmoid=torch.sigmoid, sigmoid_prime=trusted.sigmoid_prime, activate=trusted.activate,
                    mlp_forward=trusted.mlp_forward, mlp_backward=trusted.mlp_backward)


def random_params(sizes):
    """An MLP's [(W, b), ...] for layer sizes ``sizes`` (W is n_out x n_in), drawn from torch's global generator."""
    return [(torch.randn(n_out, n_in), torch.randn(n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
