"""grader.timestamps and grader.files: timestamp.txt in nbgrader's format, and writes a crash cannot leave half done
(fast)."""

from datetime import datetime, timedelta, timezone

import pytest
from nbgrader.utils import parse_utc

from grader.files import replace_folder, write_atomically
from grader.timestamps import parse_timestamp, read_timestamp, timestamp_text

MOMENT = datetime(2026, 12, 4, 10, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))


def test_a_written_timestamp_reads_back_as_nbgrader_reads_it():
    text = timestamp_text(MOMENT)
    assert text == "2026-12-04 08:30:05.123456 UTC"
    assert parse_timestamp(text) == MOMENT
    assert parse_utc(text) == MOMENT.astimezone(timezone.utc).replace(tzinfo=None)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-45 99:00:00", "\x00", "9" * 400])
def test_an_unreadable_timestamp_is_none(text):
    assert parse_timestamp(text) is None


def test_a_folder_without_a_readable_timestamp_has_none(tmp_path):
    assert read_timestamp(tmp_path) is None
    (tmp_path / "timestamp.txt").mkdir()
    assert read_timestamp(tmp_path) is None


def test_a_timestamp_file_is_read_from_its_folder(tmp_path):
    (tmp_path / "timestamp.txt").write_text(timestamp_text(MOMENT) + "\n")
    assert read_timestamp(tmp_path) == MOMENT


def test_an_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "deep" / "ledger.json"
    write_atomically(target, "first")
    write_atomically(target, "second")
    assert target.read_text() == "second" and sorted(p.name for p in target.parent.iterdir()) == ["ledger.json"]


def test_a_replaced_folder_holds_exactly_the_new_files(tmp_path):
    folder = tmp_path / "submitted" / "s1" / "01_lab"
    replace_folder(folder, {"a.ipynb": b"1", "timestamp.txt": b"t"})
    replace_folder(folder, {"b.ipynb": b"2"})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"b.ipynb": b"2"}
    assert [p.name for p in folder.parent.iterdir()] == ["01_lab"]
