"""Convolution by hand, the slides' worked examples, and a small CNN for the digits.

What deep learning calls convolution (卷积) slides a kernel over the image and
sums the elementwise products, without flipping the kernel (strictly, a
cross-correlation); ``torch.nn.functional.conv2d`` does the same, and the
tests check every function here against it.
"""

from __future__ import annotations


import torch
from torch import nn

from course.repro import pick_device, single_cpu_thread
from course.training import predict_classes, train_epochs

# The slides' edge kernel: it responds where the row below is brighter than the row above.
EDGE_KERNEL = torch.tensor([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])

# The slides' three 3x3 features of a hand-drawn 'X': its two diagonals and its centre.
X_FEATURE_KERNELS = {
    "diagonal \\": torch.tensor([[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]),
    "centre x": torch.tensor([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, -1.0, 1.0]]),
    "diagonal /": torch.tensor([[-1.0, -1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, -1.0, -1.0]]),
}

# The 7x7 map the slides print for the 'X' under its "\\" feature: the mean of the nine
# products at each position, cut (not rounded) to two decimals, so 7/9 shows as 0.77.
SLIDES_DIAGONAL_MAP = torch.tensor([
    [0.77, -0.11, 0.11, 0.33, 0.55, -0.11, 0.33],
    [-0.11, 1.00, -0.11, 0.33, -0.11, 0.11, -0.11],
    [0.11, -0.11, 1.00, -0.33, 0.11, -0.11, 0.55],
    [0.33, 0.33, -0.33, 0.55, -0.33, 0.33, 0.33],
    [0.55, -0.11, 0.11, -0.33, 1.00, -0.11, 0.11],
    [-0.11, 0.11, -0.11, 0.33, -0.11, 1.00, -0.11],
    [0.33, -0.11, 0.55, 0.33, 0.11, -0.11, 0.77],
])

KERNEL_GALLERY = {
    "edge (slides)": EDGE_KERNEL,
    "edge, darker below": -EDGE_KERNEL,
    "vertical edge (Sobel x)": EDGE_KERNEL.T.contiguous(),
    "outline (Laplacian)": torch.tensor([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]]),
    "sharpen": torch.tensor([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
    "box blur": torch.full((3, 3), 1.0 / 9.0),
    "identity": torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
    **{f"X {name}": kernel for name, kernel in X_FEATURE_KERNELS.items()},
}


def x_image(size: int = 9) -> torch.Tensor:
    """The slides' hand-drawn 'X': +1 on both diagonals, -1 elsewhere, with a one-pixel -1 border."""
    if size < 3:
        raise ValueError(f"size={size}: an X needs at least 3 x 3 pixels")
    image = -torch.ones(size, size)
    for i in range(1, size - 1):
        image[i, i] = 1.0
        image[i, size - 1 - i] = 1.0
    return image


def output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Side of a convolution's output: floor((n + 2p - k) / s) + 1."""
    if kernel < 1 or stride < 1 or padding < 0:
        raise ValueError(f"kernel={kernel}, stride={stride}, padding={padding}: need kernel, stride >= 1, padding >= 0")
    if n + 2 * padding < kernel:
        raise ValueError(f"a {kernel}x{kernel} kernel does not fit an input of side {n} padded by {padding}")
    return (n + 2 * padding - kernel) // stride + 1


def window_at(image: torch.Tensor, kernel_size: int, row: int, col: int, stride: int = 1, padding: int = 0):
    """The patch of the (zero-padded) image that output position (row, col) sees."""
    padded = nn.functional.pad(image, (padding, padding, padding, padding))
    top, left = row * stride, col * stride
    return padded[top : top + kernel_size, left : left + kernel_size]


def cut_to_decimals(values: torch.Tensor, decimals: int = 2) -> torch.Tensor:
    """Drop the digits after ``decimals`` (towards zero), the way the slides print their maps."""
    scale = 10.0**decimals
    return torch.trunc(values * scale) / scale


def conv2d_by_hand(image: torch.Tensor, kernel: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """One channel, one kernel, by the definition: at every position multiply the window by the kernel and sum."""
    k = kernel.shape[0]
    rows, cols = output_size(image.shape[0], k, stride, padding), output_size(image.shape[1], k, stride, padding)
    out = torch.empty(rows, cols, dtype=torch.result_type(image, kernel))
    for row in range(rows):
        for col in range(cols):
            out[row, col] = (window_at(image, k, row, col, stride, padding) * kernel).sum()
    return out


def pool2d_by_hand(feature_map: torch.Tensor, size: int = 2, mode: str = "max") -> torch.Tensor:
    """Pooling (池化) over non-overlapping size x size blocks: each block becomes its max or its mean.

    A ragged last row or column (side not divisible by ``size``) is dropped, as torch's default does.
    """
    if mode not in ("max", "average"):
        raise ValueError(f"mode={mode!r}: use 'max' or 'average'")
    rows, cols = feature_map.shape[0] // size, feature_map.shape[1] // size
    blocks = feature_map[: rows * size, : cols * size].reshape(rows, size, cols, size).transpose(1, 2)
    blocks = blocks.reshape(rows, cols, size * size)
    return blocks.amax(dim=-1) if mode == "max" else blocks.mean(dim=-1)


class DigitsCNN(nn.Module):
    """input - conv - ReLU - pool - conv - ReLU - pool - fully connected, for 8x8 digits."""

    def __init__(self, channels: tuple[int, int] = (16, 32), classes: int = 10):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            # input: (N, 1, 8, 8)
            nn.Conv2d(1, c1, kernel_size=3, padding=1),  # (N, c1, 8, 8)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, c1, 4, 4)
            nn.Conv2d(c1, c2, kernel_size=3, padding=1),  # (N, c2, 4, 4)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, c2, 2, 2)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, c2 * 2 * 2)
            nn.Linear(c2 * 2 * 2, classes),  # (N, classes): one score (logit) per digit
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))


def train_digits_cnn(
    X: torch.Tensor,
    y: torch.Tensor,
    epochs: int = 15,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    seed: int = 0,
    device: torch.device | None = None,
) -> tuple[DigitsCNN, list[float]]:
    """A :class:`DigitsCNN` trained with Adam and cross-entropy; returns it and the loss of each epoch.

    On the CPU it trains on one thread (restored afterwards): as fast as several for a model this
    small, and immune to a busy neighbour on a shared machine.
    """
    device = torch.device(device or pick_device())
    torch.manual_seed(seed)  # the initial weights
    model = DigitsCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    with single_cpu_thread(device):
        losses = train_epochs(
            model, X, y, nn.functional.cross_entropy, optimizer, epochs, batch_size, device=device, seed=seed
        )
    return model, losses


def confusion_matrix(model: nn.Module, X: torch.Tensor, y: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """``counts[true, predicted]`` over the samples."""
    predicted = predict_classes(model, X)
    return torch.bincount(y.cpu() * classes + predicted, minlength=classes * classes).reshape(classes, classes)
