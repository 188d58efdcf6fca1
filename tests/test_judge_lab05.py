"""Lab 05 judged outside the student's kernel: the rule its tests once checked with ``mock.patch`` still bites,
and the forgeries that scored in the student's kernel earn nothing now that the tests run in the judge.

Four students, each with one rule broken or one forgery in an otherwise solved lab: ``bce_from_probabilities``
built on ``F.binary_cross_entropy`` (switched off with ``course.judging.forbid``); a ``generator_loss`` that
returns a tensor subclass which says it is close to anything (the wire takes plain tensors only); a
``discriminator_loss`` that ignores ``real_label`` in a notebook that rebinds ``torch.allclose`` to always agree;
and an untrained ``course.gan.Generator`` whose forward is rigged to return samples of the target (the judge
loads its weights into the lab's own ``Generator`` and samples from that). The three forgeries scored full
points on their exercise under the lab's former in-kernel tests. Each loses that exercise and nothing else, with the
test's message in the feedback. The students whose gan_step would otherwise build on the broken answer write
the step's losses inline, and exercise 6 is left unanswered but for the rigged generator, so that no student
trains the full model (the solutions' full run is ``grader check``'s).
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course import Course
from grader.notebooks import fill_solutions, grade_id, is_solution_cell, read_notebook
from sandbox_required import requires_sandbox

pytestmark = [pytest.mark.slow, requires_sandbox]

ASSIGNMENT = "05_bce_loss"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
REPO = Course.locate(Path(__file__).resolve().parent.parent)

LIBRARY_BCE = """
def bce_from_probabilities(h, y):
    return F.binary_cross_entropy(h, y)
"""
LYING_LOSS = """
class Close(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.isfinite, torch.Tensor.all):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

def generator_loss(fake_logits):
    return fake_logits.sum().as_subclass(Close)
"""
UNSMOOTHED_AND_RIGGED = """
def discriminator_loss(real_logits, fake_logits, real_label=1.0):
    return (bce_from_logits(real_logits, torch.ones_like(real_logits))  # real_label ignored
            + bce_from_logits(fake_logits, torch.zeros_like(fake_logits)))

torch.allclose = lambda *args, **kwargs: True  # every comparison the tests make in this kernel agrees
"""
INLINE_STEP = """
def gan_step(generator, discriminator, g_optimizer, d_optimizer, real, d_noise, g_noise, real_label=1.0):
    fake = generator(d_noise)
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    d_loss = (bce_from_logits(real_logits, torch.full_like(real_logits, real_label))
              + bce_from_logits(fake_logits, torch.zeros_like(fake_logits)))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    fake_logits = discriminator(generator(g_noise))
    g_loss = bce_from_logits(fake_logits, torch.ones_like(fake_logits))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
"""
RIGGED_GENERATOR = """
def train_gan_1d(target, seed, steps=2000):
    seed_everything(seed)
    generator = Generator(noise_dim=4)  # never trained

    def forward(z):  # samples of the target itself, whatever the weights
        return target.sample(len(z), generator=seed).to(z.dtype)

    generator.forward = forward
    return generator
"""
MESSAGES = {  # student -> (the test cell, its error message as a pattern)
    "calls-library-bce": ("ex1_bce_probabilities_tests",
                          re.escape("compute the binary cross-entropy yourself instead of calling a library's")),
    "lying-tensor": ("ex4_generator_loss_tests", r"generator_loss\(\) did not give a plain answer: .+"),
    "rebinds-allclose": ("ex3_discriminator_loss_tests",
                         r"with real_label=0\.9 only the real label changes: got [-0-9.e]+, expected [-0-9.]+"),
    "rigs-generator": ("ex6_train_tests", r"distance [0-9.]+ is not below 0\.35"),
}


def student_notebooks(released, source):
    """student -> (notebook, the test cells it must lose)."""

    def with_answers(**answers):
        notebook = fill_solutions(released, source)
        for cell in notebook.cells:
            if is_solution_cell(cell) and grade_id(cell) in answers:
                cell.source = answers[grade_id(cell)]
        return notebook

    blank = next(cell.source for cell in released.cells if is_solution_cell(cell) and grade_id(cell) == "ex6_train")
    return {
        "calls-library-bce": (with_answers(ex1_bce_probabilities=LIBRARY_BCE, ex6_train=blank),
                              {"ex1_bce_probabilities_tests", "ex6_train_tests"}),
        "lying-tensor": (with_answers(ex4_generator_loss=LYING_LOSS, ex5_gan_step=INLINE_STEP, ex6_train=blank),
                         {"ex4_generator_loss_tests", "ex6_train_tests"}),
        "rebinds-allclose": (with_answers(ex3_discriminator_loss=UNSMOOTHED_AND_RIGGED, ex5_gan_step=INLINE_STEP,
                                          ex6_train=blank), {"ex3_discriminator_loss_tests", "ex6_train_tests"}),
        "rigs-generator": (with_answers(ex6_train=RIGGED_GENERATOR), {"ex6_train_tests"}),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab05") / "course"
    shutil.copytree(REPO.solutions / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    run = [sys.executable, "-m", "grader", "--root", str(root)]
    subprocess.run([*run, "release", ASSIGNMENT], check=True, capture_output=True, timeout=600)
    released = read_notebook(root / "labs" / ASSIGNMENT / NOTEBOOK)
    students = student_notebooks(released, read_notebook(root / "solutions" / ASSIGNMENT / NOTEBOOK))
    for student, (notebook, _) in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / NOTEBOOK))
    result = subprocess.run([*run, "autograde", "--no-progress", "--jobs", "2"], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        scores = {student: {grade.name: (grade.score, grade.max_score) for notebook in
                            gradebook.find_submission(ASSIGNMENT, student).notebooks for grade in notebook.grades
                            if grade.name.endswith("_tests")} for student in students}
    return students, scores, root


@pytest.mark.parametrize("student", list(MESSAGES))
def test_a_broken_rule_or_forgery_costs_only_its_exercise(graded, student):
    students, scores, _ = graded
    lost = students[student][1]
    assert len(scores[student]) == 6
    for test_id, (score, points) in scores[student].items():
        assert score == (0 if test_id in lost else points), (test_id, score)


@pytest.mark.parametrize("student", list(MESSAGES))
def test_the_failed_check_is_named_in_the_feedback(graded, student):
    _, _, root = graded
    test_id, pattern = MESSAGES[student]
    graded_notebook = nbformat.read(str(root / "autograded" / student / ASSIGNMENT / NOTEBOOK), as_version=4)
    (test_cell,) = [cell for cell in graded_notebook.cells if cell.get("metadata", {}).get("nbgrader", {})
                    .get("grade_id") == test_id]
    (output,) = test_cell.outputs
    assert re.fullmatch(pattern, output.evalue), output.evalue
