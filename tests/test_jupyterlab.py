"""The README's first command: JupyterLab starts from this install, serves the lecture,
and has the ipywidgets extension that renders the explorers."""

import json
import re
from pathlib import Path

import pytest

from lab_server import TOKEN, get, jupyterlab as serve

ROOT = Path(__file__).resolve().parent.parent
LECTURE = "course/lectures/00_pytorch_basics.ipynb"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    try:
        with serve(ROOT, tmp_path_factory.mktemp("jupyter-home")) as base:
            yield base
    except RuntimeError as error:
        pytest.fail(str(error))


def test_lab_serves_the_lecture(jupyterlab):
    status, page = get(f"{jupyterlab}/lab/tree/{LECTURE}?token={TOKEN}")
    assert status == 200 and b"JupyterLab" in page
    status, body = get(f"{jupyterlab}/api/contents/{LECTURE}?token={TOKEN}")
    notebook = json.loads(body)
    assert notebook["type"] == "notebook" and notebook["content"]["cells"]


def test_page_loads_the_widget_extension(jupyterlab):
    """The page config lists the federated extensions the browser loads; without ipywidgets'
    manager among them, an explorer would show as "Loading widget..." or plain text."""
    status, page = get(f"{jupyterlab}/lab?token={TOKEN}")
    config = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    assert status == 200 and config, "no page config in JupyterLab's page"
    loaded = {extension["name"] for extension in json.loads(config.group(1))["federated_extensions"]}
    assert "@jupyter-widgets/jupyterlab-manager" in loaded, f"widget manager not loaded; page loads {sorted(loaded)}"
