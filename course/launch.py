"""Where the notebooks open besides a student's own JupyterLab: the launch links, and the install cell.

    python -m course.launch            # which lectures and solutions lack the install cell the setting gives
    python -m course.launch --write    # give it to each of them; then `python -m grader build` for labs/

One setting drives both: ``[tool.course.launch]`` in the checkout's ``pyproject.toml``, the course's repository
(an https address, or empty), its branch, and optionally a JupyterHub. The web book's ``conf.py`` takes its launch
buttons from :func:`html_theme_options_launch`; :func:`launch_links` gives the same links for one notebook.

A notebook opened in Colab from the repository finds no kit installed, so every lecture and lab starts with a code
cell that installs the kit when ``course`` cannot be imported and does nothing where it can (a student's
JupyterLab, nbval, the grader's sandboxed kernel). With no repository set, that cell tells the student how to get
the kit instead. The web book leaves the cell out (its ``remove-cell`` tag): it installs nothing there.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import nbformat
from nbformat import NotebookNode

CHECKOUT = Path(__file__).resolve().parent.parent
PYPROJECT = CHECKOUT / "pyproject.toml"
DISTRIBUTION = "dl-course-kit"  # pyproject.toml's [project] name: what pip installs
BINDER = "https://mybinder.org"
COLAB = "https://colab.research.google.com"
JUPYTERLAB_TREE = "lab/tree"  # opens a path in JupyterLab, on Binder and on a JupyterHub alike
INSTALL_CELL_ID = "install-course-kit"
INSTALL_CELL_TAGS = ["remove-cell"]  # MyST-NB leaves the cell out of the web book
GITHUB_HOSTS = ("github.com", "www.github.com")
BRANCH = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)*")
SETTING_EXAMPLE = '''[tool.course.launch]
repository = ""  # e.g. "https://github.com/your-org/your-course"
branch = "main"
jupyterhub = ""  # e.g. "https://hub.example.edu"'''

_INSTALL_SOURCE = '''\
# Colab, or any Python without the course kit: this installs it. Where the kit is installed (your JupyterLab, the
# grader), it does nothing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("course") is None:
    requirement = "{requirement}"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", requirement], check=True)
    importlib.invalidate_caches()  # so that this kernel finds the package pip has just added'''

_EXPLAIN_SOURCE = '''\
# Colab, or any Python without the course kit: this says how to get it. Where the kit is installed (your
# JupyterLab, the grader), it does nothing.
import importlib.util

if importlib.util.find_spec("course") is None:
    raise ModuleNotFoundError(
        "This notebook needs the course kit (the Python package `course`), and it is not installed here. Install "
        "it as your course's set-up page says, or with pip install 'dl-course-kit @ git+<your course's repository "
        "address>', then run this notebook again.")'''


@dataclass(frozen=True)
class LaunchSetting:
    """``[tool.course.launch]``, checked on creation: a ValueError says what is wrong and what to write."""

    repository: str = ""
    branch: str = "main"
    jupyterhub: str = ""

    def __post_init__(self) -> None:
        _check_address("repository", self.repository, "https://github.com/your-org/your-course")
        _check_address("jupyterhub", self.jupyterhub, "https://hub.example.edu")
        if not isinstance(self.branch, str) or not BRANCH.fullmatch(self.branch):
            raise ValueError(f"[tool.course.launch] branch = {self.branch!r} is not a branch name git and pip accept: "
                             'write the branch the notebooks are taken from, e.g. branch = "main"')

    @property
    def github_repository(self) -> tuple[str, str] | None:
        """(owner, name) when the repository is on GitHub (Binder's short form, Colab), else None."""
        address = urlsplit(self.repository)
        if address.hostname not in GITHUB_HOSTS:
            return None
        owner, name = address.path.strip("/").split("/")
        return owner, name

    @property
    def clone_folder(self) -> str:
        """The folder nbgitpuller clones the repository into: its address's last part (nbgitpuller's own rule)."""
        return self.repository.split("/")[-1]

    @property
    def pip_requirement(self) -> str:
        return f"{DISTRIBUTION} @ git+{self.repository}@{self.branch}"


def _address_problem(value: object, of_repository: bool) -> str | None:
    """What makes ``value`` unusable as the https address of a repository (or a hub); None when it is fine."""
    if not isinstance(value, str):
        return "it is not a string"
    if re.search(r"\s|['\"\\]", value):
        return "it holds spaces or quotes"
    address = urlsplit(value)
    if address.scheme != "https":
        return "it does not start with https://"
    if not address.hostname or address.username or address.password:
        return "it names no host, or carries a user name or password"
    if address.query or address.fragment or value.endswith(("?", "#")):
        return "a query (?) or an anchor (#) follows the address"
    if value.endswith("/"):
        return "it ends with /"
    if of_repository and not address.path:
        return "it names a host but no repository"
    on_github = of_repository and address.hostname in GITHUB_HOSTS
    # Binder's and Colab's GitHub links need OWNER/REPO exactly; with .git, nbgitpuller's folder would differ too
    if on_github and (not re.fullmatch(r"/[\w.-]+/[\w.-]+", address.path) or address.path.endswith(".git")):
        return "a GitHub repository's address is https://github.com/OWNER/REPO, with nothing after REPO (no .git)"
    return None


def _check_address(key: str, value: object, example: str) -> None:
    problem = None if value == "" else _address_problem(value, of_repository=key == "repository")
    if problem:
        raise ValueError(f"[tool.course.launch] {key} = {value!r} in pyproject.toml cannot be used: {problem}. "
                         f'Write the address as your browser shows it, e.g. {key} = "{example}", or leave it empty '
                         f'({key} = "").')


def read_setting(pyproject: Path = PYPROJECT) -> LaunchSetting:
    """The checkout's ``[tool.course.launch]`` (an installed kit has no pyproject.toml: use a checkout)."""
    try:
        with pyproject.open("rb") as file:
            configuration = tomllib.load(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"{pyproject} not found: the launch setting lives in the pyproject.toml of a "
                                "checkout of the course; run this from one") from None
    table = configuration.get("tool", {}).get("course", {}).get("launch")
    if not isinstance(table, dict):
        raise ValueError(f"{pyproject} has no [tool.course.launch] table; add one:\n{SETTING_EXAMPLE}")
    unknown = sorted(set(table) - {"repository", "branch", "jupyterhub"})
    if unknown:
        raise ValueError(f"[tool.course.launch] in {pyproject} has keys it does not know, {unknown}; it takes:\n"
                         f"{SETTING_EXAMPLE}")
    return LaunchSetting(**table)


def install_cell_source(setting: LaunchSetting) -> str:
    """The install cell's code: plain Python, no IPython magic, since nbval and the grader run it too."""
    if not setting.repository:
        return _EXPLAIN_SOURCE
    return _INSTALL_SOURCE.format(requirement=setting.pip_requirement)


def install_cell(setting: LaunchSetting) -> NotebookNode:
    return nbformat.v4.new_code_cell(install_cell_source(setting), id=INSTALL_CELL_ID,
                                     metadata={"tags": list(INSTALL_CELL_TAGS)})


@dataclass(frozen=True)
class LaunchLinks:
    binder: str
    colab: str | None  # Colab opens notebooks from GitHub only
    jupyterhub: str | None  # only where a JupyterHub is set


def launch_links(setting: LaunchSetting, notebook: str) -> LaunchLinks:
    """The links that open ``notebook``, a path from the repository's root (``course/lectures/01_backprop.ipynb``)."""
    if not setting.repository:
        raise ValueError("no repository is set in pyproject.toml's [tool.course.launch], so there is nothing to "
                         'launch from: set repository = "https://github.com/your-org/your-course"')
    in_jupyterlab = urlencode({"urlpath": f"{JUPYTERLAB_TREE}/{notebook}"}, safe="/")
    github = setting.github_repository
    if github:
        owner, name = github
        binder = f"{BINDER}/v2/gh/{owner}/{name}/{setting.branch}?{in_jupyterlab}"
        colab = f"{COLAB}/github/{owner}/{name}/blob/{setting.branch}/{quote(notebook)}"
    else:
        binder = f"{BINDER}/v2/git/{quote(setting.repository, safe='')}/{setting.branch}?{in_jupyterlab}"
        colab = None
    jupyterhub = None
    if setting.jupyterhub:
        pull = urlencode({"repo": setting.repository, "branch": setting.branch,
                          "urlpath": f"{JUPYTERLAB_TREE}/{setting.clone_folder}/{notebook}"})
        jupyterhub = f"{setting.jupyterhub}/hub/user-redirect/git-pull?{pull}"
    return LaunchLinks(binder, colab, jupyterhub)


def html_theme_options_launch(setting: LaunchSetting | None = None, path_to_docs: str = "") -> dict:
    """sphinx-book-theme's repository and launch-button options, for the book's ``conf.py``:
    ``html_theme_options = {..., **html_theme_options_launch(path_to_docs="docs")}``, where ``path_to_docs`` is the
    book's folder in the repository. Empty with no repository set: no launch buttons.
    """
    setting = read_setting() if setting is None else setting
    if not setting.repository:
        return {}
    options = {"repository_url": setting.repository, "repository_branch": setting.branch, "path_to_docs": path_to_docs}
    if setting.github_repository is None:
        return options  # the theme builds launch links for GitHub repositories only; launch_links has the others
    buttons = {"notebook_interface": "jupyterlab", "binderhub_url": BINDER, "colab_url": COLAB}
    if setting.jupyterhub:
        buttons["jupyterhub_url"] = setting.jupyterhub
    return {**options, "launch_buttons": buttons}


def first_code_cell(notebook: NotebookNode) -> NotebookNode | None:
    return next((cell for cell in notebook.cells if cell.cell_type == "code"), None)


def has_install_cell(notebook: NotebookNode, setting: LaunchSetting) -> bool:
    """Whether ``notebook``'s first code cell is exactly the install cell ``setting`` gives."""
    first, expected = first_code_cell(notebook), install_cell(setting)
    return first is not None and all(first.get(key) == expected[key] for key in ("id", "source", "metadata"))


def _count_as_a_fresh_run(notebook: NotebookNode) -> None:
    """Number the kept outputs as a top-to-bottom run would (how `python -m grader tidy` keeps a lecture): a new
    code cell above shifts every count below it."""
    code_cells = (cell for cell in notebook.cells if cell.cell_type == "code")
    for count, cell in enumerate(code_cells, start=1):
        if cell.outputs:
            cell.execution_count = count
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = count


def with_install_cell(notebook: NotebookNode, setting: LaunchSetting) -> NotebookNode:
    """``notebook`` with the setting's install cell right after its title, in place of any older install cell."""
    cells = [cell for cell in notebook.cells if cell.get("id") != INSTALL_CELL_ID]
    after_title = 1 if cells and cells[0].cell_type == "markdown" else 0
    notebook.cells = [*cells[:after_title], install_cell(setting), *cells[after_title:]]
    _count_as_a_fresh_run(notebook)
    return notebook


def notebooks_to_write(checkout: Path = CHECKOUT) -> list[Path]:
    """The notebooks the install cell is written into; labs/ gets it from the solutions (`python -m grader build`)."""
    lectures = sorted((checkout / "course" / "lectures").glob("*.ipynb"))
    return lectures + sorted((checkout / "solutions").glob("*/*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.launch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="write the setting's install cell into every lecture and solution that lacks it")
    arguments = parser.parse_args(argv)
    try:
        setting = read_setting()
    except (OSError, ValueError) as error:
        parser.exit(2, f"python -m course.launch: {error}\n")
    stale = [path for path in notebooks_to_write()
             if not has_install_cell(nbformat.read(str(path), as_version=4), setting)]
    names = [str(path.relative_to(CHECKOUT)) for path in stale]
    if not arguments.write:
        print("\n".join([f"without the install cell the setting gives: {name}" for name in names]
                        or ["every lecture and solution starts with the install cell the setting gives"]))
        return 1 if stale else 0
    for path, name in zip(stale, names):
        notebook = with_install_cell(nbformat.read(str(path), as_version=4), setting)
        nbformat.write(notebook, str(path))  # the kit's notebook format: nbformat's own, as grader tidy writes it
        print(f"wrote the install cell: {name}")
    print(f"{len(stale)} notebook(s) rewritten. Next: python -m grader build (labs/ takes the cell from solutions/)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
