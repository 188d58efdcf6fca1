"""The order autograde hands submissions to its kernels: the longest first, judged by what the ledger says the
assignment's submissions took last time, then by how much the student wrote (no kernel runs here)."""

import json
from types import SimpleNamespace

from grader.autograde import longest_first
from grader.ledger import UnitRecord


def job(tmp_path, student, assignment, notebook_bytes):
    folder = tmp_path / student / assignment
    folder.mkdir(parents=True)
    (folder / f"{assignment}.ipynb").write_bytes(b" " * notebook_bytes)
    (folder / "timestamp.txt").write_text("2026-12-04 10:00:00 UTC")  # not a notebook: not counted
    return SimpleNamespace(student=student, assignment=assignment, folder=str(folder))


def test_the_slow_assignment_goes_first_then_the_fuller_notebooks(tmp_path):
    jobs = [job(tmp_path, "a", "01_backprop", 900), job(tmp_path, "b", "06_dcgan", 100),
            job(tmp_path, "c", "06_dcgan", 500), job(tmp_path, "d", "01_backprop", 200)]
    took = {"06_dcgan": [12.0, 20.0], "01_backprop": [3.0]}
    order = [(unit.student, unit.assignment) for unit in longest_first(jobs, took)]
    assert order == [("c", "06_dcgan"), ("b", "06_dcgan"), ("a", "01_backprop"), ("d", "01_backprop")]


def test_without_a_history_the_fuller_notebooks_go_first(tmp_path):
    jobs = [job(tmp_path, "blank", "02_cnn", 100), job(tmp_path, "solved", "02_cnn", 400),
            job(tmp_path, "half", "03_rnn", 250)]
    assert [unit.student for unit in longest_first(jobs, {})] == ["solved", "half", "blank"]


def test_a_ledger_written_before_the_time_was_kept_still_loads(tmp_path):
    ledger = tmp_path / "ledger.json"
    ledger.write_text(json.dumps({"student": "s", "assignment": "01_backprop", "digest": "d", "scores": {},
                                  "max_score": 100.0, "score": 0.0, "notes": {}, "rejected": {}, "graded_at": 1.0}))
    record = UnitRecord.load(ledger)
    assert record is not None and record.seconds == 0.0
