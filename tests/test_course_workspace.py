"""course.workspace: a student's copies of the lectures and labs, outside what git tracks, and the student's
JupyterLab configuration."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course import workspace
from course.translations.catalogues import load_catalogue

ROOT = Path(__file__).resolve().parent.parent
LABEXTENSIONS = Path(sys.prefix) / "share" / "jupyter" / "labextensions"


def test_it_copies_every_lecture_and_lab(tmp_path):
    report = workspace.create(tmp_path / "work")
    lectures = sorted(path.name for path in (ROOT / "course" / "lectures").glob("*.ipynb"))
    labs = sorted(f"{path.parent.name}/{path.name}" for path in (ROOT / "labs").glob("*/*.ipynb"))
    assert report.copied == [f"lectures/{name}" for name in lectures] + [f"labs/{name}" for name in labs]
    for name in report.copied:
        source = ROOT / ("course" if name.startswith("lectures/") else "") / name
        assert (tmp_path / "work" / name).read_bytes() == source.read_bytes(), f"{name} is not the kit's copy"


def test_copies_in_another_language_have_the_catalogues_text_and_the_same_code(tmp_path):
    report = workspace.create(tmp_path / "work", language="zh_CN")
    assert len(report.copied) == len(workspace.student_notebooks())
    for name, source in workspace.student_notebooks().items():
        english, chinese = (nbformat.read(path, as_version=4) for path in (source, tmp_path / "work" / name))
        page = source.relative_to(ROOT).with_suffix("").as_posix()
        catalogue = load_catalogue("zh_CN", page)
        title = english.cells[0].source.split("\n", 1)[0].removeprefix("# ")
        if catalogue.get(title) is not None and catalogue.get(title).string and not catalogue.get(title).fuzzy:
            assert chinese.cells[0].source.startswith(f"# {catalogue.get(title).string}\n"), name
        assert chinese.metadata["language"] == "zh_CN"
        assert [(cell.get("id"), cell.source) for cell in chinese.cells if cell.cell_type == "code"] == \
            [(cell.get("id"), cell.source) for cell in english.cells if cell.cell_type == "code"], name
        assert not workspace.differs_from_kit(tmp_path / "work" / name, source), name


def test_a_second_run_keeps_the_students_work_and_adds_what_is_new(tmp_path):
    folder = tmp_path / "work"
    workspace.create(folder)
    mine = folder / "labs" / "01_backprop" / "01_backprop.ipynb"
    mine.write_text("my answers")
    (folder / "lectures" / "03_rnn.ipynb").unlink()  # as if lecture 03 had come with a git pull
    report = workspace.create(folder)
    assert mine.read_text() == "my answers", "a student's copy was overwritten"
    assert report.copied == ["lectures/03_rnn.ipynb"], report.copied
    assert "labs/01_backprop/01_backprop.ipynb" in report.kept and "never overwritten" in str(report)


def test_a_lab_with_answers_is_not_called_outdated_but_a_lecture_whose_code_changed_is(tmp_path):
    folder = tmp_path / "work"
    workspace.create(folder)
    lab = folder / "labs" / "01_backprop" / "01_backprop.ipynb"
    answered = nbformat.read(lab, as_version=4)
    for cell in answered.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "answer = 42"
    answered.cells.append(nbformat.v4.new_code_cell("print('a cell of my own')"))
    nbformat.write(answered, lab)
    lecture = folder / "lectures" / "05_bce_loss.ipynb"
    old = nbformat.read(lecture, as_version=4)
    first_code = next(cell for cell in old.cells if cell.cell_type == "code")
    first_code.source += "\nhistory.d_real  # a name an older kit had"
    nbformat.write(old, lecture)
    before = lecture.read_bytes()

    report = workspace.create(folder)

    assert report.outdated == ["lectures/05_bce_loss.ipynb"], report.outdated
    assert lecture.read_bytes() == before, "an outdated copy was overwritten"
    assert "the kit's code differs from your copy: lectures/05_bce_loss.ipynb" in str(report)
    assert "rename your copy" in str(report)


def test_an_unreadable_copy_is_named_rather_than_crashing(tmp_path):
    folder = tmp_path / "work"
    workspace.create(folder)
    (folder / "lectures" / "01_backprop.ipynb").write_text("{not json")
    report = workspace.create(folder)
    assert report.outdated == ["lectures/01_backprop.ipynb"]


def test_the_default_workspace_is_ignored_by_git():
    inside = workspace.DEFAULT_FOLDER / "lectures" / "01_backprop.ipynb"
    checked = subprocess.run(["git", "check-ignore", "-q", str(inside)], cwd=ROOT)
    assert checked.returncode == 0, f"git would show {inside}: add /{workspace.DEFAULT_FOLDER}/ to .gitignore"


def test_the_students_configuration_comes_first_and_keeps_what_was_there():
    environ = workspace.student_environment({"JUPYTER_CONFIG_PATH": "/etc/mine", "HOME": "/home/student"})
    assert environ["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(workspace.STUDENT_CONFIG), "/etc/mine"]
    assert environ["HOME"] == "/home/student"


def test_the_hidden_panels_are_nbgraders_own_plugins_and_validate_stays():
    """A plugin renamed by a new nbgrader would silently come back: each name must be one nbgrader ships."""
    page_config = json.loads((workspace.STUDENT_CONFIG / "labconfig" / "page_config.json").read_text())
    hidden = set(page_config["disabledExtensions"])
    shipped = "\n".join(path.read_text(errors="ignore")
                        for path in (LABEXTENSIONS / "@jupyter" / "nbgrader" / "static").glob("*.js"))
    assert hidden and all(f'id:"{plugin}"' in shipped for plugin in hidden), f"not in nbgrader's labextension: {hidden}"
    assert "@jupyter/nbgrader:validate-assignment" not in hidden, "students need the Validate button"
    server = json.loads((workspace.STUDENT_CONFIG / "jupyter_server_config.json").read_text())
    switched_off = server["ServerApp"]["jpserver_extensions"]
    assert switched_off == {"nbgrader.server_extensions.formgrader": False,
                            "nbgrader.server_extensions.course_list": False}, switched_off


def test_the_command_says_where_the_copies_went_and_how_to_open_them(tmp_path):
    done = subprocess.run([sys.executable, "-m", "course.workspace", str(tmp_path / "work")],
                          capture_output=True, text=True, check=True)
    copied = f"{len(workspace.student_notebooks())} notebook(s) copied"
    assert copied in done.stdout and "--open" in done.stdout, done.stdout


def test_unknown_arguments_are_refused_without_open(tmp_path):
    done = subprocess.run([sys.executable, "-m", "course.workspace", str(tmp_path), "--allow-root"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "unrecognized arguments: --allow-root" in done.stderr, done.stderr


def test_what_follows_open_goes_to_jupyterlab_as_it_is(tmp_path, monkeypatch):
    """An option's value (--port 8899) stays with its option, not taken for the workspace folder."""
    opened = []
    monkeypatch.setattr(workspace, "open_in_jupyterlab",
                        lambda folder, arguments, language: opened.append((folder, arguments, language)))
    workspace.main([str(tmp_path / "work"), "--open", "--allow-root", "--port", "8899"])
    assert opened == [(tmp_path / "work", ["--allow-root", "--port", "8899"], None)], opened
    assert not (Path.cwd() / "8899").exists(), "the port was taken for a folder"


def test_open_gives_the_kernels_the_workspaces_language(tmp_path, monkeypatch):
    """--lang when given, else the language the workspace was made in, reaches JupyterLab's environment."""
    environments = []
    monkeypatch.setattr(workspace.subprocess, "call", lambda command, **options: environments.append(options["env"]))
    workspace.main([str(tmp_path / "zh"), "--lang", "zh_CN"])
    workspace.main([str(tmp_path / "zh"), "--open"])
    workspace.main([str(tmp_path / "en"), "--open"])
    assert environments[0].get("COURSE_LANGUAGE") == "zh_CN"
    assert environments[1].get("COURSE_LANGUAGE") == os.environ.get("COURSE_LANGUAGE")


def test_jupyterlab_serves_the_whole_workspace_and_opens_the_first_lecture(tmp_path, monkeypatch):
    """Given a notebook alone, Jupyter serves only its folder: the labs would be out of the lectures' reach."""
    calls = []
    monkeypatch.setattr(workspace.subprocess, "call", lambda command, **options: calls.append((command, options)) or 0)
    folder = tmp_path / "work"
    assert workspace.open_in_jupyterlab(folder, ["--port", "8899"]) == 0
    (command, options), = calls
    assert command[command.index("lab") + 1] == workspace.FIRST_NOTEBOOK
    assert f"--ServerApp.root_dir={folder.resolve()}" in command and command[-2:] == ["--port", "8899"]
    assert options["cwd"] == folder


def test_a_missing_labs_folder_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="requirements.txt"):
        workspace.create(tmp_path / "work", labs=tmp_path / "no-labs")


def notebook_links(path: Path) -> list[str]:
    """The relative links to notebooks in the markdown cells of ``path``."""
    cells = nbformat.read(path, as_version=4).cells
    return [target for cell in cells if cell.cell_type == "markdown"
            for target in re.findall(r"\]\(([^)\s]+\.ipynb)\)", cell.source) if "://" not in target]


def test_each_lecture_links_to_its_lab_and_each_lab_back_and_every_link_opens(tmp_path):
    folder = tmp_path / "work"
    report = workspace.create(folder)
    broken, missing = [], []
    for name in report.copied:
        path = folder / name
        links = notebook_links(path)
        broken += [f"{name} -> {link}" for link in links if not (path.parent / link).resolve().is_file()]
        topic = path.stem
        partner = f"labs/{topic}/{topic}.ipynb" if name.startswith("lectures/") else f"lectures/{topic}.ipynb"
        if not any((path.parent / link).resolve() == (folder / partner).resolve() for link in links):
            missing.append(f"{name} does not link to {partner}")
    assert not broken and not missing, "\n".join(broken + missing)
