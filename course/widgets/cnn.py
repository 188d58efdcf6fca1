"""The kernel explorer: slide a 3x3 kernel over a small image, then pool the feature map."""

from __future__ import annotations

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from course.cnn import KERNEL_GALLERY, conv2d_by_hand, output_size, pool2d_by_hand, window_at, x_image
from course.language import tr
from course.widgets.display import ShowsItsWidget, figure_image, figure_png

POOL_SIZE = 2
KERNEL_SIZE = 3
ANNOTATE_UP_TO = 9  # write the numbers into maps this small, as the slides do


def pooling_choices() -> tuple[tuple[str, str], ...]:
    """(label shown, mode passed to pool2d_by_hand), the labels in the current language."""
    return ((tr("none"), "none"), (tr("max"), "max"), (tr("avg"), "average"))


def kernel_choices() -> list[tuple[str, str]]:
    """(label shown, name in KERNEL_GALLERY) for the preset dropdown, the labels in the current language."""
    labels = {
        "edge (slides)": tr("edge (slides)"),
        "edge, darker below": tr("edge, darker below"),
        "vertical edge (Sobel x)": tr("vertical edge (Sobel x)"),
        "outline (Laplacian)": tr("outline (Laplacian)"),
        "sharpen": tr("sharpen"),
        "box blur": tr("box blur"),
        "identity": tr("identity"),
        "X diagonal \\": tr("X diagonal \\"),
        "X centre x": tr("X centre x"),
        "X diagonal /": tr("X diagonal /"),
    }
    return [(labels.get(name, name), name) for name in KERNEL_GALLERY]


def _draw_map(ax, values: torch.Tensor, title: str, annotate: bool) -> None:
    ax.imshow(values.numpy(), cmap="gray")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if not annotate or max(values.shape) > ANNOTATE_UP_TO:
        return
    middle = (values.max() + values.min()).item() / 2
    for (row, col), value in zip(torch.cartesian_prod(*(torch.arange(n) for n in values.shape)).tolist(),
                                 values.flatten().tolist()):
        ax.text(col, row, f"{value:.2g}", ha="center", va="center", fontsize=10, fontweight="bold",
                color="black" if value > middle else "white")


def render_maps_png(padded: torch.Tensor, feature_map: torch.Tensor, pooled: torch.Tensor | None,
                    window: tuple[int, int, int], cell: tuple[int, int], dpi: int = 80) -> bytes:
    """Input (current window boxed), feature map (current cell boxed) and pooled map, as PNG bytes.

    A bare ``Figure`` never enters pyplot's registry, so redrawing leaves nothing behind.
    """
    maps = [(padded, tr("input (padded)")), (feature_map, tr("feature map"))]
    if pooled is not None:
        maps.append((pooled, tr("pooled map")))
    fig = Figure(figsize=(3.2 * len(maps), 3.2), dpi=dpi)
    axes = fig.subplots(1, len(maps))
    for index, (ax, (values, title)) in enumerate(zip(axes, maps)):
        _draw_map(ax, values, title, annotate=index > 0)  # the table below spells out the input's pixels
    top, left, size = window
    axes[0].add_patch(Rectangle((left - 0.5, top - 0.5), size, size, fill=False, edgecolor="red", linewidth=2))
    row, col = cell
    axes[1].add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    return figure_png(fig)


def _keyed(key: str, value: float, digits: int = 2) -> str:
    # data-key lets the tests read back exactly what a reader sees.
    return f'<span data-key="{key}">{value:.{digits}f}</span>'


def render_products_html(window: torch.Tensor, kernel: torch.Tensor) -> str:
    """The nine products pixel x kernel entry at the current window, their sum and their mean."""
    products = window * kernel
    rows = "".join(
        "<tr>" + "".join(
            f'<td style="text-align:right;padding:0 .6em">{_keyed(f"x{r}{c}", window[r, c].item())} &times; '
            f'{_keyed(f"k{r}{c}", kernel[r, c].item())} = {_keyed(f"p{r}{c}", products[r, c].item(), 4)}</td>'
            for c in range(kernel.shape[1])
        ) + "</tr>"
        for r in range(kernel.shape[0])
    )
    total = products.sum().item()
    summary = tr("<b>sum = {sum}</b> (the feature map's value here); mean = sum / {count} = {mean} "
                 "(how the slides score the 'X' features)").format(
        sum=_keyed("sum", total, 4), count=products.numel(), mean=_keyed("mean", total / products.numel(), 4))
    return f"<table>{rows}</table><p>{summary}</p>"


class KernelExplorer(ShowsItsWidget):
    """Pick or edit a 3x3 kernel, a stride, a padding and a pooling; step the window across the image.

    ``feature_map()`` and ``pooled_map()`` compute the maps; ``shown`` holds exactly what the last
    redraw put on screen (the padded image, the maps, the window and the output cell). The
    ``position`` slider numbers the output cells row by row, and the table under the figure spells
    out the multiply-and-sum there. ``widget`` is the VBox to show.
    """

    def __init__(self, image: torch.Tensor | None = None, kernel: str = "X diagonal \\", stride: int = 1,
                 padding: int = 0, pooling: str = "max"):
        if kernel not in KERNEL_GALLERY:
            raise ValueError(f"unknown kernel {kernel!r}; choose one of {sorted(KERNEL_GALLERY)}")
        modes = [mode for _, mode in pooling_choices()]
        if pooling not in modes:
            raise ValueError(f"pooling={pooling!r}; choose one of {modes}")
        self.image = (x_image() if image is None else image).float()
        self.shown: dict[str, object] = {}
        self._build_controls(kernel, stride, padding, pooling)
        self.set_kernel(kernel)

    # -- what the explorer computes ---------------------------------------------
    def kernel(self) -> torch.Tensor:
        """The 3x3 kernel in the nine boxes."""
        return torch.tensor([[box.value for box in row] for row in self.kernel_boxes], dtype=torch.float32)

    def feature_map(self) -> torch.Tensor:
        """The image convolved with the kernel at the current stride and padding."""
        return conv2d_by_hand(self.image, self.kernel(), self.stride.value, self.padding.value)

    def pooled_map(self) -> torch.Tensor | None:
        """The feature map pooled 2x2, or None when pooling is off or the map is too small to pool."""
        feature_map = self.feature_map()
        if self.pooling.value == "none" or min(feature_map.shape) < POOL_SIZE:
            return None
        return pool2d_by_hand(feature_map, POOL_SIZE, self.pooling.value)

    def map_shape(self) -> tuple[int, int]:
        """(rows, columns) of the feature map, by the output-size formula."""
        k, s, p = KERNEL_SIZE, self.stride.value, self.padding.value
        return output_size(self.image.shape[0], k, s, p), output_size(self.image.shape[1], k, s, p)

    def current_cell(self) -> tuple[int, int]:
        """The output cell (row, column) the position slider points at."""
        return divmod(self.position.value, self.map_shape()[1])

    def current_window(self) -> torch.Tensor:
        """The 3x3 patch of the padded image under the kernel at the current cell."""
        row, col = self.current_cell()
        return window_at(self.image, KERNEL_SIZE, row, col, self.stride.value, self.padding.value)

    # -- controls -------------------------------------------------------------------
    def set_kernel(self, name: str) -> None:
        """Fill the nine boxes from the gallery (one refresh, not nine)."""
        self._updating = True
        for row, values in zip(self.kernel_boxes, KERNEL_GALLERY[name].tolist()):
            for box, value in zip(row, values):
                box.value = value
        self._updating = False
        self.refresh()

    def refresh(self) -> None:
        """Recompute the maps and redraw the figure, the products table and the status line."""
        rows, cols = self.map_shape()
        self._updating = True  # clamping the position below must not trigger a second redraw
        self.position.max = rows * cols - 1  # ipywidgets clamps the value into range
        self._updating = False
        row, col = self.current_cell()
        stride, padding = self.stride.value, self.padding.value
        self.shown = {
            "image": torch.nn.functional.pad(self.image, [padding] * 4),
            "feature map": self.feature_map(),
            "pooled map": self.pooled_map(),
            "window": (row * stride, col * stride, KERNEL_SIZE),
            "cell": (row, col),
        }
        self.figure.value = render_maps_png(self.shown["image"], self.shown["feature map"],
                                            self.shown["pooled map"], self.shown["window"], self.shown["cell"])
        self.products.value = render_products_html(self.current_window(), self.kernel())
        self.status.value = tr("feature map {rows} x {cols}; window at output cell ({row}, {col})").format(
            rows=rows, cols=cols, row=row, col=col)

    def _on_change(self, _change=None) -> None:
        if not self._updating:
            self.refresh()

    def _build_controls(self, kernel: str, stride: int, padding: int, pooling: str) -> None:
        self._updating = True
        self.preset = widgets.Dropdown(options=kernel_choices(), value=kernel, description=tr("kernel"))
        self.kernel_boxes = [[widgets.FloatText(layout={"width": "5em"}) for _ in range(KERNEL_SIZE)]
                             for _ in range(KERNEL_SIZE)]
        self.stride = widgets.IntSlider(value=stride, min=1, max=3, description=tr("stride"))
        self.padding = widgets.IntSlider(value=padding, min=0, max=2, description=tr("padding"))
        self.pooling = widgets.Dropdown(options=pooling_choices(), value=pooling, description=tr("pooling 2x2"))
        self.position = widgets.IntSlider(value=0, min=0, max=0, description=tr("window"))
        self.preset.observe(lambda change: self.set_kernel(change["new"]), names="value")
        for control in (*sum(self.kernel_boxes, []), self.stride, self.padding, self.pooling, self.position):
            control.observe(self._on_change, names="value")
        self.figure = figure_image()
        self.products = widgets.HTML()
        self.status = widgets.Label()
        grid = widgets.VBox([widgets.HBox(row) for row in self.kernel_boxes])
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.preset, self.stride, self.padding, self.pooling]), grid]),
            widgets.HBox([self.position, self.status]),
            self.figure,
            self.products,
        ])


def kernel_explorer(**kwargs) -> KernelExplorer:
    """Build a :class:`KernelExplorer` (same keyword arguments); displays nothing itself."""
    return KernelExplorer(**kwargs)
