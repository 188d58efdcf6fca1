"""A Sphinx extension: the book's formulas are typeset by a MathJax copied into the site, not fetched from a CDN,
so that the book reads the same with no network. The copy is MathJax 2, as packaged by the Jupyter project
(jupyter-server-mathjax) for notebooks served offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import jupyter_server_mathjax
from sphinx.application import Sphinx

MATHJAX = Path(jupyter_server_mathjax.__file__).parent / "static"
SITE_FOLDER = "_static/mathjax"


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(MATHJAX, Path(app.outdir) / SITE_FOLDER, dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.config.mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
    # The Jupyter project's copy holds the STIX web fonts only, so MathJax is told to draw with those (as Jupyter's
    # own notebook page told it) rather than look for its TeX fonts.
    app.config.mathjax2_config = {
        "tex2jax": {"processEscapes": True},
        "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web", "imageFont": None},
    }
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
