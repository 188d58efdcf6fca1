"""course.dcgan_train: one step replayed with plain torch (the paper's step, and the default's step with a code),
seeded runs, exact resume, the decaying rates, the files a run writes, the CLI, and two torchrun processes ending
with the same generator."""

import copy
import csv
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from course.bench_dcgan import TextbookDiscriminator, TextbookGenerator, textbook_step
from course.dcgan_checkpoint import CHECKPOINT_NAME, LOG_COLUMNS, LOG_NAME, read_log
from course.dcgan_config import TrainConfig
from course.dcgan_samples import quality_report
from course.dcgan_train import DCGANTraining, main
from course.dcgan import latent_with_codes
from course.image_data import digits_images

TINY = dict(nz=8, ngf=4, ndf=4, batch_size=16, device="cpu", log_every=2, image_size=32, codes=0, lr_decay=False,
            real_label=1.0)
# the default's recipe: 8x8, a code, decaying rates, smoothed real labels
TINY_CODED = {**TINY, "image_size": 8, "codes": 4, "lr_decay": True, "real_label": 0.9}
TINY_ARGS = ["--nz", "8", "--ngf", "4", "--ndf", "4", "--batch-size", "16", "--device", "cpu", "--log-every", "2"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: one thread is as fast, and much faster while another process holds a core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits32():
    return digits_images(32)


@pytest.fixture(scope="module")
def digits8():
    return digits_images(8)


def tiny(tmp_path, digits32, name="run", **overrides) -> DCGANTraining:
    config = TrainConfig(**{**TINY, "out_dir": str(tmp_path / name), **overrides})
    return DCGANTraining(config, dataset=digits32)


def parameters(training: DCGANTraining) -> dict[str, torch.Tensor]:
    """Every parameter and buffer (BatchNorm running statistics too) of G and D."""
    return {**{f"G.{k}": v for k, v in training.generator.state_dict().items()},
            **{f"D.{k}": v for k, v in training.discriminator.state_dict().items()}}


def assert_bit_identical(a: dict, b: dict):
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), f"{name} differs"


def plain_discriminator_step(D, d_opt, real, fake, real_label=1.0):
    """The paper's D update in plain torch: BCE(D(x), real_label) + BCE(D(G(z).detach()), 0); (loss, real and fake
    logits)."""
    real_logits, fake_logits = D(real), D(fake.detach())
    d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.full((len(real),), real_label))
              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros(len(fake))))
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()
    return d_loss, real_logits, fake_logits


@pytest.mark.parametrize("real_label", [1.0, 0.9], ids=["hard-labels", "smoothed"])
def test_train_step_is_the_dcgan_step_in_plain_torch(tmp_path, digits32, real_label):
    training = tiny(tmp_path, digits32, real_label=real_label)
    G, D = copy.deepcopy(training.generator), copy.deepcopy(training.discriminator)
    g_opt = torch.optim.Adam(G.parameters(), lr=training.config.lr, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=training.config.lr, betas=(0.5, 0.999))
    real = next(training.real_batches())
    noise = torch.randn(len(real), 8, generator=copy.deepcopy(training.noise_rng))

    stats = training.train_step(real)

    fake = G(noise)
    d_loss, real_logits, fake_logits = plain_discriminator_step(D, d_opt, real, fake, real_label)
    g_loss = F.binary_cross_entropy_with_logits(D(fake), torch.ones(16))  # the updated D, the same fakes: G's label 1
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()

    expected = torch.stack([d_loss, g_loss, torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()])
    torch.testing.assert_close(stats, expected.detach())
    for mine, theirs in ((training.generator, G), (training.discriminator, D)):
        for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values()):
            torch.testing.assert_close(a, b, msg=f"{name} differs from the plain-torch step")


def test_textbook_step_of_the_benchmark_matches_the_kit_step(tmp_path, digits32):
    """The benchmark compares like with like: BCELoss on sigmoid outputs reaches the kit's parameters."""
    training = tiny(tmp_path, digits32)
    netG = TextbookGenerator(8, 4, 1, 32)
    netD = TextbookDiscriminator(4, 1, 32)
    netG.load_state_dict(training.generator.state_dict())
    netD.load_state_dict(training.discriminator.state_dict())
    optimizerG = torch.optim.Adam(netG.parameters(), lr=training.config.lr, betas=(0.5, 0.999))
    optimizerD = torch.optim.Adam(netD.parameters(), lr=training.config.lr, betas=(0.5, 0.999))
    real = next(training.real_batches())
    noise = torch.randn(len(real), 8, generator=copy.deepcopy(training.noise_rng))
    training.train_step(real)
    textbook_step(netG, netD, optimizerG, optimizerD, real, noise.reshape(16, 8, 1, 1))
    for a, b in zip(training.generator.parameters(), netG.parameters()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_same_seed_same_run_other_seed_other_run(tmp_path, digits32):
    runs = [tiny(tmp_path, digits32, name, seed=seed) for name, seed in (("a", 0), ("b", 0), ("c", 1))]
    for run in runs:
        run.train(4)
    assert_bit_identical(parameters(runs[0]), parameters(runs[1]))
    assert runs[0].history == runs[1].history
    assert not torch.equal(runs[0].generator.main[0].weight, runs[2].generator.main[0].weight)


@pytest.mark.parametrize("sizes", [TINY, {**TINY_CODED, "steps": 7}], ids=["paper-rules", "coded-decaying"])
def test_resume_reaches_exactly_the_uninterrupted_state(tmp_path, digits32, digits8, sizes):
    # 7 steps straight vs 4 + resume + 3, across an epoch boundary (84 images per epoch: 5 batches of 16)
    images = digits32 if sizes.get("image_size") == 32 else digits8
    small = torch.utils.data.TensorDataset(*(t[:84] for t in images.tensors))
    straight = DCGANTraining(TrainConfig(**sizes, out_dir=str(tmp_path / "straight")), dataset=small)
    straight.train(7)
    first = DCGANTraining(TrainConfig(**sizes, out_dir=str(tmp_path / "resumed")), dataset=small)
    first.train(4)
    assert not torch.equal(first.generator.main[0].weight, straight.generator.main[0].weight)
    second = DCGANTraining(TrainConfig(**{**sizes, "seed": 99}, out_dir=str(tmp_path / "resumed")), dataset=small)
    second.resume()  # the seed given now does not matter: every random state comes from the checkpoint
    assert second.step == 4
    second.train(7)
    assert_bit_identical(parameters(second), parameters(straight))
    optimizers = ["g_optimizer", "d_optimizer"] + (["q_optimizer"] if sizes["codes"] else [])
    for name in optimizers:
        mine, theirs = getattr(second, name), getattr(straight, name)
        for a, b in zip(mine.state_dict()["state"].values(), theirs.state_dict()["state"].values()):
            assert all(torch.equal(a[key], b[key]) for key in a)
    if sizes["codes"]:
        assert_bit_identical(second.code_head.state_dict(), straight.code_head.state_dict())
    assert second.history == straight.history
    assert read_log(tmp_path / "resumed") == read_log(tmp_path / "straight")


def test_resume_without_checkpoint_says_so(tmp_path, digits32):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        tiny(tmp_path, digits32).resume()


def test_a_run_writes_log_grids_and_a_loadable_checkpoint(tmp_path, digits32):
    training = tiny(tmp_path, digits32, sample_every=2, checkpoint_every=3)
    training.train(5)
    out = tmp_path / "run"
    assert sorted(p.name for p in out.glob("samples_*.png")) == [f"samples_00000{i}.png" for i in (2, 4, 5)]
    with Image.open(out / "samples_000005.png") as grid:
        assert grid.size == (8 * 32 + 9 * 2, 8 * 32 + 9 * 2)  # 8 x 8 images, save_image's 2-pixel padding
    with open(out / LOG_NAME, newline="") as log:
        rows = list(csv.reader(log))
    assert tuple(rows[0]) == LOG_COLUMNS and [int(r[0]) for r in rows[1:]] == [1, 2, 3, 4, 5]
    torch.testing.assert_close(torch.tensor([[float(v) for v in r] for r in rows[1:]]),
                               torch.tensor(training.history), rtol=1e-5, atol=1e-6)
    state = torch.load(out / CHECKPOINT_NAME, weights_only=True)
    assert state["step"] == 5 and state["history"].shape == (5, len(LOG_COLUMNS))
    assert_bit_identical(state["generator"], training.generator.state_dict())
    assert {"g_optimizer", "d_optimizer", "noise_rng", "torch_rng", "numpy_rng", "python_rng"} <= state.keys()


def test_sample_grid_uses_fixed_noise_and_leaves_the_generator_alone(tmp_path, digits32):
    training = tiny(tmp_path, digits32)
    training.train(2)
    before = copy.deepcopy(training.generator.state_dict())
    grid = training.generate()
    assert_bit_identical(training.generator.state_dict(), before)
    reference = copy.deepcopy(training.generator).train()
    with torch.no_grad():
        torch.testing.assert_close(grid, reference(training.fixed_noise))
    assert grid.shape == (64, 1, 32, 32)


def test_full_size_switch_gives_the_paper_sizes(monkeypatch):
    monkeypatch.setenv("COURSE_FULL", "1")
    full = TrainConfig.default()
    assert (full.image_size, full.nz, full.ngf, full.ndf, full.batch_size) == (64, 100, 64, 64, 128)
    assert (full.codes, full.lr, full.lr_decay, full.real_label) == (0, 2e-4, False, 1.0)  # the paper's DCGAN
    monkeypatch.delenv("COURSE_FULL")
    default = TrainConfig.default()
    assert (default.image_size, default.codes, default.lr_decay) == (8, 10, True)
    paper = TrainConfig.paper_rules()
    assert (paper.image_size, paper.codes, paper.lr, paper.betas, paper.lr_decay) == (32, 0, 2e-4, (0.5, 0.999), False)
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="real_label=0.3"):
        TrainConfig(real_label=0.3)
    with pytest.raises(ValueError, match="codes=1"):
        TrainConfig(codes=1)
    with pytest.raises(ValueError, match="digits' own size"):
        TrainConfig(dataset="mnist", image_size=8)


def test_the_coded_step_is_infogans_step_in_plain_torch(tmp_path, digits8):
    """G's loss is the non-saturating loss plus the code's weighted cross-entropy through Q on D's features; D's
    step is the paper's; the rate of step s of S is lr * (1 - s / S)."""
    training = tiny(tmp_path, digits8, **TINY_CODED, steps=4)
    training.step = 1  # the second of four steps: lr * 3/4
    G, D, Q = (copy.deepcopy(model) for model in (training.generator, training.discriminator, training.code_head))
    rate = training.config.lr * 3 / 4
    g_opt, d_opt, q_opt = (torch.optim.Adam(model.parameters(), lr=rate, betas=(0.5, 0.999)) for model in (G, D, Q))
    real = next(training.real_batches())
    stream = copy.deepcopy(training.noise_rng)
    noise = torch.randn(16, 8, generator=stream)
    codes = torch.randint(4, (16,), generator=stream)

    stats = training.train_step(real)

    fake = G(torch.cat([noise, F.one_hot(codes, 4).float()], dim=1))
    d_loss, real_logits, fake_logits = plain_discriminator_step(D, d_opt, real, fake, TINY_CODED["real_label"])
    D.requires_grad_(False)
    features = D.main[:-1](fake)
    g_loss = F.binary_cross_entropy_with_logits(D.main[-1](features).reshape(-1), torch.ones(16))
    code_loss = training.config.code_weight * F.cross_entropy(Q(features), codes)
    g_opt.zero_grad()
    q_opt.zero_grad()
    (g_loss + code_loss).backward()
    g_opt.step()
    q_opt.step()

    torch.testing.assert_close(stats[:2], torch.stack([d_loss, g_loss]).detach())
    for mine, theirs in ((training.generator, G), (training.discriminator, D), (training.code_head, Q)):
        for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values()):
            torch.testing.assert_close(a, b, msg=f"{name} differs from the plain-torch step")
    assert all(group["lr"] == pytest.approx(rate) for group in training.q_optimizer.param_groups)


def test_the_rates_fall_linearly_to_zero_and_stay_constant_without_decay(tmp_path, digits8, digits32):
    decaying = tiny(tmp_path, digits8, "decaying", **TINY_CODED, steps=8)
    constant = tiny(tmp_path, digits32, "constant")
    rates = []
    for _ in range(8):
        decaying.train(decaying.step + 1)
        constant.train(constant.step + 1)
        rates.append(decaying.g_optimizer.param_groups[0]["lr"])
        assert constant.g_optimizer.param_groups[0]["lr"] == constant.config.lr
    assert rates == pytest.approx([decaying.config.lr * (1 - s / 8) for s in range(8)])


def test_latent_with_codes_puts_the_one_hot_code_after_the_noise():
    noise = torch.randn(3, 5)
    latent = latent_with_codes(noise, torch.tensor([0, 2, 1]), 3)
    assert torch.equal(latent[:, :5], noise)
    assert torch.equal(latent[:, 5:], torch.eye(3)[[0, 2, 1]])


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "torchrun" in text and "--resume" in text and "--download" in text


def test_cli_runs_three_steps_as_a_module(tmp_path):
    out = tmp_path / "cli"
    result = subprocess.run([sys.executable, "-m", "course.dcgan_train", *TINY_ARGS, "--steps", "3",
                             "--out-dir", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "samples_000003.png" in result.stdout
    assert {p.name for p in out.iterdir()} == {LOG_NAME, CHECKPOINT_NAME, "samples_000003.png"}
    assert read_log(out)["step"] == [1.0, 2.0, 3.0]


def test_cli_missing_data_set_names_the_flag(tmp_path):
    with pytest.raises(FileNotFoundError, match="--dataset mnist --download"):
        main(["--dataset", "mnist", "--data-root", str(tmp_path), "--out-dir", str(tmp_path / "x")])


DRIVER = textwrap.dedent("""
    import os, sys, torch
    from course.dcgan_train import main
    base, rank = sys.argv[1], int(os.environ["RANK"])
    # rank 0 gets the real output folder; a folder for rank 1 appearing would mean rank 1 wrote files
    out = os.path.join(base, "run" if rank == 0 else f"run_rank{rank}")
    training = main(sys.argv[2:] + ["--out-dir", out])
    torch.save(training.generator.state_dict(), os.path.join(base, f"generator_rank{rank}.pt"))
""")


def test_torchrun_two_cpu_processes_agree_and_write_once(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(driver),
               str(tmp_path), *TINY_ARGS, "--steps", "4", "--sample-every", "2"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "x 2 processes" in result.stdout
    first, second = (torch.load(tmp_path / f"generator_rank{r}.pt", weights_only=True) for r in (0, 1))
    assert_bit_identical(first, second)
    assert not (tmp_path / "run_rank1").exists(), "rank 1 wrote files"
    assert {p.name for p in (tmp_path / "run").iterdir()} == {
        LOG_NAME, CHECKPOINT_NAME, "samples_000002.png", "samples_000004.png"}
    state = torch.load(tmp_path / "run" / CHECKPOINT_NAME, weights_only=True)
    assert len(state["noise_rng"]) == 2 and not torch.equal(*state["noise_rng"])  # one noise stream per rank
    assert_bit_identical(state["generator"], first)


def test_quality_report_declines_what_the_digits_scorer_cannot_read(tmp_path, digits32):
    training = DCGANTraining(TrainConfig(**{**TINY, "image_size": 64, "out_dir": str(tmp_path)}),
                             dataset=digits_images(64))
    assert "32x32" in quality_report(training)


def test_8x8_samples_are_scaled_up_as_the_32x32_digits_are_made(tmp_path, digits8, digits32):
    training = tiny(tmp_path, digits8, **TINY_CODED)
    assert torch.allclose(training.viewable(digits8.tensors[0][:5]), digits32.tensors[0][:5], atol=1e-6)
    training.train(2)
    assert training.generate().shape == (64, 1, 8, 8)
    with Image.open(training.save_samples()) as grid:
        assert grid.size == (8 * 32 + 9 * 2, 8 * 32 + 9 * 2)  # each sample shown at 32x32
    assert "of 1000 samples" in quality_report(training)
