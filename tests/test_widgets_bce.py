"""The BCE explorer, driven without a browser and checked against torch.nn.functional and autograd."""

import pytest
import torch
import torch.nn.functional as F

from course.widgets.bce import BCEExplorer, bce_explorer, bce_point

from widget_display import keyed_numbers

DISPLAY_TOL = 1e-6  # six decimals shown


def torch_reference(h_or_z, y, mode):
    """Cost by F.binary_cross_entropy(_with_logits) and gradients by autograd, in float64."""
    label = torch.tensor(y, dtype=torch.float64)
    if mode == "logit":
        z = torch.tensor(h_or_z, dtype=torch.float64, requires_grad=True)
        h = torch.sigmoid(z)
        h.retain_grad()
        cost = F.binary_cross_entropy_with_logits(z, label)
        F.binary_cross_entropy(h, label).backward()
        (dz,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(z, label), z)
        return cost.item(), dz.item(), h.grad.item(), h.item()
    h = torch.tensor(h_or_z, dtype=torch.float64, requires_grad=True)
    z = torch.logit(h).detach().requires_grad_(True)
    cost = F.binary_cross_entropy(h, label)
    cost.backward()
    (dz,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(z, label), z)
    return cost.item(), dz.item(), h.grad.item(), h.item()


def assert_display_matches_torch(explorer):
    shown = keyed_numbers(explorer.table.value)
    cost, dz, dh, h = torch_reference(explorer.prediction(), explorer.label, explorer.mode)
    assert shown["cost"] == pytest.approx(cost, abs=DISPLAY_TOL)
    assert shown["dJ/dz"] == pytest.approx(dz, abs=DISPLAY_TOL)
    assert shown["dJ/dh"] == pytest.approx(dh, rel=1e-6, abs=DISPLAY_TOL)
    assert shown["h"] == pytest.approx(h, abs=DISPLAY_TOL)
    assert shown["y"] == pytest.approx(explorer.label, abs=DISPLAY_TOL)
    # the two terms add up to minus the cost, and each is never positive
    assert shown["y_log_h"] <= 0 and shown["one_minus_y_log_one_minus_h"] <= 0
    assert -(shown["y_log_h"] + shown["one_minus_y_log_one_minus_h"]) == pytest.approx(cost, abs=3 * DISPLAY_TOL)


@pytest.mark.parametrize("h, y", [(0.99, 1.0), (0.01, 1.0), (0.001, 1.0), (0.3, 0.0), (0.95, 0.9), (0.5, 0.5)])
def test_probability_mode_matches_torch(h, y):
    assert_display_matches_torch(bce_explorer(prediction=h, label=y))


@pytest.mark.parametrize("z, y", [(4.6, 1.0), (-12.0, 1.0), (12.0, 0.0), (0.0, 0.9), (-3.25, 0.1)])
def test_logit_mode_matches_torch(z, y):
    assert_display_matches_torch(bce_explorer(prediction=z, label=y, mode="logit"))


def test_the_slides_table():
    """Label 1: a prediction of 0.99 costs about 0, one near 0 costs a lot."""
    assert bce_point(0.99, 1.0, "probability")["cost"] < 0.011
    assert bce_point(0.001, 1.0, "probability")["cost"] > 6.9
    assert bce_point(0.3, 0.0, "probability")["y_log_h"] == 0.0


def test_moving_the_sliders_updates_the_display():
    explorer = BCEExplorer()
    before = explorer.figure.value
    explorer.label_slider.value = 0.9
    assert_display_matches_torch(explorer)
    assert explorer.figure.value != before
    explorer.probability_slider.value = 0.2
    assert_display_matches_torch(explorer)


def test_switching_mode_keeps_the_point_and_shows_one_slider():
    explorer = BCEExplorer(prediction=0.8, label=1.0)
    cost_before = explorer.values()["cost"]
    explorer.mode_buttons.value = "logit"
    assert explorer.logit_slider.layout.display is None and explorer.probability_slider.layout.display == "none"
    assert explorer.values()["cost"] == pytest.approx(cost_before, abs=0.01)  # the logit slider's step is 0.05
    assert_display_matches_torch(explorer)
    explorer.logit_slider.value = -6.0
    assert_display_matches_torch(explorer)
    explorer.mode_buttons.value = "probability"
    assert explorer.probability_slider.value == pytest.approx(torch.sigmoid(torch.tensor(-6.0)).item(), abs=1e-3)


def test_set_prediction_switches_mode():
    explorer = BCEExplorer()
    explorer.set_prediction(logit=7.5)
    assert explorer.mode == "logit" and explorer.prediction() == 7.5
    assert_display_matches_torch(explorer)
    explorer.set_prediction(probability=0.25)
    assert explorer.mode == "probability" and explorer.prediction() == 0.25
    with pytest.raises(ValueError):
        explorer.set_prediction()


def test_widget_renders_and_bad_mode_is_refused():
    explorer = bce_explorer()
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()
    assert explorer.figure.value[:4] == b"\x89PNG"
    with pytest.raises(ValueError):
        BCEExplorer(mode="odds")
