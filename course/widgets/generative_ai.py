"""The inpainting explorer: hide part of a held-out digit and watch a VAE fill it in, beside the mean digit's guess."""

from __future__ import annotations

import functools

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from course.autoencoders import VAE, classifier_verdicts, digit_pixels, train_vae
from course.generative_ai import inpaint, mean_fill, missing_block, missing_pixel_error
from course.language import tr
from course.repro import seed_everything
from course.widgets.display import ShowsItsWidget, figure_image, figure_png

MASKS = {
    "bottom half": missing_block(rows=slice(4, 8)),
    "top half": missing_block(rows=slice(0, 4)),
    "left half": missing_block(rows=slice(0, 8), columns=slice(0, 4)),
    "right half": missing_block(rows=slice(0, 8), columns=slice(4, 8)),
    "centre 4x4": missing_block(rows=slice(2, 6), columns=slice(2, 6)),
}
CELL_STYLE = "text-align:right;padding:0 .5em"


def mask_choices() -> list[tuple[str, str]]:
    """(label shown, name in MASKS) for the dropdown, the labels in the current language."""
    labels = {"bottom half": tr("bottom half"), "top half": tr("top half"), "left half": tr("left half"),
              "right half": tr("right half"), "centre 4x4": tr("centre 4x4")}
    return [(labels.get(name, name), name) for name in MASKS]


def panel_titles() -> dict[str, str]:
    """The figure's panels (and the table's rows) by their English names, in the current language."""
    return {"the digit": tr("the digit"), "what is seen": tr("what is seen"), "VAE inpainting": tr("VAE inpainting"),
            "mean digit": tr("mean digit")}


@functools.lru_cache(maxsize=2)
def trained_vae(epochs: int = 60, seed: int = 0) -> VAE:
    """Lecture 08's VAE (8-D codes), trained once per process for these settings, in eval mode."""
    seed_everything(seed)
    vae = VAE(latent=8)
    train_vae(vae, digit_pixels("train")[0], epochs, seed=seed)
    return vae.eval()


def render_png(panels: dict[str, torch.Tensor], mask: torch.Tensor, dpi: int = 80) -> bytes:
    """The digit as it is, as the model sees it (missing pixels hatched grey), and the two completions.

    ``panels`` are keyed by their English names (the titles drawn are in the current language)."""
    fig = Figure(figsize=(7.2, 2.2), dpi=dpi)
    titles = panel_titles()
    for index, (title, pixels) in enumerate(panels.items()):
        ax = fig.add_subplot(1, len(panels), index + 1)
        image = pixels.reshape(8, 8).clone()
        if title == "what is seen":
            image[~mask.reshape(8, 8).bool()] = 0.5
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(titles.get(title, title), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return figure_png(fig)


def render_table_html(rows: list[tuple[str, str, float | None, tuple[int, float]]]) -> str:
    """One row per completion: its missing-pixel error and the classifier's verdict; ``data-key`` for the tests."""
    header = "<tr><th></th>" + "".join(f"<th>{title}</th>" for title in (
        tr("error on missing pixels"), tr("classifier sees"), tr("probability"))) + "</tr>"
    body = ""
    for key, label, error, (digit, confidence) in rows:
        error_text = "&mdash;" if error is None else f"{error:.3f}"
        body += (f'<tr><td>{label}</td><td data-key="{key}_error" style="{CELL_STYLE}">{error_text}</td>'
                 f'<td data-key="{key}_digit" style="{CELL_STYLE}">{digit}</td>'
                 f'<td data-key="{key}_confidence" style="{CELL_STYLE}">{confidence:.3f}</td></tr>')
    return f"<table>{header}{body}</table>"


class InpaintingExplorer(ShowsItsWidget):
    """Pick a held-out digit and which part of it to hide; the VAE's code search (course.generative_ai.inpaint)
    fills the hidden pixels, the mean training digit fills them for comparison, and the table gives each
    completion's error on the hidden pixels and what the digits classifier sees. ``widget`` is the VBox to show."""

    def __init__(self, index: int = 0, mask: str = "bottom half", epochs: int = 60, seed: int = 0):
        if mask not in MASKS:
            raise ValueError(f"mask={mask!r}; choose one of {list(MASKS)}")
        self.vae = trained_vae(epochs, seed)
        self.digits, self.labels = digit_pixels("test")
        self.mean_image = digit_pixels("train")[0].mean(dim=0)
        if not 0 <= index < len(self.digits):
            raise ValueError(f"index={index}: choose a held-out digit from 0 to {len(self.digits) - 1}")
        self._build_controls(index, mask)
        self.refresh()

    def refresh(self, *_) -> None:
        x, mask = self.digits[self.index_slider.value][None], MASKS[self.mask_dropdown.value]
        self.completed = inpaint(self.vae.decoder, x, mask, latent=self.vae.latent)
        self.filled = mean_fill(x, mask, self.mean_image)
        original, inpainted, filled = classifier_verdicts(torch.cat([x, self.completed, self.filled]))
        self.errors = {"inpainted": missing_pixel_error(self.completed, x, mask),
                       "mean": missing_pixel_error(self.filled, x, mask)}
        self.figure.value = render_png({"the digit": x[0], "what is seen": x[0], "VAE inpainting": self.completed[0],
                                        "mean digit": self.filled[0]}, mask)
        titles = panel_titles()
        self.table.value = render_table_html([
            ("original", tr("the digit (a {digit})").format(digit=int(self.labels[self.index_slider.value])), None,
             original),
            ("inpainted", titles["VAE inpainting"], self.errors["inpainted"], inpainted),
            ("mean", titles["mean digit"], self.errors["mean"], filled),
        ])

    def _build_controls(self, index: int, mask: str) -> None:
        self.mask_dropdown = widgets.Dropdown(options=mask_choices(), value=mask, description=tr("hide"))
        self.index_slider = widgets.IntSlider(value=index, min=0, max=len(self.digits) - 1, description=tr("digit"),
                                              continuous_update=False)
        self.figure = figure_image()
        self.table = widgets.HTML()
        for control in (self.mask_dropdown, self.index_slider):
            control.observe(self.refresh, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.mask_dropdown, self.index_slider]), self.figure, self.table])


def inpainting_explorer(**kwargs) -> InpaintingExplorer:
    """Build an :class:`InpaintingExplorer` (same keyword arguments); displays nothing itself."""
    return InpaintingExplorer(**kwargs)
