"""The kernel explorer, driven without a browser and checked against torch.nn.functional."""

import pytest
import torch
import torch.nn.functional as F

from course.cnn import KERNEL_GALLERY, x_image
from course.data import grayscale_photo
from course.widgets.cnn import KernelExplorer, kernel_explorer

from widget_display import keyed_numbers

# The table shows four decimals for products and sums, two for pixels and kernel entries.
PRODUCT_TOL, ENTRY_TOL = 1e-4, 5e-3
POOLS = {"max": F.max_pool2d, "average": F.avg_pool2d}


def torch_maps(image, kernel, stride, padding, pooling):
    feature_map = F.conv2d(image[None, None], kernel[None, None], stride=stride, padding=padding)
    pool = POOLS.get(pooling)
    return feature_map[0, 0], (pool(feature_map, 2)[0, 0] if pool else None)


def torch_windows(image, stride, padding):
    """Every 3x3 window the kernel visits, row by row: (positions, 3, 3), by F.unfold."""
    columns = F.unfold(image[None, None], 3, stride=stride, padding=padding)[0]  # (9, positions)
    return columns.T.reshape(-1, 3, 3)


def assert_shown_maps_match_torch(explorer, image=None):
    image = x_image() if image is None else image
    stride, padding, pooling = explorer.stride.value, explorer.padding.value, explorer.pooling.value
    expected_map, expected_pooled = torch_maps(image, explorer.kernel(), stride, padding, pooling)
    assert torch.allclose(explorer.shown["feature map"], expected_map, atol=1e-5)
    if expected_pooled is None or min(expected_map.shape) < 2:
        assert explorer.shown["pooled map"] is None
    else:
        assert torch.allclose(explorer.shown["pooled map"], expected_pooled, atol=1e-5)
    assert torch.equal(explorer.shown["image"], F.pad(image, [padding] * 4))


@pytest.mark.parametrize("name", list(KERNEL_GALLERY))
def test_every_preset_shows_torchs_maps(name):
    explorer = kernel_explorer(kernel=name)
    assert torch.equal(explorer.kernel(), KERNEL_GALLERY[name].float())
    assert_shown_maps_match_torch(explorer)


@pytest.mark.parametrize("stride, padding, pooling",
                         [(2, 1, "average"), (3, 2, "max"), (1, 1, "none"), (1, 2, "average"), (3, 0, "max")])
def test_controls_change_the_shown_maps_like_torch(stride, padding, pooling):
    explorer = KernelExplorer()
    explorer.stride.value, explorer.padding.value, explorer.pooling.value = stride, padding, pooling
    assert_shown_maps_match_torch(explorer)
    assert explorer.position.max == explorer.shown["feature map"].numel() - 1


def test_pooling_menu_offers_none_max_avg():
    explorer = KernelExplorer()
    assert [label for label, _ in explorer.pooling.options] == ["none", "max", "avg"]
    explorer.pooling.label = "avg"
    assert torch.allclose(explorer.shown["pooled map"], torch_maps(x_image(), explorer.kernel(), 1, 0, "average")[1])


def test_edited_kernel_is_used():
    explorer = KernelExplorer(kernel="identity", pooling="none")
    explorer.kernel_boxes[0][2].value = -3.5
    kernel = KERNEL_GALLERY["identity"].clone()
    kernel[0, 2] = -3.5
    assert torch.equal(explorer.kernel(), kernel)
    assert_shown_maps_match_torch(explorer)


def test_preset_dropdown_fills_the_boxes():
    explorer = KernelExplorer()
    explorer.preset.value = "edge (slides)"
    assert torch.equal(explorer.kernel(), KERNEL_GALLERY["edge (slides)"])
    assert_shown_maps_match_torch(explorer)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_stepping_the_window_shows_the_multiply_and_sum(stride, padding):
    explorer = KernelExplorer(stride=stride, padding=padding)
    kernel = explorer.kernel()
    expected_map = torch_maps(x_image(), kernel, stride, padding, "none")[0]
    windows = torch_windows(x_image(), stride, padding)
    positions = sorted({*range(0, expected_map.numel(), 4), expected_map.numel() - 1})  # redraws take time
    for position in positions:
        explorer.position.value = position
        row, col = divmod(position, expected_map.shape[1])
        shown = keyed_numbers(explorer.products.value)
        for r in range(3):
            for c in range(3):
                assert shown[f"x{r}{c}"] == pytest.approx(windows[position, r, c].item(), abs=ENTRY_TOL)
                assert shown[f"k{r}{c}"] == pytest.approx(kernel[r, c].item(), abs=ENTRY_TOL)
                expected_product = (windows[position, r, c] * kernel[r, c]).item()
                assert shown[f"p{r}{c}"] == pytest.approx(expected_product, abs=PRODUCT_TOL)
        assert shown["sum"] == pytest.approx(expected_map[row, col].item(), abs=PRODUCT_TOL)
        assert shown["mean"] == pytest.approx(expected_map[row, col].item() / 9, abs=PRODUCT_TOL)
        top, left, size = explorer.shown["window"]
        assert torch.equal(explorer.shown["image"][top : top + size, left : left + size], windows[position])
        assert explorer.shown["cell"] == (row, col) and f"({row}, {col})" in explorer.status.value


def test_position_is_clamped_when_the_map_shrinks():
    explorer = KernelExplorer()
    explorer.position.value = explorer.position.max
    explorer.stride.value = 3
    assert explorer.position.value == explorer.position.max == 8  # a 3 x 3 map, last cell
    assert explorer.shown["cell"] == (2, 2)


def test_a_photo_works_and_the_figure_is_a_png():
    photo = grayscale_photo(step=16)
    explorer = KernelExplorer(image=photo, kernel="edge (slides)")
    assert bytes(explorer.figure.value).startswith(b"\x89PNG")
    assert_shown_maps_match_torch(explorer, photo)


def test_redrawing_leaves_no_pyplot_figures_behind():
    import matplotlib.pyplot as plt

    explorer = KernelExplorer()
    open_before = plt.get_fignums()
    for position in range(5):
        explorer.position.value = position
    assert plt.get_fignums() == open_before


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="unknown kernel"):
        KernelExplorer(kernel="emboss")
    with pytest.raises(ValueError, match="pooling"):
        KernelExplorer(pooling="median")
