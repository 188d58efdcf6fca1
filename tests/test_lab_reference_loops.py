"""The labs' reference training loops do what the labs say they do.

A lab's test checks a student's training loop in a few steps (course.loop_record): that it is the reference loop up
to its random numbers. Whether the reference loop, run in full, reaches what the lab promises is measured here,
once, from the solution notebook's own code, rather than in every submission's grading.
"""

from pathlib import Path

import torch

from course.dcgan import on_one_cpu_thread
from course.digit_quality import score_generated
from course.image_data import digits_images
from grader.course import Course
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
