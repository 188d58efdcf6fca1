"""What the tests of course.gan and course.gan_variants share: tiny CPU trainers, seeded generators and modules,
parameters as one vector, and a fixture that runs a test on one CPU thread."""

import pytest
import torch

from course.repro import single_cpu_thread

SMALL = dict(device="cpu", batch_size=32, hidden=16, noise_dim=2)  # every variant trainer here: tiny, on the CPU


@pytest.fixture
def one_cpu_thread():
    """The references are small tensors too: like the trainer, compute them on one CPU thread."""
    with single_cpu_thread(torch.device("cpu")):
        yield


def rng(seed):
    return torch.Generator().manual_seed(seed)


def parameters(*modules):
    return torch.cat([p.detach().flatten() for module in modules for p in module.parameters()])


def seeded(build, seed=0):
    """A module built under ``seed`` without touching the global generator's state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()
