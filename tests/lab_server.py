"""JupyterLab started from this install on a loopback port with a token, for the tests that talk to it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

TOKEN = "course-kit-test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def delete(url: str) -> int:
    with urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30) as response:
        return response.status


def get_json(url: str):
    return json.loads(get(url)[1])


@contextlib.contextmanager
def jupyterlab(root: Path, home: Path, settings: dict[str, dict] | None = None,
               disabled_extensions: tuple[str, ...] = (), environ: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ``root``; yields the base URL. ``settings``: JupyterLab user settings, plugin id -> values;
    ``disabled_extensions``: JupyterLab extensions the page leaves out, as if they were not installed;
    ``environ``: the environment to start from (this process's by default)."""
    env = {**(os.environ if environ is None else environ), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    for plugin, values in (settings or {}).items():
        package, name = plugin.split(":")
        path = home / "settings" / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    if disabled_extensions:
        page_config = home / "config" / "labconfig" / "page_config.json"
        page_config.parent.mkdir(parents=True, exist_ok=True)
        page_config.write_text(json.dumps({"disabledExtensions": {name: True for name in disabled_extensions}}))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
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
                raise RuntimeError(f"JupyterLab did not start:\n{server.stderr.read()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
