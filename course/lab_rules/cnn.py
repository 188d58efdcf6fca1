"""Lab 02's rules and the trusted functions its exercises are judged on."""

from __future__ import annotations

from course import trusted
from course.judging import built_on, forbid
from course.language import tr


def pytorch_convolution_disabled():
    """PyTorch's convolutions raise while the student's code runs (exercises 2 and 3)."""
    return forbid("torch.nn.functional.conv2d", "torch.conv2d", "torch.convolution", "torch.nn.Conv2d.forward",
                  message=tr("compute the convolution yourself instead of calling PyTorch's"))


def conv2d_loops_disabled():
    """The notebook's conv2d_loops raises while conv2d_im2col runs (exercise 3)."""
    return forbid("conv2d_loops", message=tr("conv2d_im2col must be one matrix product, not a call to conv2d_loops"))


def pytorch_pooling_disabled():
    """PyTorch's pooling raises while the student's code runs (exercise 4)."""
    return forbid("torch.nn.functional.max_pool2d", "torch.nn.functional.avg_pool2d",
                  "torch.nn.functional.max_pool2d_with_indices", "torch.nn.functional.adaptive_max_pool2d",
                  "torch.nn.functional.adaptive_avg_pool2d", "torch.max_pool2d",
                  message=tr("compute the pooling yourself instead of calling PyTorch's"))


def pooling_autograd_disabled():
    """Autograd and PyTorch's pooling raise while the student's pooling gradient runs (exercise 5)."""
    return forbid("torch.autograd.backward", "torch.autograd.grad",
                  "torch.nn.functional.max_pool2d", "torch.nn.functional.avg_pool2d",
                  "torch.nn.functional.max_pool2d_with_indices", "torch.max_pool2d",
                  message=tr("work out the pooling gradient yourself instead of asking autograd"))


def on_the_kits_output_size():
    """conv2d_loops (exercise 2) and conv2d_im2col (exercise 3) judged on their own: the kit's output_size where
    they call yours (exercise 1 is judged there)."""
    return built_on(output_size=trusted.output_size)


def exercise_7_alone():
    """train_digit_net judged on its own: the kit's DigitNet (the table's network) where it builds yours."""
    return built_on(DigitNet=trusted.DigitNet)
