"""The GAN playground, driven without a browser: what it shows against plain torch, autograd and a
direct count of the modes; stepping, resetting, the controls and the play loop."""

import math
import operator

import pytest
import torch
import torch.nn.functional as F

from course.gan.measures import MODE_SAMPLES
from course.gan.targets import TARGETS, GaussianMixture
from course.gan.training import GANTrainer, generator_gradient_field
from course.repro import single_cpu_thread
from course.widgets.gan import GANPlayground, gan_playground
from course.widgets.gan_figure import CURVE_POINTS, GRID_SIDE, block_means

from widget_display import keyed_numbers

SHOWN_DECIMALS = 4
TEST_DPI = 40  # small images draw faster; what is drawn does not depend on the dpi


def reference_field(discriminator, points, kind):
    """-d l_G / dx by autograd through plain torch: BCE against 1 (non-saturating) or log(1 - D) (saturating)."""
    x = points.detach().clone().reshape(len(points), -1).requires_grad_(True)
    logits = discriminator(x)
    if kind == "non-saturating":
        loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction="sum")
    else:
        loss = torch.log1p(-torch.sigmoid(logits)).sum()
    (gradient,) = torch.autograd.grad(loss, x)
    return -gradient


def reference_coverage(samples, mixture, threshold=3.0):
    """Modes covered and high-quality share, counted directly: nearest mean, within 3 of its stds."""
    distance = torch.cdist(samples.double(), mixture.means)  # (n, K)
    nearest = distance.argmin(dim=1)
    high_quality = distance.min(dim=1).values <= threshold * mixture.stds[nearest]
    return len(set(nearest[high_quality].tolist())), high_quality.double().mean().item()


@pytest.fixture(autouse=True)
def one_cpu_thread():
    """The references are small tensors too: like the trainer, compute them on one CPU thread."""
    with single_cpu_thread(torch.device("cpu")):
        yield


@pytest.fixture
def ring():
    return GANPlayground(target="ring", steps_per_tick=5, device="cpu", dpi=TEST_DPI)


# -- the gradient field (course.gan) -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["non-saturating", "saturating"])
@pytest.mark.parametrize("name", ["mixture", "ring"])
def test_generator_gradient_field_is_minus_the_per_sample_loss_gradient(name, kind):
    trainer = GANTrainer(TARGETS[name](), seed=3, device="cpu")
    trainer.step(30)
    points = trainer.generate(64, seed=5)
    before = [p.grad.clone() if p.grad is not None else None for p in trainer.discriminator.parameters()]
    with torch.no_grad():  # as when a notebook draws: the field turns gradients on for itself
        field = generator_gradient_field(trainer.discriminator, points, kind)
    assert field.shape == points.shape
    assert torch.allclose(field, reference_field(trainer.discriminator, points, kind), rtol=1e-5, atol=1e-7)
    for old, parameter in zip(before, trainer.discriminator.parameters()):
        assert (old is None and parameter.grad is None) or torch.equal(old, parameter.grad), "D's grads changed"


def test_generator_gradient_field_takes_flat_1d_points():
    trainer = GANTrainer(TARGETS["gaussian"](), device="cpu")
    points = torch.linspace(-2, 6, 9)
    field = generator_gradient_field(trainer.discriminator, points)
    assert field.shape == (9, 1)
    assert torch.allclose(field, reference_field(trainer.discriminator, points, "non-saturating"), atol=1e-7)


# -- stepping, resetting, reproducibility --------------------------------------------------------------


def test_stepping_resetting_and_the_same_seed_giving_the_same_bytes(ring):
    initial = ring.figure.value
    shown = keyed_numbers(ring.status.value)
    assert ring.steps_done == 0 and shown["steps"] == 0 and shown["d_loss"] is None  # nothing measured yet
    values = ring.step()
    assert ring.steps_done == 5 == values["steps"] == len(ring.trainer.history)
    assert ring.figure.value != initial and ring.figure.value[:4] == b"\x89PNG"
    ring.step(7)
    assert ring.steps_done == 12 and ring.frame.steps == 12
    assert ring.render() == ring.figure.value  # the image is the drawing of the current state
    twin = GANPlayground(target="ring", device="cpu", dpi=TEST_DPI)
    twin.step(12)
    assert twin.figure.value == ring.figure.value and twin.values() == ring.values()
    ring.reset()
    assert ring.steps_done == 0 and len(ring.trainer.history) == 0
    assert ring.figure.value == initial
    twin.seed_box.value = 1
    assert twin.steps_done == 0 and twin.figure.value != initial


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_each_target_renders(name):
    playground = gan_playground(target=name, device="cpu", dpi=TEST_DPI)  # drawn at step 0, D untrained
    frame, dim = playground.frame, playground.target.dim
    assert playground.figure.value[:4] == b"\x89PNG"
    assert frame.grid.shape == ((CURVE_POINTS, 1) if dim == 1 else (GRID_SIDE**2, 2))
    assert frame.d_grid.shape == (len(frame.grid),) and 0 <= frame.d_grid.min() <= frame.d_grid.max() <= 1
    low, high = frame.bounds
    assert low < -1 and high > 1  # G starts near the origin; the view must show it
    shown = keyed_numbers(playground.status.value)
    if isinstance(playground.target, GaussianMixture):
        assert shown["modes"] == len(playground.target.means)
    else:
        assert shown["modes"] is None and shown["modes_covered"] is None and shown["high_quality_share"] is None


# -- what is displayed, against torch ------------------------------------------------------------------


@pytest.mark.parametrize("name, kind", [("ring", "non-saturating"), ("mixture", "saturating")])
def test_displayed_numbers_match_torch(name, kind):
    playground = GANPlayground(target=name, generator_loss_kind=kind, steps_per_tick=40, device="cpu", dpi=TEST_DPI)
    playground.step()
    trainer, frame = playground.trainer, playground.frame
    # D's verdict on the grid, by plain torch
    with torch.no_grad():
        expected = torch.sigmoid(trainer.discriminator(frame.grid))
    assert torch.allclose(frame.d_grid, expected, atol=1e-6)
    if trainer.target.dim == 2:  # a GRID_SIDE x GRID_SIDE grid over the view, x varying fastest
        low, high = frame.bounds
        assert torch.allclose(frame.grid[:GRID_SIDE, 0], torch.linspace(low, high, GRID_SIDE))
        assert torch.all(frame.grid[:GRID_SIDE, 1] == frame.grid[0, 1])
    # the arrows: the generator loss's gradient at the fakes, by autograd
    assert torch.allclose(frame.field, reference_field(trainer.discriminator, frame.arrow_points, kind),
                          rtol=1e-5, atol=1e-7)
    fakes = trainer.generate()
    assert torch.equal(frame.arrow_points, fakes[: len(frame.arrow_points)])
    # the status line: history, distance and the modes counted directly on MODE_SAMPLES fakes
    shown = keyed_numbers(playground.status.value)
    tolerance = 0.6 * 10**-SHOWN_DECIMALS
    assert shown["steps"] == 40
    assert shown["d_loss"] == pytest.approx(trainer.history.d_loss[-1], abs=tolerance)
    assert shown["g_loss"] == pytest.approx(trainer.history.g_loss[-1], abs=tolerance)
    assert shown["real_verdict"] == pytest.approx(trainer.history.real_verdict[-1], abs=tolerance)
    assert shown["fake_verdict"] == pytest.approx(trainer.history.fake_verdict[-1], abs=tolerance)
    assert shown["distance"] == pytest.approx(trainer.distance(), abs=tolerance)
    assert len(fakes) == MODE_SAMPLES
    covered, share = reference_coverage(fakes, trainer.target)
    assert shown["modes_covered"] == covered and shown["modes"] == len(trainer.target.means)
    assert shown["high_quality_share"] == pytest.approx(share, abs=tolerance)


def test_loss_traces_are_block_means():
    values = [float(v) ** 0.5 for v in range(1, 1001)]
    steps, means = block_means(values, points=400)  # blocks of 3 steps; the last step left out
    assert len(means) == 333 and steps[0] == 3 and steps[-1] == 999
    assert means[1] == pytest.approx(sum(values[3:6]) / 3)
    short_steps, short = block_means(values[:7])
    assert list(short) == values[:7] and list(short_steps) == list(range(1, 8))


# -- the controls ---------------------------------------------------------------------------------------


SETTINGS = [  # (control, new value, its key in settings(), how the rebuilt trainer shows it)
    ("game.generator_loss_picker", "saturating", "generator_loss_kind", lambda t: t.generator_loss_kind == "saturating"),
    ("lr_d_slider", 1e-3, "lr_d", lambda t: t.d_optimizer.param_groups[0]["lr"] == 1e-3),
    ("lr_g_slider", 3e-4, "lr_g", lambda t: t.g_optimizer.param_groups[0]["lr"] == 3e-4),
    ("d_steps_slider", 3, "d_steps", lambda t: t.d_steps == 3),
    ("batch_picker", 64, "batch_size", lambda t: t.batch_size == 64),
    ("seed_box", 7, "seed", lambda t: t.seed == 7),
    ("target_picker", "spiral", "target", lambda t: t.target.name == "spiral"),
]


def test_changing_a_setting_restarts_with_it(ring):
    for control, value, key, check in SETTINGS:
        ring.trainer.step(2)  # train without a redraw: only the restart draws
        operator.attrgetter(control)(ring).value = value
        assert ring.steps_done == 0 and keyed_numbers(ring.status.value)["steps"] == 0, control
        assert check(ring.trainer) and ring.settings()[key] == value, control
    ring.trainer.step(2)
    ring.set_target("mixture")
    assert ring.target.name == "mixture" and ring.target.dim == 1 and ring.steps_done == 0
    ring.trainer.step(2)
    ring.set_target("mixture")  # the same target again still restarts
    assert ring.steps_done == 0
    with pytest.raises(ValueError):
        ring.set_target("moons")


def test_play_ticks_and_buttons_train(ring):
    ring.play.value = 1  # what the front end sends every TICK_MS while playing
    assert ring.steps_done == 5
    ring.play.value = 2
    assert ring.steps_done == 10
    ring.play.value = 0  # the stop button rewinds the counter: no training
    assert ring.steps_done == 10
    ring.step_button.click()
    assert ring.steps_done == 15
    ring.tick_picker.value = 1  # how far a tick goes is no setting of the run: no restart
    ring.step_button.click()
    assert ring.steps_done == 16
    ring.reset_button.click()
    assert ring.steps_done == 0


def test_widget_displays_and_bad_settings_are_refused(ring):
    bundle = ring._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ring.widget.model_id
    assert ring.widget.model_id and math.isfinite(ring.values()["distance"])
    for bad in ({"target": "moons"}, {"generator_loss_kind": "wasserstein"}, {"d_steps": 0}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            GANPlayground(**bad)
