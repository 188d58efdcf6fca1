"""A Sphinx extension: the links between lectures and labs, written for a student's workspace, resolve in the book.

A lecture links to its lab as ``../labs/NN_topic/NN_topic.ipynb`` and a lab to its lecture as
``../../lectures/NN_topic.ipynb``: paths in the folder ``python -m course.workspace`` makes, where a student runs
them. The book is built from the repository, where the lectures live in ``course/lectures/``. This resolves such a
link from the page's place in the workspace and points it at the page the workspace file was copied from; a link
that means nothing in the workspace is left for Sphinx to report.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx

from course.workspace import student_notebooks


def workspace_docnames(srcdir: Path) -> dict[str, str]:
    """The book's page name of every notebook, by its path in a student's workspace (without ``.ipynb``)."""
    notebooks = student_notebooks(lectures=srcdir / "course" / "lectures", labs=srcdir / "labs")
    return {workspace_path.removesuffix(".ipynb"): source.relative_to(srcdir).with_suffix("").as_posix()
            for workspace_path, source in notebooks.items()}


def resolve_workspace_links(app: Sphinx, doctree: nodes.document) -> None:
    to_docname = workspace_docnames(Path(app.srcdir))
    to_workspace = {docname: workspace_path for workspace_path, docname in to_docname.items()}
    here = to_workspace.get(app.env.docname)
    if here is None:
        return
    for xref in doctree.findall(addnodes.pending_xref):
        if xref.get("reftype") != "myst" or xref.get("refdomain"):
            continue  # MyST already found the page, or it is another kind of reference
        path, _, anchor = xref["reftarget"].partition("#")
        if not path.endswith(".ipynb") or "://" in path:
            continue
        target = posixpath.normpath(posixpath.join(posixpath.dirname(here), path)).removesuffix(".ipynb")
        if target in to_docname:
            xref["refdomain"] = "doc"
            xref["reftarget"] = to_docname[target]
            xref["reftargetid"] = anchor or None


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", resolve_workspace_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
