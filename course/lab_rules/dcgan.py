"""Lab 06's rules and the players of its alternating-step tests."""

from __future__ import annotations

from course.dcgan import DCGANDiscriminator, DCGANGenerator
from course.judging import forbid
from course.lab_rules import gan_steps
from course.language import tr


def transposed_convolution_disabled():
    """PyTorch's (and the course's) transposed convolutions raise while the student's code runs."""
    return forbid("torch.nn.functional.conv_transpose2d", "torch.conv_transpose2d", "torch.nn.ConvTranspose2d.forward",
                  "torch.nn.ConvTranspose2d._output_padding", "torch.nn.grad.conv2d_input",
                  "course.dcgan.conv_transpose2d_by_hand", "course.dcgan.conv_transpose_output_size",
                  "course.dcgan.insert_zeros", message=tr("compute the transposed convolution yourself"))


def kit_weights_init_disabled():
    """The kit's dcgan_weights_init raises while the student's initialiser runs (exercise 5)."""
    return forbid("course.dcgan.dcgan_weights_init", message=tr("write the initialisation yourself"))


def kit_step_disabled():
    """The kit's alternating step and its halves raise while the student's step runs (exercise 6)."""
    return forbid("course.gan.alternating_step", "course.gan.discriminator_step", "course.gan.generator_step",
                  message=tr("write the step yourself"))


def two_copies(seed: int, make_optimizer, nz=8, width=4, channels=1, image_size=32) -> list:
    """:func:`course.lab_rules.gan_steps.two_copies` of DCGAN players of the given sizes."""
    return gan_steps.two_copies(lambda: (DCGANGenerator(nz, width, channels, image_size),
                                         DCGANDiscriminator(width, channels, image_size)), make_optimizer, seed)
