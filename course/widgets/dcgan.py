"""The latent-space explorer: two noise vectors (and codes), a slider between them, the generator's images on the way."""

from __future__ import annotations

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from torch import nn

from course.dcgan import generate_images
from course.language import tr
from course.widgets.display import ShowsItsWidget, figure_image, figure_png, labelled

PATHS = ("spherical", "linear")
STRIP = 9  # images along the path shown at once


def noise_vector(seed: int, nz: int) -> torch.Tensor:
    """The generator's noise z ~ N(0, I) of size ``nz`` drawn from ``seed``: the same seed, the same z."""
    return torch.randn(nz, generator=torch.Generator().manual_seed(seed))


def interpolate(z_a: torch.Tensor, z_b: torch.Tensor, t: torch.Tensor | float, path: str = "spherical") -> torch.Tensor:
    """Points between ``z_a`` (t = 0) and ``z_b`` (t = 1); ``t`` of shape (T,) gives (T, nz).

    "linear" walks the straight line. "spherical" (slerp) walks the great circle and changes the length
    linearly: in many dimensions N(0, I) samples all have length close to sqrt(nz), and the midpoint of a
    straight line is shorter than that (about sqrt(nz / 2) for independent z_a, z_b) -- a noise vector the
    generator never saw in training.
    """
    if path not in PATHS:
        raise ValueError(f"path={path!r}; choose one of {PATHS}")
    t = torch.as_tensor(t, dtype=z_a.dtype).reshape(-1, 1)
    if path == "linear":
        return (1 - t) * z_a + t * z_b
    norm_a, norm_b = z_a.norm(), z_b.norm()
    cos_angle = torch.dot(z_a / norm_a, z_b / norm_b).clamp(-1.0, 1.0)
    angle = torch.arccos(cos_angle)
    if angle < 1e-6:  # the same direction: the great circle is a point
        direction = (1 - t) * z_a / norm_a + t * z_b / norm_b
    else:
        direction = (torch.sin((1 - t) * angle) * z_a / norm_a + torch.sin(t * angle) * z_b / norm_b) / torch.sin(angle)
    return direction * ((1 - t) * norm_a + t * norm_b)


def render_strip_png(images: torch.Tensor, ts: torch.Tensor, current: torch.Tensor, t: float, dpi: int = 80) -> bytes:
    """The strip of images along the path, and the image at the slider's ``t`` large on the right."""
    fig = Figure(figsize=(1.1 * len(images) + 2.6, 2.4), dpi=dpi)
    grid = fig.add_gridspec(1, len(images) + 3)
    for index, (image, at) in enumerate(zip(images, ts.tolist())):
        ax = fig.add_subplot(grid[0, index])
        _show(ax, image)
        ax.set_title(f"t={at:.2f}", fontsize=8)
    ax = fig.add_subplot(grid[0, len(images):])
    _show(ax, current)
    ax.set_title(f"t = {t:.2f}", fontsize=10)
    return figure_png(fig)


def _show(ax, image: torch.Tensor) -> None:
    picture = ((image + 1) / 2).clamp(0, 1)  # tanh output in [-1, 1] -> [0, 1]
    if picture.shape[0] == 1:
        ax.imshow(picture[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(picture.permute(1, 2, 0).numpy())
    ax.axis("off")


class LatentExplorer(ShowsItsWidget):
    """Pick two noise vectors by their seeds, slide ``t`` from one to the other, and watch G's images.

    ``generator`` maps (N, nz) noise to (N, C, H, W) images in [-1, 1] (course.dcgan.DCGANGenerator); it is
    run in eval mode (BatchNorm with its running statistics), so an image depends on its own z only. With
    ``codes`` > 0 it takes (N, nz + codes): the noise, then a one-hot code (course.dcgan.latent_with_codes);
    each end then has a code too, and the path moves from one code to the other in a straight line.
    ``images_along_path()`` and ``current_image()`` are what the figure shows.
    """

    def __init__(self, generator: nn.Module, nz: int, seed_a: int = 0, seed_b: int = 1, t: float = 0.5,
                 path: str = "spherical", codes: int = 0, code_a: int = 0, code_b: int = 0):
        if path not in PATHS:
            raise ValueError(f"path={path!r}; choose one of {PATHS}")
        if codes and not (0 <= code_a < codes and 0 <= code_b < codes):
            raise ValueError(f"code_a={code_a}, code_b={code_b}: each must be one of 0..{codes - 1}")
        self.generator, self.nz, self.codes = generator, nz, codes
        self._build_controls(seed_a, seed_b, t, path, code_a, code_b)
        self.refresh()

    @property
    def endpoints(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The noise vectors at t = 0 and t = 1, each of size nz."""
        return noise_vector(self.seed_a.value, self.nz), noise_vector(self.seed_b.value, self.nz)

    def points(self, t: torch.Tensor | float) -> torch.Tensor:
        """G's inputs at ``t`` (shape (T,), or a number): (T, nz), or (T, nz + codes) with the codes' path."""
        noise = interpolate(*self.endpoints, t, self.path.value)
        if not self.codes:
            return noise
        t = torch.as_tensor(t, dtype=noise.dtype).reshape(-1, 1)
        code_a, code_b = torch.eye(self.codes)[[self.code_a.value, self.code_b.value]]
        return torch.cat([noise, (1 - t) * code_a + t * code_b], dim=1)

    def path_points(self) -> torch.Tensor:
        """G's ``STRIP`` inputs from t = 0 to t = 1."""
        return self.points(torch.linspace(0, 1, STRIP))

    def images_along_path(self) -> torch.Tensor:
        return generate_images(self.generator, self.path_points())

    def current_image(self) -> torch.Tensor:
        return generate_images(self.generator, self.points(self.t.value))[0]

    def refresh(self, _change=None) -> None:
        self.figure.value = render_strip_png(self.images_along_path(), torch.linspace(0, 1, STRIP),
                                             self.current_image(), self.t.value)
        z = interpolate(*self.endpoints, self.t.value, self.path.value)[0]
        self.status.value = tr("|z| at t: {norm} (typical |z| for N(0, I): sqrt({nz}) = {typical})").format(
            norm=f'<span data-key="norm">{z.norm().item():.2f}</span>', nz=self.nz, typical=f"{self.nz ** 0.5:.2f}")

    def _build_controls(self, seed_a: int, seed_b: int, t: float, path: str, code_a: int, code_b: int) -> None:
        self.seed_a = widgets.BoundedIntText(value=seed_a, min=0, max=2**31 - 1, description=tr("seed of z_a"))
        self.seed_b = widgets.BoundedIntText(value=seed_b, min=0, max=2**31 - 1, description=tr("seed of z_b"))
        options = list(range(max(self.codes, 1)))
        self.code_a = widgets.Dropdown(options=options, value=code_a, description=tr("code of z_a"),
                                       layout={"display": "" if self.codes else "none"})
        self.code_b = widgets.Dropdown(options=options, value=code_b, description=tr("code of z_b"),
                                       layout={"display": "" if self.codes else "none"})
        self.t = widgets.FloatSlider(value=t, min=0.0, max=1.0, step=0.05, description="t",
                                     continuous_update=False, layout={"width": "28em"})
        labels = {"spherical": tr("spherical"), "linear": tr("linear")}
        self.path = widgets.ToggleButtons(options=[(labels[name], name) for name in PATHS], value=path)
        for control in (self.seed_a, self.seed_b, self.code_a, self.code_b, self.t, self.path):
            control.observe(self.refresh, names="value")
        self.figure = figure_image()
        self.status = widgets.HTML()
        self.widget = widgets.VBox([widgets.HBox([self.seed_a, self.seed_b]), widgets.HBox([self.code_a, self.code_b]),
                                    labelled(tr("path"), self.path), self.t, self.figure, self.status])


def latent_explorer(generator: nn.Module, nz: int, **kwargs) -> LatentExplorer:
    """Build a :class:`LatentExplorer` for ``generator`` (same keyword arguments); displays nothing itself."""
    return LatentExplorer(generator, nz, **kwargs)
