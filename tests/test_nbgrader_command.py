"""The grader's nbgrader runs start without two costs and lose nothing by it: the gradebook they create records the
same schema revision nbgrader's own ``alembic heads`` gives, and notebooks are still validated."""

import sqlite3
import subprocess
import sys

import nbformat
import nbgrader.api
import pytest

from grader.nbgrader_command import newest_schema_revision
from grader.workspace import run_nbgrader


def test_the_schema_revision_is_the_one_alembic_heads_gives():
    assert newest_schema_revision() == nbgrader.api.get_alembic_version()


def one_lab_course(root):
    (root / "source" / "lab").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]),
                   str(root / "source" / "lab" / "lab.ipynb"))


def test_a_gradebook_created_by_a_run_records_that_revision(tmp_path):
    one_lab_course(tmp_path)
    run_nbgrader(tmp_path, "generate_assignment", "lab")
    with sqlite3.connect(tmp_path / "gradebook.db") as database:
        (revision,), = database.execute("SELECT version_num FROM alembic_version").fetchall()
    assert revision == nbgrader.api.get_alembic_version()
    assert (tmp_path / "release" / "lab" / "lab.ipynb").is_file()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="python -P is new in Python 3.11")
def test_a_folder_named_grader_in_the_course_does_not_stand_in_for_the_kit(tmp_path):
    one_lab_course(tmp_path)
    (tmp_path / "grader").mkdir()
    (tmp_path / "grader" / "__init__.py").write_text("raise SystemExit('the course folder stood in for the kit')")
    run_nbgrader(tmp_path, "generate_assignment", "lab")
    assert (tmp_path / "release" / "lab" / "lab.ipynb").is_file()


@pytest.mark.parametrize("program", ["import grader", "import grader.nbgrader_command"])
def test_grader_processes_skip_the_iri_checker_and_still_validate_notebooks(program):
    check = ("; import sys, nbformat; print(sys.modules.get('rfc3987_syntax'));"
             " nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x')])); print('valid')")
    result = subprocess.run([sys.executable, "-c", program + check], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["None", "valid"], result.stderr
