"""The GAN core that topics 04 (objective and playground), 05 (BCE) and 06 (DCGAN) share.

A generative adversarial network (生成式对抗网络, GAN) pits a generator (生成器) G, which
turns noise z into samples, against a discriminator (判别器) D, which scores how real a sample
looks. Here:

* **targets**: the distributions G learns, each with a seeded sampler — 1-D Gaussian and
  mixture, and the 2-D ring of 8 Gaussians, 5x5 grid and spiral of GAN playgrounds;
* **models**: small MLPs; the discriminator returns *logits* (D(x) = sigmoid(logit));
* **losses**: the discriminator's and the generator's (saturating and non-saturating) losses,
  written as binary cross-entropy (course.bce) with real -> 1 and fake -> 0;
* **training**: one alternating step (k discriminator steps, then one generator step) and a
  seeded, device-ready trainer that records losses, D(x), D(G(z)) and a distance to the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from course.bce import bce_from_logits
from course.repro import autocast, pick_device, single_cpu_thread

GENERATOR_LOSSES = ("non-saturating", "saturating")

# the values at the equilibrium p_g = p_data, where D(x) = D(G(z)) = 1/2 everywhere
EQUILIBRIUM_D = 0.5
EQUILIBRIUM_D_LOSS = 2 * math.log(2)  # -log 1/2 - log(1 - 1/2)
EQUILIBRIUM_G_LOSS = {"non-saturating": math.log(2), "saturating": -math.log(2)}  # -log 1/2, log(1 - 1/2)


# -- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaussianMixture:
    """A mixture of isotropic Gaussians in ``dim`` dimensions: one Gaussian is a mixture of one.

    ``means`` is (K, dim), ``stds`` and ``weights`` are (K,). ``sample`` draws float32 samples
    of shape (n, dim) from a ``torch.Generator`` (seeded by the caller) or from a seed.
    """

    means: torch.Tensor
    stds: torch.Tensor
    weights: torch.Tensor
    name: str = "mixture"

    def __post_init__(self):
        means = torch.as_tensor(self.means, dtype=torch.float64)
        means = means[:, None] if means.dim() == 1 else means
        count = means.shape[0]
        stds = torch.as_tensor(self.stds, dtype=torch.float64).expand(count).clone()
        weights = torch.as_tensor(self.weights, dtype=torch.float64).expand(count).clone()
        if (stds <= 0).any() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("stds must be positive and weights non-negative with a positive sum")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "stds", stds)
        object.__setattr__(self, "weights", weights / weights.sum())

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def classes(self) -> int:
        """The number of components: the labels :meth:`sample_labeled` returns are 0 .. classes - 1."""
        return self.means.shape[0]

    def sample(self, n: int, generator: torch.Generator | int | None = None) -> torch.Tensor:
        """``n`` samples, (n, dim) float32 on the CPU; ``generator`` may be a seed."""
        return self.sample_labeled(n, generator)[0]

    def sample_labeled(self, n: int, generator: torch.Generator | int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` samples (n, dim) and the component each came from (n,) int64, e.g. a CGAN's condition."""
        generator = _as_generator(generator)
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        return (self.means[component] + self.stds[component, None] * noise).float(), component

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) for x of shape (n, dim) (or (n,) when dim is 1); float64, shape (n,)."""
        x = torch.as_tensor(x, dtype=torch.float64).reshape(-1, self.dim)
        squared = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)  # (n, K)
        log_normal = -squared / (2 * self.stds**2) - self.dim * torch.log(self.stds * math.sqrt(2 * math.pi))
        return torch.logsumexp(torch.log(self.weights) + log_normal, dim=1)

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """p(x), e.g. to draw p_data or the optimal discriminator p_data / (p_data + p_g)."""
        return self.log_prob(x).exp()

    def nearest_mode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For each sample: the index of the closest mean and the distance to it in that mode's stds."""
        x = torch.as_tensor(x, dtype=torch.float64).reshape(-1, self.dim)
        distance = torch.cdist(x, self.means)  # (n, K)
        closest = distance.argmin(dim=1)
        return closest, distance.gather(1, closest[:, None])[:, 0] / self.stds[closest]


@dataclass(frozen=True)
class Spiral:
    """A 2-D spiral: points along r = radius * t, angle = 2 pi turns t for t in [0.1, 1], plus noise."""

    turns: float = 1.5
    radius: float = 2.0
    noise: float = 0.05
    name: str = "spiral"
    dim: int = 2

    def sample(self, n: int, generator: torch.Generator | int | None = None) -> torch.Tensor:
        generator = _as_generator(generator)
        t = 0.1 + 0.9 * torch.rand(n, generator=generator, dtype=torch.float64)
        angle = 2 * math.pi * self.turns * t
        points = self.radius * t[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
        return (points + self.noise * torch.randn(n, 2, generator=generator, dtype=torch.float64)).float()


Target = GaussianMixture | Spiral


def _as_generator(generator: torch.Generator | int | None) -> torch.Generator | None:
    if isinstance(generator, int):
        return torch.Generator().manual_seed(generator)
    return generator


def gaussian_1d(mean: float = 4.0, std: float = 1.25) -> GaussianMixture:
    """One 1-D Gaussian N(mean, std^2): the classic first target of a GAN."""
    return GaussianMixture([[mean]], [std], [1.0], name="gaussian")


def mixture_1d(means=(-2.0, 2.0), std: float = 0.5, weights=None) -> GaussianMixture:
    """A 1-D mixture of Gaussians of equal ``std`` (equal weights unless given): two modes by default."""
    means = torch.tensor(means, dtype=torch.float64)[:, None]
    weights = [1.0] * len(means) if weights is None else weights
    return GaussianMixture(means, [std], weights, name="mixture")


def ring_2d(modes: int = 8, radius: float = 2.0, std: float = 0.02) -> GaussianMixture:
    """``modes`` tight Gaussians equally spaced on a circle: the mode-collapse test of GAN papers.

    The defaults are the Unrolled GAN and VEEGAN benchmark: 8 modes on a circle of radius 2, std 0.02.
    """
    angle = torch.arange(modes, dtype=torch.float64) * 2 * math.pi / modes
    means = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return GaussianMixture(means, [std], [1.0] * modes, name="ring")


def grid_2d(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """A side x side grid of Gaussians centred on the origin, ``spacing`` apart.

    The defaults are the VEEGAN (and PacGAN) benchmark: 25 modes at {-4, -2, 0, 2, 4}^2, std 0.05.
    """
    ticks = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    means = torch.cartesian_prod(ticks, ticks)
    return GaussianMixture(means, [std], [1.0] * (side * side), name="grid")


TARGETS: dict[str, Callable[..., Target]] = {
    "gaussian": gaussian_1d,
    "mixture": mixture_1d,
    "ring": ring_2d,
    "grid": grid_2d,
    "spiral": Spiral,
}


def make_target(name: str, **kwargs) -> Target:
    """A target by name (``TARGETS``), with its keyword arguments."""
    try:
        factory = TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; choose one of {sorted(TARGETS)}") from None
    return factory(**kwargs)


def sample_noise(n: int, noise_dim: int, generator: torch.Generator | int | None = None) -> torch.Tensor:
    """The generator's input: standard normal noise z of shape (n, noise_dim), float32 on the CPU."""
    return torch.randn(n, noise_dim, generator=_as_generator(generator))


# -- models ---------------------------------------------------------------------------------


def mlp(in_features: int, out_features: int, hidden: int = 32, depth: int = 2,
        activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Sequential:
    """``depth`` hidden layers of ``hidden`` units with ``activation``, then a linear output layer."""
    if depth < 1 or hidden < 1:
        raise ValueError(f"depth={depth}, hidden={hidden}: need at least one hidden layer of one unit")
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]  # (N, hidden)
        width = hidden
    layers.append(nn.Linear(width, out_features))  # (N, out_features)
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """G(z): noise of shape (N, noise_dim) to samples of shape (N, data_dim), through a small MLP."""

    def __init__(self, noise_dim: int = 1, data_dim: int = 1, hidden: int = 32, depth: int = 2,
                 activation: Callable[[], nn.Module] = nn.ReLU):
        super().__init__()
        self.noise_dim, self.data_dim = noise_dim, data_dim
        self.net = mlp(noise_dim, data_dim, hidden, depth, activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)  # (N, data_dim)


class Discriminator(nn.Module):
    """D's logit for samples (N, data_dim): shape (N,). D(x) = sigmoid(logit) is P(real | x).

    Returning the logit, not the probability, lets the losses use the stable BCE-from-logits form.
    """

    def __init__(self, data_dim: int = 1, hidden: int = 32, depth: int = 2,
                 activation: Callable[[], nn.Module] = lambda: nn.LeakyReLU(0.2)):
        super().__init__()
        self.data_dim = data_dim
        self.net = mlp(data_dim, 1, hidden, depth, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)  # (N,)


# -- losses, all binary cross-entropy ----------------------------------------------------------


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """BCE(D(x), real_label) + BCE(D(G(z)), 0), each a mean over its batch.

    With ``real_label = 1`` this is exactly -V(D, G), the minus the value D maximises:
    -(mean log D(x) + mean log(1 - D(G(z)))). ``real_label = 0.9`` is one-sided label smoothing
    (单边标签平滑): only the real label is softened, the fake label stays 0.
    """
    real_loss = bce_from_logits(real_logits.float(), torch.full_like(real_logits, real_label, dtype=torch.float32))
    fake_loss = bce_from_logits(fake_logits.float(), torch.zeros_like(fake_logits, dtype=torch.float32))
    return real_loss + fake_loss


def generator_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """mean log(1 - D(G(z))) = -BCE(D(G(z)), 0): the minimax game's own generator loss.

    Its gradient w.r.t. the logit is -D(G(z)): nearly zero exactly when D rejects the fakes,
    i.e. early in training, when G needs it most (the loss saturates).
    """
    return -bce_from_logits(fake_logits.float(), torch.zeros_like(fake_logits, dtype=torch.float32))


def generator_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean log D(G(z)) = BCE(D(G(z)), 1): label the fakes "real" and minimise the usual BCE.

    Its gradient w.r.t. the logit is -(1 - D(G(z))): strongest when D rejects the fakes.
    """
    return bce_from_logits(fake_logits.float(), torch.ones_like(fake_logits, dtype=torch.float32))


def generator_loss(fake_logits: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """The generator loss of ``kind`` ("non-saturating" or "saturating")."""
    if kind == "non-saturating":
        return generator_loss_non_saturating(fake_logits)
    if kind == "saturating":
        return generator_loss_saturating(fake_logits)
    raise ValueError(f"kind={kind!r}; choose one of {GENERATOR_LOSSES}")


# -- one alternating step ------------------------------------------------------------------------


@dataclass(frozen=True)
class StepStats:
    """What one alternating step measured, as 0-d tensors (no GPU sync until read).

    ``d_loss``, ``d_real`` (mean D(x)) and ``d_fake`` (mean D(G(z))) come from the last
    discriminator step, before its update; ``g_loss`` from the generator step.
    """

    d_loss: torch.Tensor
    g_loss: torch.Tensor
    d_real: torch.Tensor
    d_fake: torch.Tensor


def discriminator_step(generator: nn.Module, discriminator: nn.Module, d_optimizer: torch.optim.Optimizer,
                       real: torch.Tensor, noise: torch.Tensor, real_label: float = 1.0):
    """One update of D on a real batch and a fake batch; G is not updated (its output is detached).

    Returns (loss, mean D(x), mean D(G(z))), detached, measured before the update.
    """
    with autocast(real.device):
        fake = generator(noise)  # (N, data_dim)
        real_logits = discriminator(real)  # (N,)
        fake_logits = discriminator(fake.detach())  # (N,): no gradient flows back into G
    loss = discriminator_loss(real_logits, fake_logits, real_label)
    d_optimizer.zero_grad(set_to_none=True)
    loss.backward()
    d_optimizer.step()
    return (loss.detach(), torch.sigmoid(real_logits.detach().float()).mean(),
            torch.sigmoid(fake_logits.detach().float()).mean())


def generator_step(generator: nn.Module, discriminator: nn.Module, g_optimizer: torch.optim.Optimizer,
                   noise: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """One update of G through the (current) discriminator; D's parameters get gradients but no step.

    Those stray gradients in D are harmless: the next discriminator step zeroes them first.
    """
    with autocast(noise.device):
        fake_logits = discriminator(generator(noise))  # (N,)
    loss = generator_loss(fake_logits, kind)
    g_optimizer.zero_grad(set_to_none=True)
    loss.backward()
    g_optimizer.step()
    return loss.detach()


def alternating_step(generator: nn.Module, discriminator: nn.Module, g_optimizer: torch.optim.Optimizer,
                     d_optimizer: torch.optim.Optimizer, real_batches, d_noise_batches, g_noise: torch.Tensor,
                     real_label: float = 1.0, kind: str = "non-saturating") -> StepStats:
    """k discriminator steps (one per real batch and noise batch), then one generator step.

    The seeds' algorithm: D is trained k times with G held fixed, then G once with D held fixed.
    """
    if len(real_batches) != len(d_noise_batches) or not real_batches:
        raise ValueError("give as many noise batches as real batches, and at least one of each")
    for real, noise in zip(real_batches, d_noise_batches):
        d_loss, d_real, d_fake = discriminator_step(generator, discriminator, d_optimizer, real, noise, real_label)
    g_loss = generator_step(generator, discriminator, g_optimizer, g_noise, kind)
    return StepStats(d_loss, g_loss, d_real, d_fake)


# -- mode collapse, measured -------------------------------------------------------------------

HIGH_QUALITY_STDS = 3.0
MODE_SAMPLES = 2500


@dataclass(frozen=True)
class ModeCoverage:
    """How a sample covers the modes of a mixture, as the VEEGAN paper measures it.

    A sample is *high quality* when it lies within ``threshold`` standard deviations of its nearest
    mode; a mode is *covered* when it is the nearest mode of at least one high-quality sample.
    ``counts[k]`` is the number of high-quality samples whose nearest mode is k.
    """

    counts: torch.Tensor
    samples: int
    threshold: float

    @property
    def modes(self) -> int:
        return len(self.counts)

    @property
    def modes_covered(self) -> int:
        return int((self.counts > 0).sum())

    @property
    def high_quality_share(self) -> float:
        return self.counts.sum().item() / self.samples


def mode_coverage(samples: torch.Tensor, mixture: GaussianMixture,
                  threshold: float = HIGH_QUALITY_STDS) -> ModeCoverage:
    """Modes covered and high-quality share of ``samples`` (n, dim) against a Gaussian ``mixture``.

    The definitions of the GAN literature on the ring and grid benchmarks (VEEGAN, PacGAN, which
    report Unrolled GAN with them too): 3 standard deviations, on 2,500 samples (``MODE_SAMPLES``).
    """
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(f"modes are defined for a GaussianMixture target, not {type(mixture).__name__}")
    samples = torch.as_tensor(samples).detach().cpu()
    if samples.numel() == 0:
        raise ValueError("give at least one sample")
    closest, in_stds = mixture.nearest_mode(samples)
    high_quality = in_stds <= threshold
    counts = torch.bincount(closest[high_quality], minlength=mixture.means.shape[0])
    return ModeCoverage(counts, len(closest), threshold)


# -- distances between samples --------------------------------------------------------------------


def wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> float:
    """The Wasserstein-1 (earth mover's) distance between two 1-D samples.

    It is the area between the two empirical CDFs; for samples of equal size it reduces to the
    mean absolute difference of the sorted values, mean |sort(a) - sort(b)|.
    """
    a = torch.as_tensor(a, dtype=torch.float64).detach().cpu().reshape(-1)
    b = torch.as_tensor(b, dtype=torch.float64).detach().cpu().reshape(-1)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("both samples need at least one value")
    if len(a) == len(b):
        return (a.sort().values - b.sort().values).abs().mean().item()
    a, b = a.sort().values, b.sort().values
    points = torch.cat([a, b]).sort().values
    widths = points.diff()
    cdf_a = torch.searchsorted(a, points[:-1], right=True).double() / len(a)
    cdf_b = torch.searchsorted(b, points[:-1], right=True).double() / len(b)
    return ((cdf_a - cdf_b).abs() * widths).sum().item()


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = 64, seed: int = 0) -> float:
    """Mean 1-D Wasserstein distance of the samples projected on ``projections`` random directions.

    For 1-D samples it is :func:`wasserstein_1d`; in 2-D it tells how far generated points lie from the
    target (a collapsed generator that covers one mode of the ring scores badly).
    """
    a = torch.as_tensor(a, dtype=torch.float64).detach().cpu()
    b = torch.as_tensor(b, dtype=torch.float64).detach().cpu()
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if a.shape[1] == 1:
        return wasserstein_1d(a, b)
    directions = torch.randn(a.shape[1], projections, generator=torch.Generator().manual_seed(seed),
                             dtype=torch.float64)
    directions /= directions.norm(dim=0, keepdim=True)
    projected_a, projected_b = a @ directions, b @ directions  # (n, projections)
    return sum(wasserstein_1d(projected_a[:, j], projected_b[:, j]) for j in range(projections)) / projections


# -- training -------------------------------------------------------------------------------------


@dataclass
class GANHistory:
    """Per step: the losses, mean D(x) and mean D(G(z)); every ``eval_every`` steps: the distance."""

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    distance_steps: list[int] = field(default_factory=list)
    distance: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.d_loss)

    def record(self, stats: list[StepStats]) -> None:
        """Append the measurements of some steps, read from the device in one transfer."""
        if not stats:
            return
        table = torch.stack([torch.stack([s.d_loss, s.g_loss, s.d_real, s.d_fake]).float() for s in stats]).cpu()
        for column, values in zip((self.d_loss, self.g_loss, self.d_real, self.d_fake), table.T.tolist()):
            column.extend(values)


class GANTrainer:
    """A generator and a discriminator for ``target``, with their optimisers, trained step by step.

    Everything random is seeded by ``seed`` without touching the global generators: the initial
    weights, the real batches (``seed + 1``) and the noise (``seed + 2``); the same arguments give
    the same run. Models and batches live on ``device`` (``pick_device()`` by default) and the forward
    passes run under autocast on CUDA. ``step(n)`` trains on; ``history`` holds what was measured.

    Defaults suit 1-D targets: Adam with beta1 = 0.5 (as DCGAN) and the non-saturating G loss.
    ``lr_decay_steps`` anneals both learning rates linearly to zero over that many steps: the two players
    circle the equilibrium rather than settle on it, and a shrinking step lets them settle (None: constant).
    """

    def __init__(self, target: Target, *, noise_dim: int = 4, hidden: int = 32, depth: int = 2,
                 batch_size: int = 256, d_steps: int = 1, lr_d: float = 2e-3, lr_g: float = 2e-3,
                 betas: tuple[float, float] = (0.5, 0.999), real_label: float = 1.0,
                 kind: str = "non-saturating", seed: int = 0, device: torch.device | str | None = None,
                 eval_samples: int = 2000, lr_decay_steps: int | None = None):
        if kind not in GENERATOR_LOSSES:
            raise ValueError(f"kind={kind!r}; choose one of {GENERATOR_LOSSES}")
        if batch_size < 1 or d_steps < 1:
            raise ValueError(f"batch_size={batch_size}, d_steps={d_steps}: both must be at least 1")
        if lr_decay_steps is not None and lr_decay_steps < 1:
            raise ValueError(f"lr_decay_steps={lr_decay_steps}: give a number of steps (at least 1), or None for constant rates")
        self.target, self.batch_size, self.d_steps = target, batch_size, d_steps
        self.real_label, self.kind, self.seed = real_label, kind, seed
        self._noise_dim = noise_dim
        self.device = torch.device(device) if device is not None else pick_device()
        with torch.random.fork_rng(devices=[]):  # seeded weights, global generator left as it was
            torch.manual_seed(seed)
            generator, discriminator = self._build_players(noise_dim, hidden, depth)
        self.generator, self.discriminator = generator.to(self.device), discriminator.to(self.device)
        self.g_optimizer, self.d_optimizer = self._build_optimizers(lr_g, lr_d, betas)
        self.lr_decay_steps = lr_decay_steps
        self._lr_schedules = [] if lr_decay_steps is None else [
            torch.optim.lr_scheduler.LambdaLR(optimizer, self.lr_factor) for optimizer in (self.g_optimizer, self.d_optimizer)]
        self._data_rng = torch.Generator().manual_seed(seed + 1)
        self._noise_rng = torch.Generator().manual_seed(seed + 2)
        # fixed evaluation samples, so the distance curve measures G and not sampling luck
        self._eval_target = target.sample(eval_samples, generator=seed + 3)
        self._eval_noise = sample_noise(eval_samples, noise_dim, generator=seed + 4)
        self.history = GANHistory()
        self._pending: list[StepStats] = []

    def _build_players(self, noise_dim: int, hidden: int, depth: int) -> tuple[nn.Module, nn.Module]:
        """G and D, built under the trainer's seed (topic 07's variants build their own)."""
        return Generator(noise_dim, self.target.dim, hidden, depth), Discriminator(self.target.dim, hidden, depth)

    def _build_optimizers(self, lr_g: float, lr_d: float, betas: tuple[float, float]):
        return (torch.optim.Adam(self.generator.parameters(), lr=lr_g, betas=betas),
                torch.optim.Adam(self.discriminator.parameters(), lr=lr_d, betas=betas))

    @property
    def noise_dim(self) -> int:
        return self._noise_dim

    def lr_factor(self, steps_done: int) -> float:
        """What the learning rates are multiplied by after ``steps_done`` steps: 1 - steps / lr_decay_steps, down to 0."""
        return 1.0 if self.lr_decay_steps is None else max(0.0, 1.0 - steps_done / self.lr_decay_steps)

    @property
    def steps_done(self) -> int:
        return len(self.history) + len(self._pending)

    def _real_batch(self) -> torch.Tensor:
        return self.target.sample(self.batch_size, generator=self._data_rng).to(self.device)

    def _noise_batch(self) -> torch.Tensor:
        return sample_noise(self.batch_size, self.noise_dim, generator=self._noise_rng).to(self.device)

    def step(self, n: int = 1) -> StepStats:
        """``n`` alternating steps (each: ``d_steps`` D updates, one G update); returns the last one's stats."""
        if n < 1:
            raise ValueError(f"n={n}: take at least one step")
        self.generator.train()
        self.discriminator.train()
        with single_cpu_thread(self.device):  # tiny models: extra CPU threads only wait on each other
            for _ in range(n):
                stats = self._train_step()
                self._pending.append(stats)
                for schedule in self._lr_schedules:
                    schedule.step()
        self._flush()
        return stats

    def _train_step(self) -> StepStats:
        real = [self._real_batch() for _ in range(self.d_steps)]
        d_noise = [self._noise_batch() for _ in range(self.d_steps)]
        return alternating_step(self.generator, self.discriminator, self.g_optimizer, self.d_optimizer,
                                real, d_noise, self._noise_batch(), self.real_label, self.kind)

    def _flush(self) -> None:
        # one transfer for the whole batch of steps instead of a GPU sync per step
        self.history.record(self._pending)
        self._pending = []

    @torch.no_grad()
    def generate(self, n: int | None = None, seed: int | None = None) -> torch.Tensor:
        """Samples G(z) on the CPU: ``n`` fresh ones from ``seed``, or by default the fixed evaluation set."""
        self.generator.eval()
        noise = self._eval_noise if n is None else sample_noise(n, self.noise_dim, generator=seed)
        return self.generator(noise.to(self.device)).float().cpu()

    @torch.no_grad()
    def discriminator_probability(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) = sigmoid(logit) for x of shape (N, dim) (or (N,) in 1-D), on the CPU: shape (N,)."""
        self.discriminator.eval()
        x = torch.as_tensor(x, dtype=torch.float32).reshape(-1, self.target.dim).to(self.device)
        return torch.sigmoid(self.discriminator(x).float()).cpu()

    def distance(self) -> float:
        """Distance between G's fixed evaluation samples and the target's: Wasserstein-1 in 1-D, sliced in 2-D."""
        return sliced_wasserstein(self.generate(), self._eval_target)

    def train(self, steps: int, eval_every: int = 100) -> GANHistory:
        """Take ``steps`` steps, recording the distance to the target every ``eval_every`` steps and at the end."""
        if steps < 1 or eval_every < 1:
            raise ValueError(f"steps={steps}, eval_every={eval_every}: both must be at least 1")
        if not self.history.distance_steps:
            self._record_distance()
        done = 0
        while done < steps:
            chunk = min(eval_every - self.steps_done % eval_every, steps - done)
            self.step(chunk)
            done += chunk
            if self.steps_done % eval_every == 0 or done == steps:
                self._record_distance()
        return self.history

    def _record_distance(self) -> None:
        if self.history.distance_steps and self.history.distance_steps[-1] == self.steps_done:
            return
        self.history.distance_steps.append(self.steps_done)
        self.history.distance.append(self.distance())


def train_gan(target: Target, steps: int = 1000, eval_every: int = 100, **trainer_options) -> GANTrainer:
    """Build a :class:`GANTrainer` (keyword options as there), train ``steps`` steps and return it."""
    trainer = GANTrainer(target, **trainer_options)
    trainer.train(steps, eval_every)
    return trainer


def generator_gradient_field(discriminator: nn.Module, points: torch.Tensor,
                             kind: str = "non-saturating") -> torch.Tensor:
    """-dl_G/dx at each point x taken as a fake: the direction in which G's loss pushes that sample.

    l_G is one sample's generator loss of ``kind`` (the batch loss is their mean), so the arrows do not
    shrink as the batch grows. Where the discriminator says "fake" the non-saturating arrows are long
    and the saturating ones nearly vanish. ``points`` is (N, dim) (or (N,) in 1-D); the result is
    (N, dim) float32 on the CPU, in full precision, and D's parameter gradients are left untouched.
    """
    device = next(discriminator.parameters()).device
    x = torch.as_tensor(points, dtype=torch.float32).detach()
    x = x.reshape(len(x), -1).to(device).requires_grad_(True)  # (N, dim)
    with torch.enable_grad():
        per_sample_sum = generator_loss(discriminator(x), kind) * len(x)
        (gradient,) = torch.autograd.grad(per_sample_sum, x)
    return -gradient.float().cpu()


# -- the mode-collapse benchmark ------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageRun:
    """Modes covered and high-quality share of one setting, one entry per seed."""

    label: str
    target: str
    modes: int
    modes_covered: tuple[int, ...]
    high_quality_share: tuple[float, ...]
    example: torch.Tensor | None = field(default=None, repr=False, compare=False)  # the first seed's samples

    @property
    def mean_modes_covered(self) -> float:
        return sum(self.modes_covered) / len(self.modes_covered)

    @property
    def mean_high_quality_share(self) -> float:
        return sum(self.high_quality_share) / len(self.high_quality_share)


def measure_mode_coverage(target: GaussianMixture, label: str, steps: int, seeds, samples: int = MODE_SAMPLES,
                          trainer: Callable[..., GANTrainer] | None = None, **trainer_options) -> CoverageRun:
    """Train one GAN per seed for ``steps`` steps and measure :func:`mode_coverage` on ``samples`` samples.

    ``trainer_options`` go to ``trainer`` (:class:`GANTrainer` by default; topic 07 passes its
    ``VariantTrainer``): loss kind, d_steps, learning rates, sizes. The generated samples come from
    noise seeded apart from training, so every seed is scored alike.
    """
    trainer = trainer or GANTrainer
    seeds = list(seeds)
    if not seeds or steps < 1:
        raise ValueError(f"steps={steps}, seeds={seeds}: need at least one step and one seed")
    covered, shares, generated = [], [], []
    for seed in seeds:
        run = trainer(target, seed=seed, **trainer_options)
        run.step(steps)
        generated.append(run.generate(samples, seed=10_000 + seed))
        coverage = mode_coverage(generated[-1], target)
        covered.append(coverage.modes_covered)
        shares.append(coverage.high_quality_share)
    return CoverageRun(label, target.name, coverage.modes, tuple(covered), tuple(shares), generated[0])


def coverage_table(runs: list[CoverageRun]) -> str:
    """A plain-text table of :class:`CoverageRun` results, means over seeds with the per-seed values."""
    lines = [f"{'target':<8}{'setting':<28}{'modes covered':>16}{'high quality':>14}   per seed (modes)"]
    for run in runs:
        covered = f"{run.mean_modes_covered:.1f} / {run.modes}"
        lines.append(f"{run.target:<8}{run.label:<28}{covered:>16}{run.mean_high_quality_share:>13.1%}"
                     f"   {', '.join(map(str, run.modes_covered))}")
    return "\n".join(lines)
