"""Image data sets for the DCGAN: images scaled to [-1, 1] (the range of G's tanh), C x S x S.

* ``"digits"`` (the offline default): scikit-learn's 8x8 handwritten digits, scaled up to S x S with
  bilinear interpolation. They ship with scikit-learn, so nothing downloads.
* ``"mnist"``, ``"fashion-mnist"``, ``"cifar10"``, ``"celeba"``: torchvision's data sets, used when
  their files are under the data root (``$COURSE_DATA``, else ``~/.cache/course-data``) or when
  ``download=True`` (``--download`` on the command line) asks torchvision to fetch them.
* ``"folder"``: any folder of images laid out for ``torchvision.datasets.ImageFolder``
  (``root/<class>/<image>``; one class folder is enough), e.g. your own photos.

A data set that is not there raises :class:`DatasetMissing`, whose message names the data set, the
folder looked in and the command that gets it. Every loader returns a ``torch.utils.data.Dataset`` of
``(image, label)`` pairs.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from course.data import digits

DATA_ROOT_ENV = "COURSE_DATA"
DEFAULT_DATA_ROOT = Path("~/.cache/course-data")
DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "celeba", "folder")
CHANNELS = {"digits": 1, "mnist": 1, "fashion-mnist": 1, "cifar10": 3, "celeba": 3, "folder": 3}
SPLITS = ("train", "test")

# how to get each torchvision data set by hand, for the error message
_BY_HAND = {
    "mnist": "or put train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
             "t10k-labels-idx1-ubyte (unzipped) in {root}/MNIST/raw",
    "fashion-mnist": "or put the four Fashion-MNIST idx files (train-/t10k-images-idx3-ubyte, "
                     "train-/t10k-labels-idx1-ubyte, unzipped) in {root}/FashionMNIST/raw",
    "cifar10": "or unpack cifar-10-python.tar.gz so that {root}/cifar-10-batches-py exists",
    "celeba": "or, since Google Drive often refuses scripted downloads, put img_align_celeba/ and the "
              "list_*.txt and identity_CelebA.txt files in {root}/celeba",
}


class DatasetMissing(FileNotFoundError):
    """A data set's files are not where the loader looked; the message says how to get them."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Where torchvision data sets live: ``root``, else ``$COURSE_DATA``, else ``~/.cache/course-data``."""
    chosen = root or os.environ.get(DATA_ROOT_ENV) or DEFAULT_DATA_ROOT
    return Path(chosen).expanduser()


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1], the range of the generator's tanh output."""
    return images * 2.0 - 1.0


def digits_images(image_size: int = 32, split: str = "train") -> TensorDataset:
    """scikit-learn's digits as (N, 1, S, S) images in [-1, 1] with their labels 0..9.

    The 8x8 images of ``course.data.digits()`` (its fixed, stratified split) are scaled up with
    bilinear interpolation (align_corners=False, the choice of torchvision's Resize).
    """
    _check_split(split)
    X_train, y_train, X_test, y_test = digits()
    images, labels = (X_train, y_train) if split == "train" else (X_test, y_test)
    return TensorDataset(to_unit_range(upscale_digits(images, image_size)), labels)  # (N, 1, S, S), (N,)


def upscale_digits(images: torch.Tensor, image_size: int = 32) -> torch.Tensor:
    """(N, 1, 8, 8) digits in [0, 1] to (N, 1, S, S), bilinear (align_corners=False, as torchvision's Resize)."""
    upscaled = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return upscaled.clamp(0.0, 1.0)


def upscale_tanh_digits(images: torch.Tensor, image_size: int = 32) -> torch.Tensor:
    """(N, 1, 8, 8) digits in [-1, 1] (a generator's tanh range) to (N, 1, S, S) in [-1, 1], made exactly as
    :func:`digits_images` makes its S x S digits from the 8x8 ones."""
    return to_unit_range(upscale_digits((images + 1) / 2, image_size))


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split={split!r}; choose one of {SPLITS}")


def _image_transform(image_size: int, channels: int):
    """Resize the short side to S, crop the centre S x S, keep ``channels``, scale to [-1, 1]."""
    from torchvision import transforms

    steps = [transforms.Resize(image_size), transforms.CenterCrop(image_size)]
    if channels == 1:
        steps.append(transforms.Grayscale(1))
    steps += [transforms.ToTensor(), transforms.Normalize([0.5] * channels, [0.5] * channels)]
    return transforms.Compose(steps)


def _missing(name: str, root: Path, reason: BaseException | str) -> DatasetMissing:
    if name == "folder":
        how = (f"Put your images in class subfolders of it ({root}/<any name>/*.jpg; one subfolder is "
               f"enough) or point --data-root (or ${DATA_ROOT_ENV}) at such a folder.")
    else:
        how = (f"Get it with `python -m course.dcgan_train --dataset {name} --download` "
               f"(in Python: load_images({name!r}, ..., download=True)), "
               + _BY_HAND[name].format(root=root) + ".")
    return DatasetMissing(f"data set {name!r} was not found in {root} ({reason}). {how} "
                          f"--data-root or ${DATA_ROOT_ENV} choose another folder.")


def _torchvision_dataset(name: str, root: Path, transform, download: bool, split: str) -> Dataset:
    from torchvision import datasets

    train = split == "train"
    if name == "mnist":
        return datasets.MNIST(root, train=train, transform=transform, download=download)
    if name == "fashion-mnist":
        return datasets.FashionMNIST(root, train=train, transform=transform, download=download)
    if name == "cifar10":
        return datasets.CIFAR10(root, train=train, transform=transform, download=download)
    if name == "celeba":
        return datasets.CelebA(root, split="train" if train else "test", transform=transform, download=download)
    return datasets.ImageFolder(root, transform=transform)


def load_images(name: str = "digits", image_size: int = 32, root: str | os.PathLike | None = None,
                download: bool = False, split: str = "train") -> Dataset:
    """The data set ``name`` (one of ``DATASETS``) as (image, label) pairs, images C x S x S in [-1, 1].

    ``root`` is the data root (see :func:`data_root`); for ``"folder"`` it is the image folder itself.
    Only ``download=True`` lets torchvision reach the network; otherwise a data set whose files are
    missing raises :class:`DatasetMissing`.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {DATASETS}")
    _check_split(split)
    if name == "digits":
        return digits_images(image_size, split)
    folder = data_root(root)
    if name == "folder" and not folder.is_dir():
        raise _missing(name, folder, "no such folder")
    transform = _image_transform(image_size, CHANNELS[name])
    try:
        return _torchvision_dataset(name, folder, transform, download, split)
    except (RuntimeError, FileNotFoundError) as error:  # torchvision's "Dataset not found ..." errors
        if download:
            raise
        raise _missing(name, folder, error) from error
