"""The latent explorer driven without a browser: the path, the images it shows, and its controls."""

import math

import pytest
import torch

from course.dcgan import DCGANGenerator, latent_with_codes
from course.widgets.dcgan import STRIP, interpolate, latent_explorer, noise_vector
from tests.widget_display import keyed_numbers

NZ = 16


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    netG = DCGANGenerator(nz=NZ, ngf=8, channels=1, image_size=32)
    netG(torch.randn(32, NZ))  # one training-mode pass gives BatchNorm running statistics
    return netG.eval()


def test_linear_path_is_the_straight_line():
    z_a, z_b = noise_vector(0, NZ), noise_vector(1, NZ)
    t = torch.tensor([0.0, 0.25, 1.0])
    assert torch.allclose(interpolate(z_a, z_b, t, "linear"), torch.stack([z_a, 0.75 * z_a + 0.25 * z_b, z_b]))


def test_spherical_path_keeps_to_the_great_circle_with_lengths_in_between():
    z_a, z_b = noise_vector(0, 512).double(), noise_vector(1, 512).double()
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    points = interpolate(z_a, z_b, t, "spherical")
    assert torch.allclose(points[0], z_a) and torch.allclose(points[-1], z_b)
    lengths = (1 - t) * z_a.norm() + t * z_b.norm()
    assert torch.allclose(points.norm(dim=1), lengths)
    # the angle to z_a grows linearly along the great circle
    cosine = torch.nn.functional.cosine_similarity(points, z_a[None], dim=1).clamp(-1, 1)
    total = torch.arccos(cosine[-1])
    assert torch.allclose(torch.arccos(cosine), t * total, atol=1e-6)
    midpoint = interpolate(z_a, z_b, 0.5, "linear")[0]
    assert midpoint.norm() < 0.8 * points[5].norm()  # why slerp: the straight midpoint is too short
    assert math.isclose(points[5].norm().item(), 512**0.5, rel_tol=0.1)


def test_explorer_shows_the_generator_images_at_the_ends_and_on_the_slider(generator):
    explorer = latent_explorer(generator, NZ, seed_a=3, seed_b=4, t=0.0)
    with torch.no_grad():
        expected_a, expected_b = generator(torch.stack([noise_vector(3, NZ), noise_vector(4, NZ)]))
    strip = explorer.images_along_path()
    assert strip.shape == (STRIP, 1, 32, 32)
    assert torch.allclose(strip[0], expected_a, atol=1e-6) and torch.allclose(strip[-1], expected_b, atol=1e-6)
    assert torch.allclose(explorer.current_image(), expected_a, atol=1e-6)
    explorer.t.value = 1.0
    assert torch.allclose(explorer.current_image(), expected_b, atol=1e-6)
    assert generator.training is False


def test_controls_redraw_and_the_norm_shown_is_the_noise_length(generator):
    explorer = latent_explorer(generator, NZ, seed_a=0, seed_b=1, t=0.5, path="linear")
    before = explorer.figure.value
    explorer.seed_b.value = 7
    assert explorer.figure.value != before
    shown = keyed_numbers(explorer.status.value)["norm"]
    expected = interpolate(noise_vector(0, NZ), noise_vector(7, NZ), 0.5, "linear")[0].norm().item()
    assert shown == pytest.approx(expected, abs=0.005)
    explorer.path.value = "spherical"
    spherical = interpolate(noise_vector(0, NZ), noise_vector(7, NZ), 0.5, "spherical")[0].norm().item()
    assert keyed_numbers(explorer.status.value)["norm"] == pytest.approx(spherical, abs=0.005)


def test_same_settings_draw_the_same_picture_and_bad_paths_are_refused(generator):
    first = latent_explorer(generator, NZ, seed_a=2, seed_b=5).figure.value
    assert latent_explorer(generator, NZ, seed_a=2, seed_b=5).figure.value == first
    with pytest.raises(ValueError, match="path"):
        latent_explorer(generator, NZ, path="zigzag")
    assert "application/vnd.jupyter.widget-view+json" in latent_explorer(generator, NZ)._repr_mimebundle_()


def test_with_codes_each_end_has_its_code_and_the_path_blends_them():
    torch.manual_seed(0)
    coded = DCGANGenerator(nz=NZ + 4, ngf=8, channels=1, image_size=8)
    coded(torch.randn(32, NZ + 4))
    coded.eval()
    explorer = latent_explorer(coded, NZ, seed_a=3, seed_b=4, t=0.5, codes=4, code_a=1, code_b=3)
    ends = latent_with_codes(torch.stack([noise_vector(3, NZ), noise_vector(4, NZ)]), torch.tensor([1, 3]), 4)
    points = explorer.path_points()
    assert points.shape == (STRIP, NZ + 4)
    assert torch.allclose(points[0], ends[0]) and torch.allclose(points[-1], ends[1])
    assert torch.allclose(explorer.points(0.5)[0, NZ:], torch.tensor([0.0, 0.5, 0.0, 0.5]))
    with torch.no_grad():
        assert torch.allclose(explorer.images_along_path()[-1], coded(ends[1:])[0], atol=1e-6)
    before = explorer.figure.value
    explorer.code_b.value = 0
    assert explorer.figure.value != before
    with pytest.raises(ValueError, match="code_b=4"):
        latent_explorer(coded, NZ, codes=4, code_b=4)
