"""The labs' exercises as trusted functions, with the signatures the labs ask for.

A later exercise builds on the student's earlier ones (``descend_221`` calls the student's ``gradients_221``), so
a slip in one would cost every exercise after it. A test judges an exercise alone by handing the student's code
these functions under the earlier names (:func:`course.judging.built_on`); the student's own notebook still
builds on the student's own code. Each is built from torch.nn and torch.autograd (:mod:`course.references`),
never from the lab's solution.

A trusted function answers only while a test lends it (:func:`lending`, which ``built_on`` enters): imported
into a notebook as an answer, under any name, it raises. The check runs in the student's process, like every
rule there, so it stops the obvious shortcut, not a student set on forging a grade.
"""

from __future__ import annotations

import contextlib
import math
import functools
from collections import Counter
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course import loop_record, rnn
from course.cnn import DigitsCNN
from course.dcgan import dcgan_weights_init
from course.gan import alternating_step
from course.language import tr
from course.references import torch_221, torch_mlp
from course.rnn import RNNWeights

Params = Sequence[tuple[torch.Tensor, torch.Tensor]]
_lent_now: Counter = Counter()  # trusted functions and classes a running test lends, with how many blocks lend them


class NotLent(RuntimeError):
    """A trusted function was called by a notebook's answer rather than lent by a test."""

    def __init__(self, name: str):
        super().__init__(tr("course.trusted.{name} stands in for an earlier exercise while a test judges a later "
                            "one; it is not an answer: write your own").format(name=name))


@contextlib.contextmanager
def lending(objects):
    """Inside this block the trusted ones among ``objects`` answer (the others are left as they are)."""
    lent = [item for item in objects if getattr(item, "__module__", None) == __name__]
    _lent_now.update(lent)
    try:
        yield
    finally:
        _lent_now.subtract(lent)


def _answers_only_when_lent(function):
    @functools.wraps(function)
    def lent_function(*args, **kwargs):
        if _lent_now[lent_function] <= 0:
            raise NotLent(function.__name__)
        return function(*args, **kwargs)

    return lent_function

# -- lab 01: backpropagation ---------------------------------------------------------------------------------


@_answers_only_when_lent
def sigmoid_prime(x: torch.Tensor) -> torch.Tensor:
    fx = torch.sigmoid(x)
    return fx * (1 - fx)


@_answers_only_when_lent
def forward_221(w: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(f1, f2, y)`` of the slides' 2-2-1 network with weights ``w``, for the input ``x`` (two numbers)."""
    net = torch_221(w)
    hidden = net[:2](x.to(torch.float64))
    y = net[2:](hidden).squeeze()
    return hidden[0].to(x.dtype), hidden[1].to(x.dtype), y.to(x.dtype)


@_answers_only_when_lent
def gradients_221(w: torch.Tensor, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """dE/d[w1, ..., w6] of E = (y - z)^2, by autograd (switched on here, whatever the caller's mode)."""
    with torch.enable_grad():
        net = torch_221(w)
        loss = (net(x.to(torch.float64)).squeeze() - z) ** 2
        hidden, output = torch.autograd.grad(loss, [net[0].weight, net[2].weight])
    grads = torch.stack([hidden[0, 0], hidden[1, 0], hidden[0, 1], hidden[1, 1], output[0, 0], output[0, 1]])
    return grads.to(w.dtype)


@_answers_only_when_lent
def activate(A: torch.Tensor, name: str) -> torch.Tensor:
    if name == "sigmoid":
        return torch.sigmoid(A)
    if name == "relu":
        return torch.relu(A)
    raise ValueError(f"unknown activation {name!r}: use 'sigmoid' or 'relu'")


@_answers_only_when_lent
def mlp_forward(params: Params, X: torch.Tensor, hidden_activation: str = "sigmoid") -> list[torch.Tensor]:
    """``[X, H1, ..., Y]``: the input and every layer's output (sigmoid output layer)."""
    net = torch_mlp(params, hidden_activation)
    outputs = [X]
    for layer in range(0, len(net), 2):
        outputs.append(net[layer:layer + 2](outputs[-1]).detach())
    return outputs


@_answers_only_when_lent
def mlp_backward(params: Params, X: torch.Tensor, Z: torch.Tensor, hidden_activation: str = "sigmoid"):
    """``(loss, [(dW, db), ...])`` of the mean squared error, by autograd (switched on here)."""
    with torch.enable_grad():
        net = torch_mlp(params, hidden_activation)
        loss = ((net(X) - Z) ** 2).mean()
        linears = [layer for layer in net if isinstance(layer, torch.nn.Linear)]
        grads = torch.autograd.grad(loss, [tensor for layer in linears for tensor in (layer.weight, layer.bias)])
    return loss.detach(), [(grads[index], grads[index + 1]) for index in range(0, len(grads), 2)]


@_answers_only_when_lent
def recorded_mlp_backward(params: Params, X: torch.Tensor, Z: torch.Tensor, hidden_activation: str = "sigmoid"):
    """mlp_backward, with the loss it found noted for course.loop_record (a test compares the first steps of two
    trainings by their losses)."""
    loss, grads = mlp_backward.__wrapped__(params, X, Z, hidden_activation)
    loop_record.note_call([], [], {"loss": loss})
    return loss, grads


# -- lab 02: convolutional networks ---------------------------------------------------------------------------


@_answers_only_when_lent
def output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """The side of a convolution's output, by the formula in the documentation of torch.nn.Conv2d."""
    if n + 2 * padding < kernel:
        raise ValueError(f"a {kernel}-wide kernel does not fit an input of side {n} padded by {padding}")
    return (n + 2 * padding - kernel) // stride + 1


class DigitNet(DigitsCNN):
    """The network of lab 02's table: two 3x3 convolutions with 8 and 16 kernels (course.cnn.DigitsCNN)."""

    def __init__(self):
        if _lent_now[DigitNet] <= 0:
            raise NotLent("DigitNet")
        super().__init__(channels=(8, 16))


# -- lab 03: recurrent networks ---------------------------------------------------------------------------------
# The recurrence of course.rnn (checked against torch.nn.RNN in tests/test_rnn.py), not torch's RNN itself: the
# tests that lend them switch torch's RNN off.


def _recurrent_weights(U, W, b_ih, b_hh, nonlinearity: str) -> RNNWeights:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nonlinearity={nonlinearity!r}: use 'tanh' or 'relu'")
    return RNNWeights(U, W, b_ih, b_hh)


@_answers_only_when_lent
def rnn_cell(x_t, s_prev, U, W, b_ih, b_hh, nonlinearity: str = "tanh") -> torch.Tensor:
    """One step of torch.nn.RNNCell: ``f(x_t U^T + b_ih + s_prev W^T + b_hh)``, batched or not."""
    return rnn.rnn_cell(x_t, s_prev, _recurrent_weights(U, W, b_ih, b_hh, nonlinearity), nonlinearity).detach()


@_answers_only_when_lent
def rnn_forward(X, U, W, b_ih, b_hh, h0=None, nonlinearity: str = "tanh"):
    """``(outputs, h_n)`` of torch.nn.RNN(batch_first=True) for ``X`` of shape (N, T, I), ``h_n`` of shape (N, H)."""
    states = rnn.rnn_states(X, _recurrent_weights(U, W, b_ih, b_hh, nonlinearity), h0, nonlinearity).detach()
    return states, states[:, -1]


@_answers_only_when_lent
def clip_grad_norm(parameters, max_norm: float) -> torch.Tensor:
    """torch.nn.utils.clip_grad_norm_ (the tests that lend it switch torch's own off for the student's code)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach()) for g in grads]))
    factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(factor)
    return total


@_answers_only_when_lent
def recorded_clip_grad_norm(parameters, max_norm: float) -> torch.Tensor:
    """clip_grad_norm, with the norm it found noted for course.loop_record (a test compares the first steps of two
    trainings by the gradient norms they clip)."""
    total = clip_grad_norm.__wrapped__(list(parameters), max_norm)
    loop_record.note_call([], [], {"norm": total})
    return total


# -- lab 04: the GAN objective ----------------------------------------------------------------------------------


@_answers_only_when_lent
def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """D* = p_data / (p_data + p_g), and 1/2 where both densities are 0 (no evidence either way)."""
    total = p_data + p_g
    return torch.where(total > 0, p_data / torch.where(total > 0, total, 1), torch.full_like(total, 0.5))


# -- lab 05: binary cross-entropy and the GAN losses ----------------------------------------------------------------
# Written with F.softplus: the tests that lend them switch torch's BCE off.


@_answers_only_when_lent
def bce_from_logits(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean of log(1 + e^z) - z y, nn.BCEWithLogitsLoss's value and gradient."""
    return (F.softplus(z) - z * y).mean()


@_answers_only_when_lent
def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """BCE(D(x), real_label) + BCE(D(G(z)), 0), each a mean over its own batch."""
    with lending([bce_from_logits]):
        return (bce_from_logits(real_logits, torch.full_like(real_logits, real_label))
                + bce_from_logits(fake_logits, torch.zeros_like(fake_logits)))


@_answers_only_when_lent
def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating loss BCE(D(G(z)), 1)."""
    with lending([bce_from_logits]):
        return bce_from_logits(fake_logits, torch.ones_like(fake_logits))


@_answers_only_when_lent
def gan_step(generator, discriminator, g_optimizer, d_optimizer, real, d_noise, g_noise, real_label: float = 1.0):
    """One update of D on the real batch and the detached fakes, then one of G through the updated D
    (course.gan.alternating_step with k = 1); returns the two losses as numbers."""
    stats = alternating_step(generator, discriminator, g_optimizer, d_optimizer, [real], [d_noise], g_noise, real_label)
    return stats.d_loss.item(), stats.g_loss.item()


@_answers_only_when_lent
def recorded_gan_step(generator, discriminator, g_optimizer, d_optimizer, real, d_noise, g_noise,
                      real_label: float = 1.0):
    """gan_step, with what it received noted for course.loop_record (a test checks a training loop by it)."""
    loop_record.note_call([generator, discriminator], [g_optimizer, d_optimizer],
                          {"real": real, "d_noise": d_noise, "g_noise": g_noise})
    stats = alternating_step(generator, discriminator, g_optimizer, d_optimizer, [real], [d_noise], g_noise, real_label)
    return stats.d_loss.item(), stats.g_loss.item()


# -- lab 06: DCGAN ---------------------------------------------------------------------------------------------------


@_answers_only_when_lent
def generator_block(in_channels: int, out_channels: int, first: bool = False) -> nn.Sequential:
    """A stage of course.dcgan.DCGANGenerator: a 4x4 transposed convolution (1x1 -> 4x4 when first, else twice the
    size), BatchNorm, ReLU."""
    stride, padding = (1, 0) if first else (2, 1)
    return nn.Sequential(nn.ConvTranspose2d(in_channels, out_channels, 4, stride, padding, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


@_answers_only_when_lent
def discriminator_block(in_channels: int, out_channels: int, batch_norm: bool = True) -> nn.Sequential:
    """A stage of course.dcgan.DCGANDiscriminator: a strided 4x4 convolution (half the size), BatchNorm unless told
    otherwise, LeakyReLU(0.2)."""
    layers = [nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=False)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2, inplace=True))


@_answers_only_when_lent
def dcgan_init(module: nn.Module) -> None:
    """The paper's initialisation (course.dcgan.dcgan_weights_init)."""
    dcgan_weights_init(module)


@_answers_only_when_lent
def dcgan_step(generator, discriminator, g_optimizer, d_optimizer, real, d_noise, g_noise):
    """course.gan.alternating_step with k = 1; returns the two losses as numbers."""
    stats = alternating_step(generator, discriminator, g_optimizer, d_optimizer, [real], [d_noise], g_noise)
    return stats.d_loss.item(), stats.g_loss.item()


@_answers_only_when_lent
def recorded_dcgan_step(generator, discriminator, g_optimizer, d_optimizer, real, d_noise, g_noise):
    """dcgan_step, with what it received noted for course.loop_record (a test checks a training loop by it)."""
    return recorded_gan_step.__wrapped__(generator, discriminator, g_optimizer, d_optimizer, real, d_noise, g_noise)


# -- lab 08: autoencoders and VAEs ---------------------------------------------------------------------------


@_answers_only_when_lent
def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    return torch.addcmul(mu, torch.exp(0.5 * logvar), eps)


@_answers_only_when_lent
def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) per sample; torch.distributions stays free for the tests to switch off."""
    return _gaussian_kl(mu, logvar)


def _gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.sum(torch.expm1(logvar) - logvar + mu.square(), dim=-1)


@_answers_only_when_lent
def negative_elbo(x, x_hat, mu, logvar, std: float = 0.2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, reconstruction, kl)`` of a Gaussian decoder: torch's Gaussian negative log-likelihood, summed."""
    variance = torch.full_like(x_hat, std ** 2)
    pixels = F.gaussian_nll_loss(x_hat, x, variance, full=True, reduction="none")
    reconstruction = pixels.flatten(1).sum(dim=1).mean()
    kl = _gaussian_kl(mu, logvar).mean()
    return reconstruction + kl, reconstruction, kl


# -- lab 09: generative AI in the world ----------------------------------------------------------------------------


@_answers_only_when_lent
def inpainting_objective(x_hat, x, mask, z, std: float = 0.2) -> torch.Tensor:
    """The batch mean of -log p(observed pixels | z) - log p(z), constants dropped: torch's Gaussian NLL, masked."""
    variance = torch.full_like(x_hat, std ** 2)
    misfit = F.gaussian_nll_loss(x_hat, x, variance, reduction="none") - 0.5 * math.log(std ** 2)
    return ((mask * misfit).sum(dim=1) + 0.5 * torch.linalg.vector_norm(z, dim=1) ** 2).mean()
