"""The offline data sets, and the slides' midge network checked with torch.nn."""

import pytest
import torch

from course.data import digits, grayscale_photo, midge_data, midge_unlabelled, midge_weights, two_moons, xor_data, zen_of_python
from course.references import torch_mlp


def slides_midge_network():
    w = midge_weights()
    return torch_mlp([(w["W1"], w["b1"]), (w["W2"], w["b2"])], "sigmoid")


def test_midge_data_has_both_species():
    X, y = midge_data()
    assert X.shape == (15, 2) and y.shape == (15,)
    assert int(y.sum()) == 6  # six Apf, nine Af
    assert midge_unlabelled().shape == (3, 2)


def test_slides_weights_separate_the_midges():
    X, y = midge_data()
    with torch.no_grad():
        output = slides_midge_network()(X.double()).squeeze(-1)
    assert torch.equal((output > 0.5).double(), y.double())


def test_midge_weights_are_fresh_copies():
    midge_weights()["W1"].zero_()
    assert midge_weights()["W1"].abs().sum() > 0


def test_xor_labels_are_the_xor_of_the_inputs():
    X, y = xor_data()
    assert torch.equal(y, (X[:, 0] != X[:, 1]).float())


def test_two_moons_is_reproducible_and_split():
    X_train, y_train, X_test, y_test = two_moons(n_samples=200, seed=3)
    again = two_moons(n_samples=200, seed=3)
    assert torch.equal(X_train, again[0]) and torch.equal(y_test, again[3])
    assert len(X_train) == 150 and len(X_test) == 50
    assert set(y_train.tolist()) == {0.0, 1.0}
    assert not torch.equal(X_train, two_moons(n_samples=200, seed=4)[0])


def test_two_moons_rejects_tiny_sizes():
    with pytest.raises(ValueError, match="too small"):
        two_moons(n_samples=3)


def test_digits_are_scaled_stratified_images():
    X_train, y_train, X_test, y_test = digits()
    assert X_train.shape[1:] == (1, 8, 8) and X_train.dtype == torch.float32
    assert len(X_train) + len(X_test) == 1797
    assert X_train.min() >= 0 and X_train.max() == 1
    assert torch.equal(torch.bincount(y_test, minlength=10) > 0, torch.ones(10, dtype=torch.bool))
    assert torch.equal(digits()[0], X_train)


def test_zen_of_python_is_plain_english():
    text = zen_of_python()
    assert text.startswith("The Zen of Python") and "Beautiful is better than ugly." in text
    assert zen_of_python() == text


def test_grayscale_photo_is_a_downsampled_unit_image():
    full = grayscale_photo("china.jpg", step=1)
    half = grayscale_photo("china.jpg", step=2)
    assert full.shape == (427, 640) and half.shape == (214, 320)
    assert torch.equal(half, full[::2, ::2])
    assert 0 <= full.min() and full.max() <= 1
    with pytest.raises(ValueError, match="at least 1"):
        grayscale_photo(step=0)
