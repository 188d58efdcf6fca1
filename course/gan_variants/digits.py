"""The 8x8 digits as a target of CGAN and InfoGAN, how the digits classifier reads what they generate, and the
loop that trains lab 07's CGAN step on them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from course.autoencoders import as_quality_images
from course.data import digits
from course.digit_quality import digits_classifier
from course.gan.seeds import SEED_OFFSETS, stream
from course.gan.targets import as_generator, sample_noise
from course.gan_variants.trainer import VariantTrainer
from course.image_data import to_unit_range
from course.repro import single_cpu_thread
from course.training import predict_classes


class DigitsTarget:
    """scikit-learn's 8x8 digits (train split) as 64-D points in [-1, 1], row by row, with their classes.

    The same protocol as course.gan's targets (``sample``, ``sample_labeled``, ``dim``, ``classes``),
    so a :class:`VariantTrainer` trains on it unchanged; :meth:`to_images` scales samples up to the
    32x32 images the kit's digits classifier (course.digit_quality) scores, as the DCGAN's data are.
    """

    name = "digits"
    dim = 64
    classes = 10

    def __init__(self):
        images, labels, _, _ = digits()
        self.points = to_unit_range(images.reshape(len(images), -1))  # (N, 64)
        self.labels = labels

    def sample_labeled(self, n: int, generator: torch.Generator | int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.randint(len(self.points), (n,), generator=as_generator(generator))
        return self.points[index], self.labels[index]

    def sample(self, n: int, generator: torch.Generator | int | None = None) -> torch.Tensor:
        return self.sample_labeled(n, generator)[0]

    @staticmethod
    def to_images(points: torch.Tensor, image_size: int = 32) -> torch.Tensor:
        """(N, 64) points in [-1, 1] to (N, 1, S, S) images in [-1, 1], scaled up as the DCGAN's digits are."""
        return as_quality_images((points.float() + 1) / 2, image_size)


@dataclass(frozen=True)
class CodeConfusion:
    """counts[c, k]: how many samples generated with code (or requested class) c the classifier calls digit k."""

    counts: torch.Tensor

    @property
    def samples(self) -> int:
        return int(self.counts.sum())

    @property
    def agreement(self) -> float:
        """CGAN: the share of samples classified as the class they were generated for (the diagonal)."""
        return self.counts.diagonal().sum().item() / self.samples

    @property
    def purity(self) -> float:
        """InfoGAN: the share of samples that fall in their code's most frequent digit."""
        return self.counts.max(dim=1).values.sum().item() / self.samples

    @property
    def matched_accuracy(self) -> float:
        """InfoGAN: agreement under the best one-to-one renaming of codes to digits (Hungarian algorithm)."""
        rows, columns = linear_sum_assignment(-self.counts.numpy())
        return self.counts[rows, columns].sum().item() / self.samples

    @property
    def mutual_information(self) -> float:
        """I(code; digit) in bits, from the counts: 0 when the code says nothing, log2(10) at most."""
        joint = self.counts.double() / self.samples
        outer = joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True)
        present = joint > 0
        return (joint[present] * torch.log2(joint[present] / outer[present])).sum().item()


def code_confusion(trainer: VariantTrainer, per_code: int = 100, seed: int = 0, classifier=None) -> CodeConfusion:
    """Generate ``per_code`` digits for each code or class and count what the digits classifier calls them."""
    if not trainer.codes:
        raise ValueError(f"{trainer.variant.name} has no codes to compare with the classifier")
    codes = torch.arange(trainer.codes).repeat_interleave(per_code)
    points = trainer.generate(len(codes), seed=seed, codes=codes)
    predicted = predict_classes(classifier or digits_classifier(), DigitsTarget.to_images(points))
    counts = torch.zeros(trainer.codes, DigitsTarget.classes, dtype=torch.long)
    counts.index_put_((codes, predicted.cpu()), torch.ones(len(codes), dtype=torch.long), accumulate=True)
    return CodeConfusion(counts)


def train_with_cgan_step(step, generator: nn.Module, discriminator: nn.Module, g_optimizer: torch.optim.Optimizer,
                         d_optimizer: torch.optim.Optimizer, steps: int = 1000, noise_dim: int = 16,
                         batch_size: int = 128, seed: int = 0) -> None:
    """Lab 07, exercise 7: ``steps`` calls of the student's ``step`` (``cgan_step``) train the players in place,
    on batches of :class:`DigitsTarget` with noise and requested classes drawn from generators seeded by
    ``seed``, on one CPU thread. The test runs it where the student's code runs
    (:func:`course.judging.in_kernel`): a thousand calls over the wire would take minutes.
    """
    target = DigitsTarget()
    data_rng, noise_rng = stream(seed, SEED_OFFSETS.data), stream(seed, SEED_OFFSETS.noise)
    with single_cpu_thread(torch.device("cpu")):  # small models train fastest on one thread
        for _ in range(steps):
            real, labels = target.sample_labeled(batch_size, data_rng)
            noise = sample_noise(batch_size, noise_dim, noise_rng)
            codes = torch.randint(DigitsTarget.classes, (batch_size,), generator=noise_rng)
            step(generator, discriminator, g_optimizer, d_optimizer, real, labels, noise, codes)
