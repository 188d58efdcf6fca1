"""grader.submission against a student who tampers with the file: whatever the notebook holds, reading it never
raises, and the notebook that is graded is the release's, with the student's answers and the gradebook's tests
(fast: no kernel)."""

import copy
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grader.submission import Rejected, notebook_text, read_submission, rebuild, submission_digest

HIDDEN = "assert double(1.5) == 3.0  # hidden"
LOCKED = {"ex1_tests": f"assert double(2) == 4\n{HIDDEN}", "intro": "import torch"}


def nbgrader(grade_id, **flags):
    return {"nbgrader": {"grade_id": grade_id, "grade": False, "solution": False, "locked": False,
                         "schema_version": 3, **flags}}


def release_notebook():
    notebook = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                     "language": "python"}})
    notebook.cells = [
        new_markdown_cell("# Lab: write double", id="instructions"),
        new_code_cell("import torch", id="intro", metadata=nbgrader("intro", locked=True)),
        new_code_cell("def double(x):\n    raise NotImplementedError", id="answer",
                      metadata=nbgrader("ex1", solution=True)),
        new_code_cell("assert double(2) == 4", id="tests",
                      metadata=nbgrader("ex1_tests", grade=True, locked=True, points=2)),
    ]
    return notebook


def student_copy():
    notebook = release_notebook()
    notebook.cells[2].source = "def double(x):\n    return 2 * x"
    return notebook


def graded(student):
    return rebuild(student, release_notebook(), LOCKED)


def cell(notebook, grade_id):
    return next(c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def grade_cells(notebook):
    return [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


# -- reading the file ----------------------------------------------------------------------------------------------

HOSTILE_FILES = {
    "empty": b"",
    "blank": b" \n\t ",
    "latin-1": "caf\u00e9".encode("latin-1"),
    "bom and garbage": b"\xef\xbb\xbf\xff\xfe",
    "cut short": b'{"cells": [',
    "a list": b"[1, 2, 3]",
    "a string": b'"cells"',
    "cells not a list": b'{"cells": "print(1)"}',
    "nested past the stack": b"[" * 200_000 + b"]" * 200_000,
    "nested dict past the stack": b'{"a":' * 200_000 + b"1" + b"}" * 200_000,
    "cell without source": json.dumps({"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4,
                                       "nbformat_minor": 5}).encode(),
    "nul bytes": b"\x00" * 1000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_a_hostile_file_is_rejected_with_a_reason_and_never_raises(tmp_path, name):
    path = tmp_path / "01_lab.ipynb"
    path.write_bytes(HOSTILE_FILES[name])
    result = read_submission(path)
    assert isinstance(result, Rejected) and result.reason.startswith("01_lab.ipynb ")
    problem = notebook_text(HOSTILE_FILES[name])
    assert isinstance(problem, str) or problem.flag  # collect flags the same files (or lets nbformat decide)


@pytest.mark.parametrize("depth", [300, 700, 5000])
def test_metadata_nested_deep_is_rejected_or_left_out_and_never_raises(tmp_path, depth):
    student = student_copy()
    student.cells.append(new_markdown_cell("mine", metadata={"x": "NESTED"}))
    cell(student, "ex1").metadata["x"] = "NESTED"
    nested = '{"a": ' * depth + "1" + "}" * depth
    path = tmp_path / "01_lab.ipynb"
    path.write_text(nbformat.writes(student).replace('"NESTED"', nested))
    read = read_submission(path)
    if not isinstance(read, Rejected):
        result = graded(read).notebook
        assert "x" not in cell(result, "ex1").metadata
        nbformat.writes(result)


def test_a_folder_named_like_the_notebook_is_rejected(tmp_path):
    (tmp_path / "01_lab.ipynb").mkdir()
    assert isinstance(read_submission(tmp_path / "01_lab.ipynb"), Rejected)


def test_an_oversized_notebook_reads_but_none_of_its_outputs_reach_the_graded_notebook(tmp_path):
    student = student_copy()
    flood = new_output("stream", name="stdout", text="x" * (20 * 2**20))
    for each in student.cells:
        if each.cell_type == "code":
            each.outputs = [flood]
    student.cells.append(new_code_cell("print('mine')", outputs=[flood]))
    path = tmp_path / "01_lab.ipynb"
    nbformat.write(student, str(path))
    read = read_submission(path)
    assert not isinstance(read, Rejected)
    result = graded(read).notebook
    assert all(not each.outputs for each in result.cells if each.cell_type == "code")
    assert len(nbformat.writes(result)) < 10_000


def test_collect_and_autograde_give_the_same_verdict_on_bytes():
    for name, data in HOSTILE_FILES.items():
        problem = notebook_text(data)
        if not isinstance(problem, str):
            assert problem.reason and problem.flag, name
    assert notebook_text(nbformat.writes(student_copy()).encode()) == nbformat.writes(student_copy())


# -- forged scores ---------------------------------------------------------------------------------------------------

def test_an_output_on_a_test_cell_is_never_carried_into_grading():
    student = student_copy()
    tests = cell(student, "ex1_tests")
    tests.outputs = [new_output("execute_result", data={"text/plain": "2"}, execution_count=1)]
    tests.execution_count = 1
    result = cell(graded(student).notebook, "ex1_tests")
    assert result.outputs == [] and result.execution_count is None


def test_points_claimed_in_the_students_metadata_are_the_releases():
    student = student_copy()
    cell(student, "ex1_tests").metadata.nbgrader.update(points=1000)
    cell(student, "ex1").metadata.nbgrader.update(grade=True, points=500)
    result = graded(student).notebook
    assert [(c.metadata.nbgrader.grade_id, c.metadata.nbgrader.get("points")) for c in grade_cells(result)] == [
        ("ex1_tests", 2)]
    assert cell(result, "ex1").metadata.nbgrader == release_notebook().cells[2].metadata.nbgrader


def test_an_added_cell_claiming_to_be_graded_earns_nothing():
    student = student_copy()
    forged = new_code_cell("pass", metadata=nbgrader("bonus", grade=True, locked=True, points=100))
    twin = new_code_cell("pass", id="tests", metadata=nbgrader("ex1_tests", grade=True, points=100))
    student.cells += [forged, twin]
    result = graded(student).notebook
    assert [c.metadata.nbgrader.grade_id for c in grade_cells(result)] == ["ex1_tests"]
    assert cell(result, "ex1_tests").source == LOCKED["ex1_tests"]
    added = [c for c in result.cells if c.source == "pass"]
    assert len(added) == 2 and all("nbgrader" not in c.metadata and c.id != "tests" for c in added)


def test_a_notebook_without_its_version_is_read_as_one_with_nothing_answered(tmp_path):
    path = tmp_path / "01_lab.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": {}}))
    rebuilt = graded(read_submission(path))
    assert "answer cell ex1 was deleted: graded as unanswered" in rebuilt.notes
    assert cell(rebuilt.notebook, "ex1").source == release_notebook().cells[2].source


def test_a_test_cell_turned_into_an_answer_is_still_the_gradebooks_test():
    student = student_copy()
    tests = cell(student, "ex1_tests")
    tests.metadata.nbgrader.update(solution=True, locked=False, grade=False)
    tests.source = "pass  # no assert left"
    rebuilt = graded(student)
    assert cell(rebuilt.notebook, "ex1_tests").source == LOCKED["ex1_tests"]
    assert "cell ex1_tests was edited: the original was graded" in rebuilt.notes


def test_a_deleted_or_moved_test_is_put_back_in_the_released_order():
    student = student_copy()
    student.cells = [student.cells[2], student.cells[0]]
    rebuilt = graded(student)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in rebuilt.notebook.cells]
    assert ids == [None, "intro", "ex1", "ex1_tests"]
    assert "cell ex1_tests was deleted: put back" in rebuilt.notes
    assert cell(rebuilt.notebook, "intro").source == LOCKED["intro"]


def test_the_set_up_cell_and_the_kernel_are_the_releases():
    student = student_copy()
    cell(student, "intro").source = "import os; os._exit(0)"
    student.metadata["kernelspec"] = {"name": "evil", "display_name": "evil", "language": "python"}
    student.metadata["nbgrader"] = {"forged": True}
    result = graded(student).notebook
    assert cell(result, "intro").source == "import torch"
    assert result.metadata == release_notebook().metadata


def test_a_duplicated_answer_counts_once_and_the_rest_stays_plain():
    student = student_copy()
    again = copy.deepcopy(cell(student, "ex1"))
    again.source = "def double(x):\n    return 0"
    student.cells.append(again)
    result = graded(student).notebook
    assert cell(result, "ex1").source == "def double(x):\n    return 2 * x"
    assert sum(1 for c in result.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1") == 1


def test_the_hidden_tests_come_from_the_gradebook_never_from_the_release_or_the_student():
    student = student_copy()
    cell(student, "ex1_tests").source = "assert True"
    assert cell(graded(student).notebook, "ex1_tests").source.endswith(HIDDEN)


def test_raw_cells_and_unknown_cell_types_of_the_student_are_not_kept():
    student = student_copy()
    student.cells.append(nbformat.v4.new_raw_cell("%%javascript"))
    assert all(c.cell_type != "raw" for c in graded(student).notebook.cells)


# -- telling resubmissions apart --------------------------------------------------------------------------------------

def test_the_digest_changes_with_any_name_or_byte_and_only_then(tmp_path):
    folder = tmp_path / "sub"
    (folder / "nested").mkdir(parents=True)
    (folder / "01_lab.ipynb").write_bytes(b"{}")
    (folder / "nested" / "a").write_bytes(b"a")
    first = submission_digest(folder)
    assert submission_digest(folder) == first
    (folder / "nested" / "a").write_bytes(b"b")
    assert submission_digest(folder) != first
    (folder / "nested" / "a").write_bytes(b"a")
    assert submission_digest(folder) == first
    (folder / "nested" / "a").rename(folder / "nested" / "b")
    assert submission_digest(folder) != first
