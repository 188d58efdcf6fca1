"""The Chinese edition as a Chinese student meets it: a workspace made with ``course.workspace --lang zh_CN`` and
served as ``--open`` serves it (its kernels told the workspace's language), lecture 01 opened in JupyterLab in
headless Chromium and run: no error, its explorer's labels and its figures' text in Chinese; then lab 01 with a
wrong first answer: the test says what failed in Chinese.

"In Chinese" is checked against the catalogue: every label and figure text that has a translation shows the
translation, and at least one does (a run that drew nothing translatable would prove nothing)."""

import re

import nbformat
import pytest

from browser_session import (LAB, check_ran_without_errors, check_widgets_rendered, notebook_panel, open_and_run,
                             open_notebook, require_browser, run_all, saved_notebook, stop_kernels, wait_for_kernel)
from course import workspace
from course.language import translations
from lab_server import jupyterlab

pytestmark = pytest.mark.slow
require_browser()

LANGUAGE = "zh_CN"
LECTURE = "lectures/01_backprop.ipynb"
CHINESE = re.compile(r"[\u3400-\u9fff]")
FIGURE_TEXT_MARK = "figure text:"
# appended to the lecture's copy: the text of every figure the kernel still holds (the explorer's, the last `fig`)
FIGURE_TEXT_PROBE = f"""import gc

import matplotlib.figure
import matplotlib.text

for text in sorted({{artist.get_text() for figure in gc.get_objects() if isinstance(figure, matplotlib.figure.Figure)
                    for artist in figure.findobj(matplotlib.text.Text) if artist.get_text().strip()}}):
    print({FIGURE_TEXT_MARK!r}, text.replace("\\n", " "))
"""
WRONG_SIGMOID = "def sigmoid(x):\n    return x / 2\n\n\ndef sigmoid_prime(x):\n    return x\n"


@pytest.fixture(scope="module")
def chinese_lab(tmp_path_factory, browser):
    root = tmp_path_factory.mktemp("student-zh") / workspace.DEFAULT_FOLDER
    workspace.create(root, language=LANGUAGE)
    lecture = nbformat.read(root / LECTURE, as_version=4)
    lecture.cells.append(nbformat.v4.new_code_cell(FIGURE_TEXT_PROBE))
    nbformat.write(lecture, root / LECTURE)
    environment = workspace.student_environment(language=workspace.workspace_language(root))
    with jupyterlab(root, tmp_path_factory.mktemp("jupyter-home"), environ=environment) as base:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        yield context.new_page(), base
        context.close()
        stop_kernels(base)


def untranslated(shown: list[str]) -> list[str]:
    """The shown texts that the catalogue translates but that appear in English."""
    table = translations(LANGUAGE).exact
    return [text for text in shown if table.get(text.strip(), text.strip()) != text.strip()]


def test_the_workspace_remembers_its_language(tmp_path):
    workspace.create(tmp_path / "zh", language=LANGUAGE)
    assert workspace.workspace_language(tmp_path / "zh") == LANGUAGE
    workspace.create(tmp_path / "en")
    assert workspace.workspace_language(tmp_path / "en") is None
    assert workspace.student_environment({}, LANGUAGE)["COURSE_LANGUAGE"] == LANGUAGE


def test_a_chinese_lecture_runs_with_its_explorer_and_figures_in_chinese(chinese_lab):
    page, base = chinese_lab
    notebook = open_and_run(page, base, LECTURE)
    check_ran_without_errors(notebook, LECTURE)
    check_widgets_rendered(page, notebook, LECTURE)

    labels = notebook_panel(page).evaluate("""panel => [...panel.querySelectorAll(
        '.widget-label, .widget-button, .widget-toggle-button, .widget-dropdown option, .widget-html-content')]
        .map(element => element.innerText.trim()).filter(text => text)""")
    assert any(CHINESE.search(label) for label in labels), f"no explorer label is in Chinese: {labels[:20]}"
    assert untranslated(labels) == [], "explorer labels shown in English although the catalogue translates them"

    printed = "".join(output.get("text", "") for output in notebook["cells"][-1].get("outputs", []))
    figure_texts = [line.split(FIGURE_TEXT_MARK, 1)[1].strip() for line in printed.splitlines()
                    if FIGURE_TEXT_MARK in line]
    assert any(CHINESE.search(text) for text in figure_texts), f"no figure text is in Chinese: {figure_texts}"
    assert untranslated(figure_texts) == [], "figure text drawn in English although the catalogue translates it"


def test_a_failed_test_in_a_chinese_lab_says_what_failed_in_chinese(chinese_lab):
    page, base = chinese_lab
    path = f"labs/{LAB}/{LAB}.ipynb"
    open_notebook(page, base, path)
    run_all(page, base, path, to_the_end=False)
    answer_cell = notebook_panel(page).locator(".jp-CodeCell", has_text="raise NotImplementedError").first
    answer_cell.scroll_into_view_if_needed()
    answer_cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(WRONG_SIGMOID)
    page.keyboard.press("Shift+Enter")  # runs the wrong answer, moves to its test cell
    page.keyboard.press("Shift+Enter")  # runs the visible test, which fails
    wait_for_kernel(base, path, idle_for=1.0)
    test_cell = next(cell for cell in saved_notebook(page, base, path)["cells"]
                     if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "ex1_sigmoid_tests")
    shown = "\n".join(line for output in test_cell["outputs"] if output["output_type"] == "error"
                      for line in output["traceback"])
    assert "AssertionError" in shown and CHINESE.search(shown), (
        f"the failed test says nothing in Chinese:\n{shown[-1500:]}")
