"""course.cnn against torch.nn.functional, and the slides' worked example reproduced."""

import pytest
import torch
import torch.nn.functional as F

from course.cnn import (
    EDGE_KERNEL,
    KERNEL_GALLERY,
    SLIDES_DIAGONAL_MAP,
    X_FEATURE_KERNELS,
    DigitsCNN,
    confusion_matrix,
    conv2d_by_hand,
    cut_to_decimals,
    output_size,
    pool2d_by_hand,
    train_digits_cnn,
    window_at,
    x_image,
)
from course.data import digits
from course.training import predict_classes

def torch_conv(image, kernel, stride=1, padding=0):
    return F.conv2d(image[None, None], kernel[None, None], stride=stride, padding=padding)[0, 0]


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2)])
def test_conv_by_hand_matches_torch(stride, padding):
    generator = torch.Generator().manual_seed(stride * 10 + padding)
    image = torch.randn(11, 9, generator=generator, dtype=torch.float64)
    kernel = torch.randn(3, 3, generator=generator, dtype=torch.float64)
    assert torch.allclose(conv2d_by_hand(image, kernel, stride, padding), torch_conv(image, kernel, stride, padding))


def test_conv_does_not_flip_the_kernel():
    image = torch.zeros(5, 5)
    image[2, 2] = 1.0  # an impulse returns the kernel rotated by 180 degrees
    assert torch.equal(conv2d_by_hand(image, EDGE_KERNEL, padding=1)[1:4, 1:4], EDGE_KERNEL.flip(0, 1))


def test_slides_feature_map_of_the_x():
    feature_map = torch_conv(x_image(), X_FEATURE_KERNELS["diagonal \\"]) / 9
    assert torch.allclose(conv2d_by_hand(x_image(), X_FEATURE_KERNELS["diagonal \\"]) / 9, feature_map)
    assert torch.equal(cut_to_decimals(feature_map), SLIDES_DIAGONAL_MAP)
    assert not torch.equal(feature_map.round(decimals=2), SLIDES_DIAGONAL_MAP)  # the slides cut, they do not round


def test_slides_feature_maps_are_symmetric_like_the_x():
    # The X is symmetric under both flips, so each diagonal's map is the other's mirror image.
    maps = {name: torch_conv(x_image(), kernel) for name, kernel in X_FEATURE_KERNELS.items()}
    assert torch.equal(maps["diagonal \\"].flip(1), maps["diagonal /"])
    assert torch.equal(maps["centre x"], maps["centre x"].flip(0, 1))


def test_cut_to_decimals_cuts_towards_zero():
    values = torch.tensor([7 / 9, -7 / 9, 5 / 9, 1.0, -0.004])
    assert torch.equal(cut_to_decimals(values), torch.tensor([0.77, -0.77, 0.55, 1.0, 0.0]))
    assert torch.equal(cut_to_decimals(values, 1), torch.trunc(values * 10) / 10)


def test_x_image_is_symmetric_with_a_border():
    image = x_image()
    assert torch.equal(image, image.T) and torch.equal(image, image.flip(1))
    assert (image[0] == -1).all() and image[4, 4] == 1 and int((image == 1).sum()) == 13


@pytest.mark.parametrize("n, k, s, p", [(9, 3, 1, 0), (8, 3, 1, 1), (28, 5, 2, 2), (7, 2, 2, 0), (6, 6, 1, 0)])
def test_output_size_matches_torch(n, k, s, p):
    out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p)
    assert output_size(n, k, s, p) == out.shape[-1]


def test_output_size_rejects_impossible_layers():
    with pytest.raises(ValueError, match="does not fit"):
        output_size(2, 5)
    with pytest.raises(ValueError):
        output_size(8, 3, stride=0)


def test_window_at_is_what_the_output_sums():
    image = torch.arange(36.0).reshape(6, 6)
    kernel = torch.ones(3, 3)
    out = torch_conv(image, kernel, stride=2, padding=1)
    assert window_at(image, 3, 1, 2, stride=2, padding=1).sum() == out[1, 2]


def test_gallery_kernels_are_3x3():
    assert all(kernel.shape == (3, 3) for kernel in KERNEL_GALLERY.values())


def test_digits_cnn_shapes():
    model = DigitsCNN()
    images = torch.zeros(5, 1, 8, 8)
    assert model.features(images).shape == (5, 32, 2, 2)
    assert model(images).shape == (5, 10)


def test_digits_cnn_reaches_the_lectures_accuracy():
    X_train, y_train, X_test, y_test = digits()
    threads = torch.get_num_threads()
    model, losses = train_digits_cnn(X_train, y_train, epochs=15)
    assert torch.get_num_threads() == threads  # the single-thread training leaves the setting as it was
    assert len(losses) == 15 and losses[-1] < losses[0] / 10
    assert (predict_classes(model, X_test) == y_test).float().mean() >= 0.95


def test_confusion_matrix_counts_every_sample():
    X_train, y_train, X_test, y_test = digits()
    model = DigitsCNN()
    counts = confusion_matrix(model, X_test, y_test)
    assert counts.sum() == len(y_test)
    assert torch.equal(counts.sum(dim=1), torch.bincount(y_test, minlength=10))
    assert counts.trace() == (predict_classes(model, X_test) == y_test).sum()


@pytest.mark.parametrize("shape", [(7, 7), (8, 6), (5, 9)])
@pytest.mark.parametrize("size", [2, 3])
def test_pooling_by_hand_matches_torch(shape, size):
    feature_map = torch.randn(*shape, generator=torch.Generator().manual_seed(size), dtype=torch.float64)
    expected_max = F.max_pool2d(feature_map[None, None], size)[0, 0]
    expected_mean = F.avg_pool2d(feature_map[None, None], size)[0, 0]
    assert torch.equal(pool2d_by_hand(feature_map, size, "max"), expected_max)
    assert torch.allclose(pool2d_by_hand(feature_map, size, "average"), expected_mean)


def test_pooling_rejects_unknown_modes():
    with pytest.raises(ValueError, match="use 'max' or 'average'"):
        pool2d_by_hand(torch.zeros(4, 4), 2, "median")
