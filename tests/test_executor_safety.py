"""The executor's defences that need no kernel (fast): messages a student's kernel could forge or flood are fed to
grader.kernel.SafeExecute as nbclient would hand them over, and the budget's cuts are checked against the bytes the
saved notebook really takes."""

import json

import nbformat
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader import sandbox
from grader.kernel import SafeExecute, SandboxedKernelManager
from grader.kernel_client import well_formed
from grader.output_budget import ENAME_CHARS, OUTPUT_BYTES_PER_CELL, fit_error, fit_output, output_bytes
from grader.sandbox import Sandbox
from grader.unit import _cell_timeout

BUDGET = OUTPUT_BYTES_PER_CELL


def message(kind: str, **content) -> dict:
    return {"header": {"msg_type": kind, "msg_id": "reply"}, "msg_type": kind, "parent_header": {"msg_id": "run"},
            "content": content, "metadata": {}}


@pytest.fixture
def executor():
    """A SafeExecute at the start of a cell, as nbclient leaves it before the kernel's first message."""
    run = SafeExecute(timeout=5, hidden_leading_cells=1)
    run.nb = new_notebook(cells=[new_code_cell("preamble"), new_code_cell("student"), new_code_cell("tests")])
    run.reset_execution_trackers()
    run.clear_before_next_output = False
    return run


def saved_bytes(notebook, index: int) -> int:
    """What the cell's outputs add to the saved notebook."""
    empty = nbformat.from_dict(notebook)
    empty.cells[index].outputs = []
    return len(nbformat.writes(notebook)) - len(nbformat.writes(empty))


def feed(executor, index: int, *messages) -> NotebookNode:
    cell = executor.nb.cells[index]
    for each in messages:
        executor.process_message(each, cell, index)
    return cell


def test_a_flood_of_prints_stays_within_the_budget_and_says_it_was_cut(executor):
    cell = feed(executor, 1, *[message("stream", name="stdout", text="y" * 1000 + "\n") for _ in range(2000)])
    assert saved_bytes(executor.nb, 1) <= BUDGET
    assert executor.truncated_cells == {1} and "output truncated by the grader" in cell.outputs[-1].text


def test_an_error_after_the_flood_is_shortened_never_dropped(executor):
    huge_error = message("error", ename="E" * 5000, evalue="v" * 10**6, traceback=["frame\n" * 500] * 50 + ["last"])
    cell = feed(executor, 1, *[message("stream", name="stdout", text="z" * 4000) for _ in range(100)], huge_error)
    errors = [out for out in cell.outputs if out.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "E" * ENAME_CHARS
    assert errors[0].traceback[-1] == "last"
    assert saved_bytes(executor.nb, 1) <= BUDGET


def test_many_errors_keep_the_first_within_the_budget(executor):
    cell = feed(executor, 1, *[message("error", ename="ValueError", evalue="x" * 10**5, traceback=[])] * 50)
    assert cell.outputs[0].ename == "ValueError" and saved_bytes(executor.nb, 1) <= BUDGET


@pytest.mark.parametrize("forged", [
    message("stream", name="stdout", text=12),
    message("stream", name=["stdout"], text="x"),
    message("display_data", data="not a dict", metadata={}),
    message("display_data", data={"text/plain": "x"}, metadata=None),
    message("error", ename="E", evalue="v", traceback=[1, 2]),
    message("error", ename=None, evalue="v", traceback=[]),
    message("execute_result", data={}, metadata={}, execution_count="one"),
    message("made_up", text="x"),
])
def test_a_malformed_message_is_dropped_and_never_raises(executor, forged):
    assert feed(executor, 1, forged).outputs == []


@pytest.mark.parametrize("part", ["header", "parent_header", "metadata", "content"])
@pytest.mark.parametrize("value", [["not", "a", "dict"], "idle", None, 3])
def test_a_message_whose_parts_are_not_objects_is_passed_over_before_nbclient_reads_it(part, value):
    assert well_formed(message("stream", name="stdout", text="x"))
    assert not well_formed({**message("stream", name="stdout", text="x"), part: value})
    assert not well_formed({**message("stream"), "header": {"msg_type": ["stream"]}})


def test_a_display_update_cannot_grow_past_the_budget(executor):
    shown = message("display_data", data={"text/plain": "small"}, metadata={}, transient={"display_id": "d"})
    update = message("update_display_data", data={"text/plain": "u" * (2 * BUDGET)}, metadata={},
                     transient={"display_id": "d"})
    cell = feed(executor, 1, shown, update)
    assert cell.outputs[0].data["text/plain"] == "small" and 1 in executor.truncated_cells
    assert saved_bytes(executor.nb, 1) <= BUDGET


def test_a_later_cell_cannot_update_an_earlier_cells_display_past_its_budget(executor):
    feed(executor, 1, message("display_data", data={"text/plain": "a"}, metadata={}, transient={"display_id": "d"}))
    feed(executor, 2, message("update_display_data", data={"text/plain": "b" * (2 * BUDGET)}, metadata={},
                              transient={"display_id": "d"}))
    assert executor.nb.cells[1].outputs[0].data["text/plain"] == "a"
    assert saved_bytes(executor.nb, 1) <= BUDGET


def test_once_the_kernel_is_lost_every_later_code_cell_fails_unrun(executor):
    executor.lost_kernel_reason = "the kernel died in an earlier cell (cell 1)"
    later = new_code_cell("print('graded?')")
    cell, _ = executor.preprocess_cell(later, {}, 2)
    assert [(out.output_type, out.ename) for out in cell.outputs] == [("error", "CellNotRun")]
    text = new_markdown_cell("notes")
    assert executor.preprocess_cell(text, {}, 3)[0] == text


def test_cells_are_numbered_as_the_student_counts_them(executor):
    assert executor.cell_number(1) == 1 and executor.cell_number(5) == 5


def test_a_timeout_says_the_limit_in_place_of_nbclients_error(executor):
    cell = new_code_cell("while True: pass")
    cell.outputs = [NotebookNode(output_type="error", ename="CellTimeoutError", evalue="", traceback=[])]
    executor._replace_timeout_error(cell)
    assert [out.ename for out in cell.outputs] == ["TimeoutError"] and "5 s" in cell.outputs[0].evalue


def test_a_copy_of_the_preamble_does_not_get_the_preambles_time():
    preamble = new_code_cell("get_ipython().ask_exit = lambda: None")
    timeout = _cell_timeout(5, preamble)
    assert timeout(preamble) == 60
    assert timeout(nbformat.from_dict(preamble)) == 5 and timeout(new_code_cell(preamble.source)) == 5


OUTPUTS = [
    NotebookNode(output_type="stream", name="stdout", text="line\n" * 300),
    NotebookNode(output_type="stream", name="stderr", text="\u00e9\u4e2d\U0001f600 " * 500),
    NotebookNode(output_type="display_data", metadata={}, data={"text/plain": "a\nb\n" * 100,
                                                               "application/json": {"k": ["v"] * 50},
                                                               "application/vnd.x+json": {"x": 1}}),
    NotebookNode(output_type="execute_result", metadata={}, execution_count=3, data={"text/html": "<b>\n</b>" * 99}),
    NotebookNode(output_type="error", ename="ValueError", evalue="bad\nvalue", traceback=["a\nb", "c"] * 20),
]


@pytest.mark.parametrize("output", OUTPUTS, ids=lambda out: out.output_type)
def test_the_measure_is_never_short_of_the_saved_bytes(output):
    notebook = new_notebook(cells=[new_code_cell("x")])
    notebook.cells[0].outputs = [output]
    assert saved_bytes(notebook, 0) <= output_bytes(output)


@pytest.mark.parametrize("room", [0, 50, 200, 1000, 5000, 20000])
def test_a_cut_output_fits_its_room(room):
    stream = NotebookNode(output_type="stream", name="stdout", text="\u4e2d" * 30000)
    cut = fit_output(stream, room)
    assert cut is None or output_bytes(cut) <= room
    picture = NotebookNode(output_type="display_data", metadata={}, data={"image/png": "A" * 30000})
    assert fit_output(picture, room) is None


@pytest.mark.parametrize("room", [0, 30, 120, 400, 3000, 20000])
def test_a_cut_error_fits_its_room_unless_it_must_keep_its_name(room):
    error = NotebookNode(output_type="error", ename="X" * 300, evalue="m" * 50000, traceback=["t" * 700] * 40)
    kept = fit_error(error, room, keep=True)
    assert kept is not None and kept.ename == "X" * ENAME_CHARS
    dropped = fit_error(error, room, keep=False)
    assert dropped is None or output_bytes(dropped) <= room
    if output_bytes(NotebookNode(output_type="error", ename="X" * ENAME_CHARS, evalue="", traceback=[])) <= room:
        assert output_bytes(kept) <= room


def test_widget_state_too_big_to_keep_is_dropped(executor):
    executor.widget_state = {"w": {"_model_name": "TextareaModel", "value": "x" * (2 * BUDGET)}}
    executor.widget_buffers = {}
    executor.set_widgets_metadata()
    assert "widgets" not in executor.nb.metadata
    assert len(json.dumps(executor.nb.metadata)) < BUDGET


def test_the_kernel_command_is_always_the_sandboxs(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: "/usr/bin/bwrap")
    (tmp_path / "course" / "solutions").mkdir(parents=True)
    box = Sandbox(tmp_path / "course")
    manager = SandboxedKernelManager(sandbox=box, workdir=str(tmp_path / "w"), sockets=str(tmp_path / "s"), uid=None,
                                     kernel_name="python3")
    argv = manager.format_kernel_cmd()
    assert argv[:2] == [argv[0], "-i"] and "/usr/bin/bwrap" in argv and "--unshare-net" in argv
    assert (manager.transport, manager.ip) == ("ipc", str(tmp_path / "s" / "k"))


def test_a_socket_folder_too_deep_for_unix_sockets_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="too deep for Unix sockets"):
        SandboxedKernelManager(sandbox=None, workdir=str(tmp_path), sockets=str(tmp_path / ("x" * 120)), uid=None,
                               kernel_name="python3")
