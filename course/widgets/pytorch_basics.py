"""The training-loop explorer: the slides' logistic regression on the 8s and 9s, trained as you set the loop."""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
from matplotlib.figure import Figure

from course.language import tr
from course.pytorch_basics import FEATURES, OPTIMIZERS, LogisticRegression, eights_and_nines, evaluate, fit, standardise
from course.repro import seed_everything
from course.widgets.display import ShowsItsWidget, figure_image, figure_png, labelled

BATCH_SIZES = (1, 8, 32, 128, "all")
LEARNING_RATE_EXPONENTS = (-3.0, 0.5)  # the learning rate's slider runs from 10^-3 to 10^0.5
MAX_EPOCHS = 40
CELL_STYLE = "text-align:right;padding:0 .5em"


@dataclass(frozen=True)
class LoopSetting:
    """One choice of the loop's knobs."""

    optimizer: str = "SGD"
    lr: float = 0.01
    batch_size: int | str = 32
    epochs: int = 20
    standardised: bool = True
    zero_grad: bool = True


@dataclass(frozen=True)
class LoopResult:
    """What one run of the loop gave: the mean training loss per epoch, and the held-out accuracy and loss."""

    train_losses: tuple[float, ...]
    test_accuracy: float
    test_loss: float


def run_loop(setting: LoopSetting, seed: int = 0) -> LoopResult:
    """Train a fresh, seeded ``LogisticRegression(16)`` on the 8s and 9s as ``setting`` says."""
    X_train, y_train, X_test, y_test = eights_and_nines()
    if setting.standardised:
        X_train, mean, std = standardise(X_train)
        X_test = (X_test - mean) / std
    batch_size = len(y_train) if setting.batch_size == "all" else int(setting.batch_size)
    seed_everything(seed)
    model = LogisticRegression(FEATURES)
    losses = fit(model, X_train, y_train, setting.epochs, batch_size, setting.lr, seed, setting.optimizer,
                 zero_grad=setting.zero_grad)
    accuracy, test_loss = evaluate(model, X_test, y_test)
    return LoopResult(tuple(losses), accuracy, test_loss)


def render_losses_png(result: LoopResult, setting: LoopSetting, dpi: int = 80) -> bytes:
    """The mean training loss per epoch, on a log axis when every loss is positive and finite."""
    fig = Figure(figsize=(5.2, 3.0), dpi=dpi)
    ax = fig.add_subplot()
    epochs = range(1, len(result.train_losses) + 1)
    ax.plot(epochs, result.train_losses, marker="o", markersize=3)
    if all(0 < loss < float("inf") for loss in result.train_losses):
        ax.set_yscale("log")
    ax.set_xlabel(tr("epoch"))
    ax.set_ylabel(tr("mean BCE on the training digits"))
    batch = tr("all") if setting.batch_size == "all" else setting.batch_size
    title = tr("{optimizer}, lr {lr:.3g}, batch {batch}").format(optimizer=setting.optimizer, lr=setting.lr,
                                                                 batch=batch)
    ax.set_title(title + ("" if setting.zero_grad else tr(", zero_grad forgotten")), fontsize=10)
    return figure_png(fig)


def render_table_html(result: LoopResult) -> str:
    """The final numbers; each value cell carries its ``data-key`` for the tests."""
    rows = (("first_loss", tr("training loss, first epoch"), result.train_losses[0]),
            ("last_loss", tr("training loss, last epoch"), result.train_losses[-1]),
            ("test_loss", tr("held-out loss"), result.test_loss),
            ("test_accuracy", tr("held-out accuracy"), result.test_accuracy))
    cells = "".join(f'<tr><td>{label}</td><td data-key="{key}" style="{CELL_STYLE}">{value:.4f}</td></tr>'
                    for key, label, value in rows)
    return f"<table>{cells}</table>"


class LoopExplorer(ShowsItsWidget):
    """Set the loop's knobs (optimiser, learning rate, batch size, epochs, standardised features, whether
    ``zero_grad`` is called) and see the loss per epoch and the held-out accuracy of the slides' model.

    ``setting()`` is what the controls say, ``result`` the run they gave; ``widget`` is the VBox to show.
    """

    def __init__(self, setting: LoopSetting = LoopSetting(), seed: int = 0):
        if setting.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={setting.optimizer!r}; choose one of {sorted(OPTIMIZERS)}")
        if setting.batch_size not in BATCH_SIZES:
            raise ValueError(f"batch_size={setting.batch_size!r}; choose one of {BATCH_SIZES}")
        self.seed = seed
        self._build_controls(setting)
        self.refresh()

    def setting(self) -> LoopSetting:
        return LoopSetting(self.optimizer_buttons.value, self.lr_slider.value, self.batch_dropdown.value,
                           self.epochs_slider.value, self.standardise_box.value, self.zero_grad_box.value)

    def refresh(self, *_) -> None:
        setting = self.setting()
        self.result = run_loop(setting, self.seed)
        self.table.value = render_table_html(self.result)
        self.figure.value = render_losses_png(self.result, setting)

    def _build_controls(self, setting: LoopSetting) -> None:
        self.optimizer_buttons = widgets.ToggleButtons(options=list(OPTIMIZERS), value=setting.optimizer)
        self.lr_slider = widgets.FloatLogSlider(value=setting.lr, base=10, min=LEARNING_RATE_EXPONENTS[0],
                                                max=LEARNING_RATE_EXPONENTS[1], step=0.25, description=tr("lr"),
                                                continuous_update=False)
        batch_choices = [(tr("all") if size == "all" else str(size), size) for size in BATCH_SIZES]
        self.batch_dropdown = widgets.Dropdown(options=batch_choices, value=setting.batch_size, description=tr("batch"))
        self.epochs_slider = widgets.IntSlider(value=setting.epochs, min=1, max=MAX_EPOCHS, description=tr("epochs"),
                                               continuous_update=False)
        self.standardise_box = widgets.Checkbox(value=setting.standardised, description=tr("standardised features"))
        self.zero_grad_box = widgets.Checkbox(value=setting.zero_grad, description=tr("call optimizer.zero_grad()"))
        self.table = widgets.HTML()
        self.figure = figure_image()
        for control in (self.optimizer_buttons, self.lr_slider, self.batch_dropdown, self.epochs_slider,
                        self.standardise_box, self.zero_grad_box):
            control.observe(self.refresh, names="value")
        self.widget = widgets.VBox([
            labelled(tr("optimiser"), self.optimizer_buttons),
            widgets.HBox([self.lr_slider, self.batch_dropdown, self.epochs_slider]),
            widgets.HBox([self.standardise_box, self.zero_grad_box]),
            widgets.HBox([self.figure, self.table]),
        ])


def loop_explorer(**kwargs) -> LoopExplorer:
    """Build a :class:`LoopExplorer` (same keyword arguments); displays nothing itself."""
    return LoopExplorer(**kwargs)
