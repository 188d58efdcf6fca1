"""DCGAN parts against PyTorch: the transposed convolution by hand, the players' shapes and rules, the init."""

import pickle

import pytest
import torch
from torch import nn

from course.dcgan import (
    DCGANDiscriminator,
    DCGANGenerator,
    call_each,
    conv_transpose2d_by_hand,
    conv_transpose_output_size,
    count_output_gradients,
    dcgan_weights_init,
    generate_images,
    input_gradient,
    insert_zeros,
    layer_shapes,
    on_one_cpu_thread,
)


@pytest.mark.parametrize("stride, padding, kernel", [(1, 0, 3), (2, 1, 4), (2, 0, 4), (3, 2, 5), (1, 1, 3)])
def test_transposed_convolution_by_hand_equals_nn_conv_transpose2d(stride, padding, kernel):
    generator = torch.Generator().manual_seed(stride * 10 + padding)
    layer = nn.ConvTranspose2d(3, 5, kernel, stride, padding, bias=False).double()
    x = torch.randn(2, 3, 6, 7, generator=generator, dtype=torch.float64)
    expected = layer(x)
    got = conv_transpose2d_by_hand(x, layer.weight.detach(), stride, padding)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-12)
    assert expected.shape[-1] == conv_transpose_output_size(7, kernel, stride, padding)
    assert expected.shape[-2] == conv_transpose_output_size(6, kernel, stride, padding)


def test_zero_insertion_spreads_pixels_stride_apart():
    x = torch.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    assert insert_zeros(x, 2)[0, 0].tolist() == [[1, 0, 2], [0, 0, 0], [3, 0, 4]]
    assert torch.equal(insert_zeros(x, 1), x)


def test_output_size_matches_pytorch_with_output_padding_and_refuses_empty_outputs():
    layer = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1)
    assert layer(torch.zeros(1, 1, 5, 5)).shape[-1] == conv_transpose_output_size(5, 3, 2, 1, 1) == 10
    with pytest.raises(ValueError, match="no output"):
        conv_transpose_output_size(1, 1, 1, 1)
    with pytest.raises(ValueError, match="padding"):
        conv_transpose2d_by_hand(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 3, 3), padding=3)


@pytest.mark.parametrize("image_size, channels", [(32, 1), (64, 3)])
def test_players_have_the_paper_shapes(image_size, channels):
    netG = DCGANGenerator(nz=16, ngf=8, channels=channels, image_size=image_size)
    netD = DCGANDiscriminator(ndf=8, channels=channels, image_size=image_size)
    z = torch.randn(3, 16)
    images = netG(z)
    assert images.shape == (3, channels, image_size, image_size)
    assert images.abs().max() <= 1  # tanh
    assert torch.equal(netG(z[:, :, None, None]), images)  # (N, nz) and (N, nz, 1, 1) are the same noise
    assert netD(images).shape == (3,)
    shapes = layer_shapes(netG, z)
    assert shapes[0] == ("ConvTranspose2d", (3, 8 * 2 ** (len(shapes) // 3 - 1), 4, 4))
    assert shapes[-1] == ("Tanh", (3, channels, image_size, image_size))
    assert layer_shapes(netD, images)[-1] == ("Conv2d", (3, 1, 1, 1))


def test_at_the_digits_own_size_each_player_keeps_features_at_8x8():
    netG = DCGANGenerator(nz=16, ngf=8, channels=1, image_size=8)
    netD = DCGANDiscriminator(ndf=8, channels=1, image_size=8)
    z = torch.randn(3, 16)
    assert layer_shapes(netG, z) == [
        ("ConvTranspose2d", (3, 32, 4, 4)), ("BatchNorm2d", (3, 32, 4, 4)), ("ReLU", (3, 32, 4, 4)),
        ("ConvTranspose2d", (3, 16, 8, 8)), ("BatchNorm2d", (3, 16, 8, 8)), ("ReLU", (3, 16, 8, 8)),
        ("Conv2d", (3, 1, 8, 8)), ("Tanh", (3, 1, 8, 8))]
    assert layer_shapes(netD, netG(z)) == [
        ("Conv2d", (3, 8, 8, 8)), ("LeakyReLU", (3, 8, 8, 8)),
        ("Conv2d", (3, 16, 4, 4)), ("BatchNorm2d", (3, 16, 4, 4)), ("LeakyReLU", (3, 16, 4, 4)),
        ("Conv2d", (3, 1, 1, 1))]


@pytest.mark.parametrize("model", [DCGANGenerator(image_size=64), DCGANDiscriminator(image_size=32, channels=1),
                                   DCGANGenerator(image_size=8, channels=1), DCGANDiscriminator(image_size=8, channels=1)],
                         ids=["generator", "discriminator", "generator-8x8", "discriminator-8x8"])
def test_the_dcgan_rules_hold(model):
    layers = list(model.main)
    kinds = {type(layer) for layer in layers}
    assert not kinds & {nn.Linear, nn.MaxPool2d, nn.AvgPool2d}  # no dense hidden layers, no pooling
    convolutions = [layer for layer in layers if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(conv.stride in {(1, 1), (2, 2)} for conv in convolutions)
    assert not isinstance(layers[1], nn.BatchNorm2d) or isinstance(model, DCGANGenerator)  # none on D's input
    if isinstance(model, DCGANGenerator):
        assert nn.ReLU in kinds and isinstance(layers[-1], nn.Tanh) and not isinstance(layers[-2], nn.BatchNorm2d)
    else:
        assert all(layer.negative_slope == 0.2 for layer in layers if isinstance(layer, nn.LeakyReLU))
        assert nn.ReLU not in kinds


def test_weights_init_draws_the_paper_distributions():
    torch.manual_seed(0)
    netG = DCGANGenerator(image_size=64)
    netG.apply(dcgan_weights_init)
    weights = torch.cat([m.weight.flatten() for m in netG.modules() if isinstance(m, nn.ConvTranspose2d)])
    scales = torch.cat([m.weight for m in netG.modules() if isinstance(m, nn.BatchNorm2d)])
    shifts = torch.cat([m.bias for m in netG.modules() if isinstance(m, nn.BatchNorm2d)])
    assert weights.mean().abs() < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.01)
    assert scales.mean().item() == pytest.approx(1.0, abs=0.01) and scales.std().item() == pytest.approx(0.02, rel=0.1)
    assert torch.equal(shifts, torch.zeros_like(shifts))


def test_unsupported_sizes_are_refused():
    with pytest.raises(ValueError, match="image_size=28"):
        DCGANGenerator(image_size=28)


def test_generate_images_runs_in_eval_mode_and_restores_the_mode():
    torch.manual_seed(0)
    netG = DCGANGenerator(nz=8, ngf=4, channels=1, image_size=32)
    netG(torch.randn(16, 8))  # training-mode pass: BatchNorm gets running statistics
    running = [buffer.clone() for buffer in netG.buffers()]
    noise = torch.randn(5, 8)
    images = generate_images(netG, noise)
    assert netG.training and all(torch.equal(a, b) for a, b in zip(running, netG.buffers()))
    netG.eval()
    with torch.no_grad():
        assert torch.equal(images, netG(noise))
    assert torch.equal(generate_images(netG, noise[:1])[0], images[0])  # one image: its own noise only
    assert not netG.training


def test_the_lab_tests_probes_call_train_and_differentiate_where_they_run():
    assert call_each(conv_transpose_output_size, [(4, 4, 2, 1), (1, 4, 1, 0)]) == [8, 4]
    threads = torch.get_num_threads()
    assert on_one_cpu_thread(torch.get_num_threads) == 1 and torch.get_num_threads() == threads
    torch.manual_seed(0)
    block = nn.Sequential(nn.ConvTranspose2d(3, 2, 4, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU())
    x, weights = torch.randn(2, 3, 4, 4), torch.randn(2, 2, 8, 8)
    leaf = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad((block(leaf) * weights).sum(), leaf)
    assert torch.allclose(input_gradient(block, x, weights), expected) and x.grad is None
    detached = nn.Sequential(block, nn.Identity())
    detached[1].register_forward_hook(lambda module, inputs, output: output.detach())  # no gradient gets through
    assert torch.equal(input_gradient(detached, x, weights), torch.zeros_like(x))


def test_the_gradients_that_reach_g_are_counted_and_the_count_travels_with_g():
    netG = DCGANGenerator(nz=4, ngf=2, channels=1, image_size=32)
    netG.register_buffer("gradients_received", torch.zeros((), dtype=torch.long))
    netG.register_forward_hook(count_output_gradients)
    lent = pickle.loads(pickle.dumps(netG))  # as the judge lends it to a student's step
    fake = lent(torch.randn(3, 4))
    fake.detach().sum()  # D's update on fake.detach(): nothing reaches G
    lent(torch.randn(3, 4)).sum().backward()
    with torch.no_grad():
        lent(torch.randn(3, 4))
    assert int(lent.gradients_received) == 1
    fake.sum().backward()  # without detach(): a second gradient reaches G
    assert int(lent.gradients_received) == 2 and int(netG.gradients_received) == 0
