"""`python -m grader tidy`: notebooks saved as the course keeps them."""

import copy
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from grader.layout import Course
from grader.tidy import tidy

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course(ROOT)


def messy_notebook():
    checked = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1 + 1)", execution_count=3)
    checked.outputs = [new_output("stream", name="stdout", text="2\n")]
    chatter = new_code_cell("print('training...')", execution_count=4, metadata={"scrolled": True})
    chatter.outputs = [new_output("stream", name="stdout", text="training...\n")]
    figure = new_code_cell("plt.plot([1, 2])", execution_count=5)
    figure.outputs = [
        new_output("execute_result", data={"text/plain": "[<Line2D>]"}, execution_count=5),
        new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>", "image/svg+xml": "<svg/>"}),
    ]
    graded = new_code_cell("assert True", metadata={"nbgrader": {"grade": True, "grade_id": "t"}, "collapsed": False})
    notebook = new_notebook(cells=[checked, chatter, figure, graded])
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "x", "language": "python"},
                         "widgets": {"application/vnd.jupyter.widget-state+json": {}}, "toc": {}}
    return notebook


def test_lecture_keeps_checked_outputs_and_figures_only():
    checked, chatter, figure, graded = tidy(messy_notebook(), keep_outputs=True).cells
    assert [cell.execution_count for cell in (checked, chatter, figure, graded)] == [1, None, 3, None]
    assert checked.outputs[0].text == "2\n"
    assert chatter.outputs == [] and chatter.metadata == {}
    assert [list(output.data) for output in figure.outputs] == [["image/png", "text/plain"]]
    assert graded.metadata == {"nbgrader": {"grade": True, "grade_id": "t"}}


def test_solutions_keep_no_outputs_and_clean_metadata():
    notebook = tidy(messy_notebook(), keep_outputs=False)
    assert all(cell.outputs == [] for cell in notebook.cells)
    assert set(notebook.metadata) == {"kernelspec", "language_info"}


@pytest.mark.parametrize("path", COURSE.all_notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_notebooks_are_already_tidy(path):
    notebook = nbformat.read(str(path), as_version=4)
    tidied = tidy(copy.deepcopy(notebook), keep_outputs=COURSE.is_lecture(path))
    assert tidied == notebook, f"run `python -m grader tidy {path.relative_to(ROOT)}` and commit the result"


def test_cli_tidies_a_named_notebook(tmp_path):
    path = tmp_path / "scratch.ipynb"
    nbformat.write(messy_notebook(), str(path))
    result = subprocess.run([sys.executable, "-m", "grader", "tidy", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert all(cell.outputs == [] for cell in nbformat.read(str(path), as_version=4).cells)


def test_cli_reports_a_failing_cell_and_keeps_the_file(tmp_path):
    path = tmp_path / "course" / "lectures" / "broken.ipynb"
    path.parent.mkdir(parents=True)
    (tmp_path / "solutions").mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("1 / 0")]), str(path))
    before = path.read_text()
    result = subprocess.run([sys.executable, "-m", "grader", "--root", str(tmp_path), "tidy", "--execute", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "ZeroDivisionError" in result.stderr and "left unchanged" in result.stderr
    assert path.read_text() == before
