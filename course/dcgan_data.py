"""The real images of the reference DCGAN training, batch by batch, each process reading its share."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torch.utils.data.distributed import DistributedSampler


class RealBatches:
    """A data set cut into batches of ``batch_size`` for process ``rank`` of ``world_size``.

    Epoch e is DistributedSampler's permutation for (seed, e), shared out between the processes, so the batch
    a step trains on is a function of (seed, step): a resumed run picks the order up where it stopped.
    ``pin``: hand batches over in page-locked memory, so that the copy to a GPU overlaps with compute.
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 num_workers: int = 0, pin: bool = False):
        self.dataset, self.batch_size, self.num_workers, self.pin = dataset, batch_size, num_workers, pin
        self.sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed,
                                          drop_last=True)
        self.batches_per_epoch = len(self.sampler) // batch_size
        if self.batches_per_epoch < 1:
            raise ValueError(f"{len(self.sampler)} images per process cannot fill a batch of {batch_size}")

    @property
    def seed(self) -> int:
        """The seed of the data order."""
        return self.sampler.seed

    @seed.setter
    def seed(self, seed: int) -> None:
        self.sampler.seed = seed

    def position(self, step: int) -> dict:
        """Where ``step`` lies in the data order, as a checkpoint records it."""
        return {"seed": self.seed, "epoch": step // self.batches_per_epoch,
                "batch_in_epoch": step % self.batches_per_epoch, "world_size": self.sampler.num_replicas}

    def from_step(self, step: int):
        """Real batches (N, C, S, S) from ``step`` on, for ever."""
        epoch, offset = divmod(step, self.batches_per_epoch)
        size = self.batch_size
        while True:
            self.sampler.set_epoch(epoch)
            order = list(self.sampler)
            batches = [order[i * size:(i + 1) * size] for i in range(offset, self.batches_per_epoch)]
            yield from self._load(batches)
            epoch, offset = epoch + 1, 0

    def _load(self, batches: list[list[int]]):
        if isinstance(self.dataset, TensorDataset) and self.num_workers == 0:
            images = self.dataset.tensors[0]  # in memory already: index it, no per-image collation
            for batch in batches:
                chunk = images[torch.tensor(batch)]
                yield chunk.pin_memory() if self.pin else chunk
            return
        loader = DataLoader(self.dataset, batch_sampler=batches, num_workers=self.num_workers, pin_memory=self.pin)
        for images, _ in loader:
            yield images
