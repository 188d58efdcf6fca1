"""Interactive explorers (ipywidgets), one module per lecture topic.

Each explorer is a small class that holds its own state and exposes a
``.widget`` to show, so that the tests can drive it without a browser:
they call its methods, set its controls and read what it displays.
Notebooks import the builders from here: ``from course.widgets import backprop_explorer``.
"""

from course.widgets.autoencoders import CodeSpaceExplorer, code_space_explorer
from course.widgets.backprop import BackpropExplorer, backprop_explorer
from course.widgets.bce import BCEExplorer, bce_explorer
from course.widgets.cnn import KernelExplorer, kernel_explorer
from course.widgets.dcgan import LatentExplorer, latent_explorer
from course.widgets.gan import GANPlayground, gan_playground
from course.widgets.gan_variants import VariantPlayground, variant_playground
from course.widgets.generative_ai import InpaintingExplorer, inpainting_explorer
from course.widgets.pytorch_basics import LoopExplorer, loop_explorer
from course.widgets.rnn import RNNStepper, rnn_stepper

__all__ = [
    "BCEExplorer",
    "BackpropExplorer",
    "CodeSpaceExplorer",
    "GANPlayground",
    "InpaintingExplorer",
    "KernelExplorer",
    "LatentExplorer",
    "LoopExplorer",
    "RNNStepper",
    "VariantPlayground",
    "backprop_explorer",
    "bce_explorer",
    "code_space_explorer",
    "gan_playground",
    "inpainting_explorer",
    "kernel_explorer",
    "latent_explorer",
    "loop_explorer",
    "rnn_stepper",
    "variant_playground",
]
