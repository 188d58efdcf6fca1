"""course.widgets.controls: an attribute that reads a control's current value and cannot be set."""

import ipywidgets as widgets
import pytest

from course.widgets.controls import control_value


class Explorer:
    rate = control_value("rate_slider", "the learning rate")

    def __init__(self):
        self.rate_slider = widgets.FloatSlider(value=0.5)


def test_the_attribute_follows_the_control_and_is_read_only():
    explorer = Explorer()
    assert explorer.rate == 0.5
    explorer.rate_slider.value = 0.25
    assert explorer.rate == 0.25
    with pytest.raises(AttributeError):
        explorer.rate = 1.0
    assert Explorer.rate.__doc__ == "the learning rate"
