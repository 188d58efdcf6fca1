"""DCGAN (Radford, Metz and Chintala, 2016): the GAN of topic 04 with convolutional players.

The rules the slides list, and where they live here:

* strided convolutions instead of pooling: D halves the image with stride-2 convolutions, G doubles
  it with stride-2 *transposed* convolutions (转置卷积, "deconvolution");
* BatchNorm in G and D (not on G's output layer nor on D's input layer);
* no fully connected hidden layers: G's first layer turns the noise (N, nz, 1, 1) into a 4x4 map
  with a transposed convolution, D's last layer turns a 4x4 map into one logit with a convolution;
* ReLU in G with a tanh output (images live in [-1, 1]); LeakyReLU(0.2) in D.

The seed's images are 64x64x3; the digits are 32x32x1 (scikit-learn's 8x8 digits scaled up), one block
fewer, or 8x8x1, their own size. ``DCGANGenerator``/``DCGANDiscriminator`` build each from ``image_size``.
The discriminator returns logits, as in course.gan, so the losses are course.gan's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course.repro import single_cpu_thread

IMAGE_SIZES = (8, 32, 64)
NATIVE_DIGITS_SIZE = 8  # scikit-learn's digits at their own size: the last stage keeps its features


def _blocks(image_size: int) -> int:
    """Stride-2 stages between a 4x4 map and the image: 1 for 8x8, 3 for 32x32, 4 for 64x64."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size={image_size}; the DCGAN here is built for {IMAGE_SIZES}")
    return int(math.log2(image_size)) - 2


# -- transposed convolution, by hand -------------------------------------------------------------


def conv_transpose_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0) -> int:
    """(size - 1) * stride - 2 * padding + kernel + output_padding: what nn.ConvTranspose2d produces."""
    out = (size - 1) * stride - 2 * padding + kernel + output_padding
    if out < 1:
        raise ValueError(f"size={size}, kernel={kernel}, stride={stride}, padding={padding} gives no output")
    return out


def insert_zeros(x: torch.Tensor, stride: int) -> torch.Tensor:
    """Put ``stride - 1`` zeros between neighbouring pixels of (N, C, H, W): the up-sampling step."""
    n, c, h, w = x.shape
    spread = x.new_zeros(n, c, (h - 1) * stride + 1, (w - 1) * stride + 1)
    spread[:, :, ::stride, ::stride] = x
    return spread


def conv_transpose2d_by_hand(x: torch.Tensor, weight: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """A transposed convolution as the slides draw it: insert zeros, pad, then convolve.

    ``weight`` has nn.ConvTranspose2d's layout (C_in, C_out, k, k). Spreading the input with
    ``stride - 1`` zeros and padding it with ``k - 1 - padding`` zeros on each side turns the
    transposed convolution into an ordinary one with the kernel flipped and its channels swapped.
    """
    kernel = weight.shape[-1]
    border = kernel - 1 - padding
    if border < 0:
        raise ValueError(f"padding={padding} is larger than kernel - 1 = {kernel - 1}")
    spread = F.pad(insert_zeros(x, stride), (border,) * 4)
    flipped = weight.flip(-1, -2).transpose(0, 1)  # (C_out, C_in, k, k)
    return F.conv2d(spread, flipped)


# -- the two players ------------------------------------------------------------------------------


class DCGANGenerator(nn.Module):
    """G: noise (N, nz) or (N, nz, 1, 1) -> images (N, channels, image_size, image_size) in [-1, 1].

    For 64x64 (``ngf`` = 64, as in the paper and pytorch/examples):
    nz x 1 x 1 -> (ngf*8) x 4 x 4 -> (ngf*4) x 8 x 8 -> (ngf*2) x 16 x 16 -> ngf x 32 x 32 -> channels x 64 x 64.
    For 32x32 the first stage starts at ngf*4 and one stage is left out. For 8x8 (the digits at their own size):
    nz x 1 x 1 -> (ngf*4) x 4 x 4 -> (ngf*2) x 8 x 8 -> channels x 8 x 8, the last step a 3x3 convolution that
    keeps the size, so that the 8x8 stage has features of its own before the image.
    """

    def __init__(self, nz: int = 100, ngf: int = 64, channels: int = 3, image_size: int = 64):
        super().__init__()
        self.nz, self.image_size = nz, image_size
        blocks = _blocks(image_size)
        native = image_size == NATIVE_DIGITS_SIZE
        width = ngf * 4 if native else ngf * 2 ** (blocks - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, width, 4, 1, 0, bias=False),  # (N, width, 4, 4): no dense layer
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(blocks if native else blocks - 1):  # each stage: twice the size, half the channels
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),  # (N, width/2, 2H, 2W)
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        if native:
            layers.append(nn.Conv2d(width, channels, 3, 1, 1, bias=False))  # (N, channels, 8, 8)
        else:
            layers.append(nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False))  # (N, channels, S, S)
        layers.append(nn.Tanh())  # no BatchNorm on the output: the image's own range, [-1, 1]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.reshape(len(z), self.nz, 1, 1))


class DCGANDiscriminator(nn.Module):
    """D: images (N, channels, image_size, image_size) -> one logit per image, shape (N,).

    For 64x64 (``ndf`` = 64): channels x 64 x 64 -> ndf x 32 x 32 -> (ndf*2) x 16 x 16 -> (ndf*4) x 8 x 8
    -> (ndf*8) x 4 x 4 -> 1 x 1 x 1. For 32x32 one stage is left out. For 8x8 the first convolution keeps
    the size (3x3, stride 1): channels x 8 x 8 -> ndf x 8 x 8 -> (ndf*2) x 4 x 4 -> 1 x 1 x 1. The paper ends with
    a sigmoid; here D returns the logit and the loss applies the sigmoid stably (topic 05).
    """

    def __init__(self, ndf: int = 64, channels: int = 3, image_size: int = 64):
        super().__init__()
        blocks = _blocks(image_size)
        native = image_size == NATIVE_DIGITS_SIZE
        first = (nn.Conv2d(channels, ndf, 3, 1, 1, bias=False) if native  # (N, ndf, 8, 8)
                 else nn.Conv2d(channels, ndf, 4, 2, 1, bias=False))  # (N, ndf, S/2, S/2)
        layers: list[nn.Module] = [first, nn.LeakyReLU(0.2, inplace=True)]  # no BatchNorm on the input
        width = ndf
        for _ in range(blocks if native else blocks - 1):  # each stage: half the size, twice the channels
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),  # (N, 2 width, H/2, W/2)
                nn.BatchNorm2d(width * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            width *= 2
        layers.append(nn.Conv2d(width, 1, 4, 1, 0, bias=False))  # (N, 1, 1, 1): no dense layer
        self.main = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.main(images).reshape(-1)  # (N,)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The last feature map, before the logit: (N, width, 4, 4). InfoGAN's code head reads it."""
        return self.main[:-1](images)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """The logits (N,) from :meth:`features`: ``D(x) == D.logits(D.features(x))``."""
        return self.main[-1](features).reshape(-1)


class CodeHead(nn.Module):
    """InfoGAN's Q head on D's last feature map: (N, width, 4, 4) -> one logit per code category, (N, codes).

    Trained with G to recover the categorical code G was given, it makes G draw images whose code can be read
    back: with 10 categories on the digits, G ties each code to one kind of digit or a few, and draws fewer
    images that sit between two digits (topic 07 has InfoGAN itself).
    """

    def __init__(self, width: int, codes: int):
        super().__init__()
        self.main = nn.Conv2d(width, codes, 4, 1, 0)  # (N, codes, 1, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.main(features).flatten(1)  # (N, codes)


def latent_with_codes(noise: torch.Tensor, codes: torch.Tensor, categories: int) -> torch.Tensor:
    """G's input with a categorical code: the noise (N, nz) and the one-hot codes (N, categories) side by side."""
    return torch.cat([noise, F.one_hot(codes, categories).to(noise.dtype)], dim=1)  # (N, nz + categories)


def random_latent(n: int, nz: int, categories: int, generator: torch.Generator,
                  codes: torch.Tensor | None = None) -> torch.Tensor:
    """G's input for n images from a CPU ``generator``: N(0, I) noise, then (with ``categories``) one-hot codes,
    drawn at random unless ``codes`` (n,) are given: (n, nz + categories)."""
    noise = torch.randn(n, nz, generator=generator)
    if not categories:
        return noise
    if codes is None:
        codes = torch.randint(categories, (n,), generator=generator)
    return latent_with_codes(noise, codes, categories)


def dcgan_weights_init(module: nn.Module) -> None:
    """The paper's initialisation, for ``model.apply``: convolutions ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def seeded_players(seed: int, latent_size: int, ngf: int, ndf: int, channels: int, image_size: int,
                   codes: int = 0) -> tuple[DCGANGenerator, DCGANDiscriminator, CodeHead | None]:
    """(G, D, InfoGAN's code head or None without codes), initialised as the paper says from ``seed``.

    Torch's global generator is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = DCGANGenerator(latent_size, ngf, channels, image_size)
        discriminator = DCGANDiscriminator(ndf, channels, image_size)
        generator.apply(dcgan_weights_init)
        discriminator.apply(dcgan_weights_init)
        code_head = CodeHead(discriminator.main[-1].in_channels, codes) if codes else None
    return generator, discriminator, code_head


@torch.no_grad()
def generate_images(generator: nn.Module, noise: torch.Tensor) -> torch.Tensor:
    """G(noise) in eval mode, as float32 on the CPU; the generator's mode is put back afterwards.

    Eval mode makes BatchNorm use its running statistics, so each image depends on its own noise only
    (not on the rest of the batch) and sampling leaves those statistics unchanged.
    """
    was_training = generator.training
    generator.eval()
    try:
        device = next(generator.parameters()).device
        return generator(noise.to(device)).float().cpu()
    finally:
        generator.train(was_training)


def layer_shapes(model: nn.Module, example: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """(layer, output shape) for every layer of ``model.main`` on ``example``: the shape comments, computed."""
    shapes = []
    x = example.reshape(len(example), -1, 1, 1) if isinstance(model, DCGANGenerator) else example
    with torch.no_grad():
        for layer in model.main:
            x = layer(x)
            shapes.append((layer.__class__.__name__, tuple(x.shape)))
    return shapes


# -- probes for the lab's tests: they travel to where a student's code runs, and report back ---------


def call_each(function, argument_tuples: list) -> list:
    """``[function(*arguments) for arguments in argument_tuples]``: with ``course.judging.in_kernel``, a lab's
    test makes many calls of a student's function where it runs for the price of one request over the wire."""
    return [function(*arguments) for arguments in argument_tuples]


def on_one_cpu_thread(function, *args, **kwargs):
    """``function(*args, **kwargs)`` on one CPU thread (:func:`course.repro.single_cpu_thread`): with
    ``course.judging.in_kernel``, a lab's test trains a student's small model where it runs, as fast as it goes."""
    with single_cpu_thread(torch.device("cpu")):
        return function(*args, **kwargs)


def input_gradient(module: nn.Module, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``d(sum(module(x) * weights)) / dx`` by autograd through the module; zeros where no gradient reaches ``x``.

    A lab's test runs it on a student's block with ``course.judging.in_kernel``, so that autograd runs through
    the block where the block lives (the student's kernel when the lab is judged outside it), and compares the
    gradient with a reference block's.
    """
    leaf = x.detach().clone().requires_grad_(True)
    output = module(leaf)
    if not (isinstance(output, torch.Tensor) and output.requires_grad):
        return torch.zeros_like(leaf)
    (grad,) = torch.autograd.grad((output * weights).sum(), leaf, allow_unused=True)
    return torch.zeros_like(leaf) if grad is None else grad


def count_output_gradients(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
    """A forward hook: each gradient that reaches this output adds one to the module's buffer
    ``gradients_received`` (``module.register_buffer("gradients_received", torch.zeros((), dtype=torch.long))``).

    Buffers travel with a module lent to a student's function and come back with it, so a test learns how
    often a training step backpropagated into G (once: D's update must use ``fake.detach()``).
    """
    if isinstance(output, torch.Tensor) and output.requires_grad:
        counter = module.gradients_received

        def count(grad: torch.Tensor) -> None:  # returns None: the gradient itself is left as it is
            counter.add_(1)

        output.register_hook(count)
