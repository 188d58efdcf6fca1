"""What the browser tests share: JupyterLab and headless Chromium for a module, and the checks a student's
eye makes — the notebook ran without errors, every widget rendered, the explorer answers its controls.

Needs Chromium (Debian's ``chromium`` package; Playwright's own browser download is not used) and the
``playwright`` Python package: a test module that calls :func:`require_browser` is skipped with the reason
where they are missing, or fails where ``COURSE_BROWSER_REQUIRED=1`` (as in .ci/run, which installs the
browser). The fixtures that start JupyterLab and Chromium are in conftest.py.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from lab_server import TOKEN, delete, get_json

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LECTURES = sorted(path.name for path in (ROOT / "course" / "lectures").glob("*.ipynb"))
LAB = "01_backprop"
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "browser-artifacts"))
RUN_TIMEOUT_SECONDS = 600
WIDGET_MANAGER = "@jupyter-widgets/jupyterlab-manager"
BROKEN_WIDGET_TEXTS = ("Loading widget...", "Error displaying widget", "Failed to load model class",
                       "Click to show javascript error", "No renderer could be found", "Could not render content")
ERROR_WIDGET = ".jupyter-widgets-error-widget"  # what ipywidgets draws where a widget's model or view failed
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def unavailable(reason: str) -> None:
    """Skip the module with ``reason``, or fail it where the browser suite is required (CI)."""
    if os.environ.get("COURSE_BROWSER_REQUIRED") == "1":
        pytest.fail(f"{reason}; COURSE_BROWSER_REQUIRED=1 says this machine must run them", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    import playwright.sync_api as playwright_api
except ImportError:
    playwright_api = None


def require_browser() -> None:
    """Called at the top of each browser test module: skip it (or fail it, in CI) without a browser."""
    if playwright_api is None:
        unavailable("the browser tests need the playwright package: python -m pip install -r requirements.txt")
    if CHROMIUM is None:
        unavailable("the browser tests need Chromium: sudo apt-get install chromium (Debian/Ubuntu)")


# One explorer in a notebook of its own: as it should be, and broken the ways a widget breaks in a course.
PROBE_IMPORT = "from course.widgets import bce_explorer\n\n"
PROBES = {
    "working": PROBE_IMPORT + "explorer = bce_explorer()\nexplorer",
    "display-removed": PROBE_IMPORT + "explorer = bce_explorer()",
    "module-misnamed": PROBE_IMPORT + (
        "import ipywidgets\nfrom traitlets import Unicode\n\n\n"
        "class Misnamed(ipywidgets.VBox):\n"
        "    _model_module = Unicode('@jupyter-widgets/controls-misnamed').tag(sync=True)\n\n\n"
        "Misnamed([bce_explorer().widget])"),
    # what lectures 01-04 showed before their explorers were fixed: a label too long for its room, a label wrapped
    # above its buttons, text drawn over a button, a figure stretched to the window's width
    "layout-broken": (
        "import ipywidgets as widgets\nfrom matplotlib.figure import Figure\n\n"
        "from course.widgets.display import figure_png\n\n"
        "figure = Figure(figsize=(2, 1), dpi=50)\nfigure.add_subplot().plot([0, 1])\n"
        "widgets.VBox([\n"
        "    widgets.IntSlider(description='k (D steps per G step)'),\n"
        "    widgets.HBox([widgets.IntSlider(), widgets.ToggleButtons(options=['non-saturating', 'saturating'], "
        "description='G loss')]),\n"
        "    widgets.HBox([widgets.Label('a label'), widgets.Button(description='on top', "
        "layout={'margin': '0 0 0 -40px'})]),\n"
        "    widgets.Image(value=figure_png(figure), format='png', layout={'width': '100%'}),\n"
        "])"),
}


def write_probes(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in PROBES.items():
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, id="probe")])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, folder / f"{name}.ipynb")


JUPYTERLAB_SETTINGS = {  # every cell in the page, so that widgets below the fold render too and can be checked
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def stop_kernels(base: str) -> None:
    for session in get_json(f"{base}/api/sessions?token={TOKEN}"):  # one kernel at a time on a small machine
        delete(f"{base}/api/sessions/{session['id']}?token={TOKEN}")


def open_notebook(page, base: str, path: str) -> None:
    page.goto(f"{base}/lab/tree/{path}?reset&token={TOKEN}")  # reset: no tabs restored from another test
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_function("() => !document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"busy\"]')")
    wait_for_kernel(base, path, idle_for=1.0)


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def kernel_of(base: str, path: str) -> dict | None:
    sessions = get_json(f"{base}/api/sessions?token={TOKEN}")
    for session in sessions:
        if session["path"] == path and session.get("kernel"):
            return session["kernel"]
    return None


def wait_for_kernel(base: str, path: str, idle_for: float, timeout: float = RUN_TIMEOUT_SECONDS) -> None:
    """Until the notebook's kernel has been idle for ``idle_for`` seconds in a row."""
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        kernel = kernel_of(base, path)
        if kernel is not None and kernel["execution_state"] == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= idle_for:
                return
        else:
            idle_since = None
        time.sleep(0.25)
    raise AssertionError(f"{path}: the kernel was still busy after {timeout} s")


def saved_notebook(page, base: str, path: str) -> dict:
    page.keyboard.press("Control+s")
    time.sleep(1.0)
    return get_json(f"{base}/api/contents/{path}?token={TOKEN}&content=1")["content"]


def run_all(page, base: str, path: str, to_the_end: bool = True) -> dict:
    """Run All, wait until the kernel is idle (and, with ``to_the_end``, every code cell has run: JupyterLab
    stops at the first error, as in an unsolved lab); the notebook as saved."""
    menu(page, "Run", "Run All Cells")
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while True:
        wait_for_kernel(base, path, idle_for=1.0, timeout=max(1.0, deadline - time.monotonic()))
        notebook = saved_notebook(page, base, path)
        code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
        if not to_the_end or all(cell.get("execution_count") for cell in code) or time.monotonic() > deadline:
            return notebook


def errors(notebook: dict) -> list[str]:
    return [f"cell {index}: {output['ename']}: {output['evalue']}"
            for index, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"
            for output in cell.get("outputs", []) if output["output_type"] == "error"]


def notebook_panel(page):
    return page.locator(".jp-NotebookPanel:visible").first


def explorer_cell(page):
    cell = notebook_panel(page).locator(".jp-CodeCell", has_text="from course.widgets import").first
    cell.scroll_into_view_if_needed()
    return cell


def shown_output(cell) -> str:
    """What the explorer shows besides its controls: its pictures (a new blob for every new PNG) and its
    HTML and text outputs."""
    cell.locator(".jp-OutputArea .jupyter-widgets").first.wait_for(timeout=60_000)
    return cell.evaluate("""cell => [
        ...[...cell.querySelectorAll('.jp-OutputArea img')].map(image => image.src),
        ...[...cell.querySelectorAll('.jp-OutputArea .widget-html-content')].map(html => html.innerHTML),
    ].join('\\n')""")


def move_a_control(cell) -> str:
    """Use the explorer as a student would first: press Step where it has one, else flip a toggle, pick
    another option or move a slider; returns what was done."""
    step = cell.locator("button.widget-button", has_text=re.compile(r"^\s*Step\s*$"))
    if step.count():
        step.first.click()
        return "pressed Step"
    toggles = cell.locator(".widget-toggle-button:not(.mod-active)")
    if toggles.count():
        label = toggles.first.inner_text()
        toggles.first.click()
        return f"clicked the toggle {label!r}"
    selects = cell.locator(".widget-dropdown select")
    if selects.count():
        options = selects.first.locator("option").all_inner_texts()
        current = selects.first.evaluate("select => select.options[select.selectedIndex].text")  # a label, as options
        choice = next(option for option in options if option != current)
        selects.first.select_option(label=choice)
        return f"picked {choice!r}"
    handle = cell.locator(".noUi-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    return "moved a slider"


def wait_for_a_change(cell, before: str, action: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if shown_output(cell) != before:
            return
    raise AssertionError(f"{action}: what the explorer shows did not change")


def check_ran_without_errors(notebook: dict, name: str) -> None:
    assert errors(notebook) == [], f"{name} shows errors"
    unrun = [index for index, cell in enumerate(notebook["cells"])
             if cell["cell_type"] == "code" and not cell.get("execution_count")]
    assert unrun == [], f"{name}: cells not run: {unrun}"


def check_widgets_rendered(page, notebook: dict, name: str, patience_seconds: float = 30) -> None:
    """The notebook displays widgets, and the page renders every one of them (the first within
    ``patience_seconds`` of the run's end)."""
    views = [output for cell in notebook["cells"] if cell["cell_type"] == "code"
             for output in cell.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]
    assert views, f"{name} displays no widget"
    panel = notebook_panel(page)
    rendered = panel.locator(".jp-OutputArea .jupyter-widgets")
    try:
        rendered.first.wait_for(timeout=patience_seconds * 1000)
    except playwright_api.TimeoutError:
        raise AssertionError(f"{name}: a widget did not render: the page shows no widget view") from None
    text = panel.inner_text()
    broken = [message for message in BROKEN_WIDGET_TEXTS if message in text]
    assert not broken, f"{name}: a widget did not render: the page says {broken}"
    failed = panel.locator(ERROR_WIDGET).count()
    assert failed == 0, f"{name}: a widget did not render: {failed} error widget(s) in its place"
    assert rendered.count() >= len(views), f"{name}: a widget did not render: {rendered.count()} of {len(views)} views"


def check_explorer_responds(page, name: str) -> None:
    """Moving the explorer's first control changes what it shows (check_layout_at_window_sizes screenshots it)."""
    cell = explorer_cell(page)
    before = shown_output(cell)
    assert before, f"{name}: the explorer shows no picture or table"
    action = move_a_control(cell)
    wait_for_a_change(cell, before, f"{name}: {action}")


def open_and_run(page, base: str, path: str) -> dict:
    open_notebook(page, base, path)
    return run_all(page, base, path)


# -- what a student's eye sees at a laptop's and a desktop's window size ------------------------------------------

WINDOW_SIZES = ((1366, 768), (1920, 1080))
STRETCH_ALLOWED = 1.02  # a figure drawn wider than this times its own pixels is blurry: text and lines smeared
OVERLAP_ALLOWED_PX = 2  # rectangles that share less than this in either direction only touch

LAYOUT_PROBLEMS_JS = Path(__file__).with_name("layout_problems.js")  # a function the page runs


def layout_problems(page) -> list[str]:
    """Widget text cut off, labels wrapped away from their controls, figures stretched past their pixels, text
    over text or figures: as the page is now."""
    return notebook_panel(page).evaluate(LAYOUT_PROBLEMS_JS.read_text(), {"stretch": STRETCH_ALLOWED,
                                                                          "overlap": OVERLAP_ALLOWED_PX})


def check_layout_at_window_sizes(page, name: str) -> None:
    """At each of WINDOW_SIZES: no layout problem in the notebook's widgets, and a screenshot of the explorer for a
    person to review (``browser-artifacts/<name>-<width>x<height>.png``)."""
    found = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in WINDOW_SIZES:
        page.set_viewport_size({"width": width, "height": height})
        time.sleep(1.0)  # JupyterLab and the widgets lay themselves out again after a resize
        found += [f"at {width}x{height}, {problem}" for problem in layout_problems(page)]
        cell = explorer_cell(page)
        cell.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}-{width}x{height}.png"))
    assert not found, f"{name}: what a student would see go wrong:\n" + "\n".join(found)
