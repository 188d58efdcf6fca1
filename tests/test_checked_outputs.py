"""The comparison the browser tests make in nbval's place: a lecture's checked outputs against its own, a changed
number found, an unchecked cell's outputs ignored, streams compared once merged as nbval merges them."""

import copy
import json
from pathlib import Path

import nbformat

from checked_outputs import is_checked, output_differences

LECTURE = Path(__file__).resolve().parent.parent / "course" / "lectures" / "01_backprop.ipynb"


def as_run(notebook) -> dict:
    """The notebook's JSON as JupyterLab's contents API hands it back after a run."""
    return json.loads(nbformat.writes(notebook))


def test_a_lecture_agrees_with_itself():
    lecture = nbformat.read(LECTURE, as_version=4)
    assert any(is_checked(cell) for cell in lecture.cells)
    assert output_differences(as_run(lecture), lecture) == []


def test_a_changed_number_in_a_checked_cell_is_reported():
    lecture = nbformat.read(LECTURE, as_version=4)
    ran = copy.deepcopy(lecture)
    index, cell = next((i, cell) for i, cell in enumerate(ran.cells) if is_checked(cell) and cell.outputs)
    stream = next(out for out in cell.outputs if out.output_type == "stream")
    stream.text = stream.text.replace("0", "1", 1)
    (difference,) = output_differences(as_run(ran), lecture)
    assert difference.startswith(f"cell {index} ")


def test_an_unchecked_cell_may_differ_and_split_streams_compare_merged():
    lecture = nbformat.read(LECTURE, as_version=4)
    ran = copy.deepcopy(lecture)
    unchecked = next(cell for cell in ran.cells if cell.cell_type == "code" and not is_checked(cell))
    unchecked.outputs = [nbformat.v4.new_output("stream", name="stdout", text="anything at all\n")]
    checked = next(cell for cell in ran.cells if is_checked(cell) and len(cell.outputs) == 1
                   and cell.outputs[0].output_type == "stream")
    text = checked.outputs[0].text
    checked.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text[:5]),
                       nbformat.v4.new_output("stream", name="stdout", text=text[5:])]
    assert output_differences(as_run(ran), lecture) == []
