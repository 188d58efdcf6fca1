"""The variants' players and layers: a minibatch-discrimination layer, historical averaging, virtual batch norm,
players given a class or code (CGAN, InfoGAN) and EBGAN's autoencoder discriminator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course.gan import Discriminator, Generator, mlp
from course.gan_variants import guard


def with_one_hot(x: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """x (N, F) with the one-hot code of ``labels`` (N,) appended: (N, F + classes). CGAN's and InfoGAN's input;
    lab 07's exercise 7 is given it."""
    return torch.cat([x, F.one_hot(labels.long(), classes).to(x.dtype)], dim=1)


def hidden_body(data_dim: int, hidden: int, depth: int) -> nn.Module:
    """D's layers up to its last hidden pre-activation (N, hidden): course.gan's mlp without its output layer."""
    if depth == 1:
        return nn.Linear(data_dim, hidden)
    return mlp(data_dim, hidden, hidden, depth - 1, lambda: nn.LeakyReLU(0.2))


def last_hidden_features(discriminator: Discriminator, x: torch.Tensor) -> torch.Tensor:
    """The activations of D's last hidden layer (N, hidden): everything in ``D.net`` but the output layer."""
    return discriminator.net[:-1](x)


class MinibatchDiscrimination(nn.Module):
    """Appends to each sample's features how close it is to the rest of its batch (Salimans et al., 2016).

    M_i = f_i T reshaped to (kernels, kernel_dim); c_b(i, j) = exp(-||M_i,b - M_j,b||_1);
    o(i)_b = sum over j != i of c_b(i, j). A collapsed batch of near-identical fakes has large o,
    so D can see collapse, which a per-sample D cannot. (N, features) -> (N, features + kernels).
    """

    def __init__(self, features: int, kernels: int = 5, kernel_dim: int = 3):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(0.1 * torch.randn(features, kernels * kernel_dim))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        guard.reference_guard()
        m = (f @ self.T).view(-1, self.kernels, self.kernel_dim).transpose(0, 1)  # (B, N, C)
        l1 = torch.cdist(m, m, p=1)  # (B, N, N): ||M_i,b - M_j,b||_1
        closeness = (torch.exp(-l1).sum(dim=2) - 1).T  # (N, B): the j = i term, exp(0) = 1, left out
        return torch.cat([f, closeness], dim=1)  # (N, features + B)


class MinibatchDiscriminator(nn.Module):
    """course.gan's D with a :class:`MinibatchDiscrimination` layer before its output: logits (N,)."""

    def __init__(self, data_dim: int, hidden: int = 32, depth: int = 2, kernels: int = 5, kernel_dim: int = 3):
        super().__init__()
        self.body = hidden_body(data_dim, hidden, depth)  # (N, hidden)
        self.minibatch = MinibatchDiscrimination(hidden, kernels, kernel_dim)  # (N, hidden + kernels)
        self.head = nn.Linear(hidden + kernels, 1)  # (N, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.minibatch(F.leaky_relu(self.body(x), 0.2))).squeeze(-1)


class HistoricalAverage:
    """The running mean of a module's past parameters and the penalty ||theta - mean||^2 towards it.

    Call :meth:`update` after each optimiser step; the first update only records the start.
    """

    def __init__(self, module: nn.Module):
        self.module = module
        self.average = [p.detach().clone() for p in module.parameters()]
        self.count = 1

    def penalty(self) -> torch.Tensor:
        return sum((p - a).pow(2).sum() for p, a in zip(self.module.parameters(), self.average))

    @torch.no_grad()
    def update(self) -> None:
        self.count += 1
        for p, a in zip(self.module.parameters(), self.average):
            a += (p.detach() - a) / self.count


def virtual_batch_norm(x: torch.Tensor, reference: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each row of x (N, F) normalised with the mean and biased variance of the reference batch (R, F) plus that
    row alone, as batch norm would normalise it in a batch of the R + 1 samples: (N, F)."""
    guard.reference_guard()
    share = 1.0 / (len(reference) + 1)  # x_i's weight among the R + 1 samples
    mean = (1 - share) * reference.mean(dim=0) + share * x  # (N, F): one mean per sample
    square = (1 - share) * reference.pow(2).mean(dim=0) + share * x.pow(2)  # (N, F)
    variance = (square - mean.pow(2)).clamp_min(0)
    return (x - mean) / torch.sqrt(variance + eps)


class VirtualBatchNorm(nn.Module):
    """Virtual batch normalisation of (N, F) activations against a reference batch's statistics
    (:func:`virtual_batch_norm`), then scaled and shifted by gamma and beta as in batch norm.

    ``forward(x, reference)``: ``reference`` is the same layer's input for the reference batch (R, F).
    """

    def __init__(self, features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(features))
        self.beta = nn.Parameter(torch.zeros(features))

    def forward(self, x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return virtual_batch_norm(x, reference, self.eps) * self.gamma + self.beta

    def normalise_reference(self, reference: torch.Tensor) -> torch.Tensor:
        """The reference batch itself, by plain batch norm over its own statistics (biased variance)."""
        mean, variance = reference.mean(dim=0), reference.var(dim=0, unbiased=False)
        return (reference - mean) / torch.sqrt(variance + self.eps) * self.gamma + self.beta


class VBNGenerator(nn.Module):
    """course.gan's G with virtual batch norm after each hidden linear layer.

    A fixed reference noise batch goes through the same layers on every call; each layer normalises
    the real input against the reference's own (batch-normalised) activations there.
    """

    def __init__(self, noise_dim: int, data_dim: int, hidden: int = 32, depth: int = 2, reference_size: int = 128):
        super().__init__()
        self.noise_dim = noise_dim
        widths = [noise_dim] + [hidden] * depth
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))  # (N, hidden) each
        self.norms = nn.ModuleList(VirtualBatchNorm(hidden) for _ in range(depth))
        self.out = nn.Linear(hidden, data_dim)  # (N, data_dim)
        self.register_buffer("reference_noise", torch.randn(reference_size, noise_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h, reference = z, self.reference_noise
        for linear, norm in zip(self.linears, self.norms):
            h, reference = linear(h), linear(reference)
            # the reference batch is normalised by plain batch norm, then feeds the next layer
            h, reference = torch.relu(norm(h, reference)), torch.relu(norm.normalise_reference(reference))
        return self.out(h)


class CodedGenerator(nn.Module):
    """G(z, c): course.gan's G on z with the one-hot of a class or code c appended (CGAN, InfoGAN)."""

    def __init__(self, noise_dim: int, data_dim: int, classes: int, hidden: int = 32, depth: int = 2):
        super().__init__()
        self.noise_dim, self.classes = noise_dim, classes
        self.net = Generator(noise_dim + classes, data_dim, hidden, depth)

    def forward(self, z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        guard.reference_guard()
        return self.net(with_one_hot(z, codes, self.classes))  # (N, data_dim)


class ConditionalDiscriminator(nn.Module):
    """D(x, y): course.gan's D on x with the one-hot of its class y appended; logits (N,)."""

    def __init__(self, data_dim: int, classes: int, hidden: int = 32, depth: int = 2):
        super().__init__()
        self.classes = classes
        self.net = Discriminator(data_dim + classes, hidden, depth)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        guard.reference_guard()
        return self.net(with_one_hot(x, labels, self.classes))


class InfoDiscriminator(nn.Module):
    """InfoGAN's D: one body, two heads: D's logit (N,) and Q's logits for the code (N, codes)."""

    def __init__(self, data_dim: int, codes: int, hidden: int = 32, depth: int = 2):
        super().__init__()
        self.body = nn.Sequential(hidden_body(data_dim, hidden, depth), nn.LeakyReLU(0.2))  # (N, hidden)
        self.d_head = nn.Linear(hidden, 1)  # (N, 1)
        self.q_head = nn.Linear(hidden, codes)  # (N, codes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.d_head(self.body(x)).squeeze(-1)

    def both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.d_head(features).squeeze(-1), self.q_head(features)


class AutoencoderDiscriminator(nn.Module):
    """EBGAN's D: an autoencoder; its output is the energy E(x) = mean squared reconstruction error (N,)."""

    def __init__(self, data_dim: int, hidden: int = 32, depth: int = 2, code: int | None = None):
        super().__init__()
        code = code or hidden
        self.encoder = nn.Sequential(mlp(data_dim, code, hidden, depth, nn.ReLU))  # (N, code)
        self.decoder = nn.Sequential(nn.ReLU(), mlp(code, data_dim, hidden, depth, nn.ReLU))  # (N, data_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.energy_and_code(x)[0]

    def energy_and_code(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        code = self.encoder(x)
        return (self.decoder(code) - x).pow(2).mean(dim=1), code
