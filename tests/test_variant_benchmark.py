"""course.variant_benchmark: lecture 07's tables, trained one seed at a time (here or in worker processes) and
the same runs as course.gan.measure_mode_coverage over all seeds at once; their shipped file in step with the code."""

import pytest
import torch

from course import shipped, variant_benchmark
from course.gan.benchmark import measure_mode_coverage
from course.gan_variants.trainer import VariantTrainer
from course.gan_variants.variants import VARIANTS
from course.variant_benchmark import Setting

TINY_STEPS = 3


def assert_same_runs(ours, theirs):
    assert ours == theirs  # labels, targets, modes and the per-seed values
    assert torch.equal(ours.example, theirs.example)


@pytest.mark.parametrize("setting", [Setting("benchmark", "ring", "WGAN-GP", "WGAN-GP"),
                                     Setting("settled", "grid", "InfoGAN", "InfoGAN", 128, True)],
                         ids=["benchmark", "settled"])
def test_seeds_trained_one_at_a_time_are_the_runs_of_one_call(setting):
    together = measure_mode_coverage(variant_benchmark.TARGETS[setting.target](), setting.label, TINY_STEPS, [0, 1],
                                     trainer=VariantTrainer, variant=setting.variant, device="cpu",
                                     **setting.options(TINY_STEPS))
    apart = variant_benchmark.merge_seeds([variant_benchmark.train_one_seed(setting, TINY_STEPS, seed, "cpu")
                                           for seed in (0, 1)])
    assert_same_runs(apart, together)


def test_the_settings_are_the_lectures_rows():
    rows = variant_benchmark.settings()
    benchmark = [(row.target, row.label) for row in rows if row.table == "benchmark"]
    assert benchmark == [(target, name) for target in ("ring", "grid") for name in VARIANTS]
    settled = [row for row in rows if row.table == "settled"]
    assert {row.variant for row in settled} == set(variant_benchmark.SETTLED_VARIANTS)
    assert all(row.hidden == 128 and row.decaying for row in settled)
    assert settled[0].options(500)["lr_decay_steps"] == 500 and rows[0].options(500)["lr_decay_steps"] is None


@pytest.mark.slow
def test_worker_processes_train_the_same_tables_and_the_file_keeps_them(tmp_path):
    here = variant_benchmark.variant_tables(steps=2, seeds=[0], device="cpu", workers=1)
    apart = variant_benchmark.variant_tables(steps=2, seeds=[0], device="cpu", workers=2)
    assert list(here) == ["benchmark", "settled", "ablation"] and here == apart
    for name in here:
        for ours, theirs in zip(here[name], apart[name]):
            assert_same_runs(ours, theirs)
    path = tmp_path / "variant_benchmark.pt"
    made = shipped.provenance(shipped.RESULTS["variant_benchmark"], 1.0, {"steps": 2})
    rows = {name: [variant_benchmark._as_row(run, keep_example=name == "benchmark" and run.target == "grid")
                   for run in runs] for name, runs in here.items()}
    variant_benchmark.save(path, rows, made)
    loaded, loaded_made = variant_benchmark.shipped_tables(path)
    assert loaded == here and loaded_made == made
    for name, runs in loaded.items():
        for run, original in zip(runs, here[name]):
            if name == "benchmark" and run.target == "grid":
                assert torch.equal(run.example, original.example)
            else:
                assert run.example is None
    ablation = variant_benchmark.ablation_table(loaded)
    assert [run.label for run in ablation] == ["InfoGAN, 64 units, constant", "InfoGAN, 64 units, decaying",
                                               "InfoGAN, 128 units, constant", "InfoGAN, 128 units, decaying"]
    assert ablation[0].modes_covered == next(run for run in here["benchmark"] if run.target == "grid"
                                             and run.label == "InfoGAN").modes_covered


def test_the_shipped_tables_are_the_full_size_of_the_current_settings():
    tables, made = variant_benchmark.shipped_tables()
    assert made["settings"] == variant_benchmark.expected_settings(), (
        "course.variant_benchmark changed since the shipped result was made: "
        "run `python -m course.shipped variant_benchmark`")
    rows = variant_benchmark.settings()
    assert [(run.target, run.label) for name in tables for run in tables[name]] == [(row.target, row.label)
                                                                                     for row in rows]
    for name, runs in tables.items():
        for run in runs:
            assert len(run.modes_covered) == len(run.high_quality_share) == variant_benchmark.FULL_SEEDS
            assert all(0 <= covered <= run.modes for covered in run.modes_covered)
            plotted = name == "benchmark" and run.target == "grid"
            assert (run.example is not None) == plotted
            if plotted:
                assert run.example.shape == (2500, 2)


def test_a_missing_file_says_which_command_writes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m course.shipped variant_benchmark"):
        variant_benchmark.shipped_tables(tmp_path / "variant_benchmark.pt")
