"""A Sphinx extension: each notebook page's launch buttons (Binder, Colab, and a JupyterHub through nbgitpuller),
from the one launch setting, ``[tool.course.launch]`` in pyproject.toml (course.launch).

A course can build its own edition without editing that file: ``python -m course.book --repository URL
--jupyterhub URL`` passes ``launch_repository``, ``launch_branch`` and ``launch_jupyterhub`` to Sphinx, and each
given one replaces the file's.
"""

from __future__ import annotations

import dataclasses

from sphinx.application import Sphinx
from sphinx.config import Config

from course.launch import LaunchSetting, html_theme_options_launch, read_setting

OVERRIDES = {"launch_repository": "repository", "launch_branch": "branch", "launch_jupyterhub": "jupyterhub"}


def launch_setting(config: Config) -> LaunchSetting:
    """The file's setting with the values Sphinx was given in its place."""
    given = {field: config[name] for name, field in OVERRIDES.items() if config[name] is not None}
    return dataclasses.replace(read_setting(), **given)


def add_launch_buttons(app: Sphinx, config: Config) -> None:
    # The book's source is the repository's root, so a page's path in the book is its path in the repository.
    config.html_theme_options = {**config.html_theme_options,
                                 **html_theme_options_launch(launch_setting(config), path_to_docs="")}


def setup(app: Sphinx) -> dict:
    for name in OVERRIDES:
        app.add_config_value(name, None, "html", (str, type(None)))
    app.connect("config-inited", add_launch_buttons)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
