"""The student's experience in a real JupyterLab, in a real (headless) Chromium driven by Playwright.

For every lecture: open it, Run All, wait for the kernel, and check that no cell shows an error, that every
widget rendered (not "Loading widget..." or a missing-extension message), and that moving a control of the
topic's explorer changes the picture it shows. For lab 01: the released lab's first exercise fails with
nbgrader's placeholder, and after the student pastes a solution its visible test passes. Screenshots of each
explorer after the interaction are saved in ``browser-artifacts/`` (or ``$BROWSER_ARTIFACTS``) for a reviewer.

Needs Chromium (Debian's ``chromium`` package; Playwright's own browser download is not used) and the
``playwright`` Python package; without them these tests are skipped with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from grader.notebooks import read_notebook, strip_solution_markers
from lab_server import TOKEN, delete, get_json, jupyterlab

pytestmark = pytest.mark.slow
playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need `pip install playwright`")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LECTURES = sorted(path.name for path in (ROOT / "course" / "lectures").glob("*.ipynb"))
LAB = "01_backprop"
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "browser-artifacts"))
RUN_TIMEOUT_SECONDS = 600
BROKEN_WIDGET_TEXTS = ("Loading widget...", "Error displaying widget", "Failed to load model class",
                       "No renderer could be found", "Could not render content")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if os.environ.get("COURSE_BROWSER_TESTS") != "1":
    pytest.skip("the browser suite is opt-in for now (about 5 minutes): set COURSE_BROWSER_TESTS=1",
                allow_module_level=True)
if CHROMIUM is None:
    pytest.skip("the browser tests need Chromium (Debian/Ubuntu: sudo apt install chromium)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """JupyterLab over a scratch copy of the lectures and one lab (running them writes into the notebooks)."""
    root = tmp_path_factory.mktemp("student")
    shutil.copytree(ROOT / "course" / "lectures", root / "lectures")
    shutil.copytree(ROOT / "labs" / LAB, root / "labs" / LAB)
    # every cell in the page, so that widgets below the fold render too and can be checked
    settings = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
                "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
    with jupyterlab(root, tmp_path_factory.mktemp("jupyter-home"), settings) as base:
        yield root, base


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    yield opened
    context.close()
    _, base = served
    for session in get_json(f"{base}/api/sessions?token={TOKEN}"):  # one kernel at a time on a small machine
        delete(f"{base}/api/sessions/{session['id']}?token={TOKEN}")


def open_notebook(page, base: str, path: str) -> None:
    page.goto(f"{base}/lab/tree/{path}?reset&token={TOKEN}")  # reset: no tabs restored from another test
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_function("() => !document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"busy\"]')")
    wait_for_kernel(base, path, idle_for=2.0)


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
        wait_for_kernel(base, path, idle_for=3.0, timeout=max(1.0, deadline - time.monotonic()))
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
        current = selects.first.input_value()
        choice = next(option for option in options if option != current)
        selects.first.select_option(label=choice)
        return f"picked {choice!r}"
    handle = cell.locator(".noUi-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    return "moved a slider"


def wait_for_a_change(cell, before: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if shown_output(cell) != before:
            return
    raise AssertionError("what the explorer shows did not change after its control moved")


@pytest.mark.parametrize("lecture", LECTURES)
def test_lecture_runs_and_its_explorer_responds(served, page, lecture):
    root, base = served
    path = f"lectures/{lecture}"
    open_notebook(page, base, path)
    notebook = run_all(page, base, path)
    assert errors(notebook) == [], f"{lecture} shows errors"
    unrun = [index for index, cell in enumerate(notebook["cells"])
             if cell["cell_type"] == "code" and not cell.get("execution_count")]
    assert unrun == [], f"{lecture}: cells not run: {unrun}"

    panel = notebook_panel(page)
    panel.locator(".jp-OutputArea .jupyter-widgets").first.wait_for(timeout=60_000)
    text = panel.inner_text()
    assert not [broken for broken in BROKEN_WIDGET_TEXTS if broken in text], f"{lecture}: a widget did not render"
    views = [output for cell in notebook["cells"] if cell["cell_type"] == "code"
             for output in cell.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]
    assert views, f"{lecture} displays no widget"
    assert panel.locator(".jp-OutputArea .jupyter-widgets").count() >= len(views)

    cell = explorer_cell(page)
    before = shown_output(cell)
    assert before, f"{lecture}: the explorer shows no picture or table"
    action = move_a_control(cell)
    wait_for_a_change(cell, before)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cell.screenshot(path=str(ARTIFACTS / f"{Path(lecture).stem}-explorer.png"))
    assert action


def test_a_student_fills_in_an_exercise_and_its_test_passes(served, page):
    root, base = served
    path = f"labs/{LAB}/{LAB}.ipynb"
    open_notebook(page, base, path)
    notebook = run_all(page, base, path, to_the_end=False)
    first_test = next(cell for cell in notebook["cells"]
                      if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "ex1_sigmoid_tests")
    assert any(output["output_type"] == "error" and output["ename"] == "NotImplementedError"
               for output in first_test["outputs"]), "the unsolved exercise should fail with the placeholder"

    source = read_notebook(ROOT / "solutions" / LAB / f"{LAB}.ipynb")
    answer = next(strip_solution_markers(cell.source) for cell in source.cells
                  if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "ex1_sigmoid")
    answer_cell = notebook_panel(page).locator(".jp-CodeCell", has_text="raise NotImplementedError").first
    answer_cell.scroll_into_view_if_needed()
    answer_cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(answer)
    page.keyboard.press("Shift+Enter")  # runs the answer, moves to its test cell
    page.keyboard.press("Shift+Enter")  # runs the visible test
    wait_for_kernel(base, path, idle_for=2.0)
    notebook = saved_notebook(page, base, path)
    first_test = next(cell for cell in notebook["cells"]
                      if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "ex1_sigmoid_tests")
    assert [output for output in first_test["outputs"] if output["output_type"] == "error"] == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{LAB}-exercise-1-passed.png"))
