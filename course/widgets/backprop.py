"""The backpropagation explorer: one 2-2-1 network, stepped by gradient descent."""

from __future__ import annotations

import html
import random
from typing import Mapping

import ipywidgets as widgets
from matplotlib.figure import Figure

from course.backprop import (
    WEIGHT_NAMES,
    Forward221,
    forward_221,
    gradient_descent_step,
    gradients_221,
    squared_error,
)
from course.language import tr
from course.plots import plot_loss_curve
from course.widgets.controls import control_value
from course.widgets.display import ShowsItsWidget, figure_image, figure_png

FORWARD_NAMES = ("a1", "f1", "a2", "f2", "a3", "y")


def initial_weights_221(seed: int = 0, scale: float = 1.0) -> dict[str, float]:
    """Six starting weights drawn uniformly from [-scale, scale] by ``seed``.

    A private ``random.Random`` keeps the draw independent of (and harmless
    to) the global generators that ``seed_everything`` sets.
    """
    rng = random.Random(seed)
    return {name: rng.uniform(-scale, scale) for name in WEIGHT_NAMES}


def _format(value: float) -> str:
    return f"{value:.6f}"


def _cell(key: str, value: float | None) -> str:
    # data-key lets the tests read back exactly what a reader sees.
    text = "&mdash;" if value is None else _format(value)
    return f'<td data-key="{html.escape(key)}" style="text-align:right">{text}</td>'


def render_state_html(
    fwd: Forward221,
    loss: float,
    weights: Mapping[str, float],
    grads: Mapping[str, float],
    previous: Mapping[str, float] | None,
) -> str:
    """Two HTML tables: the forward values with E, and per weight its last update and dE/dw."""
    forward_rows = "".join(
        f"<tr><td>{name}</td>{_cell(name, getattr(fwd, name))}</tr>" for name in FORWARD_NAMES
    )
    forward_rows += f"<tr><td><b>E = (y - z)&sup2;</b></td>{_cell('E', loss)}</tr>"
    weight_rows = "".join(
        f"<tr><td>{name}</td>"
        f"{_cell(f'{name}.old', None if previous is None else previous[name])}"
        f"{_cell(f'{name}.new', weights[name])}"
        f"{_cell(f'dE/d{name}', grads[name])}</tr>"
        for name in WEIGHT_NAMES
    )
    forward_header = "".join(f"<th>{title}</th>" for title in (tr("forward"), tr("value")))
    weight_header = "".join(f"<th>{title}</th>"
                            for title in (tr("weight"), tr("before last step"), tr("now"), tr("dE/dw now")))
    return (
        '<div style="display:flex;gap:2em;align-items:flex-start">'
        f"<table><tr>{forward_header}</tr>"
        f"{forward_rows}</table>"
        f"<table><tr>{weight_header}</tr>"
        f"{weight_rows}</table></div>"
        "<p><small>"
        + tr("Step applies w &larr; w &minus; &eta; &middot; dE/dw with the <i>dE/dw now</i> column.")
        + "</small></p>"
    )


def render_loss_png(history: list[float], figsize=(4.5, 2.6), dpi: int = 80) -> bytes:
    """The loss curve as PNG bytes (empty bytes before the first step)."""
    if not history:
        return b""
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_subplot()
    plot_loss_curve(ax, history, label=tr("E after each step"))
    return figure_png(fig)


class BackpropExplorer(ShowsItsWidget):
    """The slides' 2-2-1 sigmoid network, stepped by gradient descent one click at a time.

    State: ``weights`` (current), ``initial_weights``, ``history`` (E after each
    step, for the inputs in effect at that step) and ``previous_weights``
    (before the last step, ``None`` until the first). The sliders hold the
    inputs x1, x2, the target z and the learning rate eta; moving one only
    recomputes the display. ``widget`` is the VBox to show.
    """

    def __init__(
        self,
        x1: float = 1.0,
        x2: float = -0.5,
        z: float = 0.9,
        eta: float = 1.0,
        seed: int = 0,
        weights: Mapping[str, float] | None = None,
        repeat: int = 10,
    ):
        if weights is not None and set(weights) != set(WEIGHT_NAMES):
            raise ValueError(f"weights must have exactly the keys {WEIGHT_NAMES}, got {sorted(weights)}")
        self.initial_weights = dict(weights) if weights is not None else initial_weights_221(seed)
        self.weights = dict(self.initial_weights)
        self.previous_weights: dict[str, float] | None = None
        self.history: list[float] = []
        self._build_controls(x1, x2, z, eta, repeat)
        self.refresh()

    # -- the inputs live in the sliders, so the widget and the code never disagree
    x1 = control_value("x1_slider")
    x2 = control_value("x2_slider")
    z = control_value("z_slider")
    eta = control_value("eta_slider")

    def forward(self) -> Forward221:
        """The forward pass at the current weights and inputs."""
        return forward_221(self.weights, self.x1, self.x2)

    def loss(self) -> float:
        """E = (y - z)^2 at the current weights and inputs."""
        return squared_error(self.forward().y, self.z)

    def gradients(self) -> dict[str, float]:
        """dE/dw at the current weights and inputs: what the next step will apply."""
        return gradients_221(self.weights, self.x1, self.x2, self.z)

    def step(self, n: int = 1) -> float:
        """Take ``n`` gradient-descent steps, record E after each, redraw once; return the last E."""
        if n < 1:
            raise ValueError(f"n={n}: take at least one step")
        for _ in range(n):
            self.previous_weights = self.weights
            self.weights = gradient_descent_step(self.weights, self.gradients(), self.eta)
            self.history.append(self.loss())
        self.refresh(redraw_plot=True)
        return self.history[-1]

    def reset(self) -> None:
        """Back to the initial weights with an empty history; the sliders stay where they are."""
        self.weights = dict(self.initial_weights)
        self.previous_weights = None
        self.history = []
        self.refresh(redraw_plot=True)

    def refresh(self, redraw_plot: bool = True) -> None:
        """Recompute the forward and backward pass and show them (and, if asked, the loss curve)."""
        fwd = self.forward()
        self.table.value = render_state_html(
            fwd, squared_error(fwd.y, self.z), self.weights, self.gradients(), self.previous_weights
        )
        if redraw_plot:
            self.loss_plot.value = render_loss_png(self.history)
            self.loss_plot.layout.display = None if self.history else "none"
        self.status.value = tr("steps taken: {count}").format(count=len(self.history))

    def _build_controls(self, x1: float, x2: float, z: float, eta: float, repeat: int) -> None:
        def slider(description, value, low, high, step=0.01):
            # Widen the range rather than let ipywidgets silently clamp a caller's value.
            return widgets.FloatSlider(
                value=value, min=min(low, value), max=max(high, value), step=step,
                description=description, continuous_update=False, readout_format=".2f",
            )

        self.x1_slider = slider("x1", x1, -3.0, 3.0)
        self.x2_slider = slider("x2", x2, -3.0, 3.0)
        self.z_slider = slider(tr("target z"), z, 0.0, 1.0)
        self.eta_slider = slider("eta", eta, 0.01, 5.0)
        for control in (self.x1_slider, self.x2_slider, self.z_slider):
            control.observe(lambda _change: self.refresh(redraw_plot=False), names="value")
        # eta only matters when a step is taken, so moving it needs no recomputation.

        self.repeat = widgets.BoundedIntText(
            value=repeat, min=1, max=1000, description="n", style={"description_width": "initial"},
            layout={"width": "9em"},  # room for four digits and the spinner beside the short label
        )
        self.step_button = widgets.Button(description=tr("Step"), button_style="primary")
        self.step_n_button = widgets.Button(description=tr("Step x{count}").format(count=repeat))
        self.reset_button = widgets.Button(description=tr("Reset"), button_style="warning")
        self.step_button.on_click(lambda _b: self.step(1))
        self.step_n_button.on_click(lambda _b: self.step(self.repeat.value))
        self.reset_button.on_click(lambda _b: self.reset())
        self.repeat.observe(
            lambda change: setattr(self.step_n_button, "description", tr("Step x{count}").format(count=change["new"])),
            names="value",
        )

        self.table = widgets.HTML()
        self.status = widgets.Label()
        self.loss_plot = figure_image()
        self.widget = widgets.VBox([
            widgets.HBox([self.x1_slider, self.x2_slider]),
            widgets.HBox([self.z_slider, self.eta_slider]),
            widgets.HBox([self.step_button, self.step_n_button, self.repeat, self.reset_button, self.status]),
            self.table,
            self.loss_plot,
        ])


def backprop_explorer(**kwargs) -> BackpropExplorer:
    """Build a :class:`BackpropExplorer` (same keyword arguments); displays nothing itself."""
    return BackpropExplorer(**kwargs)
