"""Lab 01 as a student does it, in JupyterLab in a real (headless) Chromium: the released lab's first exercise
fails with nbgrader's placeholder, and once a solution is typed in its visible test passes. The student's
JupyterLab has nbgrader's Validate button and none of its instructor panels.

And the browser checks themselves are checked: a small notebook with one explorer passes them, and the same
notebook broken the ways a widget breaks (its display line removed, its front-end module misnamed, JupyterLab
without the ipywidgets extension, as after a misnamed package in requirements.txt) fails them.
"""

from urllib.error import HTTPError

import pytest

from browser_session import (ARTIFACTS, LAB, ROOT, check_explorer_responds, check_layout_at_window_sizes,
                             check_ran_without_errors, check_widgets_rendered, layout_problems, notebook_panel,
                             open_and_run, open_notebook, require_browser, run_all, saved_notebook, wait_for_kernel)
from grader.notebooks import nbgrader_metadata, read_notebook, strip_solution_markers
from lab_server import TOKEN, get

pytestmark = pytest.mark.slow
require_browser()


def test_the_checks_pass_a_working_explorer(lab):
    """The control for the breakage tests below: the probe notebook, unbroken, passes every check."""
    page, base = lab
    notebook = open_and_run(page, base, "probes/working.ipynb")
    check_ran_without_errors(notebook, "probe")
    check_widgets_rendered(page, notebook, "probe")
    check_explorer_responds(page, "probe")
    check_layout_at_window_sizes(page, "probe")


def test_the_layout_check_sees_cut_off_text_overlaps_and_stretched_figures(lab):
    page, base = lab
    notebook = open_and_run(page, base, "probes/layout-broken.ipynb")
    check_ran_without_errors(notebook, "layout probe")
    problems = "\n".join(layout_problems(page))
    for expected in ('"k (D steps per G step)" is cut off', 'the label "G loss" sits on a line of its own',
                     '"a label" and "on top" overlap', "is stretched to"):
        assert expected in problems, f"the layout check missed {expected!r}; it found:\n{problems}"


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
        # nothing is left loading here (the page showed the widget's plain-text form at once): less patience
        check_widgets_rendered(page, notebook, "probe", patience_seconds=5)


def cell_with_grade_id(cells, grade_id: str):
    return next(cell for cell in cells if nbgrader_metadata(cell).get("grade_id") == grade_id)


def test_a_student_fills_in_an_exercise_and_its_test_passes(lab):
    page, base = lab
    path = f"labs/{LAB}/{LAB}.ipynb"
    open_notebook(page, base, path)
    notebook = run_all(page, base, path, to_the_end=False)
    first_test = cell_with_grade_id(notebook["cells"], "ex1_sigmoid_tests")
    assert any(output["output_type"] == "error" and output["ename"] == "NotImplementedError"
               for output in first_test["outputs"]), "the unsolved exercise should fail with the placeholder"

    source = read_notebook(ROOT / "solutions" / LAB / f"{LAB}.ipynb")
    answer = strip_solution_markers(cell_with_grade_id(source.cells, "ex1_sigmoid").source)
    answer_cell = notebook_panel(page).locator(".jp-CodeCell", has_text="raise NotImplementedError").first
    answer_cell.scroll_into_view_if_needed()
    answer_cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(answer)
    page.keyboard.press("Shift+Enter")  # runs the answer, moves to its test cell
    page.keyboard.press("Shift+Enter")  # runs the visible test
    wait_for_kernel(base, path, idle_for=1.0)
    first_test = cell_with_grade_id(saved_notebook(page, base, path)["cells"], "ex1_sigmoid_tests")
    assert [output for output in first_test["outputs"] if output["output_type"] == "error"] == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{LAB}-exercise-1-passed.png"))


def instructor_panels(page) -> list[str]:
    """What nbgrader shows an instructor: its menu (formgrader, course list) and the Create Assignment sidebar."""
    menus = [label for label in page.locator(".lm-MenuBar-itemLabel").all_inner_texts() if label == "Nbgrader"]
    tabs = page.evaluate("() => [...document.querySelectorAll('.lm-TabBar-tab')].map(tab => tab.title)")
    return menus + [title for title in tabs if "Create Assignment" in title]


def status_of(url: str) -> int:
    try:
        return get(url)[0]
    except HTTPError as error:
        return error.code


def test_a_students_jupyterlab_has_validate_but_no_instructor_panels(lab):
    page, base = lab
    open_notebook(page, base, f"labs/{LAB}/{LAB}.ipynb")
    assert instructor_panels(page) == [], "the student's JupyterLab shows nbgrader's instructor panels"
    assert notebook_panel(page).locator(".jp-Toolbar").get_by_text("Validate").count() == 1, "no Validate button"
    assert status_of(f"{base}/formgrader?token={TOKEN}") == 404, "the formgrader is served to students"


def test_the_panel_check_sees_nbgraders_panels_where_they_are_installed(lab_without_widget_manager):
    """The control: a JupyterLab with the installation's own configuration shows them."""
    page, base = lab_without_widget_manager
    open_notebook(page, base, "probes/working.ipynb")
    assert instructor_panels(page) == ["Nbgrader", "Nbgrader Create Assignment"], instructor_panels(page)
    assert status_of(f"{base}/formgrader?token={TOKEN}") == 200, "the control's formgrader is not served"
