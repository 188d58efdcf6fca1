"""The BCE explorer: one prediction, one label, the two terms of the cost and its gradients."""

from __future__ import annotations

import math

import ipywidgets as widgets
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from course.bce import bce_from_logits, binary_entropy, gradient_wrt_logit, gradient_wrt_probability
from course.language import tr
from course.widgets.controls import control_value
from course.widgets.display import ShowsItsWidget, figure_image, figure_png, labelled

MODES = ("probability", "logit")
PROBABILITY_RANGE = (0.001, 0.999)  # h = 0 or 1 would make the logit and dJ/dh infinite
LOGIT_RANGE = (-12.0, 12.0)


def table_rows() -> tuple[tuple[str, str], ...]:
    """(data-key, what the reader sees) for each displayed number, in table order, in the current language."""
    return (
        ("h", tr("prediction h = D(x) = sigmoid(z)")),
        ("z", tr("logit z = log(h / (1 - h))")),
        ("y", tr("label y")),
        ("y_log_h", "y &middot; log h"),
        ("one_minus_y_log_one_minus_h", "(1 &minus; y) &middot; log(1 &minus; h)"),
        ("cost", tr("<b>cost J = &minus;[y log h + (1 &minus; y) log(1 &minus; h)]</b>")),
        ("dJ/dz", "dJ/dz = h &minus; y"),
        ("dJ/dh", "dJ/dh = (h &minus; y) / (h (1 &minus; h))"),
    )


def bce_point(h_or_z: float, y: float, mode: str) -> dict[str, float]:
    """Every number the explorer shows for one prediction, in float64.

    In ``"logit"`` mode the input is z and the terms come from log-sigmoids (exact for any z); in
    ``"probability"`` mode it is h. The cost is course.bce's, the gradients its closed forms.
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}; choose one of {MODES}")
    value = torch.tensor(h_or_z, dtype=torch.float64)
    label = torch.tensor(y, dtype=torch.float64)
    if mode == "logit":
        z, h = value, torch.sigmoid(value)
        log_h, log_one_minus_h = F.logsigmoid(z), F.logsigmoid(-z)
    else:
        h, z = value, torch.logit(value)
        log_h, log_one_minus_h = torch.log(h), torch.log1p(-h)
    return {
        "h": h.item(),
        "z": z.item(),
        "y": label.item(),
        "y_log_h": (label * log_h).item(),
        "one_minus_y_log_one_minus_h": ((1 - label) * log_one_minus_h).item(),
        "cost": bce_from_logits(z, label).item(),
        "dJ/dz": gradient_wrt_logit(z, label).item(),
        "dJ/dh": gradient_wrt_probability(h, label).item(),
    }


def render_table_html(values: dict[str, float]) -> str:
    """The numbers as an HTML table; each value cell carries its ``data-key`` for the tests."""
    rows = "".join(
        f'<tr><td>{label}</td><td data-key="{key}" style="text-align:right;padding-left:1em">'
        f"{values[key]:.6f}</td></tr>"
        for key, label in table_rows()
    )
    return f"<table>{rows}</table>"


def render_curve_png(mode: str, y: float, point: dict[str, float], dpi: int = 80) -> bytes:
    """Cost against the prediction (h or z) for the current label, y = 1 and y = 0; the current point marked."""
    fig = Figure(figsize=(5.2, 3.2), dpi=dpi)
    ax = fig.add_subplot()
    if mode == "logit":
        x = torch.linspace(*LOGIT_RANGE, 400, dtype=torch.float64)
        cost = lambda label: F.binary_cross_entropy_with_logits(x, torch.full_like(x, label), reduction="none")
        ax.set_xlabel(tr("logit z"))
        here = point["z"]
    else:
        x = torch.linspace(*PROBABILITY_RANGE, 400, dtype=torch.float64)
        cost = lambda label: F.binary_cross_entropy(x, torch.full_like(x, label), reduction="none")
        ax.set_xlabel(tr("prediction h"))
        here = point["h"]
    ax.plot(x, cost(1.0), color="tab:blue", alpha=0.35, linestyle="--", label="y = 1: -log h")
    ax.plot(x, cost(0.0), color="tab:red", alpha=0.35, linestyle="--", label="y = 0: -log(1-h)")
    ax.plot(x, cost(y), color="black", label=f"y = {y:.2f}")
    ax.axhline(binary_entropy(torch.tensor(y, dtype=torch.float64)).item(), color="gray", linewidth=0.8,
               linestyle=":", label=tr("least cost H(y)"))
    ax.plot([here], [point["cost"]], "o", color="tab:orange", markersize=8, label=f"J = {point['cost']:.3f}")
    ax.set_ylim(0, max(8.0, min(point["cost"] * 1.1, 14.0)))
    ax.set_ylabel(tr("cost J"))
    ax.legend(fontsize=8, loc="upper center")
    return figure_png(fig)


class BCEExplorer(ShowsItsWidget):
    """Move a prediction (as a probability h or as a logit z) and a label y in [0, 1]; see the BCE.

    ``values()`` holds what the table shows: h, z, y, both terms, the cost and dJ/dz, dJ/dh.
    A label between 0 and 1 (e.g. 0.9) shows label smoothing: the least cost is then H(y) > 0, at h = y.
    """

    def __init__(self, prediction: float = 0.99, label: float = 1.0, mode: str = "probability"):
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}; choose one of {MODES}")
        self._updating = False
        self._build_controls(prediction, label, mode)
        self.refresh()

    mode = control_value("mode_buttons")
    label = control_value("label_slider")

    def prediction(self) -> float:
        """The active slider's value: h in probability mode, z in logit mode."""
        return self.probability_slider.value if self.mode == "probability" else self.logit_slider.value

    def values(self) -> dict[str, float]:
        return bce_point(self.prediction(), self.label, self.mode)

    def set_prediction(self, probability: float | None = None, logit: float | None = None) -> None:
        """Switch to the mode of the argument given and set its slider."""
        if (probability is None) == (logit is None):
            raise ValueError("give exactly one of probability or logit")
        self._updating = True
        if probability is not None:
            self.mode_buttons.value = "probability"
            self.probability_slider.value = probability
        else:
            self.mode_buttons.value = "logit"
            self.logit_slider.value = logit
        self._updating = False
        self.refresh()

    def refresh(self) -> None:
        values = self.values()
        self.probability_slider.layout.display = None if self.mode == "probability" else "none"
        self.logit_slider.layout.display = None if self.mode == "logit" else "none"
        self.table.value = render_table_html(values)
        self.figure.value = render_curve_png(self.mode, self.label, values)

    def _on_mode(self, change) -> None:
        # carry the prediction over, so switching the view does not move the point
        if self._updating:  # set_prediction sets the slider itself
            return
        self._updating = True
        if change["new"] == "logit":
            h = self.probability_slider.value
            self.logit_slider.value = max(LOGIT_RANGE[0], min(LOGIT_RANGE[1], math.log(h / (1 - h))))
        else:
            z = self.logit_slider.value
            probability = 1 / (1 + math.exp(-z))
            self.probability_slider.value = max(PROBABILITY_RANGE[0], min(PROBABILITY_RANGE[1], probability))
        self._updating = False
        self.refresh()

    def _on_change(self, _change=None) -> None:
        if not self._updating:
            self.refresh()

    def _build_controls(self, prediction: float, label: float, mode: str) -> None:
        common = {"continuous_update": False, "layout": {"width": "28em"}}
        labels = {"probability": tr("probability"), "logit": tr("logit")}
        self.mode_buttons = widgets.ToggleButtons(options=[(labels[name], name) for name in MODES], value=mode)
        self.probability_slider = widgets.FloatSlider(
            value=prediction if mode == "probability" else 0.5, min=PROBABILITY_RANGE[0], max=PROBABILITY_RANGE[1],
            step=0.001, readout_format=".3f", description="h", **common)
        self.logit_slider = widgets.FloatSlider(
            value=prediction if mode == "logit" else 0.0, min=LOGIT_RANGE[0], max=LOGIT_RANGE[1], step=0.05,
            readout_format=".2f", description="z", **common)
        self.label_slider = widgets.FloatSlider(value=label, min=0.0, max=1.0, step=0.05, readout_format=".2f",
                                                description=tr("label y"), **common)
        self.mode_buttons.observe(self._on_mode, names="value")
        for control in (self.probability_slider, self.logit_slider, self.label_slider):
            control.observe(self._on_change, names="value")
        self.table = widgets.HTML()
        self.figure = figure_image()
        self.widget = widgets.VBox([
            labelled(tr("prediction as"), self.mode_buttons),
            self.probability_slider,
            self.logit_slider,
            self.label_slider,
            widgets.HBox([self.table, self.figure]),
        ])


def bce_explorer(**kwargs) -> BCEExplorer:
    """Build a :class:`BCEExplorer` (same keyword arguments); displays nothing itself."""
    return BCEExplorer(**kwargs)
