"""The training-loop explorer, driven without a browser: what it shows is the run its controls describe."""

import pytest
import torch

from course.pytorch_basics import FEATURES, LogisticRegression, eights_and_nines, evaluate, fit, standardise
from course.widgets.pytorch_basics import LoopExplorer, LoopSetting, loop_explorer, run_loop

from widget_display import keyed_numbers

DISPLAY_TOL = 1e-4  # four decimals shown


def test_run_loop_is_the_kits_loop_on_the_standardised_digits():
    setting = LoopSetting(lr=0.1, batch_size=8, epochs=3)
    X_train, y_train, X_test, y_test = eights_and_nines()
    X_train, mean, std = standardise(X_train)
    torch.manual_seed(0)
    model = LogisticRegression(FEATURES)
    losses = fit(model, X_train, y_train, 3, 8, 0.1, seed=0)
    result = run_loop(setting)
    assert result.train_losses == pytest.approx(losses)
    assert (result.test_accuracy, result.test_loss) == pytest.approx(evaluate(model, (X_test - mean) / std, y_test))


def test_the_table_shows_the_result_and_moving_a_control_retrains():
    explorer = loop_explorer(setting=LoopSetting(epochs=5))
    shown = keyed_numbers(explorer.table.value)
    assert shown["first_loss"] == pytest.approx(explorer.result.train_losses[0], abs=DISPLAY_TOL)
    assert shown["last_loss"] == pytest.approx(explorer.result.train_losses[-1], abs=DISPLAY_TOL)
    assert shown["test_accuracy"] == pytest.approx(explorer.result.test_accuracy, abs=DISPLAY_TOL)
    before = explorer.figure.value
    explorer.zero_grad_box.value = False
    assert explorer.setting() == LoopSetting(epochs=5, zero_grad=False)
    assert explorer.result == run_loop(LoopSetting(epochs=5, zero_grad=False))
    assert explorer.figure.value != before


def test_each_control_reaches_the_setting():
    explorer = LoopExplorer(LoopSetting(epochs=2))
    explorer.optimizer_buttons.value = "Adam"
    explorer.lr_slider.value = 0.1
    explorer.batch_dropdown.value = "all"
    explorer.standardise_box.value = False
    explorer.epochs_slider.value = 3
    setting = explorer.setting()
    assert (setting.optimizer, setting.batch_size, setting.standardised, setting.epochs) == ("Adam", "all", False, 3)
    assert setting.lr == pytest.approx(0.1)
    assert len(explorer.result.train_losses) == 3


def test_forgetting_zero_grad_at_a_large_rate_ends_above_the_correct_loop():
    correct = run_loop(LoopSetting(lr=1.0, epochs=20))
    forgot = run_loop(LoopSetting(lr=1.0, epochs=20, zero_grad=False))
    assert forgot.train_losses[-1] > 2 * correct.train_losses[-1]


@pytest.mark.parametrize("setting", [LoopSetting(optimizer="LBFGS"), LoopSetting(batch_size=7)])
def test_unknown_choices_are_refused_with_the_choices(setting):
    with pytest.raises(ValueError, match="choose one of"):
        LoopExplorer(setting)
