"""Topic 07's GAN playground, driven without a browser: every variant trains and draws; switching the
variant restarts with it; targets a variant cannot learn are refused; what is shown against
course.gan's mode count, plain autograd and the critic itself; the same seed gives the same bytes."""

import html

import pytest
import torch
import torch.nn.functional as F

from course.gan.measures import mode_coverage
from course.gan.targets import TARGETS
from course.gan.training import generator_gradient_field
from course.gan_variants.variants import VARIANTS
from course.repro import single_cpu_thread
from course.widgets import VariantPlayground, variant_playground
from course.widgets.gan_figure import game_readout
from course.widgets.gan_variants import CODED_TARGETS, FALLBACK_TARGET

from widget_display import keyed_numbers

SHOWN_DECIMALS = 4
TEST_DPI = 40  # small images draw faster; what is drawn does not depend on the dpi


def playground(**settings) -> VariantPlayground:
    return VariantPlayground(**{"steps_per_tick": 3, "device": "cpu", "dpi": TEST_DPI, **settings})


def all_widgets(widget):
    """The widget and everything laid out inside it."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from all_widgets(child)


@pytest.fixture(autouse=True)
def one_cpu_thread():
    """The references are small tensors too: like the trainer, compute them on one CPU thread."""
    with single_cpu_thread(torch.device("cpu")):
        yield


# -- every variant, and switching between them ------------------------------------------------------


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_trains_and_draws_on_the_ring(name):
    shown = playground(variant=name)
    initial = shown.figure.value
    assert shown.trainer.variant.name == name and shown.target.name == "ring"
    assert shown.trainer.d_steps == shown.d_steps_slider.value == VARIANTS[name].d_steps
    shown.step()
    assert shown.steps_done == 3 == len(shown.trainer.history)
    assert shown.figure.value != initial and shown.figure.value[:4] == b"\x89PNG"
    assert f"<b>{name}</b>" in shown.status.value


def test_switching_the_variant_restarts_once_with_it(monkeypatch):
    shown = playground()
    restarts = []
    rebuild = shown._build_trainer
    monkeypatch.setattr(shown, "_build_trainer", lambda *args: restarts.append(args) or rebuild(*args))
    shown.trainer.step(2)
    shown.game.variant_picker.value = "WGAN-GP"  # its d_steps (5) and a kept target: still one restart
    assert len(restarts) == 1 and shown.steps_done == 0 and keyed_numbers(shown.status.value)["steps"] == 0
    assert shown.trainer.variant.name == "WGAN-GP" and shown.settings()["variant"] == "WGAN-GP"
    assert shown.trainer.d_steps == shown.d_steps_slider.value == 5 and shown.target.name == "ring"
    assert html.escape(VARIANTS["WGAN-GP"].changes) in shown.game.changes_note.value
    shown.trainer.step(2)
    shown.game.variant_picker.value = "vanilla"
    assert len(restarts) == 2 and shown.steps_done == 0 and shown.trainer.d_steps == 1
    shown.d_steps_slider.value = 2  # the other settings still restart as in topic 04's playground
    assert len(restarts) == 3 and shown.trainer.d_steps == 2 and shown.trainer.variant.name == "vanilla"


def test_the_variant_replaces_the_generator_loss_toggle():
    shown = variant_playground(device="cpu", dpi=TEST_DPI)
    laid_out = list(all_widgets(shown.widget))
    assert shown.game.variant_picker in laid_out and shown.game.changes_note in laid_out
    assert list(shown.game.variant_picker.options) == list(VARIANTS) and shown.game.variant_picker.value == "vanilla"
    assert not hasattr(shown.game, "generator_loss_picker") and "generator_loss_kind" not in shown.settings()
    with pytest.raises(TypeError, match="variant"):
        VariantPlayground(generator_loss_kind="saturating")
    with pytest.raises(ValueError, match="unknown variant"):
        VariantPlayground(variant="DCGAN")


# -- targets a variant cannot learn ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["CGAN", "InfoGAN"])
def test_a_variant_with_codes_refuses_a_target_without_components_in_code(name):
    assert set(CODED_TARGETS) == {"mixture", "ring", "grid"}
    for target in ("spiral", "gaussian"):
        with pytest.raises(ValueError, match=f"{name} .*Gaussian mixture.*{target!r}"):
            VariantPlayground(target=target, variant=name, device="cpu")
    shown = playground(variant=name, target="mixture")
    assert tuple(shown.target_picker.options) == CODED_TARGETS
    with pytest.raises(ValueError, match="Gaussian mixture"):
        shown.set_target("spiral")
    assert shown.target.name == "mixture"


def test_switching_to_cgan_on_the_spiral_moves_to_the_ring():
    shown = playground(target="spiral")
    assert tuple(shown.target_picker.options) == tuple(TARGETS)
    shown.trainer.step(2)
    shown.game.variant_picker.value = "CGAN"
    assert shown.target_picker.value == FALLBACK_TARGET == "ring" == shown.target.name
    assert shown.trainer.variant.name == "CGAN" and shown.steps_done == 0
    assert tuple(shown.target_picker.options) == CODED_TARGETS
    shown.target_picker.value = "mixture"
    shown.game.variant_picker.value = "InfoGAN"  # a mixture suits it: the target stays
    assert shown.target.name == "mixture" and shown.trainer.variant.name == "InfoGAN"
    shown.game.variant_picker.value = "vanilla"  # every target again, the current one kept
    assert tuple(shown.target_picker.options) == tuple(TARGETS) and shown.target.name == "mixture"


# -- what is displayed, against course.gan and torch --------------------------------------------------


@pytest.mark.parametrize("name", ["vanilla", "WGAN-GP"])
def test_status_numbers_match_a_direct_count(name):
    shown = playground(variant=name, steps_per_tick=10)
    shown.step()
    trainer = shown.trainer
    coverage = mode_coverage(trainer.generate(), shown.target)
    numbers = keyed_numbers(shown.status.value)
    tolerance = 0.6 * 10**-SHOWN_DECIMALS
    assert numbers["steps"] == 10
    assert numbers["modes_covered"] == coverage.modes_covered and numbers["modes"] == coverage.modes == 8
    assert numbers["high_quality_share"] == pytest.approx(coverage.high_quality_share, abs=tolerance)
    assert numbers["distance"] == pytest.approx(trainer.distance(), abs=tolerance)
    assert numbers["real_verdict"] == pytest.approx(trainer.history.real_verdict[-1], abs=tolerance)
    assert numbers["fake_verdict"] == pytest.approx(trainer.history.fake_verdict[-1], abs=tolerance)
    assert f"{VARIANTS[name].verdict_name} <span" in shown.status.value  # D(x) or critic f(x)


def test_arrows_for_vanilla_are_topic_04s_generator_gradient():
    shown = playground(steps_per_tick=10)
    shown.step()
    frame, discriminator = shown.frame, shown.trainer.discriminator
    assert torch.equal(frame.arrow_points, shown.trainer.generate()[: len(frame.arrow_points)])
    assert torch.allclose(frame.field, generator_gradient_field(discriminator, frame.arrow_points),
                          rtol=1e-5, atol=1e-7)
    x = frame.arrow_points.clone().requires_grad_(True)
    logits = discriminator(x)
    loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction="sum")
    (gradient,) = torch.autograd.grad(loss, x)
    assert torch.allclose(frame.field, -gradient, rtol=1e-5, atol=1e-7)


def test_arrows_for_wgan_gp_climb_the_critic():
    shown = playground(variant="WGAN-GP", steps_per_tick=4)
    shown.step()
    frame = shown.frame
    x = frame.arrow_points.clone().requires_grad_(True)
    loss = -shown.trainer.discriminator(x).sum()  # N times G's loss -mean f(G(z))
    (gradient,) = torch.autograd.grad(loss, x)
    assert frame.field.abs().max() > 0
    assert torch.allclose(frame.field, -gradient, rtol=1e-5, atol=1e-7)


def test_a_critic_is_rescaled_into_the_colour_scale_and_a_probability_is_not():
    wgan = playground(variant="WGAN")
    wgan.step()
    with torch.no_grad():
        critic = wgan.trainer.discriminator(wgan.frame.grid)  # the raw scores, by plain torch
    heat = wgan.frame.d_grid
    assert heat.min() == 0 and heat.max() == 1
    assert torch.allclose(heat, (critic - critic.min()) / (critic.max() - critic.min()), atol=1e-5)
    readout = wgan.readout()
    assert readout.view == "critic f(x), rescaled" and not readout.probability and readout.nash_losses == (None, None)
    vanilla = playground()
    vanilla.step()
    with torch.no_grad():
        probability = torch.sigmoid(vanilla.trainer.discriminator(vanilla.frame.grid))
    assert torch.allclose(vanilla.frame.d_grid, probability, atol=1e-6)  # D(x) itself, not stretched
    assert vanilla.readout().nash_losses == game_readout("non-saturating").nash_losses


def test_ebgan_in_1d_draws_minus_the_energy_rescaled():
    shown = playground(variant="EBGAN", target="mixture")
    shown.step()
    with torch.no_grad():
        minus_energy = -shown.trainer.discriminator(shown.frame.grid)
    heat = shown.frame.d_grid
    assert torch.allclose(heat, (minus_energy - minus_energy.min()) / (minus_energy.max() - minus_energy.min()),
                          atol=1e-5)
    assert "rescaled" in shown.readout().view and shown.figure.value[:4] == b"\x89PNG"


def test_feature_matching_draws_no_log_2_for_its_generator_loss():
    d_nash, g_nash = playground(variant="feature matching").readout().nash_losses
    assert d_nash == game_readout("non-saturating").nash_losses[0] and g_nash is None


# -- reproducibility ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vanilla", "WGAN", "minibatch discrimination", "WGAN-GP"])
def test_the_same_seed_replays_the_same_bytes(name):
    first, twin = playground(variant=name, seed=3), playground(variant=name, seed=3)
    initial = first.figure.value
    first.step(4)
    twin.step(4)
    assert first.figure.value == twin.figure.value and first.values() == twin.values()
    assert first.render() == first.figure.value
    first.reset()
    assert first.steps_done == 0 and first.figure.value == initial
    twin.seed_box.value = 4
    assert twin.steps_done == 0 and twin.figure.value != initial
