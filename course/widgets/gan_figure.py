"""What the GAN playgrounds draw: the data space with D's view, the samples and G's gradient field beside the
loss and verdict traces, the status line, and the Readout that names D's number for each game.

The left panel is the data space. In 2-D: what D says of x as a heat map (green: "real", pink: "fake"), the
real samples, the generated ones and, at some of the fakes, the generator's gradient field -dl_G/dx, the
arrows along which the generator's loss pushes each fake. In 1-D: histograms of the real and generated
samples, the target's density, the curve of D's view, the line D* = 1/2 of the Nash equilibrium (纳什均衡)
and the same arrows along the axis. The right panels trace the losses and the mean verdicts on real and fake
samples against the step, with their Nash values dashed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course.gan import EQUILIBRIUM_D, EQUILIBRIUM_D_LOSS, EQUILIBRIUM_G_LOSS
from course.gan.measures import MODE_SAMPLES
from course.gan.targets import GaussianMixture, Target
from course.language import tr
from course.widgets.display import figure_png

GRID_SIDE = 60  # D is evaluated on GRID_SIDE x GRID_SIDE points in 2-D
CURVE_POINTS = 200  # and on this many points in 1-D
LOSS_TRACE_POINTS = 400  # longer histories are drawn as means over blocks of steps
VIEW_SEED = 12345  # the real samples drawn, the same for every run


@dataclass(frozen=True)
class Frame:
    """What one drawing shows, kept so the tests can compare it with torch.

    ``grid`` (G, dim) are the points where D was evaluated and ``d_grid`` (G,) its values there (in 2-D
    the grid is GRID_SIDE x GRID_SIDE, x varying fastest); ``real`` and ``fake`` are the samples drawn;
    ``field`` (A, dim) is the gradient field -dl_G/dx at ``arrow_points`` (A, dim), drawn ``arrow_scale``
    times as long.
    """

    steps: int
    bounds: tuple[float, float]
    grid: torch.Tensor
    d_grid: torch.Tensor
    real: torch.Tensor
    fake: torch.Tensor
    arrow_points: torch.Tensor
    field: torch.Tensor
    arrow_scale: float


@dataclass(frozen=True)
class Readout:
    """What the figure and the status line call D's number and which Nash values they draw.

    ``verdict`` names the traced per-step number at a real x ("D(x)"; topic 07's critic or energy);
    ``view`` what the heat map (the curve in 1-D) shows; a ``probability`` verdict lies in [0, 1] with
    the Nash value 1/2, so its trace is clamped to [0, 1] and the 1/2 lines are drawn. ``nash_losses``
    are (value, label) for D's and G's loss at the equilibrium, None where the game has no such line;
    ``game`` leads the status line ("" for topic 04's game).
    """

    verdict: str = "D(x)"
    view: str = "D(x)"
    probability: bool = True
    nash_losses: tuple[tuple[float, str] | None, tuple[float, str] | None] = (None, None)
    game: str = ""

    @property
    def fake_verdict(self) -> str:
        return self.verdict.replace("(x)", "(G(z))")

    @property
    def trace_axis(self) -> str:
        return tr("mean {verdict}").format(verdict=self.verdict.removesuffix("(x)"))


def game_readout(generator_loss_kind: str) -> Readout:
    """Topic 04's game: D a probability; the losses' Nash values 2 log 2 and, by ``generator_loss_kind``, +-log 2."""
    g_loss = EQUILIBRIUM_G_LOSS[generator_loss_kind]
    return Readout(nash_losses=((EQUILIBRIUM_D_LOSS, "2 log 2"), (g_loss, "log 2" if g_loss > 0 else "-log 2")))


def view_bounds(target: Target) -> tuple[float, float]:
    """A fixed window (the same on both axes in 2-D) holding the target and the origin, where G starts."""
    samples = target.sample(MODE_SAMPLES, generator=VIEW_SEED)
    low = min(samples.min().item(), -1.0)
    high = max(samples.max().item(), 1.0)
    margin = 0.15 * (high - low)
    return low - margin, high + margin


def evaluation_grid(bounds: tuple[float, float], dim: int) -> torch.Tensor:
    """The points where D is drawn: CURVE_POINTS on a line in 1-D, a GRID_SIDE^2 grid in 2-D (x fastest)."""
    if dim == 1:
        return torch.linspace(*bounds, CURVE_POINTS)[:, None]  # (CURVE_POINTS, 1)
    ticks = torch.linspace(*bounds, GRID_SIDE)
    y, x = torch.meshgrid(ticks, ticks, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=1)  # (GRID_SIDE**2, 2)


def block_means(values: list[float], points: int = LOSS_TRACE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) with long histories averaged over blocks of steps, so a trace stays readable and quick."""
    values = np.asarray(values, dtype=float)
    block = max(1, math.ceil(len(values) / points))
    usable = len(values) // block * block
    if usable == 0:
        return np.arange(1, len(values) + 1), values
    means = values[:usable].reshape(-1, block).mean(axis=1)
    steps = np.arange(1, usable + 1).reshape(-1, block)[:, -1]
    return steps, means


def _draw_2d(ax, fig, frame: Frame, readout: Readout) -> None:
    low, high = frame.bounds
    image = ax.imshow(frame.d_grid.reshape(GRID_SIDE, GRID_SIDE).numpy(), origin="lower", extent=(low, high, low, high),
                      vmin=0.0, vmax=1.0, cmap="PiYG", alpha=0.75, interpolation="bilinear")
    colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, ticks=(0.0, 0.5, 1.0))
    colorbar.set_label(readout.view)
    ax.scatter(*frame.real.T.numpy(), s=4, color="darkgreen", label=tr("real x"))
    ax.scatter(*frame.fake.T.numpy(), s=4, color="purple", label=tr("fake G(z)"))
    arrows = frame.field * frame.arrow_scale
    ax.quiver(*frame.arrow_points.T.numpy(), *arrows.T.numpy(), angles="xy", scale_units="xy", scale=1.0,
              width=0.004, color="black", alpha=0.7)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")


def _draw_1d(ax, frame: Frame, target: Target, readout: Readout) -> None:
    low, high = frame.bounds
    bins = np.linspace(low, high, 61)
    for samples, color, label in ((frame.real, "darkgreen", tr("real x")), (frame.fake, "purple", tr("fake G(z)"))):
        # fakes outside the view pile up in the edge bins instead of vanishing
        density, _ = np.histogram(samples[:, 0].clamp(low, high).numpy(), bins=bins, density=True)
        ax.stairs(density, bins, fill=True, color=color, alpha=0.35, label=label)  # one artist, not 60 bars
    if isinstance(target, GaussianMixture):
        ax.plot(frame.grid[:, 0].numpy(), target.density(frame.grid).numpy(), color="darkgreen", linewidth=1,
                label="p_data")
    ax.set_xlim(low, high)
    ax.set_ylabel(tr("density"))
    twin = ax.twinx()
    twin.plot(frame.grid[:, 0].numpy(), frame.d_grid.numpy(), color="black", label=readout.view)
    if readout.probability:
        twin.axhline(EQUILIBRIUM_D, color="gray", linestyle="--", linewidth=1, label="D* = 1/2")
    arrows = frame.field[:, 0] * frame.arrow_scale
    twin.quiver(frame.arrow_points[:, 0].numpy(), np.full(len(arrows), 0.04), arrows.numpy(), np.zeros(len(arrows)),
                angles="xy", scale_units="xy", scale=1.0, width=0.004, color="purple", alpha=0.6)
    twin.set_ylim(0, 1)
    twin.set_yticks((0.0, 0.5, 1.0))
    twin.set_ylabel(readout.view)
    twin.legend(loc="upper right", fontsize=7)


def _draw_traces(loss_ax, d_ax, history, readout: Readout) -> None:
    loss_colors = ("tab:blue", "tab:orange")
    for values, label, color in zip((history.d_loss, history.g_loss), (tr("D loss"), tr("G loss")), loss_colors):
        loss_ax.plot(*block_means(values), color=color, linewidth=1, label=label)
    for nash, color in zip(readout.nash_losses, loss_colors):
        if nash is not None:
            loss_ax.axhline(nash[0], color=color, linestyle="--", linewidth=0.8, label=nash[1])
    loss_ax.set_ylabel(tr("loss"))
    loss_ax.legend(fontsize=7, ncol=2, loc="upper right")
    traced = ((history.real_verdict, readout.verdict, "darkgreen"), (history.fake_verdict, readout.fake_verdict, "purple"))
    for values, label, color in traced:
        d_ax.plot(*block_means(values), color=color, linewidth=1, label=label)
    if readout.probability:  # a critic's score or an energy has no Nash value and no range to clamp to
        d_ax.axhline(EQUILIBRIUM_D, color="gray", linestyle="--", linewidth=0.8, label="1/2")
        d_ax.set_ylim(0, 1)
        d_ax.set_yticks((0.0, 0.5, 1.0))
    d_ax.set_xlabel(tr("step"))
    d_ax.set_ylabel(readout.trace_axis)
    d_ax.legend(fontsize=7, ncol=3, loc="upper right")


def render_playground_png(frame: Frame, history, target: Target, readout: Readout, dpi: int = 72) -> bytes:
    """The data space on the left, the loss and D traces on the right, as PNG bytes, labelled by ``readout``."""
    fig = Figure(figsize=(10, 4.2), dpi=dpi)
    layout = fig.add_gridspec(2, 2, width_ratios=(1.15, 1))
    space = fig.add_subplot(layout[:, 0])
    if target.dim == 1:
        _draw_1d(space, frame, target, readout)
    else:
        _draw_2d(space, fig, frame, readout)
    space.set_title(tr("{target} after {steps} steps (arrows: -dl_G/dx)").format(target=target.name, steps=frame.steps),
                    fontsize=9)
    space.legend(loc="upper left", fontsize=7)
    loss_ax, d_ax = fig.add_subplot(layout[0, 1]), fig.add_subplot(layout[1, 1])
    _draw_traces(loss_ax, d_ax, history, readout)
    for axis in (space.xaxis, space.yaxis, loss_ax.xaxis, loss_ax.yaxis, d_ax.xaxis):
        axis.set_major_locator(MaxNLocator(4))  # each tick is several artists to build and lay out: a few do
    return figure_png(fig)


def status_html(values: dict, dim: int, readout: Readout = Readout()) -> str:
    """The status line; each number sits in an element tagged with its ``data-key`` for the tests."""
    def number(key: str) -> str:
        value = values[key]
        text = "&mdash;" if value is None else str(value) if isinstance(value, int) else f"{value:.4f}"
        return f'<span data-key="{key}">{text}</span>'

    distance = "Wasserstein-1" if dim == 1 else tr("sliced Wasserstein-1")
    parts = [f"<b>{readout.game}</b>"] if readout.game else []
    parts += [tr("steps {steps}").format(steps=number("steps")), tr("D loss {loss}").format(loss=number("d_loss")),
              tr("G loss {loss}").format(loss=number("g_loss")),
              f"{readout.verdict} {number('real_verdict')}", f"{readout.fake_verdict} {number('fake_verdict')}",
              tr("{distance} to the target {value}").format(distance=distance, value=number("distance")),
              tr("modes covered {covered} of {modes}").format(covered=number("modes_covered"), modes=number("modes")),
              tr("high-quality share {share}").format(share=number("high_quality_share"))]
    return f"<p style='font-family:monospace'>{' &middot; '.join(parts)}</p>"
