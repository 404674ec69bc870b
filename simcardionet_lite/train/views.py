"""Augmented views of each training batch, made in worker processes when asked.

Why this module: SimCLR needs two random views of every page at every step (fine-tuning one),
and the ECG-safe augmentations (:mod:`simcardionet_lite.augment`) run per image on the CPU. At
the ``paper`` size (224 x 224) one CPU core augments about 130 images/s while an H200 trains the
network at about 8,000 images/s in bf16 (``benchmarks/throughput.py``): with augmentation in the
training process the GPU would wait almost all the time. ``pretrain.num_workers`` and ``finetune.num_workers``
(ours) move it into that many worker processes (a :class:`torch.utils.data.DataLoader` with
persistent workers), which also overlap it with the GPU step.

Determinism, which the two modes keep in different ways:

* ``workers == 0`` (the ``smoke`` default): the batch is augmented in this process exactly as
  :func:`~simcardionet_lite.augment.apply_batch` does (one seed per view batch, images in turn:
  :func:`~simcardionet_lite.augment.apply_seeded`), so the committed smoke results reproduce
  bit for bit.
* ``workers > 0``: every image gets its own seed, ``(view seed + position in batch) mod 2**63``,
  and a batch is cut into chunks that workers augment in parallel. The views therefore do not
  depend on the number of workers, nor on which worker makes which chunk, but they differ from
  the ``workers == 0`` stream (a different, equally random draw).

In both modes the view seeds of each step are drawn from the caller's generator, one per view,
in step order, so the generator ends an epoch in the same state either way and a resumed run
(which restores it) continues the same sequence.

A third way, :class:`DeviceViews` (``pretrain.augment_on = "device"``, likewise for fine-tuning):
the pages go to the training device once per run as uint8 and every batch of views is made there
by the batched tensor ops of :mod:`simcardionet_lite.batch_augment`, no worker process and no
per-image loop. Its views are another (equally random) draw than the workers' from the same
seeds; the caller's generator is used the same way (one seed per view per step), so resume is
exact here too. :func:`make_views` picks the maker from the config value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import torch

from simcardionet_lite.augment import apply_seeded, draw_seed
from simcardionet_lite.batch_augment import BatchAugment
from simcardionet_lite.config import AugConfig

Transform = Callable[[torch.Tensor], torch.Tensor]
_SEED_MOD = 2**63


class _Chunks(torch.utils.data.Dataset):
    """Worker side: item = a chunk ``(page indices, positions in the batch, one seed per view)``."""

    def __init__(self, images: torch.Tensor, transform: Transform) -> None:
        self.images, self.transform = images, transform

    def __len__(self) -> int:  # items are chunks addressed by the sampler; this is the page count
        return len(self.images)

    def __getitem__(self, item: tuple[list[int], list[int], tuple[int, ...]]) -> list[torch.Tensor]:
        pages, positions, seeds = item
        out = []
        for seed in seeds:
            views = []
            for page, pos in zip(pages, positions):
                torch.manual_seed((seed + pos) % _SEED_MOD)
                views.append(self.transform(self.images[page]))
            out.append(torch.stack(views))
        return out


class _EpochSampler:
    """Yields the current epoch's chunks; the main process sets ``items`` before each epoch."""

    def __init__(self) -> None:
        self.items: list[tuple[list[int], list[int], tuple[int, ...]]] = []

    def __iter__(self) -> Iterator[tuple[list[int], list[int], tuple[int, ...]]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


class ViewBatches:
    """``n_views`` augmented views of each batch of ``images`` (N x 3 x H x W, in [0, 1], on the CPU).

    ``epoch(batches, generator)`` yields, for each index tensor in ``batches``, the
    (n_views * B) x 3 x H x W tensor ``cat([view 1, view 2, ...])`` (for two views the layout the
    contrastive loss expects; for one view the augmented batch). ``workers`` as in the module
    docstring. Chunks are not pinned: they are concatenated into a new tensor here anyway. Call
    :meth:`close` (or use as a context manager) to stop the workers.
    """

    def __init__(self, images: torch.Tensor, transform: Transform, workers: int = 0, *, n_views: int = 2) -> None:
        if workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {workers}")
        if n_views < 1:
            raise ValueError(f"n_views must be >= 1, got {n_views}")
        self.images, self.transform, self.workers, self.n_views = images, transform, int(workers), int(n_views)
        self._sampler = _EpochSampler()
        self._loader: torch.utils.data.DataLoader | None = None
        self._closed = False
        if self.workers:
            self._loader = torch.utils.data.DataLoader(
                _Chunks(images, transform), batch_size=None, sampler=self._sampler, num_workers=self.workers,
                persistent_workers=True, worker_init_fn=_worker_init, prefetch_factor=2,
            )

    def epoch(self, batches: Sequence[torch.Tensor], generator: torch.Generator) -> Iterator[torch.Tensor]:
        if self._closed:
            raise RuntimeError("ViewBatches was closed; make a new one")
        seeds = [tuple(draw_seed(generator) for _ in range(self.n_views)) for _ in batches]
        if self._loader is None:
            for idx, ss in zip(batches, seeds):
                x = self.images[idx]
                yield torch.cat([apply_seeded(self.transform, x, sd) for sd in ss])
            return
        n_chunks = []
        items: list[tuple[list[int], list[int], tuple[int, ...]]] = []
        for idx, ss in zip(batches, seeds):
            pages = [int(i) for i in idx]
            k = max(1, min(self.workers, len(pages)))
            size = math.ceil(len(pages) / k)
            starts = range(0, len(pages), size)
            n_chunks.append(len(starts))
            items += [(pages[s : s + size], list(range(s, min(s + size, len(pages)))), ss) for s in starts]
        self._sampler.items = items
        it = iter(self._loader)
        for k in n_chunks:
            parts = [next(it) for _ in range(k)]
            yield torch.cat([torch.cat([p[v] for p in parts]) for v in range(self.n_views)])

    def close(self) -> None:
        """Stop the worker processes (they are also stopped when this object is collected)."""
        self._loader, self._closed = None, True

    def __enter__(self) -> ViewBatches:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DeviceViews:
    """``n_views`` augmented views of each batch, made on ``device`` by :class:`~simcardionet_lite.batch_augment.BatchAugment`.

    ``pages`` (N x 3 x H x W, uint8 or float in [0, 1]) are moved to ``device`` once, here; each
    batch is indexed there and augmented there. ``epoch(batches, generator)`` yields the
    (n_views * B) x 3 x H x W float tensor ``cat([view 1, view 2, ...])`` on ``device``, as
    :class:`ViewBatches` does on the CPU. View ``v`` of a step is drawn by a ``torch.Generator``
    seeded with that step's ``v``-th seed from ``generator``.
    """

    def __init__(self, pages: torch.Tensor, augment: BatchAugment, device: torch.device | str, *, n_views: int = 2) -> None:
        if n_views < 1:
            raise ValueError(f"n_views must be >= 1, got {n_views}")
        self.device = torch.device(device)
        self.pages = pages.to(self.device)
        self.augment, self.n_views = augment, int(n_views)

    def epoch(self, batches: Sequence[torch.Tensor], generator: torch.Generator) -> Iterator[torch.Tensor]:
        seeds = [tuple(draw_seed(generator) for _ in range(self.n_views)) for _ in batches]
        for idx, ss in zip(batches, seeds):
            x = self.pages[idx.to(self.device)]
            yield torch.cat([self.augment(x, torch.Generator().manual_seed(sd)) for sd in ss])

    def close(self) -> None:
        """Nothing to stop (no worker processes); the pages are freed with this object."""

    def __enter__(self) -> DeviceViews:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


AUGMENT_ON = ("workers", "device")


def page_tensor(dataset: object, augment_on: str) -> torch.Tensor:
    """A dataset's pages as the view maker of ``augment_on`` takes them: float N x 3 x H x W in [0, 1]
    (``"workers"``, :func:`~simcardionet_lite.evaluate.dataset_images`) or uint8 N x 3 x H x W
    (``"device"``: a quarter of the memory, converted to float on the device, batch by batch)."""
    from simcardionet_lite.evaluate import dataset_images

    if augment_on not in AUGMENT_ON:
        raise ValueError(f"augment_on must be one of {AUGMENT_ON}, got {augment_on!r}")
    if augment_on == "workers" or not hasattr(dataset, "images_uint8"):
        x = dataset_images(dataset)
        return x if augment_on == "workers" else (x * 255.0).round_().to(torch.uint8)
    import numpy as np

    return torch.from_numpy(np.ascontiguousarray(dataset.images_uint8())).permute(0, 3, 1, 2)


def make_views(augment_on: str, images: torch.Tensor, aug: AugConfig, transform: Transform, tile_grid: tuple[int, int] | None,
               workers: int, device: torch.device, *, n_views: int) -> ViewBatches | DeviceViews:
    """The view maker ``augment_on`` names: :class:`ViewBatches` with the per-image ``transform``
    (``"workers"``) or :class:`DeviceViews` with ``aug`` batched on ``device`` (``"device"``)."""
    if augment_on == "device":
        return DeviceViews(images, BatchAugment(aug, tuple(images.shape[-2:]), tile_grid), device, n_views=n_views)
    if augment_on != "workers":
        raise ValueError(f"augment_on must be one of {AUGMENT_ON}, got {augment_on!r}")
    return ViewBatches(images, transform, workers, n_views=n_views)


__all__ = ["AUGMENT_ON", "DeviceViews", "ViewBatches", "make_views", "page_tensor"]
