"""The inpainting explorer, driven without a browser: it completes the digit and hides the part its controls say,
with the kit's inpainting, and shows each completion's error and the classifier's verdict."""

import pytest
import torch

from course.generative_ai import inpaint, mean_fill, missing_pixel_error
from course.autoencoders import classifier_verdicts
from course.widgets.generative_ai import MASKS, InpaintingExplorer, inpainting_explorer, trained_vae

from widget_display import keyed_numbers, keyed_text

EPOCHS = 3  # small: the tests check the mechanics, the lecture trains longer


@pytest.fixture(scope="module")
def explorer():
    return inpainting_explorer(epochs=EPOCHS)


def test_the_completion_is_the_kits_inpainting_of_the_chosen_digit_and_mask(explorer):
    explorer.index_slider.value = 7
    explorer.mask_dropdown.value = "left half"
    x, mask = explorer.digits[7][None], MASKS["left half"]
    assert torch.equal(explorer.completed, inpaint(trained_vae(EPOCHS, 0).decoder, x, mask, latent=8))
    assert torch.equal(explorer.filled, mean_fill(x, mask, explorer.mean_image))


def test_the_table_shows_each_completions_error_and_verdict(explorer):
    shown, text = keyed_numbers(explorer.table.value), keyed_text(explorer.table.value)
    x, mask = explorer.digits[explorer.index_slider.value][None], MASKS[explorer.mask_dropdown.value]
    assert shown["inpainted_error"] == pytest.approx(missing_pixel_error(explorer.completed, x, mask), abs=1e-3)
    assert shown["mean_error"] == pytest.approx(missing_pixel_error(explorer.filled, x, mask), abs=1e-3)
    assert shown["original_error"] is None
    ((digit, confidence),) = classifier_verdicts(explorer.completed)
    assert text["inpainted_digit"] == str(digit) and shown["inpainted_confidence"] == pytest.approx(confidence, abs=1e-3)


def test_moving_a_control_redraws(explorer):
    before = explorer.figure.value
    explorer.index_slider.value = 8
    assert explorer.figure.value != before


@pytest.mark.parametrize("options", [{"mask": "diagonal"}, {"index": 10_000}])
def test_bad_choices_are_refused_with_what_to_do(options):
    with pytest.raises(ValueError, match="choose"):
        InpaintingExplorer(epochs=EPOCHS, **options)
