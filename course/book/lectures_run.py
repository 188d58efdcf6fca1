"""A Sphinx extension: which lectures run while the book is built. All of them, unless ``book_run_only`` names
some (comma-separated, e.g. ``01_backprop,04_gan_objective``): the others then show the outputs saved in their
notebooks, which is quicker for an author checking one lecture's page (``python -m course.book --only 01``)."""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

LECTURES = "course/lectures"


def lectures_not_run(srcdir: Path, run_only: list[str]) -> list[str]:
    """Patterns for MyST-NB's ``nb_execution_excludepatterns``: every lecture whose name starts with none of
    ``run_only``. A name that matches no lecture is an error, so that a typing mistake does not silently run none."""
    names = sorted(path.stem for path in (srcdir / LECTURES).glob("*.ipynb"))
    unknown = [wanted for wanted in run_only if not any(name.startswith(wanted) for name in names)]
    if unknown:
        raise ValueError(f"no lecture is called {', '.join(unknown)}: the lectures are {', '.join(names)}")
    return [f"{LECTURES}/{name}.ipynb" for name in names if not any(name.startswith(wanted) for wanted in run_only)]


def skip_lectures(app: Sphinx, config: Config) -> None:
    run_only = [name.strip() for name in config.book_run_only.split(",") if name.strip()]
    if run_only:
        config.nb_execution_excludepatterns = [*config.nb_execution_excludepatterns,
                                               *lectures_not_run(Path(app.srcdir), run_only)]


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_run_only", "", "env", str)
    app.connect("config-inited", skip_lectures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
