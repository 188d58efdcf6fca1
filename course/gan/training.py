"""The seeded trainer of a toy GAN, its per-step history and the generator's gradient field."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from course.gan import GENERATOR_LOSSES, Discriminator, Generator, StepStats, alternating_step, generator_loss
from course.gan.measures import sliced_wasserstein
from course.gan.seeds import SEED_OFFSETS, stream
from course.gan.targets import Target, sample_noise
from course.repro import pick_device, single_cpu_thread


@dataclass
class GANHistory:
    """Per step: the losses, mean D(x) and mean D(G(z)); every ``eval_every`` steps: the distance."""

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    real_verdict: list[float] = field(default_factory=list)
    fake_verdict: list[float] = field(default_factory=list)
    distance_steps: list[int] = field(default_factory=list)
    distance: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.d_loss)

    def record(self, stats: list[StepStats]) -> None:
        """Append the measurements of some steps, read from the device in one transfer."""
        if not stats:
            return
        table = torch.stack([torch.stack([s.d_loss, s.g_loss, s.real_verdict, s.fake_verdict]).float() for s in stats]).cpu()
        for column, values in zip((self.d_loss, self.g_loss, self.real_verdict, self.fake_verdict), table.T.tolist()):
            column.extend(values)


class GANTrainer:
    """A generator and a discriminator for ``target``, with their optimisers, trained step by step.

    Everything random is seeded by ``seed`` without touching the global generators: the initial
    weights by ``seed`` itself, the real batches, the noise and the fixed evaluation samples by their
    streams of course.gan.seeds; the same arguments give the same run. Models and batches live on
    ``device`` (``pick_device()`` by default) and the forward passes run under autocast on CUDA. ``step(n)`` trains on; ``history`` holds what was measured.

    Defaults suit 1-D targets: Adam with beta1 = 0.5 (as DCGAN) and the non-saturating G loss.
    ``lr_decay_steps`` anneals both learning rates linearly to zero over that many steps: the two players
    circle the equilibrium rather than settle on it, and a shrinking step lets them settle (None: constant).
    """

    def __init__(self, target: Target, *, noise_dim: int = 4, hidden: int = 32, depth: int = 2,
                 batch_size: int = 256, d_steps: int = 1, lr_d: float = 2e-3, lr_g: float = 2e-3,
                 betas: tuple[float, float] = (0.5, 0.999), real_label: float = 1.0,
                 generator_loss_kind: str = "non-saturating", seed: int = 0, device: torch.device | str | None = None,
                 eval_samples: int = 2000, lr_decay_steps: int | None = None):
        if generator_loss_kind not in GENERATOR_LOSSES:
            raise ValueError(f"generator_loss_kind={generator_loss_kind!r}; choose one of {GENERATOR_LOSSES}")
        if batch_size < 1 or d_steps < 1:
            raise ValueError(f"batch_size={batch_size}, d_steps={d_steps}: both must be at least 1")
        if lr_decay_steps is not None and lr_decay_steps < 1:
            raise ValueError(f"lr_decay_steps={lr_decay_steps}: give a number of steps (at least 1), or None for constant rates")
        self.target, self.batch_size, self.d_steps = target, batch_size, d_steps
        self.real_label, self.generator_loss_kind, self.seed = real_label, generator_loss_kind, seed
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
        self._data_rng = stream(seed, SEED_OFFSETS.data)
        self._noise_rng = stream(seed, SEED_OFFSETS.noise)
        # fixed evaluation samples, so the distance curve measures G and not sampling luck
        self._eval_target = target.sample(eval_samples, generator=stream(seed, SEED_OFFSETS.eval_target))
        self._eval_noise = sample_noise(eval_samples, noise_dim, generator=stream(seed, SEED_OFFSETS.eval_noise))
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
                                real, d_noise, self._noise_batch(), self.real_label, self.generator_loss_kind)

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
    def discriminator_view(self, x: torch.Tensor) -> torch.Tensor:
        """What D says of the points x of shape (N, dim) (or (N,) in 1-D), higher meaning "real": here the
        probability D(x) = sigmoid(logit), on the CPU, shape (N,); topic 07's trainer gives its variant's view."""
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
                             generator_loss_kind: str = "non-saturating") -> torch.Tensor:
    """-dl_G/dx at each point x taken as a fake: the direction in which G's loss pushes that sample.

    l_G is one sample's generator loss of ``generator_loss_kind`` (the batch loss is their mean), so the arrows do not
    shrink as the batch grows. Where the discriminator says "fake" the non-saturating arrows are long
    and the saturating ones nearly vanish. ``points`` is (N, dim) (or (N,) in 1-D); the result is
    (N, dim) float32 on the CPU, in full precision, and D's parameter gradients are left untouched.
    """
    device = next(discriminator.parameters()).device
    x = torch.as_tensor(points, dtype=torch.float32).detach()
    x = x.reshape(len(x), -1).to(device).requires_grad_(True)  # (N, dim)
    with torch.enable_grad():
        per_sample_sum = generator_loss(discriminator(x), generator_loss_kind) * len(x)
        (gradient,) = torch.autograd.grad(per_sample_sum, x)
    return -gradient.float().cpu()
