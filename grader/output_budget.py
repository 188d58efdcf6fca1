"""A cell's outputs capped in bytes as they arrive, as the notebook file will hold them.

One budget per cell, in the bytes its outputs take in the saved notebook: streams, display data, results, errors,
display updates (which nbclient writes into earlier outputs in place, also of earlier cells) and what an Output
widget captures. Other outputs stop ``ERROR_RESERVE_BYTES`` short of it; an error is shortened to fit, never dropped
while it is the cell's only one (nbgrader's LimitOutput caps lines, after the fact).
"""

from __future__ import annotations

import json

from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

OUTPUT_BYTES_PER_CELL = 64 * 1024


class BudgetedOutputs(Execute):
    """nbgrader's Execute with each cell's outputs kept within ``output_bytes_per_cell`` as they arrive."""

    output_bytes_per_cell = Integer(OUTPUT_BYTES_PER_CELL).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.truncated_cells: set[int] = set()
        self._cell_bytes: dict[int, int] = {}  # cell index -> bytes of its outputs (see output_bytes)
        self._widget_bytes: dict[int, int] = {}  # cell index -> bytes its Output widgets captured
        self._display_bytes: dict[tuple[int, int], int] = {}  # (cell, output) -> bytes, for display updates

    def output(self, outs, msg, display_id, cell_index):
        hooked = bool(self.output_hook_stack.get(msg.get("parent_header", {}).get("msg_id")))
        if self.clear_before_next_output and not hooked:  # nbclient's own delayed clear, done first
            outs[:] = []
            self.clear_display_id_mapping(cell_index)
            self.clear_before_next_output = False
        out = _output_node(msg)
        if out is None:  # not an output, or a malformed one (nbclient would log it and keep nothing)
            self.log.error(f"unhandled iopub msg: {msg.get('msg_type')}")
            return None
        used = self._bytes_used(outs, cell_index)
        if out.output_type == "error":
            has_error = any(other.output_type == "error" for other in outs)
            fitted = fit_error(out, self.output_bytes_per_cell - used, keep=not has_error)
        else:
            fitted = fit_output(out, self.output_bytes_per_cell - ERROR_RESERVE_BYTES - used)
        kept = None
        if fitted is not None:
            if fitted is not out:
                msg = {**msg, "content": {**msg["content"], **{key: fitted[key] for key in _FITTED_FIELDS
                                                                if key in fitted}}}
            size = output_bytes(fitted)
            kept = super().output(outs, msg, display_id, cell_index)
            if hooked:  # an Output widget's outputs are saved in the notebook's widget state
                self._widget_bytes[cell_index] = self._widget_bytes.get(cell_index, 0) + size
            elif kept is not None:
                self._cell_bytes[cell_index] = self._cell_bytes.get(cell_index, 0) + size
                if display_id:
                    self._display_bytes[(cell_index, len(outs) - 1)] = size
        if fitted is not out:  # a shortened error says so itself; other outputs get a note after them
            self._note_truncated(outs, cell_index, with_note=out.output_type != "error")
        return kept

    def _bytes_used(self, outs, cell_index) -> int:
        """Bytes of the cell's outputs so far (its running count; nothing once they were cleared)."""
        if not outs:
            self._cell_bytes[cell_index] = 0
        return self._cell_bytes.get(cell_index, 0) + self._widget_bytes.get(cell_index, 0)

    def _note_truncated(self, outs, cell_index, with_note=True) -> None:
        """Count the cell as cut, and say so once at the point of the cut (where the note fits)."""
        if cell_index in self.truncated_cells:
            return
        self.truncated_cells.add(cell_index)
        note = NotebookNode(output_type="stream", name="stdout", text=(
            f"\n[output truncated by the grader: more than {self.output_bytes_per_cell // 1024} KB]\n"))
        size = output_bytes(note)
        if with_note and self._bytes_used(outs, cell_index) + size <= self.output_bytes_per_cell:
            outs.append(note)
            self._cell_bytes[cell_index] = self._cell_bytes.get(cell_index, 0) + size

    def _update_display_id(self, display_id, msg):
        """nbclient's in-place display update (``update_display_data``, or a new display with an id shown
        before), applied only where the output's cell stays within its budget."""
        targets = self._display_id_map.get(display_id)
        if not targets:
            return
        if msg["header"]["msg_type"] == "update_display_data":
            msg["header"]["msg_type"] = "display_data"
        update = _output_node(msg)
        if update is None:
            return
        size = output_bytes(update) + 32  # an execute_result also has its execution_count
        for cell_idx, output_indices in targets.items():
            outputs = self.nb["cells"][cell_idx]["outputs"]
            for output_idx in output_indices:
                if output_idx >= len(outputs) or outputs[output_idx].get("output_type") not in _DISPLAYS:
                    continue  # the cell's outputs changed since (an error cut away after it)
                old = self._display_bytes.get((cell_idx, output_idx))
                if old is None:
                    old = output_bytes(outputs[output_idx])
                used = self._bytes_used(outputs, cell_idx)
                if size > old and used - old + size > self.output_bytes_per_cell - ERROR_RESERVE_BYTES:
                    self._note_truncated(outputs, cell_idx)
                    continue
                outputs[output_idx]["data"] = update["data"]
                outputs[output_idx]["metadata"] = update["metadata"]
                self._display_bytes[(cell_idx, output_idx)] = size
                self._cell_bytes[cell_idx] = self._cell_bytes.get(cell_idx, 0) - old + size

    def on_cell_executed(self, **kwargs):
        """nbgrader adds the reply's error when no error output has its name (a name cut short, a lost
        message): shorten what it added to the cell's budget too."""
        super().on_cell_executed(**kwargs)
        cell, cell_index = kwargs["cell"], kwargs["cell_index"]
        sizes = [output_bytes(out) for out in cell.outputs]
        if sum(sizes) + self._widget_bytes.get(cell_index, 0) > self.output_bytes_per_cell:
            fitted, used = [], self._widget_bytes.get(cell_index, 0) + sum(
                size for out, size in zip(cell.outputs, sizes) if out.output_type != "error")
            for out, size in zip(cell.outputs, sizes):
                if out.output_type == "error":
                    has_error = any(kept.output_type == "error" for kept in fitted)
                    out = fit_error(out, self.output_bytes_per_cell - used, keep=not has_error)
                    if out is None:
                        continue
                    used += output_bytes(out)
                fitted.append(out)
            cell.outputs[:] = fitted
            self._cell_bytes[cell_index] = sum(output_bytes(out) for out in cell.outputs)

    def set_widgets_metadata(self):
        """The widgets' state goes into the notebook only when it is small: a student's widget can hold
        megabytes (``Textarea(value='x' * 10**7)``), and the grades never depend on it."""
        super().set_widgets_metadata()
        widgets = self.nb.metadata.get("widgets")
        if widgets and len(json.dumps(widgets, default=str)) > self.output_bytes_per_cell:
            del self.nb.metadata["widgets"]


# -- the budget's measure and cuts ------------------------------------------------------------------

ERROR_RESERVE_BYTES = 4 * 1024  # of a cell's budget, left for its error when other outputs fill the rest
ENAME_CHARS = 100  # an exception's name longer than this is cut
_OUTPUT_INDENT = 4  # nbformat writes a cell's outputs four levels deep, one space a level
_FITTED_FIELDS = ("text", "ename", "evalue", "traceback")
_DISPLAYS = ("display_data", "execute_result")
_CUT = " [cut by the grader]"
_OUTPUT_FIELDS = {  # what each kind of output message must carry, and of which type (nbformat's schema)
    "stream": {"name": str, "text": str},
    "display_data": {"data": dict, "metadata": dict},
    "execute_result": {"data": dict, "metadata": dict, "execution_count": (int, type(None))},
    "error": {"ename": str, "evalue": str, "traceback": list},
}


def _output_node(msg) -> NotebookNode | None:
    """nbformat's output_from_msg without its schema check, which nbclient makes on what is kept (a
    flood of dropped output should cost little); None for a message that is no output or malformed."""
    kind, content = msg["header"]["msg_type"], msg.get("content")
    fields = _OUTPUT_FIELDS.get(kind)
    if fields is None or not isinstance(content, dict):
        return None
    if not all(isinstance(content.get(field), types) for field, types in fields.items()):
        return None
    if kind == "error" and not all(isinstance(line, str) for line in content["traceback"]):
        return None
    return NotebookNode(output_type=kind, **{field: content[field] for field in fields})


def output_bytes(output) -> int:
    """The bytes ``output`` takes in the saved notebook, or a little more: nbformat writes each line of a
    text on a line of its own, indented (non-ASCII is counted as its \\u escape, longer than UTF-8)."""
    saved = dict(output)
    if saved.get("output_type") == "stream" and isinstance(saved.get("text"), str):
        saved["text"] = saved["text"].splitlines(True)
    elif isinstance(saved.get("data"), dict):
        saved["data"] = {kind: value.splitlines(True) if isinstance(value, str) and not _json_kind(kind)
                         else value for kind, value in saved["data"].items()}
    text = json.dumps(saved, indent=1, default=str)
    return len(text) + _OUTPUT_INDENT * (text.count("\n") + 1) + 8  # 8: the separator, or the list's brackets


def _json_kind(kind: str) -> bool:
    """A JSON mime type, which nbformat saves as it is (not split into lines)."""
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def _longest_fitting(length: int, fits) -> int:
    """The largest n <= length with fits(n) true (fits is monotone; 0 when nothing fits)."""
    low, high = 0, length
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _characters(output) -> int:
    """A lower bound of output_bytes, cheap for a huge output: every character takes a byte at least."""
    strings = [output.get("text"), output.get("ename"), output.get("evalue"), *output.get("traceback", []),
               *(output.get("data") or {}).values()]
    return sum(len(value) for value in strings if isinstance(value, str))


def fit_output(output, room: int):
    """``output`` when it fits in ``room`` bytes; a stream cut to fit; otherwise None (dropped)."""
    if _characters(output) <= room and output_bytes(output) <= room:
        return output
    if output.get("output_type") != "stream" or not isinstance(output.get("text"), str) or room <= 0:
        return None
    text = output.text[:room]
    n = _longest_fitting(len(text), lambda n: output_bytes(NotebookNode({**output, "text": text[:n]})) <= room)
    return NotebookNode({**output, "text": text[:n]}) if n else None


def fit_error(output, room: int, keep: bool):
    """``output`` (an error) shortened to ``room`` bytes: its name (cut to ENAME_CHARS), then its message,
    then the last lines of its traceback (the line that raised comes last). When not even the name fits
    it is dropped, unless ``keep`` (the cell's only error: nbgrader fails a test by its error output),
    then it keeps its name alone."""
    if _characters(output) <= room and output_bytes(output) <= room:
        return output
    fitted = NotebookNode(output_type="error", ename=str(output.get("ename", ""))[:ENAME_CHARS], evalue="",
                          traceback=[])
    if output_bytes(fitted) > room:
        return fitted if keep else None
    evalue = str(output.get("evalue", ""))
    traceback = [str(line) for line in output.get("traceback", [])]
    # the message gets up to half of what is left when there is a traceback to show, all of it otherwise
    limit = output_bytes(fitted) + (room - output_bytes(fitted)) // (2 if traceback else 1)
    if len(evalue) <= limit and output_bytes(NotebookNode({**fitted, "evalue": evalue})) <= limit:
        fitted.evalue = evalue
    else:
        evalue = evalue[:limit]
        n = _longest_fitting(len(evalue), lambda n: output_bytes(
            NotebookNode({**fitted, "evalue": evalue[:n] + _CUT})) <= limit)
        fitted.evalue = evalue[:n] + _CUT
    if not traceback:
        return fitted
    # the traceback from its end, line by line while they fit (a line's cost: its JSON, indent, separator)
    used = output_bytes(NotebookNode({**fitted, "traceback": [_CUT.strip()]}))
    kept: list[str] = []
    for line in reversed(traceback):
        cost = len(json.dumps(line)) + _OUTPUT_INDENT + 4
        if used + cost <= room:
            kept.insert(0, line)
            used += cost
            continue
        line = line[-max(room - used, 0):] if room > used else ""
        n = _longest_fitting(len(line), lambda n: used + len(json.dumps(line[len(line) - n:])) + _OUTPUT_INDENT + 4
                             <= room)
        if n:
            kept.insert(0, line[len(line) - n:])
        break
    if len(kept) < len(traceback):
        kept.insert(0, _CUT.strip())
    while kept and output_bytes(NotebookNode({**fitted, "traceback": kept})) > room:
        kept.pop(0)  # the estimate was short (it never is by more than a line)
    fitted.traceback = kept
    return fitted
