"""Save notebooks the way the course keeps them.

Jupyter saves execution counts, every output, widget state and editor
metadata; the course keeps only what nbval compares (cells that start with
``# NBVAL_CHECK_OUTPUT``) and the figures a reader needs. Solutions and labs
keep no output at all. ``python -m grader tidy`` applies these rules, so an
author can edit a notebook in JupyterLab and tidy it before committing.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

from grader.notebooks import NotebookError

CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
KEPT_NOTEBOOK_METADATA = ("grader",)  # {"judge": "outside"}: the lab is judged outside the kernel (grader.judge)
KEPT_CELL_METADATA = ("nbgrader", "tags")
FIGURE_MIME = "image/png"
EXECUTION_TIMEOUT_SECONDS = 600


def _figure_only(output: NotebookNode) -> NotebookNode | None:
    """A figure output stripped to its PNG (and its text fallback); None for anything else."""
    if output.output_type != "display_data" or FIGURE_MIME not in output.get("data", {}):
        return None
    data = {mime: output.data[mime] for mime in (FIGURE_MIME, "text/plain") if mime in output.data}
    return nbformat.v4.new_output("display_data", data=data)


def _tidy_outputs(cell: NotebookNode, keep_outputs: bool, count: int) -> list[NotebookNode]:
    if not keep_outputs:
        return []
    if cell.source.startswith(CHECK_OUTPUT):
        for output in cell.outputs:
            if "execution_count" in output:
                output.execution_count = count
        return list(cell.outputs)
    return [figure for figure in map(_figure_only, cell.outputs) if figure is not None]


def tidy(notebook: NotebookNode, keep_outputs: bool) -> NotebookNode:
    """Clean metadata; keep checked outputs and figures if ``keep_outputs``, counted as in a fresh run."""
    kept = {key: notebook.metadata[key] for key in KEPT_NOTEBOOK_METADATA if key in notebook.metadata}
    notebook.metadata = nbformat.from_dict({**NOTEBOOK_METADATA, **kept})
    code_cells_seen = 0
    for cell in notebook.cells:
        cell.metadata = nbformat.from_dict({k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata})
        if cell.cell_type == "code":
            code_cells_seen += 1
            cell.outputs = _tidy_outputs(cell, keep_outputs, code_cells_seen)
            # nbval rejects stored outputs without a count; number them as a top-to-bottom run would
            cell.execution_count = code_cells_seen if cell.outputs else None
    return notebook


def execute(notebook: NotebookNode, folder: Path) -> NotebookNode:
    """Run every cell in a fresh kernel, in ``folder``, stopping at the first error."""
    client = NotebookClient(notebook, timeout=EXECUTION_TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    return client.execute()


def tidy_file(path: Path, keep_outputs: bool, run_first: bool) -> None:
    notebook = nbformat.read(str(path), as_version=4)
    if run_first:
        try:
            notebook = execute(notebook, path.parent)
        except CellExecutionError as error:
            raise NotebookError(
                f"{path}: a cell failed while running ({error.ename}: {error.evalue}); "
                "the notebook was left unchanged: fix that cell and tidy again"
            ) from error
    nbformat.write(tidy(notebook, keep_outputs), str(path))
