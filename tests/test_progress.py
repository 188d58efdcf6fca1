"""A trainer stepped under a progress bar ends exactly where one call of its own ``step`` ends."""

import pytest
import torch

from course.gan.targets import ring_2d
from course.gan.training import GANTrainer
from course.progress import step_with_progress


def weights(trainer):
    return [parameter.detach().clone() for parameter in trainer.generator.parameters()]


def test_chunked_steps_under_a_bar_give_the_same_players_and_history():
    at_once, chunked = GANTrainer(ring_2d(), seed=3, batch_size=32), GANTrainer(ring_2d(), seed=3, batch_size=32)
    expected = at_once.step(25)
    got = step_with_progress(chunked, 25, "training", chunk=10)  # 10 + 10 + 5
    assert chunked.steps_done == at_once.steps_done == 25
    assert all(torch.equal(a, b) for a, b in zip(weights(at_once), weights(chunked)))
    assert got == expected


def test_nothing_to_do_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        step_with_progress(GANTrainer(ring_2d(), seed=0), 0, "training")
