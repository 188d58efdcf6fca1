"""The README's first command: JupyterLab starts from this install, serves the lecture,
and has the ipywidgets extension that renders the explorers."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LECTURE = "course/lectures/01_backprop.ipynb"
TOKEN = "course-kit-test"

pytestmark = pytest.mark.slow


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    port = free_port()
    home = tmp_path_factory.mktemp("jupyter-home")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_CONFIG_DIR": str(home / "config")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={ROOT}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if get(f"{base}/api/status?token={TOKEN}")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start:\n{server.stderr.read()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


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
