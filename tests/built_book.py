"""The web edition as the tests see it: built once per run by `course.book.build`, as `python -m course.book`
builds it, with a sample launch setting and only lecture 01 run (the rest show the outputs saved in them), so
that the build costs seconds; `.ci/run` builds the whole book with every lecture run."""

from __future__ import annotations

from pathlib import Path

from course.book.build import build
from course.launch import LaunchSetting
from shared_folder import built_once

SAMPLE_LAUNCH = LaunchSetting(repository="https://github.com/example-course/deep-learning", branch="main",
                              jupyterhub="https://hub.example.edu")
RUN_LECTURE = "01_backprop"


def book_settings() -> dict[str, str]:
    return {"launch_repository": SAMPLE_LAUNCH.repository, "launch_branch": SAMPLE_LAUNCH.branch,
            "launch_jupyterhub": SAMPLE_LAUNCH.jupyterhub, "book_run_only": RUN_LECTURE}


def make_book(folder: Path) -> None:
    status = build(folder, book_settings(), jobs="1")
    (folder / "status").write_text(str(status))


def built_book(tmp_path_factory) -> tuple[int, Path]:
    """(the build's exit status, the site's folder)."""
    folder = built_once(tmp_path_factory, "book", make_book)
    return int((folder / "status").read_text()), folder / "html"
