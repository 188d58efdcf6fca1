"""A student's own copies of the lectures and labs, so that running them never touches the tracked notebooks.

    python -m course.workspace --open     # copy into my-work/ (ignored by git), then open it in JupyterLab
    python -m course.workspace            # only copy, keeping every copy already there
    python -m course.workspace ~/dl-work --open --allow-root  # elsewhere; what follows --open goes to JupyterLab
    python -m course.workspace --lang zh_CN --open     # 中文: the lectures and labs in Chinese (same code)

JupyterLab saves a notebook's outputs into its file, so a student who ran the tracked lectures in place would
find ``git pull`` in conflict with them. The workspace holds ``lectures/NN_topic.ipynb`` and
``labs/NN_topic/NN_topic.ipynb`` (the layout the lectures' and labs' links to each other assume). Running it again
after ``git pull`` adds what is new and never overwrites a copy; it names each copy whose code is no longer the kit's
(a lecture's code, a lab's set-up and test cells), since an old copy may call what the kit has since renamed. To
start a notebook afresh, delete or rename your copy and run it again.

``--open`` starts JupyterLab in the workspace as a student needs it: nbgrader's Validate button stays, its
instructor panels (Create Assignment, the formgrader, the course list) are left out (``course/student_jupyter/``,
searched before the installation's own configuration through ``JUPYTER_CONFIG_PATH``), and the kernels speak the
workspace's language (``COURSE_LANGUAGE``: the explorers, the figures, the tests' messages), which the copies
record in their metadata, so a later ``--open`` without ``--lang`` keeps it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import course
from course.language import ENGLISH, LANGUAGE_VARIABLE, known_language

DEFAULT_FOLDER = Path("my-work")  # listed in the kit's .gitignore
PACKAGE = Path(course.__file__).resolve().parent
LECTURES = PACKAGE / "lectures"
LABS = PACKAGE.parent / "labs"  # the checkout's labs/, beside the course package
STUDENT_CONFIG = PACKAGE / "student_jupyter"
FIRST_NOTEBOOK = "lectures/00_pytorch_basics.ipynb"


@dataclass
class WorkspaceReport:
    """What :func:`create` did, as paths relative to the workspace."""

    folder: Path
    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    outdated: list[str] = field(default_factory=list)  # kept copies whose code is no longer the kit's

    def __str__(self) -> str:
        lines = [f"workspace {self.folder}: {len(self.copied)} notebook(s) copied, {len(self.kept)} of yours kept"]
        lines += [f"  new: {name}" for name in self.copied]
        if self.kept:
            lines.append("  (a copy you already have is never overwritten: delete or rename it to get a fresh one)")
        lines += [f"  the kit's code differs from your copy: {name}" for name in self.outdated]
        if self.outdated:
            lines.append("  (the kit may have changed since you copied it, and an old copy may call what the kit has "
                         "renamed: rename your copy and run this again to get the kit's version beside yours)")
        return "\n".join(lines)


def student_notebooks(lectures: Path = LECTURES, labs: Path = LABS) -> dict[str, Path]:
    """Every notebook a student works in, by its path inside the workspace."""
    if not lectures.is_dir() or not labs.is_dir():
        raise FileNotFoundError(f"the lectures ({lectures}) or the labs ({labs}) are missing: run this from a "
                                f"checkout of the kit installed with `python -m pip install -r requirements.txt`")
    notebooks = {f"lectures/{path.name}": path for path in sorted(lectures.glob("*.ipynb"))}
    notebooks |= {f"labs/{path.parent.name}/{path.name}": path for path in sorted(labs.glob("*/*.ipynb"))}
    return notebooks


def kit_code(path: Path) -> dict[str, str]:
    """The code cells the kit wrote in a notebook, by cell id: all of a lecture's, a lab's except its answer cells."""
    notebook = nbformat.read(path, as_version=4)
    return {cell.get("id", str(number)): cell.source for number, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("solution", False)}


def differs_from_kit(copy: Path, source: Path) -> bool:
    """Whether a student's copy holds other code than the kit's notebook in the cells the kit wrote (cells the
    student added are the student's own)."""
    try:
        theirs = kit_code(copy)
        return any(theirs.get(cell_id) != code for cell_id, code in kit_code(source).items())
    except (OSError, ValueError):  # a copy that is not a readable notebook (nbformat's errors are ValueErrors)
        return True


def create(folder: Path = DEFAULT_FOLDER, lectures: Path = LECTURES, labs: Path = LABS,
           language: str | None = None) -> WorkspaceReport:
    """Copy every lecture and lab that ``folder`` does not hold yet, in ``language`` where one is given (made from
    the English notebook and its catalogue); returns what was copied and kept."""
    report = WorkspaceReport(folder)
    for name, source in student_notebooks(lectures, labs).items():
        target = folder / name
        if target.exists():
            report.kept.append(name)
            if differs_from_kit(target, source):
                report.outdated.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if language is None:
            shutil.copyfile(source, target)
        else:
            write_translation(source, target, language)
        report.copied.append(name)
    return report


def write_translation(source: Path, target: Path, language: str) -> None:
    """``source`` in ``language``: its Markdown from the catalogue of its page in the web edition (its path in the
    checkout), its code as it is."""
    # imported here: the catalogues' tools come with Sphinx, which an English workspace does not need
    from course.translations.catalogues import load_catalogue
    from course.translations.notebooks import translated_notebook

    page = source.resolve().relative_to(PACKAGE.parent).with_suffix("").as_posix()
    notebook = translated_notebook(nbformat.read(source, as_version=4), load_catalogue(language, page), language)
    nbformat.write(notebook, target)


def student_environment(environ: dict[str, str] | None = None, language: str | None = None) -> dict[str, str]:
    """The environment of a student's JupyterLab: the kit's student configuration first on the config path, and
    ``language`` (when given) for its kernels."""
    environ = dict(os.environ if environ is None else environ)
    earlier = [path for path in environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if path]
    environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(STUDENT_CONFIG), *earlier])
    if language is not None:
        environ[LANGUAGE_VARIABLE] = language
    return environ


def workspace_language(folder: Path) -> str | None:
    """The language the workspace's first lecture was copied in, from its metadata; None for an English one."""
    try:
        language = nbformat.read(Path(folder) / FIRST_NOTEBOOK, as_version=4).metadata.get("language")
    except (OSError, ValueError):
        return None
    return language if known_language(language) != ENGLISH else None


def open_in_jupyterlab(folder: Path, jupyter_arguments: list[str], language: str | None = None) -> int:
    """Run JupyterLab in ``folder`` on the first lecture until it is stopped; its exit status.

    The root is set to the whole workspace: given a notebook alone, Jupyter would serve only that notebook's
    folder, and the lectures' links to the labs (and the labs themselves) would be out of reach."""
    command = [sys.executable, "-m", "jupyter", "lab", FIRST_NOTEBOOK, f"--ServerApp.root_dir={Path(folder).resolve()}",
               *jupyter_arguments]
    return subprocess.call(command, cwd=folder, env=student_environment(language=language))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.workspace", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER,
                        help=f"where the copies go (default: {DEFAULT_FOLDER}/, which git ignores)")
    parser.add_argument("--lang", metavar="LANGUAGE",
                        help="copies in this language, e.g. zh_CN for Chinese; the code is the same in every language")
    parser.add_argument("--open", nargs=argparse.REMAINDER, metavar="JUPYTERLAB_ARGUMENT",
                        help="then start JupyterLab there; what follows --open goes to JupyterLab as it is "
                             "(--allow-root, --port 8899)")
    arguments = parser.parse_args(argv)
    try:
        report = create(arguments.folder, language=arguments.lang)
    except OSError as error:  # FileNotFoundError included
        parser.exit(2, f"python -m course.workspace: {error}\n")
    print(report)
    if arguments.open is not None:
        return open_in_jupyterlab(arguments.folder, arguments.open,
                                  arguments.lang or workspace_language(arguments.folder))
    print(f"open it with: python -m course.workspace {arguments.folder} --open")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
