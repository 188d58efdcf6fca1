"""The RNN stepper, driven without a browser; what it displays is checked against torch.nn.RNNCell and autograd."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course.widgets.rnn import RNNStepper, rnn_stepper, sine_sequence

from widget_display import keyed_numbers

# Values are shown with six significant digits.
DISPLAY_RTOL = 1e-5


def displayed(stepper: RNNStepper) -> dict[str, float | None]:
    return keyed_numbers(stepper.table.value)


def torch_reference(stepper: RNNStepper, steps: int):
    """States, outputs, the last step's loss and |dL/ds_k| by torch: nn.RNNCell where torch has the
    activation, plain tensor operations for the identity, and autograd for every gradient."""
    W = stepper.weights().W
    inputs, targets = sine_sequence(len(stepper.inputs))
    hidden = stepper.U.shape[0]
    if stepper.activation == "identity":
        def cell(x, s):
            return x @ stepper.U.T + s @ W.T
    else:
        torch_cell = nn.RNNCell(1, hidden, bias=False, nonlinearity=stepper.activation, dtype=torch.float64)
        with torch.no_grad():
            torch_cell.weight_ih.copy_(stepper.U)
            torch_cell.weight_hh.copy_(W)
        cell = torch_cell
    s = torch.zeros(1, hidden, dtype=torch.float64, requires_grad=True)  # so every state joins the graph
    states = []
    for t in range(steps):
        s = cell(inputs[t : t + 1], s)
        states.append(s)
    outputs = [(s @ stepper.V.T).squeeze() for s in states]
    loss = 0.5 * (outputs[-1] - targets[steps - 1, 0]) ** 2
    grads = torch.autograd.grad(loss, states)
    return ([s.detach().squeeze(0) for s in states], [o.item() for o in outputs], loss.item(),
            [g.norm().item() for g in grads])


def assert_display_matches_torch(stepper: RNNStepper, with_gradients: bool):
    shown = displayed(stepper)
    states, outputs, loss, norms = torch_reference(stepper, stepper.t)
    for k in range(1, stepper.t + 1):
        for j, value in enumerate(states[k - 1].tolist()):
            assert shown[f"s{k}_{j}"] == pytest.approx(value, rel=DISPLAY_RTOL, abs=1e-12), (k, j)
        assert shown[f"o{k}"] == pytest.approx(outputs[k - 1], rel=DISPLAY_RTOL, abs=1e-12), k
        assert shown[f"x{k}"] == pytest.approx(stepper.inputs[k - 1].item(), rel=DISPLAY_RTOL, abs=1e-12)
        if with_gradients:
            assert shown[f"g{k}"] == pytest.approx(norms[k - 1], rel=DISPLAY_RTOL, abs=1e-12), k
        else:
            assert shown[f"g{k}"] is None
    if with_gradients:
        assert shown["loss"] == pytest.approx(loss, rel=DISPLAY_RTOL, abs=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
@pytest.mark.parametrize("scale", [0.5, 1.3])
def test_steps_and_backward_match_torch(activation, scale):
    stepper = rnn_stepper(activation=activation, scale=scale, seed=2, length=12)
    for _ in range(7):
        stepper.step()
    assert_display_matches_torch(stepper, with_gradients=False)
    norms = stepper.backward()
    assert_display_matches_torch(stepper, with_gradients=True)
    assert torch.allclose(norms, torch.tensor(torch_reference(stepper, 7)[3], dtype=torch.float64))
    assert stepper.plot.value  # the gradient plot is drawn after backward


def test_identity_gradients_scale_by_the_weight_scale_per_step_back():
    for scale in (0.6, 1.4):
        stepper = rnn_stepper(activation="identity", scale=scale, length=10)
        for _ in range(10):
            stepper.step()
        norms = stepper.backward()
        ratios = norms[:-1] / norms[1:]
        assert torch.allclose(ratios, torch.full_like(ratios, scale))


def test_buttons_and_end_of_sequence():
    stepper = rnn_stepper(length=3)
    assert stepper.backward() is None  # nothing fed yet
    for _ in range(5):
        stepper.step_button.click()
    assert stepper.t == 3  # stepping past the end does nothing
    stepper.backward_button.click()
    assert stepper.state_grads is not None and stepper.state_grads.shape == (3, 4)
    stepper.step_button.click()
    assert stepper.state_grads is not None, "a step past the end changes nothing"
    stepper.reset_button.click()
    assert stepper.t == 0 and stepper.state_grads is None and stepper.plot.value == b""
    assert "data-key" not in stepper.table.value


def test_changing_scale_or_activation_recomputes_and_clears_gradients():
    stepper = rnn_stepper(seed=1, length=10)
    for _ in range(6):
        stepper.step()
    stepper.backward()
    before = displayed(stepper)["s6_0"]
    stepper.scale_slider.value = 1.7
    assert stepper.t == 6 and stepper.state_grads is None
    assert displayed(stepper)["s6_0"] != pytest.approx(before)
    assert_display_matches_torch(stepper, with_gradients=False)
    stepper.activation_picker.value = "relu"
    assert_display_matches_torch(stepper, with_gradients=False)
    stepper.backward()
    assert_display_matches_torch(stepper, with_gradients=True)


def test_redrawing_leaves_no_pyplot_figures_behind():
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    stepper = rnn_stepper()
    for _ in range(4):
        stepper.step()
        stepper.backward()
    assert plt.get_fignums() == open_before


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        rnn_stepper(activation="sigmoid")
    with pytest.raises(ValueError):
        rnn_stepper(length=0)
