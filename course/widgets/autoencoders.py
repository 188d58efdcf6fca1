"""The code-space explorer: move a point in the code space of an AE or a VAE and see what its decoder draws."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from course.autoencoders import VAE, Autoencoder, classifier_verdicts, digit_pixels, train_autoencoder, train_vae
from course.language import tr
from course.repro import seed_everything
from course.widgets.display import ShowsItsWidget, figure_image, figure_png, labelled

MODELS = ("VAE", "AE")
LATENT_RANGE = (-4.0, 4.0)
CELL_STYLE = "text-align:right;padding:0 .5em"


@dataclass(frozen=True)
class LatentModels:
    """An AE and a VAE with 2-D codes, trained on the digits, and where each puts the training digits."""

    autoencoder: Autoencoder
    vae: VAE
    codes: dict  # model name -> (N, 2) codes of the training digits (the AE's z, the VAE's mu)
    labels: torch.Tensor


@functools.lru_cache(maxsize=2)
def latent_models(epochs: int = 60, seed: int = 0) -> LatentModels:
    """Both models trained once per process for these settings (a few seconds each), in eval mode."""
    X, labels = digit_pixels()
    seed_everything(seed)
    autoencoder = Autoencoder(latent=2)
    train_autoencoder(autoencoder, X, epochs, seed=seed)
    seed_everything(seed)
    vae = VAE(latent=2)
    train_vae(vae, X, epochs, seed=seed)
    autoencoder.eval()
    vae.eval()
    with torch.no_grad():
        codes = {"AE": autoencoder.encoder(X), "VAE": vae.encode(X)[0]}
    return LatentModels(autoencoder, vae, codes, labels)


def decode(models: LatentModels, model: str, z: tuple[float, float]) -> torch.Tensor:
    """The 64 pixels in [0, 1] that ``model``'s decoder draws for the code ``z``."""
    decoder = models.vae.decoder if model == "VAE" else models.autoencoder.decoder
    with torch.no_grad():
        return decoder(torch.tensor([z], dtype=torch.float32))[0]


def render_png(models: LatentModels, model: str, z: tuple[float, float], pixels: torch.Tensor, dpi: int = 80) -> bytes:
    """The training digits' codes coloured by digit with ``z`` marked, and the decoded digit beside them."""
    fig = Figure(figsize=(7.2, 3.4), dpi=dpi)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    codes = models.codes[model]
    points = left.scatter(codes[:, 0].numpy(), codes[:, 1].numpy(), c=models.labels.numpy(), cmap="tab10", s=4,
                          vmin=-0.5, vmax=9.5)
    left.plot([z[0]], [z[1]], marker="x", color="black", markersize=12, markeredgewidth=3)
    left.set_xlim(*LATENT_RANGE)
    left.set_ylim(*LATENT_RANGE)
    title = tr("{model}: training digits' codes (mu)") if model == "VAE" else tr("{model}: training digits' codes")
    left.set_title(title.format(model=model), fontsize=9)
    fig.colorbar(points, ax=left, ticks=range(10), fraction=0.046)
    right.imshow(pixels.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    right.set_title(tr("decoded at z = ({z1:.1f}, {z2:.1f})").format(z1=z[0], z2=z[1]), fontsize=9)
    right.set_xticks([])
    right.set_yticks([])
    return figure_png(fig)


def render_table_html(z: tuple[float, float], digit: int, confidence: float) -> str:
    rows = (("z1", "z1", f"{z[0]:.2f}"), ("z2", "z2", f"{z[1]:.2f}"), ("digit", tr("the classifier sees"), str(digit)),
            ("confidence", tr("its probability"), f"{confidence:.3f}"))
    cells = "".join(f'<tr><td>{label}</td><td data-key="{key}" style="{CELL_STYLE}">{value}</td></tr>'
                    for key, label, value in rows)
    return f"<table>{cells}</table>"


class CodeSpaceExplorer(ShowsItsWidget):
    """Pick the VAE or the AE (both with 2-D codes) and move z with two sliders: the map shows where the training
    digits' codes lie, the picture what the decoder draws at z, the table what the digits classifier sees in it.
    The VAE's codes fill the region around 0 that its prior N(0, I) asks for; the AE's lie wherever training left
    them, so its decoder draws junk in the gaps. ``widget`` is the VBox to show."""

    def __init__(self, model: str = "VAE", z: tuple[float, float] = (0.0, 0.0), epochs: int = 60, seed: int = 0):
        if model not in MODELS:
            raise ValueError(f"model={model!r}; choose one of {MODELS}")
        self.models = latent_models(epochs, seed)
        self._build_controls(model, z)
        self.refresh()

    @property
    def z(self) -> tuple[float, float]:
        return (self.z1_slider.value, self.z2_slider.value)

    def refresh(self, *_) -> None:
        model, z = self.model_buttons.value, self.z
        self.pixels = decode(self.models, model, z)
        (self.verdict,) = classifier_verdicts(self.pixels[None])
        self.figure.value = render_png(self.models, model, z, self.pixels)
        self.table.value = render_table_html(z, *self.verdict)

    def _build_controls(self, model: str, z: tuple[float, float]) -> None:
        self.model_buttons = widgets.ToggleButtons(options=MODELS, value=model)
        sliders = [widgets.FloatSlider(value=value, min=LATENT_RANGE[0], max=LATENT_RANGE[1], step=0.1,
                                       description=name, continuous_update=False)
                   for name, value in (("z1", z[0]), ("z2", z[1]))]
        self.z1_slider, self.z2_slider = sliders
        self.figure = figure_image()
        self.table = widgets.HTML()
        for control in (self.model_buttons, *sliders):
            control.observe(self.refresh, names="value")
        self.widget = widgets.VBox([labelled(tr("model"), self.model_buttons), widgets.HBox(sliders),
                                    widgets.HBox([self.figure, self.table])])


def code_space_explorer(**kwargs) -> CodeSpaceExplorer:
    """Build a :class:`CodeSpaceExplorer` (same keyword arguments); displays nothing itself."""
    return CodeSpaceExplorer(**kwargs)
