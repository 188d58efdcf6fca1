"""course.gan_variants.papers and course.gan.benchmark's table: the verdict on this kit's runs, ranked against no
paper, and the published rows printed under each target."""

import pytest

from course.gan.benchmark import CoverageRun, coverage_table
from course.gan_variants.papers import (PUBLISHED, benchmark_verdict, best_run, covers_every_mode, find_run,
                                        published_setting_note)
from gan_helpers import one_cpu_thread

pytestmark = pytest.mark.usefixtures(one_cpu_thread.__name__)  # every test here on one CPU thread

RUNS = [
    CoverageRun("vanilla", "ring", 8, (8, 8), (0.5, 0.6)),
    CoverageRun("WGAN-GP", "ring", 8, (8, 7), (0.9, 0.95)),  # best share, but misses a mode on one seed
    CoverageRun("CGAN", "ring", 8, (8, 8), (0.99, 0.98)),  # told the mode: left out by default
    CoverageRun("minibatch discrimination", "ring", 8, (8, 8), (0.7, 0.62)),
    CoverageRun("vanilla", "grid", 25, (25, 24), (0.3, 0.3)),
]


def test_covers_every_mode_means_on_every_seed():
    assert [covers_every_mode(run) for run in RUNS] == [True, False, True, True, False]


def test_best_run_is_the_best_complete_unsupervised_run():
    assert best_run(RUNS, "ring") is RUNS[3]
    assert best_run(RUNS, "ring", exclude=()) is RUNS[2]
    assert best_run(RUNS, "ring", exclude=("CGAN", "minibatch discrimination")) is RUNS[0]
    assert best_run(RUNS, "grid") is None and best_run(RUNS, "spiral") is None


def test_find_run_finds_by_target_and_label_and_names_the_choices_when_missing():
    assert find_run(RUNS, "ring", "CGAN") is RUNS[2] and find_run(RUNS, "grid", "vanilla") is RUNS[4]
    with pytest.raises(ValueError, match=r"no run labelled 'InfoGAN' on 'grid'; the runs there are \['vanilla'\]"):
        find_run(RUNS, "grid", "InfoGAN")


def test_benchmark_verdict_names_the_best_complete_run_and_cgan_beside_it_and_ranks_nothing_against_papers():
    ring, ring_cgan, grid = benchmark_verdict(RUNS).splitlines()
    best = RUNS[3]
    assert ring == (f"ring: best unsupervised variant covering every mode on every seed: {best.label}, "
                    f"{best.mean_high_quality_share:.1%} high quality")
    assert ring_cgan.split() == ["CGAN", "(told", "the", "mode):", "8.0/8", "modes,", "98.5%", "high", "quality,",
                                 "every", "mode", "on", "every", "seed:", "True"]
    assert grid == "grid: no unsupervised variant covered every mode on every seed"  # and no CGAN row there
    assert "paper" not in benchmark_verdict(RUNS)


def test_published_setting_note_says_what_differs_with_both_plain_gans_ring_coverage():
    vanilla_ring = next(run for run in RUNS if run.target == "ring" and run.label == "vanilla")
    note = published_setting_note(RUNS)
    assert f"covered 1 of the ring's 8 modes, this kit's {vanilla_ring.mean_modes_covered:.1f}" in note
    assert "not its setting" in note and "context" in note
    assert "(no vanilla ring run here)" in published_setting_note([run for run in RUNS if run.target == "grid"])


def test_coverage_table_lists_our_rows_then_the_published_ones_per_target():
    table = coverage_table(RUNS, PUBLISHED)
    header, rule, *lines = table.splitlines()
    assert set(rule) == {"-"} and len(rule) == len(header)
    method = slice(header.index("method"), header.index("source"))
    for target in ("ring", "grid"):
        ours = [run for run in RUNS if run.target == target]
        published = [p for p in PUBLISHED if p.target == target]
        block = [line for line in lines if line.startswith(target)]
        assert [line[method].strip() for line in block] == [run.label for run in ours] + [p.method for p in published]
        for run, line in zip(ours, block):
            assert f"{run.mean_high_quality_share:.1%}" in line and ", ".join(map(str, run.modes_covered)) in line
            assert f"{run.mean_modes_covered:.1f} / {run.modes}" in line
        for p, line in zip(published, block[len(ours):]):
            assert p.source in line and f"{p.high_quality_share:.1%}" in line and f"{p.modes_covered:.1f}" in line
    assert lines.index(next(line for line in lines if line.startswith("grid"))) > max(
        i for i, line in enumerate(lines) if line.startswith("ring"))
    only_ring = coverage_table(RUNS[:4], PUBLISHED)
    assert not any(line.startswith("grid") for line in only_ring.splitlines())
