"""A test cell run before its exercise says what to do, in a real kernel, and still fails as nbgrader sees it."""

import nbformat
import pytest
from nbclient import NotebookClient

from course.lab_help import explain_missing_names, missing_name_hint

SETUP = "from course.lab_help import explain_missing_names\nexplain_missing_names()"


def run(*sources: str) -> list:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    NotebookClient(notebook, kernel_name="python3", allow_errors=True, timeout=120).execute()
    return [cell.outputs for cell in notebook.cells]


@pytest.fixture(scope="module")
def outputs():
    return run(SETUP, "x = torch.linspace(-6, 6, 13)\nassert sigmoid(x).shape == x.shape", "1 / 0")


def test_a_missing_name_fails_the_cell_as_a_name_error_with_the_hint(outputs):
    [error] = outputs[1]
    assert error.output_type == "error" and error.ename == "NameError", "the cell must still fail as it did"
    assert error.traceback[-1] == missing_name_hint("torch"), "the hint is not under the traceback"
    assert any("NameError" in line for line in error.traceback[:-1]), "Python's own traceback is not shown"


def test_the_hint_says_which_cell_to_run():
    hint = missing_name_hint("sigmoid")
    assert "`sigmoid` is not defined yet" in hint and "Run All Above Selected Cell" in hint, hint


def test_other_errors_are_shown_as_before(outputs):
    [error] = outputs[2]
    assert error.ename == "ZeroDivisionError", error.ename
    assert not any("Hint:" in line for line in error.traceback), "a hint where no name was missing"


def test_without_the_call_a_kernel_shows_the_bare_error():
    [[error]] = run("sigmoid(1)")
    assert not any("Hint:" in line for line in error.traceback), "the hint appears without explain_missing_names()"


def test_outside_ipython_it_does_nothing():
    explain_missing_names()  # pytest is not IPython: no shell, no error


def test_a_failed_assert_ends_with_its_message_in_the_kernels_language(monkeypatch):
    """In a Chinese kernel, an assert written in English in a test cell is shown, then its translation; the cell
    still fails with the same AssertionError."""
    from course.language import translate_message

    english = "standardised must be a tensor"  # lab 00's f"{name} must be a tensor", filled in
    chinese = translate_message(english, "zh_CN")
    assert chinese != english, "the catalogue lacks the message this test uses"
    monkeypatch.setenv("COURSE_LANGUAGE", "zh_CN")
    [_, [error], [english_only]] = run(SETUP, f"assert False, {english!r}", "assert False, 'no catalogue has this'")
    assert error.ename == "AssertionError" and error.traceback[-1] == chinese
    assert any(english in line for line in error.traceback[:-1]), "the English message is gone"
    assert not any("\u4e00" <= character <= "\u9fff" for line in english_only.traceback for character in line)
