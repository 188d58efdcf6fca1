"""The GAN playground: pick a target, train a small GAN live and watch it learn (after GAN Lab).

The left panel is the data space. In 2-D: the discriminator's verdict D(x) as a heat map (green: "real",
pink: "fake"), the real samples, the generated ones and, at some of the fakes, the generator's gradient
field -dl_G/dx, the arrows along which the generator's loss pushes each fake. In 1-D: histograms of the
real and generated samples, the target's density, the curve D(x), the line D* = 1/2 of the Nash
equilibrium (纳什均衡) and the same arrows along the axis. The right panels trace the losses and the mean
D(x), D(G(z)) against the step, with their Nash values dashed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course.gan import EQUILIBRIUM_D, EQUILIBRIUM_D_LOSS, EQUILIBRIUM_G_LOSS, GENERATOR_LOSSES
from course.gan.measures import MODE_SAMPLES, mode_coverage
from course.gan.targets import TARGETS, GaussianMixture, Target, make_target
from course.gan.training import GANTrainer, generator_gradient_field
from course.repro import pick_device, single_cpu_thread
from course.widgets.display import ShowsItsWidget, figure_image, figure_png, labelled

LEARNING_RATES = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2)
BATCH_SIZES = (32, 64, 128, 256, 512)
MAX_D_STEPS = 5
STEPS_PER_TICK = (1, 5, 10, 20, 50, 100)
TICK_MS = 200

GRID_SIDE = 60  # D is evaluated on GRID_SIDE x GRID_SIDE points in 2-D
CURVE_POINTS = 200  # and on this many points in 1-D
DRAWN_SAMPLES = 500  # real and fake points scattered in 2-D (histograms use all MODE_SAMPLES)
ARROWS = 120  # fakes that carry an arrow of the gradient field
ARROW_SHARE = 0.08  # the longest arrow spans this share of the view
LOSS_TRACE_POINTS = 400  # longer histories are drawn as means over blocks of steps
VIEW_SEED = 12345  # the real samples drawn, the same for every run


RESETTING = "Changing any setting above restarts training from step 0; <b>Reset</b> restarts with the same settings."


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
        return "mean " + self.verdict.removesuffix("(x)")


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
    ax.scatter(*frame.real.T.numpy(), s=4, color="darkgreen", label="real x")
    ax.scatter(*frame.fake.T.numpy(), s=4, color="purple", label="fake G(z)")
    arrows = frame.field * frame.arrow_scale
    ax.quiver(*frame.arrow_points.T.numpy(), *arrows.T.numpy(), angles="xy", scale_units="xy", scale=1.0,
              width=0.004, color="black", alpha=0.7)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")


def _draw_1d(ax, frame: Frame, target: Target, readout: Readout) -> None:
    low, high = frame.bounds
    bins = np.linspace(low, high, 61)
    for samples, color, label in ((frame.real, "darkgreen", "real x"), (frame.fake, "purple", "fake G(z)")):
        # fakes outside the view pile up in the edge bins instead of vanishing
        density, _ = np.histogram(samples[:, 0].clamp(low, high).numpy(), bins=bins, density=True)
        ax.stairs(density, bins, fill=True, color=color, alpha=0.35, label=label)  # one artist, not 60 bars
    if isinstance(target, GaussianMixture):
        ax.plot(frame.grid[:, 0].numpy(), target.density(frame.grid).numpy(), color="darkgreen", linewidth=1,
                label="p_data")
    ax.set_xlim(low, high)
    ax.set_ylabel("density")
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
    for values, label, color in zip((history.d_loss, history.g_loss), ("D loss", "G loss"), loss_colors):
        loss_ax.plot(*block_means(values), color=color, linewidth=1, label=label)
    for nash, color in zip(readout.nash_losses, loss_colors):
        if nash is not None:
            loss_ax.axhline(nash[0], color=color, linestyle="--", linewidth=0.8, label=nash[1])
    loss_ax.set_ylabel("loss")
    loss_ax.legend(fontsize=7, ncol=2, loc="upper right")
    traced = ((history.real_verdict, readout.verdict, "darkgreen"), (history.fake_verdict, readout.fake_verdict, "purple"))
    for values, label, color in traced:
        d_ax.plot(*block_means(values), color=color, linewidth=1, label=label)
    if readout.probability:  # a critic's score or an energy has no Nash value and no range to clamp to
        d_ax.axhline(EQUILIBRIUM_D, color="gray", linestyle="--", linewidth=0.8, label="1/2")
        d_ax.set_ylim(0, 1)
        d_ax.set_yticks((0.0, 0.5, 1.0))
    d_ax.set_xlabel("step")
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
    space.set_title(f"{target.name} after {frame.steps} steps (arrows: -dl_G/dx)", fontsize=9)
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

    distance = "Wasserstein-1" if dim == 1 else "sliced Wasserstein-1"
    parts = [f"<b>{readout.game}</b>"] if readout.game else []
    parts += [f"steps {number('steps')}", f"D loss {number('d_loss')}", f"G loss {number('g_loss')}",
              f"{readout.verdict} {number('real_verdict')}", f"{readout.fake_verdict} {number('fake_verdict')}",
              f"{distance} to the target {number('distance')}",
              f"modes covered {number('modes_covered')} of {number('modes')}",
              f"high-quality share {number('high_quality_share')}"]
    return f"<p style='font-family:monospace'>{' &middot; '.join(parts)}</p>"


class GANPlayground(ShowsItsWidget):
    """Train a small GAN (course.gan's ``GANTrainer``) on a chosen target, live, and watch it.

    Settings (each a control; changing one rebuilds the trainer at step 0): ``target`` (one of TARGETS),
    ``generator_loss_kind``, ``lr_d``, ``lr_g``, ``d_steps`` (k: D steps per G step), ``batch_size``,
    ``seed``. ``steps_per_tick`` (no reset) is how many steps **Step** and each tick of **Play** take
    before one redraw. ``step(n)``, ``reset()``, ``set_target(name)`` drive it from code; ``values()``
    holds the numbers of the status line, ``frame`` what the figure shows, ``render()`` its PNG bytes.

    ``hidden`` is the width of both MLPs, ``dpi`` the figure's, ``device`` the trainer's (``pick_device()``
    by default); drawing always happens on the CPU. The same settings and seed give the same run and the
    same figure bytes.

    Measured (2-core CPU shared with other work, dpi 72, batch 256, k = 1): a tick of 20 steps plus the
    redraw takes 0.16-0.19 s (median) on every target, 1-D or 2-D; the 20 steps are 0.02 s of it, the
    rest is matplotlib. On an H100 machine (slower CPU): 20 steps 0.10 s on CUDA (tiny models: launch
    bound) or 0.05 s on its CPU, the redraw 0.28-0.33 s. So Play's TICK_MS = 200 keeps up on a laptop.
    """

    def __init__(self, target: str = "ring", generator_loss_kind: str = "non-saturating", lr_d: float = 2e-3,
                 lr_g: float = 2e-3, d_steps: int = 1, batch_size: int = 256, seed: int = 0,
                 steps_per_tick: int = 20, hidden: int = 32, dpi: int = 72,
                 device: torch.device | str | None = None):
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; choose one of {sorted(TARGETS)}")
        if generator_loss_kind not in GENERATOR_LOSSES:
            raise ValueError(f"generator_loss_kind={generator_loss_kind!r}; choose one of {GENERATOR_LOSSES}")
        if not 1 <= d_steps <= MAX_D_STEPS or batch_size < 1 or steps_per_tick < 1 or min(lr_d, lr_g) <= 0:
            raise ValueError(f"need 1 <= d_steps={d_steps} <= {MAX_D_STEPS}, batch_size={batch_size} >= 1, "
                             f"steps_per_tick={steps_per_tick} >= 1 and positive learning rates")
        self.hidden, self.dpi, self.device = hidden, dpi, device
        self._build_controls(target, generator_loss_kind, lr_d, lr_g, d_steps, batch_size, seed, steps_per_tick)
        self.reset()

    # -- the settings live in the controls, so the widget and the code never disagree
    def settings(self) -> dict:
        """The trainer's settings as the controls hold them now."""
        return {
            "target": self.target_picker.value,
            **self._game_settings(),
            "lr_d": self.lr_d_slider.value,
            "lr_g": self.lr_g_slider.value,
            "d_steps": self.d_steps_slider.value,
            "batch_size": self.batch_picker.value,
            "seed": self.seed_box.value,
        }

    def _game_settings(self) -> dict:
        """The settings that choose the game itself: here G's loss."""
        return {"generator_loss_kind": self.generator_loss_picker.value}

    @property
    def steps_per_tick(self) -> int:
        return self.tick_picker.value

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    def values(self) -> dict:
        """The numbers of the status line (None where they do not apply yet or for this target)."""
        return dict(self._values)

    # -- actions
    def reset(self) -> None:
        """Rebuild the trainer from the current settings and seed, back at step 0, and redraw."""
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
        return GANTrainer(self.target, generator_loss_kind=settings["generator_loss_kind"], **self._trainer_options(settings, device))

    def _trainer_options(self, settings: dict, device: torch.device) -> dict:
        """The trainer's keyword arguments that do not depend on the game."""
        return dict(hidden=self.hidden, batch_size=settings["batch_size"], d_steps=settings["d_steps"],
                    lr_d=settings["lr_d"], lr_g=settings["lr_g"], seed=settings["seed"], device=device,
                    eval_samples=MODE_SAMPLES)

    def set_target(self, name: str) -> None:
        """Switch to the target ``name`` and restart (also when it is the current one)."""
        if name not in TARGETS:
            raise ValueError(f"unknown target {name!r}; choose one of {sorted(TARGETS)}")
        if name == self.target_picker.value:
            self.reset()
        else:
            self.target_picker.value = name  # the observer resets

    def step(self, n: int | None = None) -> dict:
        """Train ``n`` steps (``steps_per_tick`` by default), redraw once and return ``values()``."""
        self.trainer.step(self.steps_per_tick if n is None else n)
        self.refresh()
        return self.values()

    def step_and_draw(self) -> dict:
        """One tick of Play: ``steps_per_tick`` steps and one redraw."""
        return self.step()

    # -- what is shown
    def measure(self, fake: torch.Tensor | None = None) -> Frame:
        """Evaluate D on the grid and the gradient field at some of the fakes (G's fixed evaluation set)."""
        if fake is None:
            fake = self.trainer.generate()  # (MODE_SAMPLES, dim): fixed noise, so frames differ only by G
        d_grid = self._heat_values(self.grid)
        arrow_points = fake[:ARROWS]
        field = self._generator_field(arrow_points)
        longest = field.norm(dim=1).max().item()
        scale = ARROW_SHARE * (self.bounds[1] - self.bounds[0]) / longest if longest > 0 else 0.0
        drawn = MODE_SAMPLES if self.target.dim == 1 else DRAWN_SAMPLES
        return Frame(self.steps_done, self.bounds, self.grid, d_grid, self.real[:drawn], fake[:drawn],
                     arrow_points, field, scale)

    def _heat_values(self, points: torch.Tensor) -> torch.Tensor:
        """What the heat map (the curve in 1-D) shows at ``points``: D(x)."""
        return self.trainer.discriminator_view(points)

    def _generator_field(self, points: torch.Tensor) -> torch.Tensor:
        """-dl_G/dx at ``points`` taken as fakes, for the arrows."""
        return generator_gradient_field(self.trainer.discriminator, points, self.trainer.generator_loss_kind)

    def measure_numbers(self, fake: torch.Tensor | None = None) -> dict:
        """The status line's numbers; modes are counted on the MODE_SAMPLES fakes of G's evaluation set."""
        fake = self.trainer.generate() if fake is None else fake
        history = self.trainer.history

        def last(values: list[float]) -> float | None:
            return values[-1] if values else None

        values = {
            "steps": self.steps_done,
            "d_loss": last(history.d_loss),
            "g_loss": last(history.g_loss),
            "real_verdict": last(history.real_verdict),
            "fake_verdict": last(history.fake_verdict),
            "distance": self.trainer.distance(),
            "modes_covered": None,
            "modes": None,
            "high_quality_share": None,
        }
        if isinstance(self.target, GaussianMixture):
            coverage = mode_coverage(fake, self.target)
            values.update(modes_covered=coverage.modes_covered, modes=coverage.modes,
                          high_quality_share=coverage.high_quality_share)
        return values

    def render(self) -> bytes:
        """The figure of the current state as PNG bytes (what ``figure`` shows after a refresh)."""
        with single_cpu_thread(self.trainer.device):
            frame = self.measure()
        return self._draw(frame)

    def readout(self) -> Readout:
        """How the figure and the status line name D's number and which Nash values they draw."""
        return game_readout(self.trainer.generator_loss_kind)

    def _draw(self, frame: Frame) -> bytes:
        return render_playground_png(frame, self.trainer.history, self.target, self.readout(), self.dpi)

    def refresh(self) -> None:
        """Recompute the numbers and the figure from the trainer as it is now."""
        with single_cpu_thread(self.trainer.device):
            fake = self.trainer.generate()
            self.frame = self.measure(fake)
            self._values = self.measure_numbers(fake)
        self.status.value = status_html(self._values, self.target.dim, self.readout())
        self.figure.value = self._draw(self.frame)

    # -- controls
    def _on_tick(self, change) -> None:
        # Play's stop button sends the value back to its minimum: only a forward tick trains
        if change["new"] > change["old"]:
            self.step_and_draw()

    def _build_controls(self, target, generator_loss_kind, lr_d, lr_g, d_steps, batch_size, seed, steps_per_tick) -> None:
        # room for the longest label, "k (D steps per G step)", and for the longest choice, "minibatch discrimination"
        style = {"description_width": "12em"}
        layout = {"width": "28em"}
        rates = [(f"{rate:g}", rate) for rate in sorted(set(LEARNING_RATES) | {lr_d, lr_g})]
        self.target_picker = widgets.Dropdown(options=list(TARGETS), value=target, description="target",
                                              style=style, layout=layout)
        game_controls = self._build_game_controls(generator_loss_kind, style, layout)
        self.lr_d_slider = widgets.SelectionSlider(options=rates, value=lr_d, description="lr D", style=style,
                                                 layout=layout)
        self.lr_g_slider = widgets.SelectionSlider(options=rates, value=lr_g, description="lr G", style=style,
                                                 layout=layout)
        self.d_steps_slider = widgets.IntSlider(value=d_steps, min=1, max=MAX_D_STEPS,
                                                description="k (D steps per G step)", style=style,
                                                layout=layout)
        self.batch_picker = widgets.Dropdown(options=sorted(set(BATCH_SIZES) | {batch_size}), value=batch_size,
                                             description="batch size", style=style, layout=layout)
        self.seed_box = widgets.BoundedIntText(value=seed, min=0, max=10**6, description="seed", style=style,
                                               layout=layout)
        for control in (self.target_picker, self.lr_d_slider, self.lr_g_slider, self.d_steps_slider,
                        self.batch_picker, self.seed_box):
            control.observe(lambda _change: self.reset(), names="value")
        self.tick_picker = widgets.Dropdown(options=sorted(set(STEPS_PER_TICK) | {steps_per_tick}),
                                            value=steps_per_tick, description="steps per tick", style=style,
                                            layout=layout)
        self.play = widgets.Play(value=0, min=0, max=10**6, step=1, interval=TICK_MS, description="play",
                                 show_repeat=False)
        self.play.observe(self._on_tick, names="value")
        self.step_button = widgets.Button(description="Step", tooltip="train steps_per_tick steps, then redraw")
        self.step_button.on_click(lambda _button: self.step())
        self.reset_button = widgets.Button(description="Reset", tooltip="back to step 0, same settings and seed")
        self.reset_button.on_click(lambda _button: self.reset())
        self.status = widgets.HTML()
        self.figure = figure_image()
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.target_picker, *game_controls, self.d_steps_slider,
                                        self.batch_picker]),
                          widgets.VBox([self.lr_d_slider, self.lr_g_slider, self.seed_box, self.tick_picker])]),
            widgets.HTML(f"<small>{RESETTING}</small>"),
            widgets.HBox([self.play, self.step_button, self.reset_button]),
            self.status,
            self.figure,
        ])

    def _build_game_controls(self, generator_loss_kind: str, style: dict, layout: dict) -> list[widgets.Widget]:
        """The controls that choose the game (here G's loss), each restarting the run; returns what to lay out.
        ``style`` and ``layout`` size a labelled control as the others are sized (toggle buttons size themselves)."""
        self.generator_loss_picker = widgets.ToggleButtons(options=GENERATOR_LOSSES, value=generator_loss_kind)
        self.generator_loss_picker.observe(lambda _change: self.reset(), names="value")
        return [labelled("G loss", self.generator_loss_picker, label_width=style["description_width"])]


def gan_playground(**kwargs) -> GANPlayground:
    """Build a :class:`GANPlayground` (same keyword arguments); displays nothing itself."""
    return GANPlayground(**kwargs)
