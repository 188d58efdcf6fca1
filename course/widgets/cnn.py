"""The kernel explorer: slide a 3x3 kernel over a small image, then pool the feature map."""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from course.cnn import KERNEL_GALLERY, conv2d_by_hand, output_size, pool2d_by_hand, window_at, x_image

POOLING_CHOICES = ("none", "max", "average")
POOL_SIZE = 2


def render_maps_png(padded: torch.Tensor, feature_map: torch.Tensor, pooled: torch.Tensor | None,
                    window: tuple[int, int, int], position: tuple[int, int], dpi: int = 80) -> bytes:
    """Input (with the current window boxed), feature map (current cell boxed) and pooled map, as PNG."""
    panels = 3 if pooled is not None else 2
    fig = Figure(figsize=(3.2 * panels, 3.2), dpi=dpi)
    axes = fig.subplots(1, panels)
    top, left, size = window
    images = [(padded, "input (padded)"), (feature_map, "feature map"), (pooled, "pooled map")][:panels]
    for ax, (image, title) in zip(axes, images):
        ax.imshow(image.numpy(), cmap="gray")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].add_patch(Rectangle((left - 0.5, top - 0.5), size, size, fill=False, edgecolor="red", linewidth=2))
    row, col = position
    axes[1].add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def render_products_html(window: torch.Tensor, kernel: torch.Tensor) -> str:
    """The nine products window * kernel and their sum, as a reader would write them out."""
    products = window * kernel
    rows = "".join(
        "<tr>" + "".join(
            f'<td data-key="p{r}{c}" style="text-align:right;padding:0 .6em">'
            f"{window[r, c].item():.2f} &times; {kernel[r, c].item():.2f} = {products[r, c].item():.2f}</td>"
            for c in range(kernel.shape[1])
        ) + "</tr>"
        for r in range(kernel.shape[0])
    )
    total = f'<b>sum = <span data-key="sum">{products.sum().item():.4f}</span></b>'
    return f"<table>{rows}</table><p>{html.escape('window * kernel, summed:')} {total}</p>"


class KernelExplorer:
    """Pick or edit a 3x3 kernel, a stride, a padding and a pooling; step the window across the image.

    ``feature_map()`` and ``pooled_map()`` are what the figure shows; ``position`` (the slider)
    numbers the output cells row by row, and the table spells out the multiply-and-sum there.
    """

    def __init__(self, image: torch.Tensor | None = None, kernel: str = "X diagonal \\", stride: int = 1,
                 padding: int = 0, pooling: str = "max"):
        if kernel not in KERNEL_GALLERY:
            raise ValueError(f"unknown kernel {kernel!r}; choose one of {sorted(KERNEL_GALLERY)}")
        if pooling not in POOLING_CHOICES:
            raise ValueError(f"pooling={pooling!r}; choose one of {POOLING_CHOICES}")
        self.image = (x_image() if image is None else image).float()
        self._build_controls(kernel, stride, padding, pooling)
        self.set_kernel(kernel)

    # -- what the explorer computes ---------------------------------------------
    def kernel(self) -> torch.Tensor:
        return torch.tensor([[box.value for box in row] for row in self.kernel_boxes], dtype=torch.float32)

    def feature_map(self) -> torch.Tensor:
        return conv2d_by_hand(self.image, self.kernel(), self.stride.value, self.padding.value)

    def pooled_map(self) -> torch.Tensor | None:
        """The feature map pooled 2x2, or None when pooling is off or the map is too small to pool."""
        feature_map = self.feature_map()
        if self.pooling.value == "none" or min(feature_map.shape) < POOL_SIZE:
            return None
        return pool2d_by_hand(feature_map, POOL_SIZE, self.pooling.value)

    def map_shape(self) -> tuple[int, int]:
        k, s, p = 3, self.stride.value, self.padding.value
        return output_size(self.image.shape[0], k, s, p), output_size(self.image.shape[1], k, s, p)

    def current_cell(self) -> tuple[int, int]:
        return divmod(self.position.value, self.map_shape()[1])

    def current_window(self) -> torch.Tensor:
        row, col = self.current_cell()
        return window_at(self.image, 3, row, col, self.stride.value, self.padding.value)

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
        rows, cols = self.map_shape()
        self.position.max = rows * cols - 1  # ipywidgets clamps the value into range
        row, col = self.current_cell()
        padded = torch.nn.functional.pad(self.image, [self.padding.value] * 4)
        window = (row * self.stride.value, col * self.stride.value, 3)
        self.figure.value = render_maps_png(padded, self.feature_map(), self.pooled_map(), window, (row, col))
        self.products.value = render_products_html(self.current_window(), self.kernel())
        self.status.value = f"feature map {rows} x {cols}; window at output cell ({row}, {col})"

    def _on_change(self, _change=None) -> None:
        if not self._updating:
            self.refresh()

    def _build_controls(self, kernel: str, stride: int, padding: int, pooling: str) -> None:
        self._updating = True
        self.preset = widgets.Dropdown(options=list(KERNEL_GALLERY), value=kernel, description="kernel")
        self.kernel_boxes = [[widgets.FloatText(layout={"width": "5em"}) for _ in range(3)] for _ in range(3)]
        self.stride = widgets.IntSlider(value=stride, min=1, max=3, description="stride")
        self.padding = widgets.IntSlider(value=padding, min=0, max=2, description="padding")
        self.pooling = widgets.Dropdown(options=POOLING_CHOICES, value=pooling, description="pooling 2x2")
        self.position = widgets.IntSlider(value=0, min=0, max=0, description="window")
        self.preset.observe(lambda change: self.set_kernel(change["new"]), names="value")
        for control in (*sum(self.kernel_boxes, []), self.stride, self.padding, self.pooling, self.position):
            control.observe(self._on_change, names="value")
        self.figure = widgets.Image(format="png")
        self.products = widgets.HTML()
        self.status = widgets.Label()
        grid = widgets.VBox([widgets.HBox(row) for row in self.kernel_boxes])
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.preset, self.stride, self.padding, self.pooling]), grid]),
            widgets.HBox([self.position, self.status]),
            self.figure,
            self.products,
        ])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def kernel_explorer(**kwargs) -> KernelExplorer:
    """Build a :class:`KernelExplorer` (same keyword arguments); displays nothing itself."""
    return KernelExplorer(**kwargs)
