"""The GAN playground: pick a target, train a small GAN live and watch it learn (after GAN Lab).

One :class:`GANPlayground` plays a game object: topic 04's :class:`PlainGame` (the plain GAN, G's loss as
its setting) by default, topic 07's ``VariantGame`` (course.widgets.gan_variants) for the variants. The game
brings its own controls, builds the trainer and says what the figure shows of D and of G's loss; the
playground owns everything the games share: the target and training settings, Step, Play, Reset, the status
line and the figure (course.widgets.gan_figure).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Protocol

import ipywidgets as widgets
import torch

from course.gan import GENERATOR_LOSSES
from course.gan.measures import MODE_SAMPLES, mode_coverage
from course.gan.targets import TARGETS, GaussianMixture, make_target
from course.gan.training import GANTrainer, generator_gradient_field
from course.language import tr
from course.repro import pick_device, single_cpu_thread
from course.widgets.display import ShowsItsWidget, figure_image, labelled
from course.widgets.gan_figure import (VIEW_SEED, Frame, Readout, evaluation_grid, game_readout,
                                       render_playground_png, status_html, view_bounds)

LEARNING_RATES = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2)
BATCH_SIZES = (32, 64, 128, 256, 512)
MAX_D_STEPS = 5
STEPS_PER_TICK = (1, 5, 10, 20, 50, 100)
TICK_MS = 200
DRAWN_SAMPLES = 500  # real and fake points scattered in 2-D (histograms use all MODE_SAMPLES)
ARROWS = 120  # fakes that carry an arrow of the gradient field
ARROW_SHARE = 0.08  # the longest arrow spans this share of the view


class Game(Protocol):
    """What a :class:`GANPlayground` asks of the game it plays."""

    d_steps: int  # k for the first run when the playground is given none
    fallback_target: str  # where the target moves when the game switches to one it cannot learn

    def controls(self, style: dict, layout: dict, changed: Callable[[int | None], None]) -> list[widgets.Widget]:
        """Build the game's controls (sized by ``style`` and ``layout``) and return what to lay out; when one
        moves, call ``changed`` with the k the new game starts with (None: keep the slider's)."""

    def settings(self) -> dict:
        """The game's settings as its controls hold them now."""

    def targets(self) -> tuple[str, ...]:
        """The targets the game can learn now."""

    def check_target(self, name: str) -> None:
        """Refuse a known target the game cannot learn."""

    def trainer(self, target, settings: dict, options: dict) -> GANTrainer:
        """The trainer of a run on ``target`` with the trainer keyword arguments ``options``."""

    def heat_values(self, trainer: GANTrainer, points: torch.Tensor) -> torch.Tensor:
        """What the heat map (the curve in 1-D) shows at ``points``, in [0, 1]."""

    def generator_field(self, trainer: GANTrainer, points: torch.Tensor) -> torch.Tensor:
        """-dl_G/dx at ``points`` taken as fakes, for the arrows."""

    def readout(self, trainer: GANTrainer) -> Readout:
        """How the figure and the status line name D's number and which Nash values they draw."""


class PlainGame:
    """Topic 04's game: the plain GAN, whose one setting is G's loss (``generator_loss_picker``)."""

    d_steps = 1
    fallback_target = "ring"

    def __init__(self, generator_loss_kind: str = "non-saturating"):
        if generator_loss_kind not in GENERATOR_LOSSES:
            raise ValueError(f"generator_loss_kind={generator_loss_kind!r}; choose one of {GENERATOR_LOSSES}")
        self.first_kind = generator_loss_kind

    def controls(self, style, layout, changed):
        labels = {"non-saturating": tr("non-saturating"), "saturating": tr("saturating")}
        self.generator_loss_picker = widgets.ToggleButtons(
            options=[(labels.get(kind, kind), kind) for kind in GENERATOR_LOSSES], value=self.first_kind)
        self.generator_loss_picker.observe(lambda _change: changed(None), names="value")
        return [labelled(tr("G loss"), self.generator_loss_picker, label_width=style["description_width"])]

    def settings(self):
        return {"generator_loss_kind": self.generator_loss_picker.value}

    def targets(self):
        return tuple(TARGETS)

    def check_target(self, name):
        pass

    def trainer(self, target, settings, options):
        return GANTrainer(target, generator_loss_kind=settings["generator_loss_kind"], **options)

    def heat_values(self, trainer, points):
        return trainer.discriminator_view(points)

    def generator_field(self, trainer, points):
        return generator_gradient_field(trainer.discriminator, points, trainer.generator_loss_kind)

    def readout(self, trainer):
        return game_readout(trainer.generator_loss_kind)


class GANPlayground(ShowsItsWidget):
    """Train a small GAN on a chosen target, live, and watch it; ``game`` (by default a :class:`PlainGame` of
    ``generator_loss_kind``) says which GAN.

    Settings (each a control; changing one rebuilds the trainer at step 0): ``target``, the game's own, ``lr_d``,
    ``lr_g``, ``d_steps`` (k: D steps per G step; the game's by default), ``batch_size``, ``seed``.
    ``steps_per_tick`` (no reset) is how many steps **Step** and each tick of **Play** take before one redraw.
    ``step(n)``, ``reset()``, ``set_target(name)`` drive it from code; ``values()`` holds the status line's numbers,
    ``frame`` what the figure shows, ``render()`` its PNG bytes. ``hidden`` is the players' width, ``device`` the
    trainer's (drawing happens on the CPU). The same settings and seed give the same run and figure bytes.
    """

    def __init__(self, target: str = "ring", generator_loss_kind: str = "non-saturating", lr_d: float = 2e-3,
                 lr_g: float = 2e-3, d_steps: int | None = None, batch_size: int = 256, seed: int = 0,
                 steps_per_tick: int = 20, hidden: int = 32, dpi: int = 72,
                 device: torch.device | str | None = None, game: Game | None = None):
        self.game = PlainGame(generator_loss_kind) if game is None else game
        self.game.check_target(target)
        d_steps = self.game.d_steps if d_steps is None else d_steps
        check_known_target(target)
        check_training_settings(d_steps, batch_size, steps_per_tick, lr_d, lr_g)
        self.hidden, self.dpi, self.device = hidden, dpi, device
        self._restart_deferred = False
        self._build_controls(target, lr_d, lr_g, d_steps, batch_size, seed, steps_per_tick)
        self.reset()

    # -- the settings live in the controls, so the widget and the code never disagree
    def settings(self) -> dict:
        """The trainer's settings as the controls hold them now."""
        return {"target": self.target_picker.value, **self.game.settings(), "lr_d": self.lr_d_slider.value,
                "lr_g": self.lr_g_slider.value, "d_steps": self.d_steps_slider.value,
                "batch_size": self.batch_picker.value, "seed": self.seed_box.value}

    @property
    def steps_per_tick(self) -> int:
        return self.tick_picker.value

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    def values(self) -> dict:
        """The numbers of the status line (None where they do not apply yet or for this target)."""
        return dict(self._values)

    def readout(self) -> Readout:
        return self.game.readout(self.trainer)

    # -- actions
    def reset(self) -> None:
        """Rebuild the trainer from the current settings and seed, back at step 0, and redraw."""
        if self._restart_deferred:  # while the game moves other controls, restart only once
            return
        settings = self.settings()
        device = torch.device(self.device) if self.device is not None else pick_device()
        with single_cpu_thread(device):  # sampling a few thousand points: a second thread only waits
            self.target = make_target(settings["target"])
            self.bounds = view_bounds(self.target)
            self.grid = evaluation_grid(self.bounds, self.target.dim)
            self.real = self.target.sample(MODE_SAMPLES, generator=VIEW_SEED)
            self.trainer = self._build_trainer(settings, device)
        self.refresh()

    def _build_trainer(self, settings: dict, device: torch.device) -> GANTrainer:
        shared = {key: settings[key] for key in ("batch_size", "d_steps", "lr_d", "lr_g", "seed")}
        options = dict(shared, hidden=self.hidden, device=device, eval_samples=MODE_SAMPLES)
        return self.game.trainer(self.target, settings, options)

    def set_target(self, name: str) -> None:
        """Switch to the target ``name`` and restart (also when it is the current one)."""
        self.game.check_target(name)
        check_known_target(name)
        if name == self.target_picker.value:
            self.reset()
        else:
            self.target_picker.value = name  # the observer resets

    def step(self, n: int | None = None) -> dict:
        """Train ``n`` steps (``steps_per_tick`` by default), redraw once and return ``values()``."""
        self.trainer.step(self.steps_per_tick if n is None else n)
        self.refresh()
        return self.values()

    def _game_changed(self, d_steps: int | None) -> None:
        """The game's control moved: offer the targets it can learn and its k (if it brings one); restart once."""
        with self._restarts_held():
            target = self.target_picker.value
            self.target_picker.options = self.game.targets()  # selects the first option
            self.target_picker.value = target if target in self.target_picker.options else self.game.fallback_target
            if d_steps is not None:
                self.d_steps_slider.value = d_steps
        self.reset()

    @contextmanager
    def _restarts_held(self):
        """Controls moved inside do not restart the run each (the caller restarts once, if at all)."""
        self._restart_deferred = True
        try:
            yield
        finally:
            self._restart_deferred = False

    # -- what is shown
    def render(self) -> bytes:
        """The figure of the current state as PNG bytes (what ``figure`` shows after a refresh)."""
        with single_cpu_thread(self.trainer.device):
            frame = measure_frame(self, self.trainer.generate())
        return render_playground_png(frame, self.trainer.history, self.target, self.readout(), self.dpi)

    def refresh(self) -> None:
        """Recompute the numbers and the figure from the trainer as it is now."""
        with single_cpu_thread(self.trainer.device):
            fake = self.trainer.generate()  # (MODE_SAMPLES, dim): fixed noise, so frames differ only by G
            self.frame = measure_frame(self, fake)
            self._values = status_numbers(self, fake)
        self.status.value = status_html(self._values, self.target.dim, self.readout())
        self.figure.value = render_playground_png(self.frame, self.trainer.history, self.target, self.readout(),
                                                  self.dpi)

    def _build_controls(self, target, lr_d, lr_g, d_steps, batch_size, seed, steps_per_tick) -> None:
        # room for the longest label, "k (D steps per G step)", and for the longest choice, "minibatch discrimination"
        style, layout = {"description_width": "12em"}, {"width": "28em"}
        labelled_control = dict(style=style, layout=layout)
        rates = [(f"{rate:g}", rate) for rate in sorted(set(LEARNING_RATES) | {lr_d, lr_g})]
        self.target_picker = widgets.Dropdown(options=self.game.targets(), value=target, description=tr("target"),
                                              **labelled_control)
        game_controls = self.game.controls(style, layout, self._game_changed)
        self.lr_d_slider = widgets.SelectionSlider(options=rates, value=lr_d, description=tr("lr D"),
                                                 **labelled_control)
        self.lr_g_slider = widgets.SelectionSlider(options=rates, value=lr_g, description=tr("lr G"),
                                                 **labelled_control)
        self.d_steps_slider = widgets.IntSlider(value=d_steps, min=1, max=MAX_D_STEPS,
                                                description=tr("k (D steps per G step)"), **labelled_control)
        self.batch_picker = widgets.Dropdown(options=sorted(set(BATCH_SIZES) | {batch_size}), value=batch_size,
                                             description=tr("batch size"), **labelled_control)
        self.seed_box = widgets.BoundedIntText(value=seed, min=0, max=10**6, description=tr("seed"),
                                             **labelled_control)
        for control in (self.target_picker, self.lr_d_slider, self.lr_g_slider, self.d_steps_slider,
                        self.batch_picker, self.seed_box):
            control.observe(lambda _change: self.reset(), names="value")
        self.tick_picker = widgets.Dropdown(options=sorted(set(STEPS_PER_TICK) | {steps_per_tick}),
                                            value=steps_per_tick, description=tr("steps per tick"),
                                            **labelled_control)
        self.play, self.step_button, self.reset_button = run_buttons(self.step, self.reset)
        self.status, self.figure = widgets.HTML(), figure_image()
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.target_picker, *game_controls, self.d_steps_slider, self.batch_picker]),
                          widgets.VBox([self.lr_d_slider, self.lr_g_slider, self.seed_box, self.tick_picker])]),
            widgets.HTML("<small>" + tr("Changing any setting above restarts training from step 0; <b>Reset</b> "
                                        "restarts with the same settings.") + "</small>"),
            widgets.HBox([self.play, self.step_button, self.reset_button]),
            self.status,
            self.figure,
        ])


def check_known_target(name: str) -> None:
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; choose one of {sorted(TARGETS)}")


def check_training_settings(d_steps: int, batch_size: int, steps_per_tick: int, lr_d: float, lr_g: float) -> None:
    if not 1 <= d_steps <= MAX_D_STEPS or batch_size < 1 or steps_per_tick < 1 or min(lr_d, lr_g) <= 0:
        raise ValueError(f"need 1 <= d_steps={d_steps} <= {MAX_D_STEPS}, batch_size={batch_size} >= 1, "
                         f"steps_per_tick={steps_per_tick} >= 1 and positive learning rates")


def run_buttons(step: Callable[[], object], reset: Callable[[], None]):
    """Play (each forward tick calls ``step``), Step (calls ``step``) and Reset (calls ``reset``)."""
    play = widgets.Play(value=0, min=0, max=10**6, step=1, interval=TICK_MS, description=tr("play"),
                        show_repeat=False)

    def on_tick(change) -> None:
        if change["new"] > change["old"]:  # Play's stop button sends the value back to its minimum: no step
            step()

    play.observe(on_tick, names="value")
    step_button = widgets.Button(description=tr("Step"), tooltip=tr("train steps_per_tick steps, then redraw"))
    step_button.on_click(lambda _button: step())
    reset_button = widgets.Button(description=tr("Reset"), tooltip=tr("back to step 0, same settings and seed"))
    reset_button.on_click(lambda _button: reset())
    return play, step_button, reset_button


def measure_frame(playground: GANPlayground, fake: torch.Tensor) -> Frame:
    """What the figure shows: the game's view of D on the grid and G's gradient field at some of the fakes."""
    field = playground.game.generator_field(playground.trainer, fake[:ARROWS])
    longest = field.norm(dim=1).max().item()
    low, high = playground.bounds
    scale = ARROW_SHARE * (high - low) / longest if longest > 0 else 0.0
    drawn = MODE_SAMPLES if playground.target.dim == 1 else DRAWN_SAMPLES
    return Frame(playground.steps_done, playground.bounds, playground.grid,
                 playground.game.heat_values(playground.trainer, playground.grid), playground.real[:drawn],
                 fake[:drawn], fake[:ARROWS], field, scale)


def status_numbers(playground: GANPlayground, fake: torch.Tensor) -> dict:
    """The status line's numbers; modes are counted on the MODE_SAMPLES fakes of G's evaluation set."""
    history = playground.trainer.history
    values = {"steps": playground.steps_done, "d_loss": _last(history.d_loss), "g_loss": _last(history.g_loss),
              "real_verdict": _last(history.real_verdict), "fake_verdict": _last(history.fake_verdict),
              "distance": playground.trainer.distance(), "modes_covered": None, "modes": None,
              "high_quality_share": None}
    if isinstance(playground.target, GaussianMixture):
        coverage = mode_coverage(fake, playground.target)
        values.update(modes_covered=coverage.modes_covered, modes=coverage.modes,
                      high_quality_share=coverage.high_quality_share)
    return values


def _last(values: list[float]) -> float | None:
    return values[-1] if values else None


def gan_playground(**kwargs) -> GANPlayground:
    """Build a :class:`GANPlayground` (same keyword arguments); displays nothing itself."""
    return GANPlayground(**kwargs)
