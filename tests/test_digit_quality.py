"""course.digit_quality: the classifier reaches 97 % on held-out digits, the scores separate real digits
from junk and from a collapsed batch, and the Fréchet distance agrees with closed forms and scipy."""

import math

import pytest
import scipy.linalg
import torch

from course.digit_quality import (
    CLASSES,
    CONFIDENCE_THRESHOLD,
    FEATURES,
    QualityReport,
    classifier_accuracy,
    classifier_features,
    classifier_settings,
    digits_classifier,
    frechet_distance,
    frechet_distance_of_features,
    gaussian_fit,
    quality_training_set,
    real_digits,
    score_generated,
    shipped_state,
    train_classifier,
)
from course.shipped import RESULTS


@pytest.fixture(scope="module")
def real_test():
    return real_digits("test")


def random_covariance(d, generator):
    factor = torch.randn(d, d, generator=generator, dtype=torch.float64)
    return factor @ factor.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


# -- the classifier ------------------------------------------------------------------------------------


def test_classifier_reaches_97_percent_on_held_out_real_digits():
    assert classifier_accuracy(0) >= 0.97


def test_classifier_is_trained_once_and_frozen():
    model = digits_classifier(0)
    assert digits_classifier(0) is model and digits_classifier() is model and digits_classifier(seed=0) is model
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_the_shipped_classifier_is_the_one_its_training_makes():
    """Seed 0's classifier is loaded from the kit's file, which must be in step with the code, and a fresh
    training makes the same classifier: the same predictions on all but a few held-out digits (the exact
    weights depend on the CPU and torch's version)."""
    state = shipped_state()
    assert state is not None, ("course/shipped/digits_classifier.pt is missing or was trained with other settings: "
                               f"run `{RESULTS['digits_classifier'].command}`")
    loaded = digits_classifier(0)
    assert all(torch.equal(value, state[name]) for name, value in loaded.state_dict().items())
    images, _ = real_digits("test")
    fresh = train_classifier(0, device="cpu").eval()
    with torch.no_grad():
        device = next(loaded.parameters()).device
        agreement = (fresh(images).argmax(dim=1) == loaded(images.to(device)).argmax(dim=1).cpu()).float().mean()
    assert agreement >= 0.98


def test_a_classifier_file_of_other_settings_is_not_used(tmp_path):
    path = tmp_path / "digits_classifier.pt"
    assert shipped_state(path) is None  # missing
    state = digits_classifier(0).state_dict()
    for settings, used in ((classifier_settings(), True), ({**classifier_settings(), "blends": 1}, False)):
        torch.save({"provenance": {"settings": settings}, "state": state}, path)
        assert (shipped_state(path) is not None) is used


def test_training_set_targets_are_distributions_with_uniform_outliers_and_half_half_blends():
    images, targets = quality_training_set(0)
    real_images, labels = real_digits("train")
    assert images.shape[1:] == (1, 32, 32) and targets.shape == (len(images), CLASSES)
    assert torch.allclose(targets.sum(dim=1), torch.ones(len(targets)))
    assert torch.equal(images[: len(real_images)], real_images)
    assert torch.equal(targets[: len(labels)].argmax(dim=1), labels)
    rest = targets[len(labels):]
    uniform = (rest == 1.0 / CLASSES).all(dim=1)
    blends = rest[~uniform]
    assert uniform.sum() > 0 and len(blends) > 0
    assert ((blends == 0.5).sum(dim=1) == 2).all(), "a blend is half one class and half another"
    assert images.min() >= -1 and images.max() <= 1


def test_features_are_the_penultimate_layer(real_test):
    images = real_test[0][:20]
    features = classifier_features(images)
    assert features.shape == (20, FEATURES) and features.dtype == torch.float64
    with torch.no_grad():
        expected = digits_classifier(0).features(images).double()
    assert torch.allclose(features, expected, atol=1e-6)


# -- the scores ------------------------------------------------------------------------------------------


def test_real_test_digits_are_confident_and_cover_all_ten_classes(real_test):
    images, labels = real_test
    report = score_generated(images)
    assert isinstance(report, QualityReport) and report.samples == len(images)
    assert report.confident_share >= 0.85
    assert report.classes_covered == CLASSES
    assert sum(report.class_histogram) == round(report.confident_share * len(images))
    assert report.frechet_distance < 1e-6, "the default real set is the test split itself"
    assert 0 < report.real_frechet_distance < 100
    with pytest.raises(Exception):
        report.samples = 0  # frozen


def test_confident_share_and_histogram_follow_the_softmax_threshold(real_test):
    images = real_test[0][:200]
    with torch.no_grad():
        probabilities = torch.softmax(digits_classifier(0)(images).double(), dim=1)
    top, predicted = probabilities.max(dim=1)
    confident = top > CONFIDENCE_THRESHOLD
    report = score_generated(images)
    assert report.confident_share == pytest.approx(confident.double().mean().item())
    assert list(report.class_histogram) == torch.bincount(predicted[confident], minlength=CLASSES).tolist()


def test_a_batch_of_one_digit_covers_one_class(real_test):
    images, labels = real_test
    zeros = images[labels == 0]
    report = score_generated(zeros)
    assert report.classes_covered == 1 and report.class_histogram[0] > 0
    repeated = score_generated(images[labels == 7][:1].expand(1000, 1, 32, 32))
    assert repeated.classes_covered <= 1
    assert repeated.frechet_distance > 5 * repeated.real_frechet_distance, "no variety: a large distance"


def test_noise_scores_low_confidence_and_a_large_distance():
    generator = torch.Generator().manual_seed(0)
    for noise in (torch.rand(1000, 1, 32, 32, generator=generator) * 2 - 1,
                  torch.randn(1000, 1, 32, 32, generator=generator).clamp(-1, 1),
                  -torch.ones(50, 1, 32, 32)):
        report = score_generated(noise)
        assert report.confident_share < 0.05
        assert report.frechet_distance > 10 * report.real_frechet_distance


def test_a_set_scored_against_itself_has_distance_zero(real_test):
    images = real_test[0][:300]
    assert score_generated(images, real_images=images).frechet_distance == pytest.approx(0.0, abs=1e-6)
    features = classifier_features(images)
    assert frechet_distance_of_features(features, features) == pytest.approx(0.0, abs=1e-6)


def test_real_versus_real_uses_the_given_real_images(real_test):
    images = real_test[0]
    default = score_generated(images[:100])
    given = score_generated(images[:100], real_images=images[:200])
    assert given.real_frechet_distance != default.real_frechet_distance
    assert given.frechet_distance != default.frechet_distance


@pytest.mark.parametrize("shape", [(10, 32, 32), (10, 3, 32, 32), (10, 1, 64, 64), (1, 1, 32, 32), (32, 32)])
def test_bad_shapes_say_which_shape_is_expected(shape):
    with pytest.raises(ValueError, match=r"\(N, 1, 32, 32\)"):
        score_generated(torch.zeros(shape))
    with pytest.raises(ValueError, match=r"\(N, 1, 32, 32\)"):
        classifier_features(torch.zeros(shape))


def test_bad_real_images_are_named(real_test):
    with pytest.raises(ValueError, match="real_images"):
        score_generated(real_test[0][:10], real_images=torch.zeros(10, 28, 28))


# -- the Fréchet distance ----------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 5, 64])
def test_frechet_distance_of_isotropic_gaussians_has_a_closed_form(d):
    generator = torch.Generator().manual_seed(d)
    mean1, mean2 = torch.randn(2, d, generator=generator, dtype=torch.float64)
    s1, s2 = 0.7, 1.9
    eye = torch.eye(d, dtype=torch.float64)
    expected = (mean1 - mean2).square().sum().item() + d * (s1 - s2) ** 2
    assert frechet_distance(mean1, s1**2 * eye, mean2, s2**2 * eye) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("d", [2, 8, 64])
def test_frechet_distance_matches_scipy_sqrtm(d):
    generator = torch.Generator().manual_seed(10 + d)
    mean1, mean2 = torch.randn(2, d, generator=generator, dtype=torch.float64)
    cov1, cov2 = random_covariance(d, generator), random_covariance(d, generator)
    root = scipy.linalg.sqrtm(cov1.numpy() @ cov2.numpy()).real
    expected = ((mean1 - mean2).square().sum() + cov1.trace() + cov2.trace()).item() - 2 * root.trace()
    assert frechet_distance(mean1, cov1, mean2, cov2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mean2, cov2, mean1, cov1) == pytest.approx(expected, rel=1e-8), "symmetric"


def test_frechet_distance_of_samples_approaches_the_closed_form():
    generator = torch.Generator().manual_seed(3)
    d, n, s1, s2 = 4, 200_000, 0.5, 1.5
    shift = torch.tensor([1.0, -2.0, 0.0, 0.5], dtype=torch.float64)
    first = s1 * torch.randn(n, d, generator=generator, dtype=torch.float64)
    second = shift + s2 * torch.randn(n, d, generator=generator, dtype=torch.float64)
    expected = shift.square().sum().item() + d * (s1 - s2) ** 2
    assert frechet_distance_of_features(first, second) == pytest.approx(expected, rel=0.01)


def test_gaussian_fit_matches_torch_cov_and_refuses_one_sample():
    generator = torch.Generator().manual_seed(4)
    features = torch.randn(50, 3, generator=generator)
    mean, cov = gaussian_fit(features)
    assert mean.dtype == torch.float64 and torch.allclose(mean, features.double().mean(0))
    assert torch.allclose(cov, torch.cov(features.double().T))
    with pytest.raises(ValueError):
        gaussian_fit(features[:1])


def test_frechet_distance_stays_finite_when_covariances_are_singular():
    generator = torch.Generator().manual_seed(5)
    few = torch.randn(10, 64, generator=generator, dtype=torch.float64)  # rank 9 covariance in 64 dimensions
    others = torch.randn(10, 64, generator=generator, dtype=torch.float64) + 1.0
    distance = frechet_distance_of_features(few, others)
    assert math.isfinite(distance) and distance > 0
    assert frechet_distance_of_features(few, few) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_refuses_mismatched_dimensions():
    with pytest.raises(ValueError):
        frechet_distance(torch.zeros(3), torch.eye(3), torch.zeros(4), torch.eye(4))


def test_real_training_digits_give_the_baseline_at_the_same_sample_size():
    from course.digit_quality import real_baseline

    baseline = real_baseline(1000)
    assert baseline.samples == 1000 and baseline.classes_covered == 10
    assert baseline.confident_share > 0.95  # the classifier was trained on them
    assert baseline.frechet_distance < baseline.real_frechet_distance  # 1,000 against 450, not 225 against 225
    with pytest.raises(ValueError, match="samples=5000"):
        real_baseline(5000)
