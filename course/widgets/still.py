"""A still of an ipywidgets tree: static HTML of what its widgets show now.

A page with no kernel behind it (the web edition of the course, GitHub, an nbconvert HTML export) cannot draw a
live widget, so an explorer also hands out this still. The tree is walked generically: boxes lay out their
children, HTML and images are shown as they are, and each control is shown as ``description: value``.
"""

from __future__ import annotations

import base64
import html
from numbers import Number

import ipywidgets as widgets

from course.language import tr


def note() -> str:
    """The line under a still saying where its controls come alive, in the kit's current language."""
    return tr("A still of the explorer as the cell left it. Its controls are live when you run this notebook in "
              "JupyterLab (<code>python -m course.workspace --open</code>).")


NOTE = note()  # as it reads in the language of the import (still_html asks again each time)

# Controls look inert: a still cannot be moved, and should not invite a click.
CONTROL_STYLE = ("display:inline-block;padding:2px 8px;border:1px solid #d0d0d0;border-radius:3px;"
                 "background:#f5f5f5;color:#555;font-size:0.9em;white-space:nowrap")
ROW_STYLE = "display:flex;flex-direction:row;flex-wrap:wrap;gap:6px 12px;align-items:flex-start"
COLUMN_STYLE = "display:flex;flex-direction:column;gap:6px;align-items:flex-start"


def still_html(widget: widgets.Widget) -> str:
    """``widget`` and everything inside it as static HTML, followed by a note on where it comes alive."""
    return (f'<div class="course-widget-still">{_still(widget)}'
            f'<p class="course-widget-still-note" style="color:#666"><small>{note()}</small></p></div>')


def _still(widget: widgets.Widget) -> str:
    if _hidden(widget):
        return ""
    if isinstance(widget, widgets.Box):
        return _box(widget)
    if isinstance(widget, (widgets.HTML, widgets.HTMLMath)):
        return f"<div>{widget.value}</div>"  # the kit's own HTML, trusted as the live widget trusts it
    if isinstance(widget, widgets.Label):
        return f"<span>{html.escape(widget.value)}</span>"
    if isinstance(widget, widgets.Image):
        return _image(widget)
    if isinstance(widget, widgets.Button):
        return _button(widget)
    if isinstance(widget, widgets.ValueWidget):
        return _control(widget)
    return ""  # a widget this still does not know how to draw is left out rather than guessed at


def _hidden(widget: widgets.Widget) -> bool:
    layout = getattr(widget, "layout", None)
    return getattr(layout, "display", None) == "none"


def _box(box: widgets.Box) -> str:
    children = box.children
    if box.has_trait("selected_index"):  # a tab, accordion or stack shows only its selected child
        children = () if box.selected_index is None else (children[box.selected_index],)
    column = isinstance(box, widgets.VBox) or "column" in (box.layout.flex_flow or "")
    style = COLUMN_STYLE if column else ROW_STYLE
    inner = "".join(_still(child) for child in children)
    return f'<div style="{style}">{inner}</div>' if inner else ""


def _image(image: widgets.Image) -> str:
    if not image.value:
        return ""
    if image.format == "url":
        source = image.value.decode()
    else:
        source = f"data:image/{image.format};base64,{base64.b64encode(image.value).decode('ascii')}"
    alt = getattr(image, "description", "") or tr("the explorer's figure")
    return f'<img src="{html.escape(source)}" alt="{html.escape(alt)}" style="max-width:100%;height:auto">'


def _button(button: widgets.Button) -> str:
    text = button.description or button.tooltip
    return f'<button disabled style="{CONTROL_STYLE}">{html.escape(text)}</button>' if text else ""


def _control(control: widgets.ValueWidget) -> str:
    """``description: value`` for a slider, text box, checkbox, dropdown or toggle; nothing for a value it cannot
    put in a few words (a range slider's pair, an upload's files)."""
    value = _value_text(control)
    if value is None:
        return ""
    description = getattr(control, "description", "")
    text = tr("{description}: {value}").format(description=description, value=value) if description else value
    return f'<span style="{CONTROL_STYLE}">{html.escape(text)}</span>'


def _value_text(control: widgets.ValueWidget) -> str | None:
    if control.has_trait("options"):  # a dropdown, toggle buttons or selection slider: the chosen option's label
        label = control.label
        return ", ".join(label) if isinstance(label, tuple) else label or ""
    value = control.value
    if isinstance(value, bool):
        return tr("on") if value else tr("off")
    if isinstance(value, Number):
        readout_format = getattr(control, "readout_format", "")
        return format(value, readout_format) if readout_format else str(value)
    if isinstance(value, str):
        return value
    return None
