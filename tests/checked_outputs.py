"""nbval's output comparison, applied to a notebook that ran somewhere else (a lecture run in JupyterLab by the
browser tests), so that each lecture is executed once in the suite and still has its checked outputs compared.

The cells compared are those nbval compares under ``--nbval-lax``: the ones marked ``# NBVAL_CHECK_OUTPUT``. The
comparison is nbval's: streams of one name merged (carriage returns and backspaces applied), outputs flattened
into one list per key (``stdout``, ``text/plain``, ...), and the keys nbval skips left out (metadata, execution
counts, images, widget model ids).
"""

from __future__ import annotations

import json
from collections import defaultdict

import nbformat
from nbval.plugin import coalesce_streams, find_comment_markers, transform_streams_for_comparison

SKIPPED_KEYS = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")


def is_checked(cell) -> bool:
    return cell.cell_type == "code" and dict(find_comment_markers(cell.source)).get("check") is True


def flattened(outputs) -> dict[str, list]:
    """key -> the values of every output under it, in order (nbval's form of a cell's outputs)."""
    values = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams([nbformat.from_dict(out) for out in outputs])):
        for key, value in output.items():
            if key in SKIPPED_KEYS:
                continue
            if key == "data":
                for kind, data in value.items():
                    if kind not in SKIPPED_KEYS:
                        values[kind].append(data)
            else:
                values[key].append(value)
    return dict(values)


def output_differences(ran: dict, reference) -> list[str]:
    """Where the checked cells of ``ran`` (a notebook's JSON after a run) differ from ``reference`` (the committed
    notebook): one message per cell, with both outputs."""
    ran_cells = nbformat.reads(json.dumps(ran), as_version=4).cells  # texts as strings, as nbformat reads them
    problems = []
    if len(ran_cells) != len(reference.cells):
        return [f"the run has {len(ran_cells)} cells, the notebook {len(reference.cells)}"]
    for index, (cell, expected) in enumerate(zip(ran_cells, reference.cells)):
        if not is_checked(expected):
            continue
        got, wanted = flattened(cell.get("outputs", [])), flattened(expected.outputs)
        if got != wanted:
            code = [line for line in expected.source.splitlines() if not line.startswith("#")] or [""]
            problems.append(f"cell {index} ({code[0][:60]!r}...): expected\n{wanted}\ngot\n{got}")
    return problems
