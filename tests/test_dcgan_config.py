"""course.dcgan_config: the seeds of a run's random streams, and the devices its switches follow."""

import torch

from course.dcgan_config import (FIXED_NOISE_SEED_OFFSET, NOISE_SEED_OFFSET, RANK_SEED_STRIDE,
                                 RESUME_STEP_SEED_STRIDE, TrainConfig, noise_seed)


def test_the_seed_offsets_keep_the_values_every_run_was_made_with():
    assert (FIXED_NOISE_SEED_OFFSET, NOISE_SEED_OFFSET, RANK_SEED_STRIDE, RESUME_STEP_SEED_STRIDE) == (1, 2, 1000, 7919)
    assert noise_seed(5, rank=0) == 7
    assert noise_seed(5, rank=3, step=40) == 5 + 2 + 1000 * 3 + 7919 * 40


def test_amp_and_channels_last_follow_the_device_unless_given():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    config = TrainConfig()
    assert (config.amp_on(cpu), config.amp_on(cuda)) == (False, True)
    assert (config.channels_last_on(cpu), config.channels_last_on(cuda)) == (False, True)
    assert not TrainConfig(compile=True).channels_last_on(cuda)
    assert not TrainConfig(amp=True).amp_on(cpu) and not TrainConfig(amp=False).amp_on(cuda)
    assert TrainConfig(channels_last=True).channels_last_on(cpu)
