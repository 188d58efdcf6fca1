"""The code-space explorer, driven without a browser: it decodes the point its sliders give, with the model its
buttons pick, and reports what the digits classifier sees."""

import pytest
import torch

from course.autoencoders import classifier_verdicts
from course.widgets.autoencoders import CodeSpaceExplorer, code_space_explorer, decode, latent_models

from widget_display import keyed_text

EPOCHS = 3  # small: the tests check the mechanics, the lecture trains longer


@pytest.fixture(scope="module")
def explorer():
    return code_space_explorer(epochs=EPOCHS)


def test_latent_models_hold_2d_codes_of_every_training_digit():
    models = latent_models(EPOCHS, 0)
    assert models.codes["AE"].shape == models.codes["VAE"].shape == (len(models.labels), 2)
    assert latent_models(EPOCHS, 0) is models  # trained once per process


def test_the_picture_and_table_follow_the_sliders_and_the_model(explorer):
    explorer.z1_slider.value, explorer.z2_slider.value = 1.5, -0.5
    shown = keyed_text(explorer.table.value)
    assert (shown["z1"], shown["z2"]) == ("1.50", "-0.50")
    assert torch.equal(explorer.pixels, decode(explorer.models, "VAE", (1.5, -0.5)))
    ((digit, confidence),) = classifier_verdicts(explorer.pixels[None])
    assert shown["digit"] == str(digit) and float(shown["confidence"]) == pytest.approx(confidence, abs=1e-3)
    before = explorer.figure.value
    explorer.model_buttons.value = "AE"
    assert torch.equal(explorer.pixels, decode(explorer.models, "AE", (1.5, -0.5)))
    assert explorer.figure.value != before


def test_decode_uses_the_chosen_decoder():
    models = latent_models(EPOCHS, 0)
    with torch.no_grad():
        expected = models.vae.decoder(torch.tensor([[0.2, 0.3]]))[0]
    assert torch.equal(decode(models, "VAE", (0.2, 0.3)), expected)


def test_an_unknown_model_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        CodeSpaceExplorer(model="GAN", epochs=EPOCHS)
