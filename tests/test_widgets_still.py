"""A still of a widget tree as static HTML, for pages with no kernel behind them: figures as PNG images, controls
as text, with what is hidden left out. Every explorer hands one out of its current state beside its live widget."""

import base64
import html
import re

import ipywidgets as widgets
import pytest
import torch

import course.widgets
from course.dcgan import DCGANGenerator
from course.widgets.pytorch_basics import LoopSetting
from course.widgets.still import NOTE, still_html

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EPOCHS = 3  # small, as in the explorers' own tests
TEST_DPI = 40
NZ = 16


def small_generator():
    torch.manual_seed(0)
    generator = DCGANGenerator(nz=NZ, ngf=8, channels=1, image_size=32)
    generator(torch.randn(32, NZ))  # one training-mode pass gives BatchNorm running statistics
    return generator.eval()


def step_once(explorer):
    explorer.step()


def step_and_backward(stepper):
    stepper.step()
    stepper.backward()


# factory -> (its smallest arguments, what brings up its first figure where building it alone does not)
EXPLORERS = {
    "backprop_explorer": (lambda: {}, step_once),  # the loss curve appears after the first step
    "bce_explorer": (lambda: {}, None),
    "code_space_explorer": (lambda: {"epochs": EPOCHS}, None),
    "gan_playground": (lambda: {"target": "ring", "device": "cpu", "dpi": TEST_DPI}, None),
    "inpainting_explorer": (lambda: {"epochs": EPOCHS}, None),
    "kernel_explorer": (lambda: {}, None),
    "latent_explorer": (lambda: {"generator": small_generator(), "nz": NZ}, None),
    "loop_explorer": (lambda: {"setting": LoopSetting(epochs=2)}, None),
    "rnn_stepper": (lambda: {"length": 3}, step_and_backward),  # the gradient plot appears after backward
    "variant_playground": (lambda: {"steps_per_tick": 3, "device": "cpu", "dpi": TEST_DPI}, None),
}


def all_widgets(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from all_widgets(child)


def hidden_widgets(widget, hidden=False):
    """Every widget not shown: those whose layout hides them, and everything inside those."""
    hidden = hidden or widget.layout.display == "none"
    if hidden:
        yield widget
    for child in getattr(widget, "children", ()):
        yield from hidden_widgets(child, hidden)


def hidden_texts(widget) -> list[str]:
    """What a hidden widget would put in a still: its image's bytes, its HTML, its label or its control's
    description."""
    texts = []
    for hidden in hidden_widgets(widget):
        if isinstance(hidden, widgets.Image) and hidden.value:
            texts.append(base64.b64encode(hidden.value).decode("ascii"))
        elif isinstance(hidden, (widgets.HTML, widgets.HTMLMath)) and hidden.value:
            texts.append(hidden.value)
        elif isinstance(hidden, widgets.Label) and hidden.value:
            texts.append(html.escape(hidden.value))
        elif getattr(hidden, "description", ""):
            texts.append(html.escape(f"{hidden.description}: "))
    return texts


def png_images(still: str) -> list[bytes]:
    return [base64.b64decode(payload) for payload in re.findall(r'<img src="data:image/png;base64,([^"]+)"', still)]


def test_every_explorer_factory_is_covered():
    factories = {name for name in course.widgets.__all__ if name[0].islower()}
    assert set(EXPLORERS) == factories


@pytest.mark.parametrize("factory", sorted(EXPLORERS))
def test_the_bundle_holds_the_live_widget_and_a_still_of_it(factory):
    arguments, bring_up_figure = EXPLORERS[factory]
    explorer = getattr(course.widgets, factory)(**arguments())
    states = [explorer._repr_mimebundle_()]
    if bring_up_figure:
        bring_up_figure(explorer)
        states.append(explorer._repr_mimebundle_())
    for bundle in states:
        assert bundle[WIDGET_VIEW]["model_id"] == explorer.widget.model_id
        still = bundle["text/html"]
        assert still.startswith('<div class="course-widget-still">') and NOTE in still
        assert [text for text in hidden_texts(explorer.widget) if text in still] == []
    images = png_images(states[-1]["text/html"])
    assert images and all(image.startswith(PNG_SIGNATURE) for image in images)


def test_the_still_follows_what_is_hidden():
    """The BCE explorer shows one prediction slider at a time: the still shows that one and not the other."""
    explorer = course.widgets.bce_explorer(prediction=0.99, label=1.0)
    assert hidden_texts(explorer.widget) == ["z: "]  # the check on hidden widgets above has something to find
    still = explorer._repr_mimebundle_()["text/html"]
    assert "h: 0.990" in still and "z: " not in still
    explorer.mode_buttons.value = "logit"
    still = explorer._repr_mimebundle_()["text/html"]
    assert "z: 4.60" in still and "h: " not in still


def test_a_still_of_a_hand_made_tree():
    png = PNG_SIGNATURE + b"pixels"
    tree = widgets.VBox([
        widgets.HBox([widgets.Label("<b>bold?</b>"),
                      widgets.FloatSlider(value=0.25, description="rate", readout_format=".2f")]),
        widgets.HTML("<i>the kit's own HTML</i>"),
        widgets.Image(format="png"),
        widgets.Image(value=png, format="png"),
        widgets.Label("hidden label", layout={"display": "none"}),
        widgets.VBox([widgets.IntSlider(value=3, description="inside a hidden box")], layout={"display": "none"}),
        widgets.Dropdown(options=[("first", 1), ("second", 2)], value=2, description="pick"),
        widgets.ToggleButtons(options=["tanh", "relu"], value="relu"),
        widgets.Checkbox(value=True, description="standardise"),
        widgets.Button(description="Step"),
        widgets.Output(),
    ])
    still = still_html(tree)
    assert "&lt;b&gt;bold?&lt;/b&gt;" in still and "<b>bold?" not in still
    assert "rate: 0.25" in still
    assert "<i>the kit's own HTML</i>" in still
    assert png_images(still) == [png] and still.count("<img") == 1  # the empty image is left out
    assert "hidden label" not in still and "inside a hidden box" not in still
    assert "pick: second" in still and ">relu<" in still and "standardise: on" in still
    assert "<button disabled" in still and ">Step</button>" in still
    assert still.endswith(f'<p class="course-widget-still-note" style="color:#666"><small>{NOTE}</small></p></div>')


def test_a_widget_the_still_does_not_know_gives_nothing():
    assert still_html(widgets.Output()) == still_html(widgets.VBox([]))
