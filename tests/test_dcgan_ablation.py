"""Lecture 06's shipped DCGAN table: each row is the run its options name, and the shipped file holds those rows."""

import dataclasses

import pytest

from course.dcgan_ablation import ROWS, ablation_table, shipped_ablation
from course.dcgan_config import TrainConfig, parse_config

RUN_FIELDS = [field.name for field in dataclasses.fields(TrainConfig)
              if field.name not in ("out_dir", "device", "threads", "checkpoint_every", "sample_every")]


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.options)
def test_each_row_is_the_run_its_command_line_names(row):
    options = [] if row.options == "(none)" else row.options.split()
    from_the_command_line, _ = parse_config(["--score", *options])
    as_shipped = row.config()
    differing = [name for name in RUN_FIELDS if getattr(as_shipped, name) != getattr(from_the_command_line, name)]
    assert not differing, f"{row.options}: the shipped run differs from the command in {differing}"


def test_the_default_row_is_the_scripts_default():
    default = next(row for row in ROWS if row.options == "(none)").config()
    assert all(getattr(default, name) == getattr(TrainConfig(), name) for name in RUN_FIELDS)


def test_the_shipped_table_has_every_row_and_prints_them():
    payload, made = shipped_ablation()
    assert [row["options"] for row in payload["rows"]] == [row.options for row in ROWS], "rerun the shipped table"
    table = ablation_table(payload)
    assert all(row.change in table for row in ROWS) and "real training digits" in table
    assert made["command"] == "python -m course.shipped dcgan_ablation"
