"""course.launch: the install cell every lecture and lab starts with, and the launch links, from the one setting
in pyproject.toml."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from packaging.requirements import Requirement

from course.launch import (INSTALL_CELL_ID, LaunchSetting, first_code_cell, has_install_cell,
                           html_theme_options_launch, install_cell_source, launch_links, main, read_setting,
                           with_install_cell)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = (sorted((ROOT / "course" / "lectures").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*/*.ipynb"))
             + sorted((ROOT / "labs").glob("*/*.ipynb")))
ON_GITHUB = LaunchSetting("https://github.com/your-org/your-course", "main", "https://hub.example.edu")
LECTURE = "course/lectures/01_backprop.ipynb"


def name(path):
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=name)
def test_every_notebook_starts_with_the_install_cell_the_setting_gives(path):
    notebook = nbformat.read(str(path), as_version=4)
    first = first_code_cell(notebook)
    assert has_install_cell(notebook, read_setting()), (
        f"the first code cell of {name(path)} is not the install cell pyproject.toml's [tool.course.launch] gives "
        f"(it starts {first.source[:60]!r}): run python -m course.launch --write, then python -m grader build")
    assert first.metadata == {"tags": ["remove-cell"]}, "the web book hides it; nbgrader neither grades nor locks it"


def test_the_command_finds_every_notebook_up_to_date():
    assert main([]) == 0


def run_install_cell(source, monkeypatch, kit_installed):
    """Run the cell's code as a kernel would, with pip replaced by a recorder: the commands it would have run."""
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda command, **options: commands.append((command, options)))
    if not kit_installed:
        find_spec = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "course"
                            else find_spec(name, *rest))
    exec(compile(source, "install-cell", "exec"), {})
    return commands


@pytest.mark.parametrize("setting", [LaunchSetting(), ON_GITHUB], ids=["no repository", "on GitHub"])
def test_the_install_cell_does_nothing_where_the_kit_is_installed(setting, monkeypatch):
    assert importlib.util.find_spec("course") is not None
    assert run_install_cell(install_cell_source(setting), monkeypatch, kit_installed=True) == []


def test_without_the_kit_the_install_cell_pip_installs_it_from_the_repository(monkeypatch):
    commands = run_install_cell(install_cell_source(ON_GITHUB), monkeypatch, kit_installed=False)
    requirement = "dl-course-kit @ git+https://github.com/your-org/your-course@main"
    assert commands == [([sys.executable, "-m", "pip", "install", "--quiet", requirement], {"check": True})]
    parsed = Requirement(requirement)  # what pip reads: the distribution pyproject.toml names, from the repository
    assert (parsed.name, parsed.url) == ("dl-course-kit", "git+https://github.com/your-org/your-course@main")


def test_without_the_kit_or_a_repository_the_install_cell_says_how_to_get_it(monkeypatch):
    with pytest.raises(ModuleNotFoundError) as raised:
        run_install_cell(install_cell_source(LaunchSetting()), monkeypatch, kit_installed=False)
    message = str(raised.value)
    assert "needs the course kit" in message and "set-up page" in message
    assert "pip install 'dl-course-kit @ git+" in message


def test_the_install_cell_is_plain_python_without_magic():
    for setting in (LaunchSetting(), ON_GITHUB):
        source = install_cell_source(setting)
        compile(source, "install-cell", "exec")
        assert not any(line.lstrip().startswith(("%", "!")) for line in source.splitlines())


def test_binder_colab_and_jupyterhub_links_open_the_notebook():
    links = launch_links(ON_GITHUB, LECTURE)

    binder = urlsplit(links.binder)
    assert (binder.scheme, binder.netloc, binder.path) == ("https", "mybinder.org", "/v2/gh/your-org/your-course/main")
    assert parse_qs(binder.query) == {"urlpath": [f"lab/tree/{LECTURE}"]}

    colab = urlsplit(links.colab)
    assert (colab.netloc, colab.query) == ("colab.research.google.com", "")
    assert colab.path == f"/github/your-org/your-course/blob/main/{LECTURE}"

    hub = urlsplit(links.jupyterhub)
    assert (hub.scheme, hub.netloc, hub.path) == ("https", "hub.example.edu", "/hub/user-redirect/git-pull")
    # nbgitpuller clones into a folder named after the repository, and opens the path under it
    assert parse_qs(hub.query) == {"repo": ["https://github.com/your-org/your-course"], "branch": ["main"],
                                   "urlpath": [f"lab/tree/your-course/{LECTURE}"]}


def test_a_repository_elsewhere_gets_binders_git_form_and_no_colab_link():
    setting = LaunchSetting("https://gitlab.example.org/teaching/dl-course", "spring-2027")
    links = launch_links(setting, LECTURE)
    binder = urlsplit(links.binder)
    provider, encoded_repository, branch = binder.path.removeprefix("/v2/").split("/")
    assert (provider, unquote(encoded_repository), branch) == ("git", setting.repository, "spring-2027")
    assert parse_qs(binder.query) == {"urlpath": [f"lab/tree/{LECTURE}"]}
    assert links.colab is None and links.jupyterhub is None


def test_no_links_without_a_repository():
    with pytest.raises(ValueError, match="repository ="):
        launch_links(LaunchSetting(), LECTURE)
    assert html_theme_options_launch(LaunchSetting()) == {}


def test_the_book_theme_options_come_from_the_setting():
    assert html_theme_options_launch(ON_GITHUB, path_to_docs="docs") == {
        "repository_url": "https://github.com/your-org/your-course",
        "repository_branch": "main",
        "path_to_docs": "docs",
        "launch_buttons": {"notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org",
                           "colab_url": "https://colab.research.google.com", "jupyterhub_url": "https://hub.example.edu"},
    }
    assert html_theme_options_launch() == {}, "the kit has no public repository yet: no launch buttons"


@pytest.mark.parametrize("key, value", [
    ("repository", "http://github.com/your-org/your-course"),
    ("repository", "github.com/your-org/your-course"),
    ("repository", "https://github.com/your-org/your-course/tree/main"),
    ("repository", "https://github.com/your-org/your-course extra"),
    ("repository", "https://github.com/your-org/your-course#readme"),
    ("repository", "https://github.com/your-org/your-course/"),
    ("repository", "https://example.org"),
    ("jupyterhub", "hub.example.edu"),
    ("jupyterhub", "https://hub.example.edu/?next=x"),
])
def test_a_bad_address_says_what_to_write(key, value):
    with pytest.raises(ValueError, match=f'{key} = "https://'):
        LaunchSetting(**{key: value})


def test_a_bad_branch_says_what_to_write():
    with pytest.raises(ValueError, match='branch = "main"'):
        LaunchSetting(branch="main; rm -rf ~")


def test_the_setting_is_read_from_pyproject(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    with pytest.raises(FileNotFoundError, match="pyproject.toml"):
        read_setting(pyproject)
    pyproject.write_text("[project]\nname = 'x'\n")
    with pytest.raises(ValueError, match=r"no \[tool.course.launch\]"):
        read_setting(pyproject)
    pyproject.write_text('[tool.course.launch]\nrepository = "https://github.com/a/b"\nbranch = "dev"\n')
    assert read_setting(pyproject) == LaunchSetting("https://github.com/a/b", "dev", "")
    pyproject.write_text('[tool.course.launch]\nrepo = "https://github.com/a/b"\n')
    with pytest.raises(ValueError, match="repository = "):
        read_setting(pyproject)


def test_writing_puts_the_cell_after_the_title_replaces_an_old_one_and_renumbers_outputs():
    checked = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(2)", execution_count=1)
    checked.outputs = [new_output("execute_result", data={"text/plain": "2"}, execution_count=1)]
    notebook = new_notebook(cells=[new_markdown_cell("# Title"), new_code_cell("import torch"), checked])

    written = with_install_cell(notebook, LaunchSetting())
    assert written.cells[1].id == INSTALL_CELL_ID
    assert written.cells[0].source == "# Title" and has_install_cell(written, LaunchSetting())
    assert written.cells[3].execution_count == 3 and written.cells[3].outputs[0].execution_count == 3

    rewritten = with_install_cell(written, ON_GITHUB)
    assert [cell.get("id") for cell in rewritten.cells].count(INSTALL_CELL_ID) == 1
    assert has_install_cell(rewritten, ON_GITHUB) and not has_install_cell(rewritten, LaunchSetting())
    assert rewritten.cells[3].execution_count == 3
