"""Seeding, device choice and the full-size switch."""

import random

import numpy as np
import pytest
import torch

from course.repro import (DEVICE_ENV, FULL_SIZE_ENV, autocast, cpu_threads, full_size, pick_device, seed_everything,
                          single_cpu_thread)


def draw():
    return random.random(), np.random.rand(), torch.rand(3)


def test_seed_everything_repeats_every_generator():
    seed_everything(123)
    first = draw()
    seed_everything(123)
    second = draw()
    assert first[:2] == second[:2]
    assert torch.equal(first[2], second[2])
    seed_everything(124)
    assert draw()[0] != first[0]


def test_pick_device_prefers_an_accelerator(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device().type == expected


def test_pick_device_honours_the_environment(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert pick_device() == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_pick_device_refuses_a_missing_device():
    with pytest.raises(RuntimeError, match="has none"):
        pick_device("cuda")


def test_pick_device_rejects_unknown_names():
    with pytest.raises((ValueError, RuntimeError)):
        pick_device("tpu")


def test_autocast_is_a_no_op_off_cuda():
    with autocast(torch.device("cpu")):
        product = torch.ones(2, 2) @ torch.ones(2, 2)
    assert product.dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_autocast_lowers_precision_on_cuda():
    device = torch.device("cuda")
    with autocast(device):
        product = torch.ones(8, 8, device=device) @ torch.ones(8, 8, device=device)
    assert product.dtype in (torch.bfloat16, torch.float16)


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_full_size_switch(monkeypatch, value, expected):
    monkeypatch.setenv(FULL_SIZE_ENV, value)
    assert full_size() is expected


def test_single_cpu_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with single_cpu_thread(torch.device("cpu")):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with single_cpu_thread(torch.device("meta")):  # not the CPU: left alone
        assert torch.get_num_threads() == before


def test_cpu_threads_sets_the_count_on_the_cpu_only_and_restores_it():
    before = torch.get_num_threads()
    other = 3 if before == 2 else 2
    with cpu_threads(torch.device("cpu"), other):
        assert torch.get_num_threads() == other
    assert torch.get_num_threads() == before
    with cpu_threads(torch.device("cpu"), None), cpu_threads(torch.device("meta"), 1):  # left alone
        assert torch.get_num_threads() == before
