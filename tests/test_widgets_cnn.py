"""The kernel explorer, driven without a browser and checked against torch.nn.functional."""

import pytest
import torch
import torch.nn.functional as F

from course.cnn import KERNEL_GALLERY, x_image
from course.data import grayscale_photo
from course.widgets import KernelExplorer, kernel_explorer

from widget_display import keyed_text


def torch_maps(image, kernel, stride, padding, pooling):
    feature_map = F.conv2d(image[None, None], kernel[None, None], stride=stride, padding=padding)
    pool = {"max": F.max_pool2d, "average": F.avg_pool2d}.get(pooling)
    return feature_map[0, 0], (pool(feature_map, 2)[0, 0] if pool else None)


def displayed_sum(explorer):
    return float(keyed_text(explorer.products.value)["sum"])


@pytest.mark.parametrize("name", list(KERNEL_GALLERY))
def test_every_preset_shows_torchs_maps(name):
    explorer = kernel_explorer(kernel=name)
    expected_map, expected_pooled = torch_maps(x_image(), KERNEL_GALLERY[name], 1, 0, "max")
    assert torch.allclose(explorer.feature_map(), expected_map, atol=1e-6)
    assert torch.allclose(explorer.pooled_map(), expected_pooled, atol=1e-6)


@pytest.mark.parametrize("stride, padding, pooling", [(2, 1, "average"), (3, 2, "max"), (1, 1, "none")])
def test_controls_change_the_maps_like_torch(stride, padding, pooling):
    explorer = KernelExplorer()
    explorer.stride.value, explorer.padding.value, explorer.pooling.value = stride, padding, pooling
    expected_map, expected_pooled = torch_maps(x_image(), explorer.kernel(), stride, padding, pooling)
    assert torch.allclose(explorer.feature_map(), expected_map, atol=1e-6)
    if expected_pooled is None:
        assert explorer.pooled_map() is None
    else:
        assert torch.allclose(explorer.pooled_map(), expected_pooled, atol=1e-6)
    assert explorer.position.max == expected_map.numel() - 1


def test_edited_kernel_is_used():
    explorer = KernelExplorer(kernel="identity")
    explorer.kernel_boxes[0][2].value = -3.5
    kernel = KERNEL_GALLERY["identity"].clone()
    kernel[0, 2] = -3.5
    assert torch.equal(explorer.kernel(), kernel)
    assert torch.allclose(explorer.feature_map(), torch_maps(x_image(), kernel, 1, 0, "none")[0])


def test_preset_dropdown_fills_the_boxes():
    explorer = KernelExplorer()
    explorer.preset.value = "edge (slides)"
    assert torch.equal(explorer.kernel(), KERNEL_GALLERY["edge (slides)"])


def test_stepping_the_window_shows_the_multiply_and_sum():
    explorer = KernelExplorer(padding=1, stride=2)
    expected_map = torch_maps(x_image(), explorer.kernel(), 2, 1, "none")[0]
    for position in range(expected_map.numel()):
        explorer.position.value = position
        row, col = divmod(position, expected_map.shape[1])
        assert displayed_sum(explorer) == pytest.approx(expected_map[row, col].item(), abs=1e-4)
        assert f"({row}, {col})" in explorer.status.value


def test_position_is_clamped_when_the_map_shrinks():
    explorer = KernelExplorer()
    explorer.position.value = explorer.position.max
    explorer.stride.value = 3
    assert explorer.position.value <= explorer.position.max == 8  # a 3 x 3 map


def test_a_photo_works_and_the_figure_is_a_png():
    explorer = KernelExplorer(image=grayscale_photo(step=16), kernel="edge (slides)")
    assert bytes(explorer.figure.value).startswith(b"\x89PNG")
    expected = torch_maps(grayscale_photo(step=16), KERNEL_GALLERY["edge (slides)"], 1, 0, "max")[0]
    assert torch.allclose(explorer.feature_map(), expected, atol=1e-5)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="unknown kernel"):
        KernelExplorer(kernel="emboss")
    with pytest.raises(ValueError, match="pooling"):
        KernelExplorer(pooling="median")
