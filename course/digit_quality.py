"""How good are a DCGAN's digits? A small classifier trained in the kit scores them.

Generated images have no labels, so a classifier trained on real digits judges them, the way the
Inception score and the FID judge ImageNet-like samples with an Inception network:

* **confident share**: the share of samples whose top class probability exceeds
  ``CONFIDENCE_THRESHOLD`` (0.9), i.e. that look clearly like *some* digit;
* **classes covered**: how many of the ten digits appear among the confident samples' predicted
  classes (over ``COVERAGE_SAMPLES`` = 1,000 samples by convention); a generator in mode collapse
  (崩溃模式) covers few;
* **Fréchet distance** (FD, the "FID" of the literature with this classifier in place of Inception):
  Gaussians fitted to the classifier's penultimate-layer features of generated and of real digits,
  compared with ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)). It falls as the samples get both
  realistic and varied. Its estimate is biased upwards on small samples, so the report puts the
  real-versus-real figure (two disjoint halves of the real digits) beside it.

The classifier (``DigitsQualityNet``) sees 32x32 images in [-1, 1] with one channel, the DCGAN's
offline default data: scikit-learn's digits upscaled by ``course.image_data.digits_images``. It is
trained once per process and seed (cached), on one CPU thread; seed 0's, which every score
uses by default, ships with the kit (``course/shipped/digits_classifier.pt``, written by
``python -m course.shipped digits_classifier``) and is loaded instead while its settings are the code's.

A classifier trained on digits alone is sure of itself on anything: it calls a blank image a
confident "1". So that a generator cannot score with junk, the training set also holds *outliers*
(uniform noise, smooth noise blobs, flat grey images) with the uniform distribution over the ten
classes as their target, and *blends* of two digits of different classes (the pixel mean) with half of
each class as target ("outlier exposure" and a fixed form of mixup). Real digits keep their one-hot
targets.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from course.image_data import digits_images
from course.language import tr
from course.repro import pick_device, single_cpu_thread
from course.shipped import RESULTS, read_torch, write_torch
from course.training import predict_classes, train_epochs

IMAGE_SHAPE = (1, 32, 32)
CLASSES = 10
CONFIDENCE_THRESHOLD = 0.9  # a sample is "confident" when its top class probability exceeds this
COVERAGE_SAMPLES = 1000  # the convention for classes_covered: score 1,000 samples
FEATURES = 64  # width of the penultimate layer, the space the Fréchet distance lives in
TRAINING = {"epochs": 12, "batch_size": 64, "learning_rate": 2e-3}
OUTLIERS_PER_KIND = 300  # of each of the three kinds of junk
BLENDS = 600  # pairs drawn; those of equal classes are dropped
SHIPPED_SEED = 0  # the classifier every score uses by default, shipped trained (course.shipped)
JUNK_SEED_OFFSET = 1  # the outliers and blends draw from seed + 1; the weights and batches take the seed itself


class DigitsQualityNet(nn.Module):
    """A DCGAN-style classifier for (N, 1, 32, 32) digits: strided convolutions, no pooling."""

    def __init__(self, width: int = 16, features: int = FEATURES, classes: int = CLASSES):
        super().__init__()
        self.features = nn.Sequential(
            # input: (N, 1, 32, 32)
            nn.Conv2d(1, width, 4, 2, 1),  # (N, w, 16, 16)
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, 2, 1),  # (N, 2w, 8, 8)
            nn.ReLU(),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1),  # (N, 4w, 4, 4)
            nn.ReLU(),
            nn.Flatten(),  # (N, 4w * 16)
            nn.Linear(4 * width * 16, features),  # (N, features): the penultimate layer
            nn.ReLU(),
        )
        self.classifier = nn.Linear(features, classes)  # (N, classes): one logit per digit

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))


def check_images(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """``images`` as a float32 CPU tensor of shape (N, 1, 32, 32) with N >= 2, or a ValueError saying so."""
    images = torch.as_tensor(images)
    if images.dim() != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE or len(images) < 2:
        raise ValueError(f"{name} must have shape (N, 1, 32, 32) with N >= 2 (digits in [-1, 1], "
                         f"one channel, 32x32 pixels); got {tuple(images.shape)}")
    return images.detach().float().cpu()


def real_digits(split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """The real 32x32 digits in [-1, 1] of ``split`` ("train" or "test") and their labels."""
    dataset = digits_images(32, split)
    return dataset.tensors


def _smooth(noise: torch.Tensor, kernel: int = 7) -> torch.Tensor:
    """A box blur of (N, 1, S, S), rescaled so each image spans up to [-1, 1]: soft blobs of ink."""
    blurred = F.conv2d(noise, torch.full((1, 1, kernel, kernel), 1.0 / kernel**2), padding=kernel // 2)
    return (blurred / blurred.abs().amax(dim=(1, 2, 3), keepdim=True)).clamp(-1.0, 1.0)


def outlier_images(per_kind: int, generator: torch.Generator) -> torch.Tensor:
    """(3 * per_kind, 1, 32, 32) images that are no digit: uniform noise, smooth blobs, flat grey levels."""
    shape = (per_kind, *IMAGE_SHAPE)
    uniform = torch.rand(shape, generator=generator) * 2 - 1
    blobs = _smooth(torch.randn(shape, generator=generator))
    flat = (torch.rand(per_kind, 1, 1, 1, generator=generator) * 2 - 1).expand(shape)
    return torch.cat([uniform, blobs, flat])


def digit_blends(images: torch.Tensor, labels: torch.Tensor, pairs: int,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel means of random pairs of digits of different classes, with half of each class as target (M, 10)."""
    first = torch.randint(0, len(images), (pairs,), generator=generator)
    second = torch.randint(0, len(images), (pairs,), generator=generator)
    different = labels[first] != labels[second]
    first, second = first[different], second[different]
    targets = (F.one_hot(labels[first], CLASSES) + F.one_hot(labels[second], CLASSES)).float() / 2
    return (images[first] + images[second]) / 2, targets


def quality_training_set(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The classifier's training images and target distributions (N, 10): real digits, outliers, blends."""
    images, labels = real_digits("train")
    generator = torch.Generator().manual_seed(seed + JUNK_SEED_OFFSET)
    outliers = outlier_images(OUTLIERS_PER_KIND, generator)
    blends, blend_targets = digit_blends(images, labels, BLENDS, generator)
    targets = [F.one_hot(labels, CLASSES).float(), torch.full((len(outliers), CLASSES), 1.0 / CLASSES), blend_targets]
    return torch.cat([images, outliers, blends]), torch.cat(targets)


def digits_classifier(seed: int = 0) -> DigitsQualityNet:
    """The quality classifier, trained on the train split of the 32x32 digits; cached per process and seed.

    Trained by :func:`train_classifier`, or, for the shipped seed, loaded from the file it wrote. The cached
    model is shared by every caller: it is returned in eval mode with its parameters frozen
    (requires_grad False); do not train it further.
    """
    return _classifier(int(seed))  # one cache key per seed, however the caller spells it


def train_classifier(seed: int = 0, device: torch.device | str | None = None) -> DigitsQualityNet:
    """A fresh quality classifier: :func:`quality_training_set` with Adam and cross-entropy against target
    distributions, seeded (weights, outliers, blends, batch order), on one CPU thread when on the CPU."""
    device = pick_device() if device is None else torch.device(device)
    images, targets = quality_training_set(seed)
    with torch.random.fork_rng(devices=[]):  # seeded weights, the caller's generator left as it was
        torch.manual_seed(seed)
        model = DigitsQualityNet().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=TRAINING["learning_rate"])
    with single_cpu_thread(device):
        train_epochs(model, images, targets, F.cross_entropy, optimizer, TRAINING["epochs"],
                     TRAINING["batch_size"], device=device, seed=seed)
    return model


def classifier_settings(seed: int = SHIPPED_SEED) -> dict:
    """What a trained classifier depends on besides the code's architecture: a shipped one is used only while
    these are the code's."""
    return {"seed": seed, "training": TRAINING, "outliers_per_kind": OUTLIERS_PER_KIND, "blends": BLENDS,
            "features": FEATURES}


def compute() -> tuple[dict, dict]:
    """The shipped classifier (course.shipped): seed 0's weights, trained on the CPU, and their settings."""
    return train_classifier(SHIPPED_SEED, device="cpu").state_dict(), classifier_settings()


def save(path: Path, state: dict, made: dict) -> None:
    write_torch(path, {"state": state}, made)


def shipped_state(path: Path | None = None) -> dict | None:
    """The shipped classifier's weights, or None when the file is missing or its settings are not the code's."""
    path = path or RESULTS["digits_classifier"].path
    if not path.is_file():
        return None
    stored, made = read_torch(path)
    return stored["state"] if made["settings"] == classifier_settings() else None


@functools.lru_cache(maxsize=4)
def _classifier(seed: int) -> DigitsQualityNet:
    state = shipped_state() if seed == SHIPPED_SEED else None
    if state is None:
        model = train_classifier(seed)
    else:
        model = DigitsQualityNet()
        model.load_state_dict(state)
        model.to(pick_device())
    model.eval()
    model.requires_grad_(False)
    return model


def classifier_accuracy(seed: int = 0) -> float:
    """Share of the held-out real test digits that the classifier of ``seed`` gets right."""
    images, labels = real_digits("test")
    return (predict_classes(digits_classifier(seed), images) == labels).float().mean().item()


@torch.no_grad()
def _run(images: torch.Tensor, classifier: DigitsQualityNet, batch_size: int = 500):
    """(features, probabilities) of (N, 1, 32, 32) images, float64 on the CPU, computed in batches."""
    device = next(classifier.parameters()).device
    features, probabilities = [], []
    with single_cpu_thread(device):
        for start in range(0, len(images), batch_size):
            hidden = classifier.features(images[start : start + batch_size].to(device))
            features.append(hidden.double().cpu())
            probabilities.append(torch.softmax(classifier.classifier(hidden).double(), dim=1).cpu())
    return torch.cat(features), torch.cat(probabilities)


def classifier_features(images: torch.Tensor, classifier: DigitsQualityNet | None = None) -> torch.Tensor:
    """Penultimate-layer features (N, FEATURES) of (N, 1, 32, 32) images in [-1, 1], float64 on the CPU."""
    images = check_images(images)
    return _run(images, classifier or digits_classifier())[0]


# -- the Fréchet distance ----------------------------------------------------------------------------

def gaussian_fit(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (d,) and covariance (d, d) of (N, d) samples, in float64 (unbiased covariance, N - 1)."""
    features = torch.as_tensor(features, dtype=torch.float64)
    if features.dim() != 2 or len(features) < 2:
        raise ValueError(f"features must have shape (N, d) with N >= 2; got {tuple(features.shape)}")
    return features.mean(dim=0), torch.cov(features.T).reshape(features.shape[1], features.shape[1])


def _symmetric_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The PSD square root of a symmetric PSD matrix via its eigen-decomposition (tiny negatives clipped)."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mean1: torch.Tensor, cov1: torch.Tensor, mean2: torch.Tensor, cov2: torch.Tensor) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), the squared Fréchet (2-Wasserstein) distance of two Gaussians.

    Computed in float64 without the non-symmetric S1 S2: with R = S1^(1/2), the matrix R S2 R is
    symmetric PSD and has the same eigenvalues as S1 S2, so Tr((S1 S2)^(1/2)) is the sum of the square
    roots of its eigenvalues. Rank-deficient covariances (fewer samples than features) stay finite.
    """
    mean1, mean2, cov1, cov2 = (torch.as_tensor(t, dtype=torch.float64) for t in (mean1, mean2, cov1, cov2))
    if mean1.shape != mean2.shape or cov1.shape != cov2.shape or cov1.shape != (len(mean1), len(mean1)):
        raise ValueError(f"means {tuple(mean1.shape)}, {tuple(mean2.shape)} and covariances "
                         f"{tuple(cov1.shape)}, {tuple(cov2.shape)} do not fit one dimension d")
    root1 = _symmetric_sqrt(cov1)
    middle = root1 @ cov2 @ root1
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    distance = (mean1 - mean2).square().sum() + cov1.trace() + cov2.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)  # rounding can leave -1e-12 where the Gaussians coincide


def frechet_distance_of_features(features1: torch.Tensor, features2: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors (N1, d) and (N2, d)."""
    return frechet_distance(*gaussian_fit(features1), *gaussian_fit(features2))


# -- the report ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QualityReport:
    """How a set of generated digits scores (see the module docstring for each figure).

    ``class_histogram[k]`` counts the confident samples predicted as digit k, so ``classes_covered``
    is the number of its non-zero entries and its sum is ``confident_share * samples``.
    """

    samples: int
    confident_share: float
    classes_covered: int
    class_histogram: tuple[int, ...]
    frechet_distance: float
    real_frechet_distance: float

    def __str__(self) -> str:
        # real_baseline gives real digits' figures at the same sample size
        return tr("{share:.1%} of {samples} samples confident (p > {threshold}), {covered}/{classes} classes covered, "
                  "Fréchet distance {distance:.2f}").format(
            share=self.confident_share, samples=self.samples, threshold=CONFIDENCE_THRESHOLD,
            covered=self.classes_covered, classes=CLASSES, distance=self.frechet_distance)


def _halves(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint halves of range(count), drawn by a fixed permutation."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(0))
    return order[: count // 2], order[count // 2 :]


def _reference(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mean and covariance of real images' features, and the FD between two halves of them."""
    first, second = _halves(len(features))
    return *gaussian_fit(features), frechet_distance_of_features(features[first], features[second])


@functools.lru_cache(maxsize=4)
def _real_reference(seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """:func:`_reference` of the held-out real test digits, computed once per classifier."""
    return _reference(_run(real_digits("test")[0], digits_classifier(seed))[0])


def score_generated(images: torch.Tensor, real_images: torch.Tensor | None = None, seed: int = 0) -> QualityReport:
    """Score (N, 1, 32, 32) generated digits in [-1, 1] with the quality classifier of ``seed``.

    The Fréchet distance compares them with ``real_images`` (default: the 450 held-out real test
    digits); ``real_frechet_distance`` is the distance between two disjoint halves of those same real
    images. Give ``COVERAGE_SAMPLES`` (1,000) images for coverage figures comparable across runs.
    """
    images = check_images(images)
    classifier = digits_classifier(seed)
    features, probabilities = _run(images, classifier)
    top_probability, predicted = probabilities.max(dim=1)
    confident = top_probability > CONFIDENCE_THRESHOLD
    histogram = torch.bincount(predicted[confident], minlength=CLASSES)
    if real_images is None:
        real_mean, real_cov, real_fd = _real_reference(int(seed))
    else:
        real_features = _run(check_images(real_images, "real_images"), classifier)[0]
        if len(real_features) < 4:
            raise ValueError("real_images needs at least 4 images: two halves of two")
        real_mean, real_cov, real_fd = _reference(real_features)
    return QualityReport(
        samples=len(images),
        confident_share=confident.double().mean().item(),
        classes_covered=int((histogram > 0).sum()),
        class_histogram=tuple(histogram.tolist()),
        frechet_distance=frechet_distance(*gaussian_fit(features), real_mean, real_cov),
        real_frechet_distance=real_fd,
    )


@functools.lru_cache(maxsize=4)
def real_baseline(samples: int = COVERAGE_SAMPLES, seed: int = 0) -> QualityReport:
    """``samples`` real training digits (a fixed draw) scored as generated ones are: what a perfect generator
    of this data would score at the same sample size (the classifier was trained on these digits, so their
    confident share is higher than held-out digits' own)."""
    images = real_digits("train")[0]
    if not 2 <= samples <= len(images):
        raise ValueError(f"samples={samples}: the training digits hold {len(images)}; give 2 to {len(images)}")
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:samples]
    return score_generated(images[chosen], seed=seed)
