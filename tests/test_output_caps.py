"""One output budget per cell in grader.kernel.SafeExecute, whatever the kind of output: streams, display data,
in-place display updates (also of an earlier cell's display), results, errors and an Output widget's capture.
An error is shortened, never lost, so that the test it fails still fails.

The first tests feed SafeExecute kernel messages as nbclient would; the last runs a tiny notebook in a plain
(unsandboxed) kernel."""

import copy
import tempfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.kernel import SafeExecute

BUDGET = 64 * 1024


def saved_bytes(cell) -> int:
    """The bytes a cell's outputs take in the notebook file, as nbformat writes it."""
    empty = copy.deepcopy(cell)
    empty.outputs = []
    return (len(nbformat.writes(new_notebook(cells=[cell])).encode())
            - len(nbformat.writes(new_notebook(cells=[empty])).encode()))


class Feed:
    """SafeExecute with a notebook of ``cells`` code cells, fed kernel messages one at a time."""

    def __init__(self, cells=2):
        self.executor = SafeExecute(output_bytes_per_cell=BUDGET)
        self.executor.nb = new_notebook(cells=[new_code_cell("pass") for _ in range(cells)])
        self.executor.reset_execution_trackers()
        self.executor.clear_before_next_output = False  # as nbclient sets it when a cell starts
        self.sent = 0

    def cell(self, index):
        return self.executor.nb.cells[index]

    def send(self, index, msg_type, **content):
        self.sent += 1
        msg = {"msg_type": msg_type, "header": {"msg_type": msg_type, "msg_id": f"m{self.sent}"},
               "parent_header": {"msg_id": f"run{index}"}, "metadata": {}, "content": content}
        self.executor.process_message(msg, self.cell(index), index)

    def display(self, index, text, display_id=None, update=False):
        self.send(index, "update_display_data" if update else "display_data", data={"text/plain": text},
                  metadata={}, transient={"display_id": display_id} if display_id else {})

    def error(self, index, ename="ValueError", evalue="bad", traceback=None):
        self.send(index, "error", ename=ename, evalue=evalue,
                  traceback=traceback if traceback is not None else [f"{ename}: {evalue}"])

    def finish(self, index, reply_content):
        """The end of a cell: nbgrader adds the reply's error when no error output carries its name."""
        self.executor.on_cell_executed(cell=self.cell(index), cell_index=index,
                                       execute_reply={"content": reply_content})


def errors(cell):
    return [out for out in cell.outputs if out.output_type == "error"]


def test_a_flood_of_prints_stops_at_the_budget_with_a_note():
    feed = Feed()
    for number in range(2000):
        feed.send(0, "stream", name="stdout", text=f"{number:04d} " + "q" * 1000 + "\n")
    assert saved_bytes(feed.cell(0)) <= BUDGET
    assert feed.cell(0).outputs[0].text.startswith("0000 qqq")
    assert "output truncated by the grader" in feed.cell(0).outputs[-1].text
    assert feed.executor.truncated_cells == {0}


def test_many_short_lines_count_as_they_are_saved():
    """nbformat saves each line of a text as a JSON string of its own, indented: 64 KB of newlines is far
    more than 64 KB on disk, and the budget counts it as saved."""
    feed = Feed()
    for _ in range(100):
        feed.send(0, "stream", name="stdout", text="\n" * 1000)
    assert saved_bytes(feed.cell(0)) <= BUDGET


def test_display_updates_cannot_grow_a_display_past_the_budget():
    feed = Feed()
    feed.display(0, "starting", display_id="progress")
    for number in range(30):
        feed.display(0, f"{number} " + "y" * 1_000_000, display_id="progress", update=True)
    assert saved_bytes(feed.cell(0)) <= BUDGET
    assert feed.cell(0).outputs[0].data["text/plain"] == "starting"  # the update that did not fit was left out
    assert feed.executor.truncated_cells == {0}
    feed.display(0, "done", display_id="progress", update=True)  # an update that fits still lands
    assert feed.cell(0).outputs[0].data["text/plain"] == "done"


def test_a_display_in_a_later_cell_cannot_grow_an_earlier_cells_displays():
    """A new display with an id shown before rewrites every earlier output with that id, in every cell."""
    feed = Feed()
    for _ in range(200):
        feed.display(0, "small", display_id="shared")
    feed.display(1, "z" * 60_000, display_id="shared")
    assert saved_bytes(feed.cell(0)) <= BUDGET
    assert saved_bytes(feed.cell(1)) <= BUDGET
    assert all(out.data["text/plain"] in ("small", "z" * 60_000)
               for out in feed.cell(0).outputs if out.output_type == "display_data")


def test_a_huge_error_is_shortened_and_stays_an_error():
    feed = Feed()
    feed.error(0, evalue="x" * 10_000_000, traceback=["Traceback (most recent call last):", "  frame",
                                                       "ValueError: " + "x" * 10_000_000])
    feed.finish(0, {"status": "error", "ename": "ValueError", "evalue": "x" * 10_000_000, "traceback": []})
    assert saved_bytes(feed.cell(0)) <= BUDGET
    [error] = errors(feed.cell(0))
    assert error.ename == "ValueError"
    assert error.evalue.startswith("xxxx") and error.evalue.endswith("[cut by the grader]")
    assert error.traceback[-1].endswith("xxxx")  # the end of the traceback is what is kept


def test_a_long_traceback_keeps_its_last_lines():
    feed = Feed()
    frames = [f"  File 'deep.py', line {number}, in f" for number in range(20_000)]
    feed.error(0, ename="RecursionError", evalue="maximum recursion depth exceeded",
               traceback=[*frames, "RecursionError: maximum recursion depth exceeded"])
    assert saved_bytes(feed.cell(0)) <= BUDGET
    [error] = errors(feed.cell(0))
    assert error.evalue == "maximum recursion depth exceeded"
    assert error.traceback[-1] == "RecursionError: maximum recursion depth exceeded"
    assert error.traceback[0] == "[cut by the grader]"


def test_an_exception_with_a_huge_name_stays_one_short_error():
    """nbgrader adds the reply's error when no error output has its exact name: that one is cut too."""
    feed = Feed()
    name = "E" * 1_000_000
    feed.error(0, ename=name, evalue="boom", traceback=[f"{name}: boom"])
    feed.finish(0, {"status": "error", "ename": name, "evalue": "boom", "traceback": [f"{name}: boom"]})
    assert saved_bytes(feed.cell(0)) <= BUDGET
    assert errors(feed.cell(0)) and all(len(error.ename) < 1000 for error in errors(feed.cell(0)))


def test_an_error_after_a_full_cell_is_kept():
    feed = Feed()
    for _ in range(200):
        feed.send(0, "stream", name="stdout", text="p" * 1000)
    feed.display(0, "d" * 30_000)
    feed.error(0, evalue="the gradient of w1 is wrong")
    assert saved_bytes(feed.cell(0)) <= BUDGET
    [error] = errors(feed.cell(0))
    assert (error.ename, error.evalue) == ("ValueError", "the gradient of w1 is wrong")


def test_a_flood_of_errors_stays_within_the_budget_and_failed():
    feed = Feed()
    for number in range(2000):
        feed.error(0, ename="AssertionError", evalue=f"{number} " + "e" * 500)
    assert saved_bytes(feed.cell(0)) <= BUDGET
    assert errors(feed.cell(0))[0].evalue.startswith("0 eee")


def test_what_an_output_widget_captures_counts_in_the_cell():
    """Inside ``with ipywidgets.Output():`` outputs go to the widget (nbclient's hook), kept in its state."""
    class Hook:
        captured = []

        def output(self, outs, msg, display_id, cell_index):
            self.captured.append(msg["content"]["text"])

    feed = Feed()
    feed.executor.register_output_hook("run0", Hook())
    for _ in range(2000):
        feed.send(0, "stream", name="stdout", text="w" * 1000)
    assert sum(len(text) for text in Hook.captured) <= BUDGET
    assert "output truncated by the grader" in feed.cell(0).outputs[-1].text


def test_clear_output_frees_the_budget():
    """A progress display that clears and redraws itself is not cut, however long it runs."""
    feed = Feed()
    for number in range(500):
        feed.send(0, "clear_output", wait=True)
        feed.send(0, "stream", name="stdout", text=f"epoch {number}: " + "#" * 1000 + "\n")
    assert feed.executor.truncated_cells == set()
    assert [out.text[:10] for out in feed.cell(0).outputs] == ["epoch 499:"]


@pytest.mark.slow
def test_a_real_kernel_cannot_write_past_the_budget():
    cells = {
        "updates": "h = display('start', display_id=True)\nfor i in range(20):\n    h.update('y' * 1_000_000)",
        "shown_early": "display('small', display_id='shared')",
        "shown_again": "for i in range(30):\n    display('z' * 60_000, display_id='shared')",
        "long_error": "raise ValueError('x' * 10**7)",
        "long_name": "raise type('E' * 100_000, (Exception,), {})('boom')",
        "flood": "for i in range(3000):\n    print('q' * 1000, flush=True)",
        "widget": ("import ipywidgets\nout = ipywidgets.Output()\ndisplay(out)\nwith out:\n"
                   "    for i in range(200):\n        print('w' * 10_000, flush=True)"),
        "widget_state": "ipywidgets.Textarea(value='x' * 10**7)",
        "last": "print('still running')",
    }
    notebook = new_notebook(cells=[new_code_cell(source) for source in cells.values()],
                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                     "language": "python"}})
    executor = SafeExecute(timeout=120, kernel_name="python3", output_bytes_per_cell=BUDGET)
    with tempfile.TemporaryDirectory() as workdir:
        executor.preprocess(notebook, {"metadata": {"path": workdir}})
    by_name = dict(zip(cells, notebook.cells))
    for name, cell in by_name.items():
        assert saved_bytes(cell) <= BUDGET, name
    assert [error.ename for error in errors(by_name["long_error"])] == ["ValueError"]
    assert errors(by_name["long_name"]) and errors(by_name["long_name"])[0].ename.startswith("EEE")
    assert "".join(out.text for out in by_name["last"].outputs) == "still running\n"
    widget_state = nbformat.writes(new_notebook(metadata={"widgets": notebook.metadata.get("widgets", {})}))
    assert len(widget_state.encode()) < 2 * BUDGET  # no megabytes of widget state either
    assert len(nbformat.writes(notebook).encode()) < (len(cells) + 2) * BUDGET
