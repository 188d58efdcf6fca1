"""Lab 03's rules and the trusted functions its exercises are judged on."""

from __future__ import annotations

from course import trusted
from course.judging import built_on, forbid
from course.language import tr


def torch_rnn_cell_disabled():
    """torch's RNN cells raise while the student's rnn_cell runs (exercise 1)."""
    return forbid("torch.nn.RNNCell.forward", "torch.nn.RNN.forward", "torch.rnn_tanh_cell", "torch.rnn_relu_cell",
                  message=tr("write the recurrence yourself instead of calling torch's RNN"))


def torch_rnn_disabled():
    """torch's RNNs raise while the student's rnn_forward runs (exercise 2)."""
    return forbid("torch.nn.RNNCell.forward", "torch.nn.RNN.forward", "torch.rnn_tanh", "torch.rnn_relu",
                  message=tr("write the recurrence yourself instead of calling torch's RNN"))


def torch_rnn_disabled_in_bidirectional():
    """torch's RNNs raise while the student's bidirectional_rnn runs (exercise 4)."""
    return forbid("torch.nn.RNNCell.forward", "torch.nn.RNN.forward", "torch.rnn_tanh", "torch.rnn_relu",
                  message=tr("build the two directions from rnn_forward"))


def torch_clipping_disabled():
    """torch's clip_grad_norm_ raises while the student's training runs (exercise 6)."""
    return forbid("torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad.clip_grad_norm_",
                  message=tr("clip with your own clip_grad_norm"))


def exercise_2_alone():
    """rnn_forward judged on its own: the kit's rnn_cell where it calls yours."""
    return built_on(rnn_cell=trusted.rnn_cell)


def on_the_kits_rnn_forward():
    """bptt (exercise 3) and bidirectional_rnn (exercise 4) judged on their own: the kit's rnn_forward and
    rnn_cell where they call yours."""
    return built_on(rnn_forward=trusted.rnn_forward, rnn_cell=trusted.rnn_cell)
