"""What every dataset of the package shares: page preparation, the base class and subsets.

Why one module: synthetic pages, image folders and PTB-XL renderings are different sources
of the *same* thing, a report page the model sees as ``uint8 H x W x 3``. Preparing a page
(resize, optional header/footer mask, optional grey) in one function means training,
evaluation and ``predict`` see a page the same way; one base class means every loop, audit
and recipe can take any dataset; one subset view means a split or a fold keeps that interface.

Every dataset is a torch ``Dataset`` with ``ds[i] -> (image float32 3 x H x W in [0, 1],
label int, id str)`` and the attributes ``classes``, ``labels``, ``ids``, ``groups``
(duplicate-cluster id per item, so grouped CV can keep copies together), ``skipped`` (a
:class:`~simcardionet_lite.errors.SkipReport`: nothing is dropped silently), ``transform``,
``source`` (which :data:`~simcardionet_lite.data.factory.SOURCES` entry built it),
``fingerprint`` (SHA-256 hex of the content it read; see :mod:`simcardionet_lite.data.factory`)
and ``images_uint8()`` (all pages, N x H x W x 3, from the page cache).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from simcardionet_lite.config import DataConfig
from simcardionet_lite.ecg import render as R
from simcardionet_lite.errors import SkipReport

DATA_VERSION = "data-v2"  # bump when page preparation changes (it is part of every page-cache key)

Transform = Callable[[torch.Tensor], torch.Tensor]


def _as_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg) if is_dataclass(cfg) else dict(cfg)


def prepare_page(
    page: np.ndarray,
    cfg: DataConfig | Mapping[str, Any] | None = None,
    *,
    image_size: tuple[int, int] | None = None,
    crop_header_footer: bool | None = None,
    style: str | None = None,
    grayscale: bool | None = None,
    panels: bool | None = None,
) -> np.ndarray:
    """A page (uint8 H x W x 3, any size) as the model sees it: resized (area), optionally
    with header/footer masked and converted to grey (3 equal channels). Keyword arguments
    override the fields of ``cfg``.

    With ``panels`` the page is instead cut into its 4 x 4 mosaic of lead panels
    (:func:`simcardionet_lite.ecg.render.panel_mosaic`) of ``image_size``, from the page at its
    own resolution; the header and footer are outside the mosaic, so ``crop_header_footer``
    changes nothing then."""
    d = _as_dict(cfg) if cfg is not None else {}
    size = tuple(image_size or d.get("image_size", (96, 128)))
    crop = bool(d.get("crop_header_footer", False) if crop_header_footer is None else crop_header_footer)
    style = style or d.get("style", "mendeley")
    gray = bool(d.get("grayscale", False) if grayscale is None else grayscale)
    mosaic = bool(d.get("panels", False) if panels is None else panels)
    img = np.asarray(page)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"page must be H x W x 3 uint8, got shape {img.shape}")
    if mosaic:
        img = R.panel_mosaic(img, style, size)
    elif img.shape[:2] != size:
        interp = cv2.INTER_AREA if img.shape[0] >= size[0] else cv2.INTER_LINEAR
        img = cv2.resize(img, (size[1], size[0]), interpolation=interp)
    if crop and not mosaic:
        img = R.crop_header_footer(img, style, mode="mask")
    if gray:
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        img = np.repeat(g[..., None], 3, axis=2)
    return np.ascontiguousarray(img, dtype=np.uint8)


def groups_from_keys(keys: Sequence[str]) -> np.ndarray:
    """Cluster ids (0..K-1, in order of first appearance) of equal keys."""
    seen: dict[str, int] = {}
    return np.asarray([seen.setdefault(k, len(seen)) for k in keys], dtype=np.int64)


class PageDataset(torch.utils.data.Dataset):
    """Pages held as one uint8 array (usually a memory-mapped cache entry).

    Subclasses fill ``_images``, ``labels``, ``ids``, ``groups``, ``classes`` and
    ``fingerprint``; the class attribute ``source`` names the kind of data (the factory
    overwrites it where one class serves two sources, e.g. ``kaggle_standin``).
    """

    source: str = ""
    #: what ``groups`` holds: "duplicates" (clusters of identical pages) or "patients" (PTB-XL)
    groups_are: str = "duplicates"
    classes: tuple[str, ...]
    labels: np.ndarray
    ids: list[str]
    groups: np.ndarray
    skipped: SkipReport

    def __init__(self, transform: Transform | None = None) -> None:
        self.transform = transform
        self.skipped = SkipReport()
        self._images: np.ndarray = np.zeros((0, 1, 1, 3), np.uint8)
        #: SHA-256 hex of the content this dataset read (files, records or generator spec)
        self.fingerprint: str = ""
        #: folder the dataset was read from (None for generated pages)
        self.root: Path | None = None
        #: the split this dataset holds ("train" | "val" | "test" | a folder split), None for all
        self.split_name: str | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, str]:
        img = torch.from_numpy(np.array(self._images[i], dtype=np.uint8)).permute(2, 0, 1).float().div_(255.0)
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.labels[i]), self.ids[i]

    def images_uint8(self) -> np.ndarray:
        """All pages, N x H x W x 3 uint8: a writable in-memory copy of the cached array."""
        return np.array(self._images, dtype=np.uint8, copy=True)

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self._images.shape[1:3])  # type: ignore[return-value]

    def class_counts(self) -> dict[str, int]:
        """Items per class."""
        return {c: int((np.asarray(self.labels) == k).sum()) for k, c in enumerate(self.classes)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, classes={self.classes}, size={self.image_size}, {self.skipped.summary()})"


class SubsetView(torch.utils.data.Dataset):
    """A subset of a project dataset that keeps its interface (classes, labels, ids, groups,
    skipped, multilabel, ``images_uint8()``, source, root, fingerprint).

    It owns its own ``transform`` (applied after the parent's), so setting a training transform
    on the training view never changes what the test view returns. Its ``fingerprint`` hashes
    the parent's fingerprint with the selected indices, so two splits of one dataset differ.
    """

    def __init__(self, parent: Any, indices: Sequence[int] | np.ndarray, transform: Transform | None = None,
                 *, split_name: str | None = None) -> None:
        self.parent = parent
        self.indices = np.asarray(indices, dtype=np.int64)
        self.transform = transform
        self.classes = tuple(parent.classes)
        self.labels = np.asarray(parent.labels)[self.indices]
        self.ids = [parent.ids[i] for i in self.indices]
        self.groups = np.asarray(parent.groups)[self.indices]
        self.skipped = getattr(parent, "skipped", None)
        self.source: str = getattr(parent, "source", "")
        self.groups_are: str = getattr(parent, "groups_are", "duplicates")
        self.root: Path | None = getattr(parent, "root", None)
        self.split_name = split_name
        h = hashlib.sha256(str(getattr(parent, "fingerprint", "")).encode())
        h.update(self.indices.astype("<i8").tobytes())
        self.fingerprint: str = h.hexdigest()
        for name in ("multilabel", "strat_fold"):
            if hasattr(parent, name):
                setattr(self, name, np.asarray(getattr(parent, name))[self.indices])

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, str]:
        x, y, ident = self.parent[int(self.indices[i])]
        if self.transform is not None:
            x = self.transform(x)
        return x, y, ident

    def images_uint8(self) -> np.ndarray:
        """The subset's pages, N x H x W x 3 uint8 (a copy)."""
        return np.array(np.asarray(self.parent._images if hasattr(self.parent, "_images")
                                   else self.parent.images_uint8())[self.indices], dtype=np.uint8)

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.parent.image_size)

    def class_counts(self) -> dict[str, int]:
        """Items per class."""
        return {c: int((self.labels == k).sum()) for k, c in enumerate(self.classes)}

    def __repr__(self) -> str:
        return f"SubsetView(n={len(self)} of {type(self.parent).__name__}, split={self.split_name!r})"


def subset(ds: Any, indices: Sequence[int] | np.ndarray, *, split_name: str | None = None) -> SubsetView:
    """A :class:`SubsetView` of ``ds`` (views of views point at the root dataset)."""
    if isinstance(ds, SubsetView):
        return SubsetView(ds.parent, ds.indices[np.asarray(indices, dtype=np.int64)], split_name=split_name)
    return SubsetView(ds, indices, split_name=split_name)


__all__ = [
    "DATA_VERSION",
    "PageDataset",
    "SubsetView",
    "groups_from_keys",
    "prepare_page",
    "subset",
]
