"""course.image_data: digits upscaled like torchvision's resize, torchvision sets read from files on disk
(never downloaded), and a missing data set explained."""

import struct
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import functional as TF

from course.data import digits
from course.image_data import (
    CHANNELS,
    DATA_ROOT_ENV,
    DATASETS,
    DatasetMissing,
    data_root,
    digits_images,
    load_images,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to download fails the test loudly."""
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to download")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(urllib.request, "urlretrieve", refuse)


@pytest.mark.parametrize("size", [32, 64])
def test_digits_are_torchvision_bilinear_resizes_in_minus_one_to_one(size):
    dataset = load_images("digits", size)
    X_train, y_train, _, _ = digits()
    reference = TF.resize(X_train, [size, size], interpolation=TF.InterpolationMode.BILINEAR, antialias=False)
    images, labels = dataset.tensors
    assert images.shape == (len(X_train), 1, size, size)
    torch.testing.assert_close(images, reference.clamp(0, 1) * 2 - 1)
    assert torch.equal(labels, y_train)
    assert images.min() == -1 and images.max() == 1


def test_digits_test_split_is_course_data_test_split():
    _, _, X_test, y_test = digits()
    images, labels = digits_images(32, "test").tensors
    assert len(images) == len(X_test) and torch.equal(labels, y_test)


@pytest.mark.parametrize("name", [name for name in DATASETS if name != "digits"])
def test_missing_data_set_says_where_it_looked_and_how_to_get_it(name, tmp_path):
    with pytest.raises(DatasetMissing) as caught:
        load_images(name, 32, root=tmp_path)
    message = str(caught.value)
    assert repr(name) in message and str(tmp_path) in message
    if name == "folder":
        assert "--data-root" in message and "subfolder" in message
    else:
        assert f"--dataset {name} --download" in message
    assert isinstance(caught.value, FileNotFoundError)


def test_missing_image_folder_that_does_not_exist(tmp_path):
    with pytest.raises(DatasetMissing, match="no such folder"):
        load_images("folder", 32, root=tmp_path / "nowhere")


def _write_idx(path, array: np.ndarray):
    """The idx format of MNIST: magic (0, 0, type 0x08 = ubyte, dimensions), sizes, then the bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_files_on_disk_are_read_without_download(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    pixels = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", pixels)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.array([3, 1, 4]))
    dataset = load_images("mnist", 32, root=tmp_path)
    assert len(dataset) == 3
    image, label = dataset[1]
    reference = np.asarray(Image.fromarray(pixels[1], mode="L").resize((32, 32), Image.BILINEAR), dtype=np.float32)
    assert image.shape == (1, 32, 32) and label == 1
    torch.testing.assert_close(image[0], torch.from_numpy(reference) / 255 * 2 - 1)


def test_image_folder_is_resized_and_centre_cropped_to_rgb_squares(tmp_path):
    (tmp_path / "photos").mkdir()
    rng = np.random.default_rng(1)
    for index in range(2):
        Image.fromarray(rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8)).save(tmp_path / "photos" / f"{index}.png")
    dataset = load_images("folder", 32, root=tmp_path)
    image, _ = dataset[0]
    photo = Image.open(sorted((tmp_path / "photos").iterdir())[0]).convert("RGB")  # 48 wide, 40 high
    short_side_32 = photo.resize((38, 32), Image.BILINEAR)  # 48 * 32 / 40 = 38.4 -> 38
    reference = TF.to_tensor(short_side_32.crop((3, 0, 35, 32))) * 2 - 1  # the centre: (38 - 32) / 2 = 3
    assert len(dataset) == 2 and image.shape == (CHANNELS["folder"], 32, 32)
    torch.testing.assert_close(image, reference, atol=1e-6, rtol=0)


def test_data_root_prefers_argument_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv(DATA_ROOT_ENV)
    assert data_root().name == "course-data"


def test_unknown_names_and_splits_are_refused():
    with pytest.raises(ValueError, match="unknown data set"):
        load_images("imagenet", 32)
    with pytest.raises(ValueError, match="split"):
        load_images("digits", 32, split="validation")
