"""The unrolled-RNN stepper: feed a sequence one step at a time, then send the error back through time."""

from __future__ import annotations

import math

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course.language import tr
from course.rnn_by_hand import ACTIVATIONS, RNNWeights, bptt, orthogonal_recurrence, rnn_cell
from course.widgets.controls import control_value
from course.widgets.display import ShowsItsWidget, figure_image, figure_png, labelled


def sine_sequence(length: int, step: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs x_t = sin(step * t) for t = 0..length-1 as (length, 1), and the next values as targets."""
    wave = torch.sin(step * torch.arange(length + 1, dtype=torch.float64)).unsqueeze(-1)
    return wave[:-1], wave[1:]


def render_gradients_png(norms: list[float], scale: float, activation: str, dpi: int = 80) -> bytes:
    """|dL/ds_t| against t on a log axis, as PNG bytes (empty bytes when there is nothing to draw).

    A bare ``Figure`` never enters pyplot's registry, so redrawing leaves nothing to close.
    """
    if not norms:
        return b""
    fig = Figure(figsize=(5, 2.6), dpi=dpi)
    ax = fig.add_subplot()
    steps = range(1, len(norms) + 1)
    ax.plot(steps, norms, marker="o")
    if min(norms) > 0:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # t counts steps: no tick at t = 2.5
    ax.set_xlabel("t")
    ax.set_ylabel("|dL/ds_t|")
    title = tr("gradient of the last step's loss ({activation}, scale {scale:.2f})")
    ax.set_title(title.format(activation=activation, scale=scale))
    return figure_png(fig)


# JupyterLab's stylesheet gives table cells and headers no padding: without it the numbers and names run together
CELL_STYLE = "text-align:right;padding:0 .5em"


def _number(key: str, value: float | None) -> str:
    # data-key lets the tests read back exactly what a reader sees.
    text = "&mdash;" if value is None else f"{value:.6g}"
    return f'<td data-key="{key}" style="{CELL_STYLE}">{text}</td>'


class RNNStepper(ShowsItsWidget):
    """A one-layer RNN (no bias) unrolled over a sine wave, stepped by hand.

    ``U`` (H x 1) and ``V`` (1 x H) are random; ``W`` is ``scale`` times a random
    orthogonal matrix, so ``scale`` is exactly the factor by which W stretches any
    vector. **Step** feeds the next x_t and shows s_t = f(U x_t + W s_{t-1}) and
    o_t = V s_t; **Backward** takes the loss of the last step fed,
    L = 1/2 (o_t - y_t)^2 with y_t = x_{t+1}, and shows |dL/ds_k| for every k <= t;
    **Reset** goes back to t = 0. Moving the scale or the activation recomputes the
    steps already fed and clears the gradients. ``widget`` is the VBox to show.
    """

    def __init__(self, length: int = 20, hidden_size: int = 4, scale: float = 0.9,
                 activation: str = "tanh", seed: int = 0):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r}; choose one of {ACTIVATIONS}")
        if length < 1 or hidden_size < 1:
            raise ValueError(f"length={length}, hidden_size={hidden_size}: both must be at least 1")
        self.inputs, self.targets = sine_sequence(length)
        self.seed = seed
        generator = torch.Generator().manual_seed(seed)
        self.U = torch.randn(hidden_size, 1, generator=generator, dtype=torch.float64)
        self.V = torch.randn(1, hidden_size, generator=generator, dtype=torch.float64) / math.sqrt(hidden_size)
        self.states: list[torch.Tensor] = []
        self.state_grads: torch.Tensor | None = None
        self.loss: float | None = None
        self._build_controls(scale, activation)
        self.refresh()

    # -- what the explorer computes -------------------------------------------------------------
    scale = control_value("scale_slider")
    activation = control_value("activation_picker")

    @property
    def t(self) -> int:
        """How many steps have been fed."""
        return len(self.states)

    def weights(self) -> RNNWeights:
        return RNNWeights(U=self.U, W=orthogonal_recurrence(self.U.shape[0], self.scale, self.seed))

    def outputs(self) -> list[float]:
        return [(self.V @ s).item() for s in self.states]

    def step(self) -> torch.Tensor:
        """Feed the next input; returns the new state s_t. Past the end of the sequence it does nothing."""
        if self.t < len(self.inputs):
            self._feed(self.weights())
            self._forget_gradients()
            self.refresh()
        return self.states[-1]

    def _feed(self, weights: RNNWeights) -> None:
        previous = self.states[-1] if self.states else torch.zeros(self.U.shape[0], dtype=torch.float64)
        self.states.append(rnn_cell(self.inputs[self.t], previous, weights, self.activation))

    def backward(self) -> torch.Tensor | None:
        """BPTT from the last step's loss; returns |dL/ds_k| for k = 1..t (None before the first step)."""
        if not self.states:
            return None
        result = bptt(self.inputs[: self.t], self.targets[: self.t], self.weights(), self.V,
                      activation=self.activation, last_step_only=True)
        self.state_grads, self.loss = result.state_grads, result.loss.item()
        self.refresh()
        return self.gradient_norms()

    def gradient_norms(self) -> torch.Tensor | None:
        return None if self.state_grads is None else self.state_grads.norm(dim=-1)

    def reset(self) -> None:
        self.states = []
        self._forget_gradients()
        self.refresh()

    def recompute(self) -> None:
        """Re-run the steps already fed with the current scale and activation."""
        fed, weights = self.t, self.weights()
        self.states = []
        for _ in range(fed):
            self._feed(weights)
        self._forget_gradients()
        self.refresh()

    def _forget_gradients(self) -> None:
        self.state_grads, self.loss = None, None

    # -- what it shows --------------------------------------------------------------------------
    def render_table(self) -> str:
        norms = self.gradient_norms()
        hidden = self.U.shape[0]
        names = ["t", "x_t", *(f"s_t[{j}]" for j in range(hidden)), "o_t", "|dL/ds_t|"]
        header = "".join(f'<th style="{CELL_STYLE}">{name}</th>' for name in names)
        rows = []
        for k, (state, output) in enumerate(zip(self.states, self.outputs()), start=1):
            cells = _number(f"x{k}", self.inputs[k - 1].item())
            cells += "".join(_number(f"s{k}_{j}", state[j].item()) for j in range(hidden))
            cells += _number(f"o{k}", output)
            cells += _number(f"g{k}", None if norms is None else norms[k - 1].item())
            rows.append(f'<tr><td style="{CELL_STYLE}">{k}</td>{cells}</tr>')
        loss = "" if self.loss is None else "<p>" + tr(
            "L = &frac12;(o<sub>{t}</sub> &minus; y<sub>{t}</sub>)&sup2; = {loss} with y<sub>{t}</sub> = {target}"
        ).format(t=self.t, loss=f'<span data-key="loss">{self.loss:.6g}</span>',
                 target=f'<span data-key="target">{self.targets[self.t - 1].item():.6g}</span>') + "</p>"
        return f"<table><tr>{header}</tr>{''.join(rows)}</table>{loss}"

    def refresh(self) -> None:
        self.table.value = self.render_table()
        norms = self.gradient_norms()
        self.plot.value = b"" if norms is None else render_gradients_png(norms.tolist(), self.scale, self.activation)
        self.plot.layout.display = None if norms is not None else "none"
        self.status.value = tr("t = {t} of {length}").format(t=self.t, length=len(self.inputs))

    def _build_controls(self, scale: float, activation: str) -> None:
        self.scale_slider = widgets.FloatSlider(
            value=scale, min=min(0.1, scale), max=max(2.0, scale), step=0.05, description=tr("W scale"),
            continuous_update=False, readout_format=".2f",
        )
        labels = {"identity": tr("identity")}  # tanh and relu are names
        self.activation_picker = widgets.ToggleButtons(options=[(labels.get(name, name), name) for name in ACTIVATIONS],
                                                       value=activation,
                                                       style={"button_width": "6em"})
        for control in (self.scale_slider, self.activation_picker):
            control.observe(lambda _change: self.recompute(), names="value")
        self.step_button = widgets.Button(description=tr("Step"), button_style="primary")
        self.backward_button = widgets.Button(description=tr("Backward"), button_style="info")
        self.reset_button = widgets.Button(description=tr("Reset"), button_style="warning")
        self.step_button.on_click(lambda _b: self.step())
        self.backward_button.on_click(lambda _b: self.backward())
        self.reset_button.on_click(lambda _b: self.reset())
        self.status = widgets.Label()
        self.table = widgets.HTML()
        self.plot = figure_image()
        self.widget = widgets.VBox([
            widgets.HBox([self.scale_slider, labelled("f", self.activation_picker, label_width="3em")]),
            widgets.HBox([self.step_button, self.backward_button, self.reset_button, self.status]),
            self.table,
            self.plot,
        ])


def rnn_stepper(**kwargs) -> RNNStepper:
    """Build an :class:`RNNStepper` (same keyword arguments); displays nothing itself."""
    return RNNStepper(**kwargs)
