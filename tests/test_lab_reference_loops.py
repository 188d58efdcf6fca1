"""The labs' reference training loops do what the labs say they do.

A lab's test checks a student's training loop in a few steps (course.loop_record): that it is the reference loop up
to its random numbers. Whether the reference loop, run in full, reaches what the lab promises is measured here,
once, from the solution notebook's own code, rather than in every submission's grading.
"""

from pathlib import Path

import torch

from course.autoencoders import VAE, as_quality_images, digit_pixels, held_out_negative_elbo
from course.dcgan import on_one_cpu_thread
from course.digit_quality import digits_classifier, score_generated
from course.gan import Discriminator, Generator
from course.gan.measures import wasserstein_1d
from course.gan.targets import gaussian_1d, sample_noise
from course.gan_variants.digits import DigitsTarget, train_with_cgan_step
from course.gan_variants.layers import with_one_hot
from course.image_data import digits_images
from course.training import predict_classes
from grader.layout import Course
from grader.notebooks import is_solution_cell, is_test_cell, read_notebook

SOLUTIONS = Course.locate(Path(__file__).resolve().parent.parent).solutions


def solution_namespace(assignment: str) -> dict:
    """The globals of the solution notebook with every code cell but the tests run: set-up and solutions."""
    notebook = read_notebook(SOLUTIONS / assignment / f"{assignment}.ipynb")
    namespace: dict = {}
    for cell in notebook.cells:
        if cell.cell_type == "code" and not is_test_cell(cell):
            exec(compile(cell.source, f"{assignment} {'solution' if is_solution_cell(cell) else 'set-up'}", "exec"),
                 namespace)  # noqa: S102 (the kit's own solution, trusted code)
    return namespace


def test_lab06_reference_loop_draws_digits_of_every_class():
    """Lab 06's text: 600 steps of the reference loop give all 10 classes, 32-36 % of samples confident."""
    lab = solution_namespace("06_dcgan")
    with torch.random.fork_rng(devices=[]):
        generator = on_one_cpu_thread(lab["train_dcgan"], digits_images(32, "train").tensors[0], seed=0)
    generator.eval()
    with torch.no_grad():
        samples = generator(torch.randn(1000, 32, 1, 1, generator=torch.Generator().manual_seed(1234)))
    report = score_generated(samples)
    assert report.classes_covered == 10, report
    assert 0.30 <= report.confident_share <= 0.40, report
    assert report.frechet_distance < 150, report


def test_lab07_reference_cgan_step_draws_the_requested_digits():
    """Lab 07's text: 1,000 reference CGAN steps give samples the classifier calls the requested digit 84-96 % of the
    time (seed 0 here)."""
    lab = solution_namespace("07_gan_variants")
    torch.manual_seed(0)
    generator, discriminator = Generator(16 + 10, 64, hidden=256), Discriminator(64 + 10, hidden=256)
    adam = lambda model: torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))  # noqa: E731
    train_with_cgan_step(lab["cgan_step"], generator, discriminator, adam(generator), adam(discriminator), steps=1000)
    codes = torch.arange(10).repeat_interleave(100)
    with torch.no_grad():
        images = DigitsTarget.to_images(generator(with_one_hot(sample_noise(1000, 16, 1234), codes, 10)))
    agreement = (predict_classes(digits_classifier(), images) == codes).float().mean().item()
    assert 0.835 <= agreement <= 0.965, agreement  # 84-96 % to the whole per cent


def test_lab05_reference_loop_fits_the_gaussians():
    """Lab 05's text: 2,000 reference steps bring the generator within 0.35 of N(4, 1.25²) in Wasserstein-1 distance
    (seed 0), and within 0.4 of its standard deviation of N(-1, 0.5²) (seed 1)."""
    lab = solution_namespace("05_bce_loss")
    for target, seed, bound in ((gaussian_1d(4.0, 1.25), 0, 0.35), (gaussian_1d(-1.0, 0.5), 1, 0.2)):
        generator = on_one_cpu_thread(lab["train_gan_1d"], target, seed)
        with torch.no_grad():
            generated = generator(sample_noise(2000, 4, generator=100))
        assert wasserstein_1d(generated, target.sample(2000, generator=101)) < bound


def test_lab08_reference_loop_trains_a_vae_that_draws_digits():
    """Lab 08's text: 40 epochs of the reference loop bring the held-out negative ELBO below -15 nats, and the
    classifier recognises at least 9 of the 10 digits among 1,000 draws."""
    lab = solution_namespace("08_autoencoders")
    X_train, _ = digit_pixels("train")
    X_test, _ = digit_pixels("test")
    torch.manual_seed(100)
    model = VAE(latent=8)
    losses = on_one_cpu_thread(lab["train_vae"], model, X_train, epochs=40, batch_size=64, lr=1e-3, seed=0)
    assert losses[-1] < losses[0]
    assert held_out_negative_elbo(model, X_test).loss < -15
    report = score_generated(as_quality_images(model.sample(1000, torch.Generator().manual_seed(1))))
    assert report.classes_covered >= 9, report
