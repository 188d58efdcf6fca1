"""What every explorer shares: a figure turned into PNG bytes, the widget that shows it, toggle buttons with their
label, and showing itself in a notebook, live or as a still."""

from __future__ import annotations

import io

import ipywidgets as widgets
from matplotlib.figure import Figure

from course.widgets.still import still_html


def figure_png(fig: Figure) -> bytes:
    """Lay out a bare matplotlib ``Figure`` and return it as PNG bytes for a ``widgets.Image``.

    A bare ``Figure`` never enters pyplot's registry, so redrawing after every
    step leaves nothing behind to close and memory does not grow.
    """
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def figure_image() -> widgets.Image:
    """The widget an explorer draws its figures in: at most its own pixels wide, so that it is never stretched
    (blurry) to fill a wide window, and scaled down to fit a narrow one."""
    return widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start", max_width="100%",
                                                               height="auto"))


def labelled(description: str, toggles: widgets.ToggleButtons, label_width: str = "") -> widgets.HBox:
    """``toggles`` with ``description`` beside them, right-aligned as a control's description is (in ``label_width``
    where given). A toggle's own description wraps onto a line of its own above its buttons once the row is narrow."""
    label = widgets.HTML(f"<div style='text-align: right; padding-right: 8px'>{description}</div>",
                         layout={"width": label_width} if label_width else {})
    return widgets.HBox([label, toggles])


class ShowsItsWidget:
    """Leaving an explorer as a cell's last expression shows its ``widget``: live where a widget manager runs
    (JupyterLab ranks the widget view first), and as a still of its current state in HTML everywhere else (the
    web edition, GitHub, nbconvert exports)."""

    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})  # ipywidgets gives b"" for a view-less widget
        bundle["text/html"] = still_html(self.widget)
        return bundle
