"""The shipped results: present, written by their code, in step with the settings that made them."""

import pytest

from course import mode_collapse, shipped
from course.gan.benchmark import coverage_table
from course.repro import full_size


@pytest.mark.parametrize("name", sorted(shipped.RESULTS))
def test_each_result_is_shipped_and_says_how_it_was_made(name):
    result = shipped.RESULTS[name]
    assert result.path.is_file(), f"{result.path} is missing: `{result.command}` writes it"
    made = _provenance(name)
    assert made["command"] == result.command
    assert made["seconds"] > 0 and made["settings"]
    line = shipped.describe(made)
    assert result.command in line and made["date"] in line


def test_the_mode_collapse_file_holds_every_setting_on_both_targets_at_full_size():
    runs, made = mode_collapse.shipped_benchmark()
    assert made["settings"] == {"steps": mode_collapse.FULL_STEPS, "seeds": mode_collapse.FULL_SEEDS,
                                "players": mode_collapse.PLAYERS, "settings": list(mode_collapse.SETTINGS)}, (
        "course.mode_collapse changed since the shipped result was made: run `python -m course.shipped mode_collapse`")
    assert [(run.target, run.label) for run in runs] == [
        (target, label) for target in ("ring", "grid") for label in mode_collapse.SETTINGS]
    for run in runs:
        assert run.modes == {"ring": 8, "grid": 25}[run.target]
        assert len(run.modes_covered) == len(run.high_quality_share) == mode_collapse.FULL_SEEDS
        assert all(0 <= covered <= run.modes for covered in run.modes_covered)
        assert all(0.0 <= share <= 1.0 for share in run.high_quality_share)


def test_a_computed_benchmark_survives_the_round_trip_through_its_file(tmp_path):
    runs = mode_collapse.collapse_benchmark(steps=20, seeds=[0, 1], device="cpu")
    path = tmp_path / "mode_collapse.json"
    made = shipped.provenance(shipped.RESULTS["mode_collapse"], 1.0, {"steps": 20})
    mode_collapse.save(path, [mode_collapse._as_row(run) for run in runs], made)
    loaded, loaded_made = mode_collapse.shipped_benchmark(path)
    assert loaded == runs  # CoverageRun compares labels, targets, modes and the per-seed values
    assert loaded_made == made
    assert coverage_table(loaded) == coverage_table(runs)


def test_a_missing_file_says_which_command_writes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m course.shipped mode_collapse"):
        mode_collapse.shipped_benchmark(tmp_path / "mode_collapse.json")


def test_the_cli_lists_the_results(capsys):
    shipped.main([])
    listing = capsys.readouterr().out
    assert all(name in listing for name in shipped.RESULTS)
    with pytest.raises(SystemExit, match="no shipped result called 'nonsense'"):
        shipped.main(["nonsense"])


@pytest.mark.skipif(not full_size(), reason="full size only (COURSE_FULL=1): 10,000 steps of one setting")
def test_the_first_setting_reproduces_its_shipped_row():
    runs, _ = mode_collapse.shipped_benchmark()
    label, options = next(iter(mode_collapse.SETTINGS.items()))
    fresh = mode_collapse.measure_mode_coverage(mode_collapse.ring_2d(), label, mode_collapse.FULL_STEPS, [0],
                                                **options, **mode_collapse.PLAYERS, device="cpu")
    assert fresh.modes_covered[0] == runs[0].modes_covered[0]
    assert fresh.high_quality_share[0] == pytest.approx(runs[0].high_quality_share[0], abs=0.02)


def _provenance(name):
    result = shipped.RESULTS[name]
    if result.filename.endswith(".json"):
        return shipped.read_json(result.path)[1]
    return shipped.read_torch(result.path)[1]


def test_the_shipped_dcgan_is_the_default_run_and_draws_digits():
    from dataclasses import asdict

    from course.dcgan_digits import shipped_dcgan
    from course.dcgan_config import TrainConfig
    from course.digit_quality import score_generated

    shipped = shipped_dcgan()
    defaults = asdict(TrainConfig())
    assert shipped.config == {name: value for name, value in defaults.items() if name in shipped.config}, (
        "course.dcgan_train's defaults changed since the shipped DCGAN was trained: "
        "run `python -m course.shipped dcgan_digits`")
    assert shipped.trace("step")[-1] == shipped.config["steps"]
    drawn = shipped.draw(shipped.latent(1000, seed=2))
    assert drawn.shape == (1000, 1, 32, 32) and drawn.abs().max() <= 1
    report = score_generated(drawn)  # on the weights as shipped: digits of every class (a 32x32 run: 52 %, FD 33)
    assert report.confident_share > 0.8 and report.classes_covered == 10 and report.frechet_distance < 16


def test_the_vae_gan_file_holds_both_models_for_every_seed_at_full_size():
    from course import bench_vae_gan

    by_seed, made = bench_vae_gan.shipped_comparison()
    assert made["settings"] == {**bench_vae_gan.FULL, "seeds": list(bench_vae_gan.SHIPPED_SEEDS),
                                "samples": bench_vae_gan.SAMPLES}, (
        "course.bench_vae_gan changed since the shipped result was made: run `python -m course.shipped vae_vs_gan`")
    assert list(by_seed) == list(bench_vae_gan.SHIPPED_SEEDS)
    for scores in by_seed.values():
        assert [score.model for score in scores] == [f"VAE, {bench_vae_gan.FULL['epochs']} epochs",
                                                     f"GAN, {bench_vae_gan.FULL['steps']} steps"]
        for score in scores:
            assert 0 < score.sharpness < 1 and 0 <= score.confident_share <= 1 and score.frechet_distance > 0
            assert 0 <= score.smallest_class <= 1000 and 0 <= score.classes_covered <= 10


def test_a_computed_comparison_survives_its_file_and_prints_a_row_per_seed_and_model(tmp_path):
    from dataclasses import asdict

    from course import bench_vae_gan

    sizes = {"epochs": 2, "steps": 5}
    computed = {seed: bench_vae_gan.seed_scores(sizes, seed, "cpu") for seed in (0, 1)}
    path = tmp_path / "vae_vs_gan.json"
    made = shipped.provenance(shipped.RESULTS["vae_vs_gan"], 1.0, sizes)
    bench_vae_gan.save(path, [{"seed": seed, **asdict(score)} for seed, scores in computed.items()
                              for score in scores], made)
    loaded, loaded_made = bench_vae_gan.shipped_comparison(path)
    assert loaded == computed and loaded_made == made
    table = bench_vae_gan.seeded_table(loaded, real_sharpness=0.24).splitlines()
    assert table[0].startswith("seed  model") and "0.240" in table[1]
    assert [line.split()[:3] for line in table[3:]] == [[str(seed), model, str(size)] for seed in (0, 1)
                                                        for model, size in (("VAE,", 2), ("GAN,", 5))]
