"""grader.files: a write that a crash cannot leave half done, and that a link planted beside it cannot redirect."""

import os

import pytest

from grader.files import write_atomically


def test_the_new_text_replaces_the_old_whole(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("old\n")
    write_atomically(path, "new\n")
    assert path.read_text() == "new\n" and not (tmp_path / "grades.csv.partial").exists()


def test_a_link_where_the_partial_file_goes_is_not_written_through(tmp_path):
    victim = tmp_path / "someone-elses-file"
    victim.write_text("untouched\n")
    os.symlink(victim, tmp_path / "grades.csv.partial")
    with pytest.raises(OSError):
        write_atomically(tmp_path / "grades.csv", "the grade sheet\n")
    assert victim.read_text() == "untouched\n" and not (tmp_path / "grades.csv").exists()
