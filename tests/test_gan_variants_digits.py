"""course.gan_variants.digits: the digits target vs course.image_data, the code-confusion scores vs scikit-learn
and a brute force, and lab 07's CGAN loop seeded."""

import itertools
import math

import pytest
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import mutual_info_score
from torch import nn

from course.gan.targets import ring_2d
from course.gan_variants.digits import CodeConfusion, DigitsTarget, code_confusion, train_with_cgan_step
from course.gan_variants.trainer import VariantTrainer
from course.image_data import digits_images
from gan_helpers import SMALL, one_cpu_thread, rng

pytestmark = pytest.mark.usefixtures(one_cpu_thread.__name__)  # every test here on one CPU thread


@pytest.fixture(scope="module")
def digits_target():
    return DigitsTarget()


def test_digits_target_is_the_train_split_in_unit_range(digits_target):
    train = digits_images(32, "train")
    points, labels = digits_target.points, digits_target.labels
    assert points.shape == (len(train), 64) and digits_target.dim == 64 and digits_target.classes == 10
    assert points.min() >= -1 and points.max() <= 1 and points.min() == -1
    assert torch.equal(labels, train.tensors[1]) and set(labels.tolist()) == set(range(10))
    images = DigitsTarget.to_images(points[:5])
    assert images.shape == (5, 1, 32, 32)
    assert torch.allclose(images, train.tensors[0][:5], atol=1e-6)
    assert torch.allclose(DigitsTarget.to_images(points[:5], 16), digits_images(16, "train").tensors[0][:5],
                          atol=1e-6)


def test_digits_target_samples_labeled_training_rows_reproducibly(digits_target):
    sampled, labels = digits_target.sample_labeled(20, 5)
    again, again_labels = digits_target.sample_labeled(20, rng(5))
    assert torch.equal(sampled, again) and torch.equal(labels, again_labels)
    assert torch.equal(digits_target.sample(20, 5), sampled)
    assert not torch.equal(digits_target.sample(20, 6), sampled)
    same_row = (sampled[:, None, :] == digits_target.points[None]).all(dim=2)  # (20, N)
    same_label = labels[:, None] == digits_target.labels[None]
    assert (same_row & same_label).any(dim=1).all()


def labels_of(counts):
    """Code and digit label vectors with counts[c, k] samples of (c, k)."""
    pairs = torch.cartesian_prod(torch.arange(counts.shape[0]), torch.arange(counts.shape[1]))
    repeated = pairs.repeat_interleave(counts.flatten(), dim=0)
    return repeated[:, 0], repeated[:, 1]


COUNTS = {
    "mixed": torch.tensor([[1, 7, 0, 2], [0, 2, 6, 1], [5, 1, 1, 0], [3, 0, 0, 4]]),
    "rectangular": torch.tensor([[4, 0, 1, 9, 0, 0], [0, 3, 3, 0, 1, 0], [2, 0, 0, 0, 0, 8]]),
    "independent": torch.full((10, 10), 3),
}


@pytest.mark.parametrize("name", list(COUNTS))
def test_code_confusion_scores_match_their_references(name):
    counts = COUNTS[name]
    confusion = CodeConfusion(counts)
    codes, digits = labels_of(counts)
    assert confusion.samples == len(codes) == counts.sum()
    assert confusion.agreement == pytest.approx((codes == digits).double().mean().item())
    purity = sum(torch.bincount(digits[codes == c]).max().item() for c in codes.unique()) / len(codes)
    assert confusion.purity == pytest.approx(purity)
    rows, columns = counts.shape
    if rows * columns <= 36:  # brute force over every one-to-one renaming of codes to digits
        best = max(sum(counts[c, k].item() for c, k in enumerate(choice))
                   for choice in itertools.permutations(range(columns), rows))
        assert confusion.matched_accuracy == pytest.approx(best / len(codes))
    nats = mutual_info_score(codes.numpy(), digits.numpy())
    assert confusion.mutual_information == pytest.approx(nats / math.log(2), abs=1e-12)


def test_a_permuted_diagonal_is_perfectly_matched_but_never_agrees():
    permutation = torch.tensor([3, 7, 0, 9, 1, 2, 5, 8, 4, 6])
    assert (permutation != torch.arange(10)).all()
    counts = torch.zeros(10, 10, dtype=torch.long)
    counts[torch.arange(10), permutation] = torch.arange(10) + 5
    confusion = CodeConfusion(counts)
    rows, columns = linear_sum_assignment(counts.numpy(), maximize=True)
    assert confusion.matched_accuracy == pytest.approx(counts[rows, columns].sum().item() / counts.sum().item())
    assert confusion.matched_accuracy == 1.0 and confusion.purity == 1.0 and confusion.agreement == 0.0
    codes, digits = labels_of(counts)
    assert confusion.mutual_information == pytest.approx(mutual_info_score(codes.numpy(), digits.numpy())
                                                         / math.log(2), abs=1e-12)
    assert CodeConfusion(torch.full((10, 10), 3)).mutual_information == pytest.approx(0.0, abs=1e-12)
    assert CodeConfusion(torch.eye(10, dtype=torch.long) * 4).mutual_information == pytest.approx(math.log2(10))


def test_code_confusion_counts_what_the_classifier_calls_each_code(digits_target):
    trainer = VariantTrainer(digits_target, "CGAN", seed=0, **SMALL)
    trainer.step(2)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 10))
    with torch.no_grad():
        classifier[1].weight.copy_(torch.randn(10, 32 * 32, generator=rng(38)))
        classifier[1].bias.zero_()
    confusion = code_confusion(trainer, per_code=7, seed=3, classifier=classifier)
    codes = torch.arange(10).repeat_interleave(7)
    with torch.no_grad():
        predicted = classifier(DigitsTarget.to_images(trainer.generate(70, seed=3, codes=codes))).argmax(dim=1)
    expected = torch.bincount(codes * 10 + predicted, minlength=100).view(10, 10)
    assert torch.equal(confusion.counts, expected)
    with pytest.raises(ValueError, match="no codes"):
        code_confusion(VariantTrainer(ring_2d(), "vanilla", **SMALL), classifier=classifier)


def test_train_with_cgan_step_calls_the_step_on_seeded_batches():
    seen = []

    def step(generator, discriminator, g_optimizer, d_optimizer, real, labels, noise, codes):
        seen.append((generator, real.shape, labels.clone(), noise.shape, codes.clone()))

    train_with_cgan_step(step, "G", "D", None, None, steps=3, noise_dim=5, batch_size=7, seed=2)
    assert [(g, tuple(r), tuple(n)) for g, r, _, n, _ in seen] == [("G", (7, 64), (7, 5))] * 3
    again = []
    train_with_cgan_step(lambda *args: again.append(args[7].clone()), "G", "D", None, None, steps=3, noise_dim=5,
                         batch_size=7, seed=2)
    assert all(torch.equal(a, codes) for a, (*_, codes) in zip(again, seen))
