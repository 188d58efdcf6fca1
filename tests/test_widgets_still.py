"""A still of a widget tree as static HTML, for pages with no kernel behind them: figures as PNG images, controls
as text, with what is hidden left out."""

import base64
import re

import ipywidgets as widgets

from course.widgets.still import NOTE, still_html

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_images(still: str) -> list[bytes]:
    return [base64.b64decode(payload) for payload in re.findall(r'<img src="data:image/png;base64,([^"]+)"', still)]


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
