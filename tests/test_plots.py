"""The shared figures: what they compute is checked against torch, what they draw by its artists."""

import math

import pytest
import torch
from matplotlib.figure import Figure

from course.gan.training import GANHistory
from course.plots import moving_average, plot_gan_history, plot_generator_loss_gradients


def test_generator_loss_gradients_are_minus_d_and_minus_one_minus_d():
    axes = Figure().subplots(1, 2)
    saturating, non_saturating = plot_generator_loss_gradients(axes, points=101)
    d_fake = torch.linspace(0.001, 0.999, 101)
    assert torch.allclose(saturating, -d_fake, atol=1e-4)  # float32 logit round trip
    assert torch.allclose(non_saturating, -(1 - d_fake), atol=1e-4)  # float32 logit round trip
    assert len(axes[0].lines) == 2 and len(axes[1].lines) == 2


def test_moving_average_matches_a_convolution_and_handles_short_series():
    values = torch.randn(200, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.conv1d(values[None, None], torch.full((1, 1, 10), 0.1))[0, 0]
    assert torch.allclose(moving_average(values.tolist(), 10), expected, atol=1e-6)
    assert moving_average([1.0, 2.0, 3.0], 50).tolist() == [2.0]


def test_gan_history_plot_draws_each_series_and_the_equilibrium_lines():
    history = GANHistory(d_loss=[1.5] * 60, g_loss=[0.7] * 60, real_verdict=[0.6] * 60, fake_verdict=[0.4] * 60)
    loss_ax, probability_ax = Figure().subplots(1, 2)
    plot_gan_history(loss_ax, probability_ax, history, width=10)
    assert loss_ax.lines[0].get_ydata()[0] == pytest.approx(1.5)
    equilibrium = sorted(line.get_ydata()[0] for line in loss_ax.lines[2:])
    assert equilibrium == pytest.approx([math.log(2), 2 * math.log(2)])
    assert probability_ax.lines[1].get_ydata()[0] == pytest.approx(0.4)


def test_gan_history_plot_draws_the_saturating_loss_equilibrium_below_zero():
    history = GANHistory(d_loss=[1.5] * 20, g_loss=[-0.7] * 20, real_verdict=[0.5] * 20, fake_verdict=[0.5] * 20)
    loss_ax, probability_ax = Figure().subplots(1, 2)
    plot_gan_history(loss_ax, probability_ax, history, width=5, generator_loss_kind="saturating")
    equilibrium = sorted(line.get_ydata()[0] for line in loss_ax.lines[2:])
    assert equilibrium == pytest.approx([-math.log(2), 2 * math.log(2)])
