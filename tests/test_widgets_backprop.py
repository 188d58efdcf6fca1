"""The backprop explorer, driven without a browser and checked against torch.autograd."""

from __future__ import annotations

import pytest
import torch

from course.backprop import WEIGHT_NAMES
from course.widgets import BackpropExplorer, backprop_explorer

from widget_display import keyed_numbers

# The table shows six decimals, so what a reader sees is within 5e-7 of the truth.
DISPLAY_TOL = 1e-6


def displayed(explorer: BackpropExplorer) -> dict[str, float | None]:
    return keyed_numbers(explorer.table.value)


def torch_reference(weights, x1, x2, z):
    """Forward values, E and dE/dw of the 2-2-1 net, by torch.autograd in float64."""
    w = {name: torch.tensor(weights[name], dtype=torch.float64, requires_grad=True) for name in WEIGHT_NAMES}
    x1, x2, z = (torch.tensor(v, dtype=torch.float64) for v in (x1, x2, z))
    a1 = w["w1"] * x1 + w["w3"] * x2
    a2 = w["w2"] * x1 + w["w4"] * x2
    f1, f2 = torch.sigmoid(a1), torch.sigmoid(a2)
    a3 = w["w5"] * f1 + w["w6"] * f2
    y = torch.sigmoid(a3)
    loss = (y - z) ** 2
    loss.backward()
    values = {"a1": a1, "f1": f1, "a2": a2, "f2": f2, "a3": a3, "y": y, "E": loss}
    values = {key: t.item() for key, t in values.items()}
    grads = {name: w[name].grad.item() for name in WEIGHT_NAMES}
    return values, grads


def assert_display_matches_torch(explorer: BackpropExplorer):
    shown = displayed(explorer)
    values, grads = torch_reference(explorer.weights, explorer.x1, explorer.x2, explorer.z)
    for key, expected in values.items():
        assert shown[key] == pytest.approx(expected, abs=DISPLAY_TOL), key
    for name in WEIGHT_NAMES:
        assert shown[f"{name}.new"] == pytest.approx(explorer.weights[name], abs=DISPLAY_TOL), name
        assert shown[f"dE/d{name}"] == pytest.approx(grads[name], abs=DISPLAY_TOL), name


@pytest.fixture
def explorer():
    return backprop_explorer(x1=0.8, x2=-1.3, z=0.2, eta=0.7, seed=3)


def test_initial_display_matches_autograd(explorer):
    assert_display_matches_torch(explorer)
    assert all(displayed(explorer)[f"{name}.old"] is None for name in WEIGHT_NAMES)


def test_step_display_and_update_match_autograd(explorer):
    before = dict(explorer.weights)
    _, grads_before = torch_reference(before, explorer.x1, explorer.x2, explorer.z)
    explorer.step()
    shown = displayed(explorer)
    for name in WEIGHT_NAMES:
        expected_new = before[name] - explorer.eta * grads_before[name]
        assert explorer.weights[name] == pytest.approx(expected_new, rel=1e-12, abs=1e-12)
        assert shown[f"{name}.old"] == pytest.approx(before[name], abs=DISPLAY_TOL)
    assert_display_matches_torch(explorer)
    expected_loss, _ = torch_reference(explorer.weights, explorer.x1, explorer.x2, explorer.z)
    assert explorer.history[-1] == pytest.approx(expected_loss["E"], rel=1e-12)


@pytest.mark.parametrize("n", [1, 10, 50])
def test_stepping_reduces_the_loss_and_records_each_step(explorer, n):
    start, _ = torch_reference(explorer.weights, explorer.x1, explorer.x2, explorer.z)
    explorer.step(n)
    end, _ = torch_reference(explorer.weights, explorer.x1, explorer.x2, explorer.z)
    assert end["E"] < start["E"]
    assert len(explorer.history) == n
    assert explorer.loss_plot.value  # a curve is drawn once there is a history


def test_buttons_step_and_reset():
    explorer = backprop_explorer(repeat=4)
    explorer.step_button.click()
    explorer.step_n_button.click()
    assert len(explorer.history) == 5
    explorer.repeat.value = 3
    assert explorer.step_n_button.description == "Step x3"
    explorer.reset_button.click()
    assert explorer.history == [] and explorer.weights == explorer.initial_weights


def test_moving_a_slider_changes_the_display_not_the_weights(explorer):
    explorer.step(3)
    weights, history = dict(explorer.weights), list(explorer.history)
    y_before = displayed(explorer)["y"]
    explorer.x1_slider.value = -2.0
    explorer.z_slider.value = 0.95
    assert explorer.weights == weights and explorer.history == history
    assert displayed(explorer)["y"] != pytest.approx(y_before, abs=DISPLAY_TOL)
    assert_display_matches_torch(explorer)


def test_reset_restores_initial_weights_and_clears_history(explorer):
    initial = dict(explorer.initial_weights)
    explorer.step(7)
    assert explorer.weights != initial
    explorer.reset()
    assert explorer.weights == initial
    assert explorer.history == [] and explorer.previous_weights is None
    assert explorer.loss_plot.value == b""
    assert_display_matches_torch(explorer)


def test_redrawing_leaves_no_pyplot_figures_behind(explorer):
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    for _ in range(5):
        explorer.step()
    assert plt.get_fignums() == open_before


def test_initial_weights_are_seeded_or_given():
    assert backprop_explorer(seed=5).initial_weights == backprop_explorer(seed=5).initial_weights
    assert backprop_explorer(seed=5).initial_weights != backprop_explorer(seed=6).initial_weights
    given = {name: 0.1 * i for i, name in enumerate(WEIGHT_NAMES)}
    assert backprop_explorer(weights=given).initial_weights == given
    with pytest.raises(ValueError):
        backprop_explorer(weights={"w1": 1.0})


def test_learning_rate_slider_scales_the_step():
    given = {name: 0.3 for name in WEIGHT_NAMES}
    small, large = backprop_explorer(weights=given, eta=0.1), backprop_explorer(weights=given, eta=2.0)
    small.step()
    large.step()
    for name in WEIGHT_NAMES:
        assert (large.weights[name] - given[name]) == pytest.approx(20 * (small.weights[name] - given[name]))
