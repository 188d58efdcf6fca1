"""course.gan.benchmark: each seed scored as a trainer scored by hand."""

import pytest

from course.gan.benchmark import coverage_table, measure_mode_coverage
from course.gan.measures import mode_coverage
from course.gan.targets import ring_2d
from course.gan.training import GANTrainer


def test_measure_mode_coverage_scores_each_seed_like_a_trainer_scored_by_hand():
    options = dict(noise_dim=2, hidden=16, batch_size=64, device="cpu")
    run = measure_mode_coverage(ring_2d(), "vanilla", steps=30, seeds=[0, 1], samples=500, **options)
    for index, seed in enumerate([0, 1]):
        trainer = GANTrainer(ring_2d(), seed=seed, **options)
        trainer.step(30)
        by_hand = mode_coverage(trainer.generate(500, seed=10_000 + seed), ring_2d())
        assert run.modes_covered[index] == by_hand.modes_covered
        assert run.high_quality_share[index] == by_hand.high_quality_share
    assert run.mean_modes_covered == sum(run.modes_covered) / 2 and run.modes == 8
    table = coverage_table([run])
    assert "ring" in table and "vanilla" in table and f"{run.mean_high_quality_share:.1%}" in table
    with pytest.raises(ValueError, match="at least one step and one seed"):
        measure_mode_coverage(ring_2d(), "none", steps=10, seeds=[])
