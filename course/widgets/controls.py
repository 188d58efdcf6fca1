"""An explorer's inputs live in its controls, so that the widget and the code never disagree: a read-only
attribute reads the control's current value."""

from __future__ import annotations

from operator import attrgetter


def control_value(control: str, doc: str | None = None) -> property:
    """A read-only property giving ``self.<control>.value``: e.g. ``eta = control_value("eta_slider")``."""
    return property(attrgetter(f"{control}.value"), doc=doc)
