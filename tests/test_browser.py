"""The student's experience in a real JupyterLab, in a real (headless) Chromium driven by Playwright.

For every lecture: open it, Run All, wait for the kernel, and check that no cell shows an error, that every
widget rendered (not "Loading widget..." or a missing-extension message), and that moving a control of the
topic's explorer changes the picture it shows. For lab 01: the released lab's first exercise fails with
nbgrader's placeholder, and after the student pastes a solution its visible test passes. Screenshots of each
explorer after the interaction are saved in ``browser-artifacts/`` (or ``$BROWSER_ARTIFACTS``) for a reviewer.

The checks are themselves checked: a small notebook with one explorer passes them, and the same notebook
broken the ways a widget breaks (its display line removed, its front-end module misnamed, JupyterLab without
the ipywidgets extension, as after a misnamed package in requirements.txt) fails them.

Needs Chromium (Debian's ``chromium`` package; Playwright's own browser download is not used) and the
``playwright`` Python package; without them these tests are skipped with the reason, or fail where
``COURSE_BROWSER_REQUIRED=1`` (as in .ci/run, which installs the browser).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from grader.notebooks import read_notebook, strip_solution_markers
from lab_server import TOKEN, delete, get_json, jupyterlab

pytestmark = pytest.mark.slow

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


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """JupyterLab over a scratch copy of the lectures and one lab (running them writes into the notebooks)."""
    root = tmp_path_factory.mktemp("student")
    shutil.copytree(ROOT / "course" / "lectures", root / "lectures")
    shutil.copytree(ROOT / "labs" / LAB, root / "labs" / LAB)
    write_probes(root / "probes")
    with jupyterlab(root, tmp_path_factory.mktemp("jupyter-home"), JUPYTERLAB_SETTINGS) as base:
        yield root, base


@pytest.fixture(scope="module")
def served_without_widget_manager(tmp_path_factory):
    """JupyterLab as it is when ipywidgets' front end is missing from the install."""
    root = tmp_path_factory.mktemp("student-without-widgets")
    write_probes(root / "probes")
    with jupyterlab(root, tmp_path_factory.mktemp("jupyter-home"), JUPYTERLAB_SETTINGS,
                    disabled_extensions=(WIDGET_MANAGER,)) as base:
        yield root, base


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def stop_kernels(base: str) -> None:
    for session in get_json(f"{base}/api/sessions?token={TOKEN}"):  # one kernel at a time on a small machine
        delete(f"{base}/api/sessions/{session['id']}?token={TOKEN}")


@pytest.fixture
def lab(served, page):
    """The page, and the base URL of the JupyterLab it talks to; the kernels it started are stopped after."""
    _, base = served
    yield page, base
    stop_kernels(base)


@pytest.fixture
def lab_without_widget_manager(served_without_widget_manager, page):
    _, base = served_without_widget_manager
    yield page, base
    stop_kernels(base)


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


def check_ran_without_errors(notebook: dict, name: str) -> None:
    assert errors(notebook) == [], f"{name} shows errors"
    unrun = [index for index, cell in enumerate(notebook["cells"])
             if cell["cell_type"] == "code" and not cell.get("execution_count")]
    assert unrun == [], f"{name}: cells not run: {unrun}"


def check_widgets_rendered(page, notebook: dict, name: str) -> None:
    """The notebook displays widgets, and the page renders every one of them."""
    views = [output for cell in notebook["cells"] if cell["cell_type"] == "code"
             for output in cell.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]
    assert views, f"{name} displays no widget"
    panel = notebook_panel(page)
    rendered = panel.locator(".jp-OutputArea .jupyter-widgets")
    try:
        rendered.first.wait_for(timeout=30_000)
    except playwright_api.TimeoutError:
        raise AssertionError(f"{name}: a widget did not render: the page shows no widget view") from None
    text = panel.inner_text()
    broken = [message for message in BROKEN_WIDGET_TEXTS if message in text]
    assert not broken, f"{name}: a widget did not render: the page says {broken}"
    failed = panel.locator(ERROR_WIDGET).count()
    assert failed == 0, f"{name}: a widget did not render: {failed} error widget(s) in its place"
    assert rendered.count() >= len(views), f"{name}: a widget did not render: {rendered.count()} of {len(views)} views"


def check_explorer_responds(page, name: str) -> None:
    """Moving the explorer's first control changes what it shows; a screenshot of it for the reviewer."""
    cell = explorer_cell(page)
    before = shown_output(cell)
    assert before, f"{name}: the explorer shows no picture or table"
    action = move_a_control(cell)
    wait_for_a_change(cell, before)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cell.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}-explorer.png"))
    assert action


def open_and_run(page, base: str, path: str) -> dict:
    open_notebook(page, base, path)
    return run_all(page, base, path)


@pytest.mark.parametrize("lecture", LECTURES)
def test_lecture_runs_and_its_explorer_responds(lab, lecture):
    page, base = lab
    notebook = open_and_run(page, base, f"lectures/{lecture}")
    check_ran_without_errors(notebook, lecture)
    check_widgets_rendered(page, notebook, lecture)
    check_explorer_responds(page, lecture)


def test_the_checks_pass_a_working_explorer(lab):
    """The control for the breakage tests below: the probe notebook, unbroken, passes every check."""
    page, base = lab
    notebook = open_and_run(page, base, "probes/working.ipynb")
    check_ran_without_errors(notebook, "probe")
    check_widgets_rendered(page, notebook, "probe")
    check_explorer_responds(page, "probe")


@pytest.mark.parametrize("breakage, complaint", [
    ("display-removed", "displays no widget"),
    ("module-misnamed", "a widget did not render"),
])
def test_the_checks_catch_a_broken_widget(lab, breakage, complaint):
    """Python sees nothing wrong with these notebooks; only the page shows that the widget is missing."""
    page, base = lab
    notebook = open_and_run(page, base, f"probes/{breakage}.ipynb")
    check_ran_without_errors(notebook, breakage)
    with pytest.raises(AssertionError, match=complaint):
        check_widgets_rendered(page, notebook, breakage)


def test_the_checks_catch_a_missing_widget_extension(lab_without_widget_manager):
    """The working probe in a JupyterLab without ipywidgets' front end, as after a misnamed package in
    requirements.txt: the kernel displays the widget, the page cannot render it."""
    page, base = lab_without_widget_manager
    notebook = open_and_run(page, base, "probes/working.ipynb")
    check_ran_without_errors(notebook, "probe")
    with pytest.raises(AssertionError, match="a widget did not render"):
        check_widgets_rendered(page, notebook, "probe")


def test_a_student_fills_in_an_exercise_and_its_test_passes(lab):
    page, base = lab
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
