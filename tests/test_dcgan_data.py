"""course.dcgan_data: the real batches of a run, a function of (seed, step), each process reading its share."""

import pytest
import torch
from torch.utils.data import TensorDataset

from course.dcgan_data import RealBatches

IMAGES = TensorDataset(torch.arange(50.0).reshape(50, 1, 1, 1), torch.zeros(50))


def first(stream, n):
    return [next(stream).flatten().long().tolist() for _ in range(n)]


def test_batches_from_a_step_continue_the_stream_from_the_start_across_epochs():
    data = RealBatches(IMAGES, batch_size=8, seed=3)  # 50 images: 6 batches an epoch, 2 images left out
    assert data.batches_per_epoch == 6
    from_start = first(data.from_step(0), 14)
    assert first(RealBatches(IMAGES, 8, seed=3).from_step(9), 5) == from_start[9:14]
    assert sorted(sum(from_start[:6], [])) == sorted(set(sum(from_start[:6], [])))  # an epoch repeats no image
    assert from_start[:6] != from_start[6:12]  # each epoch its own order
    assert first(RealBatches(IMAGES, 8, seed=4).from_step(0), 6) != from_start[:6]


def test_processes_share_each_epoch_out_and_the_position_names_it():
    ranks = [RealBatches(IMAGES, 5, seed=0, rank=rank, world_size=2) for rank in (0, 1)]
    epoch = [first(data.from_step(0), data.batches_per_epoch) for data in ranks]
    assert not set(sum(epoch[0], [])) & set(sum(epoch[1], []))
    assert ranks[1].position(12) == {"seed": 0, "epoch": 2, "batch_in_epoch": 2, "world_size": 2}


def test_a_batch_larger_than_a_process_share_is_refused():
    with pytest.raises(ValueError, match="cannot fill a batch of 30"):
        RealBatches(IMAGES, batch_size=30, seed=0, world_size=2)
