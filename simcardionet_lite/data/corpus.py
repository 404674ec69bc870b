"""The inductive pretraining corpus: a split's training pages plus unlabelled pages of other sources.

Why a module: issue #17 pretrains SimCLR on "training pages plus PTB-XL sample records and
synthetic records rendered in the ``mendeley`` style; never test pages". The extra pages must be
prepared exactly as the run's own (``data.image_size``, the lead-panel mosaic, grey, crop), so
:func:`extra_datasets` builds them with the one factory from the run's ``DataConfig`` with only
the source changed, and :class:`PretrainCorpus` joins them to the training pages behind the
dataset interface pretraining reads (``images_uint8``, ``labels``, ``groups``, ``ids``,
``classes``, ``fingerprint``, ``image_size``, ``source``, ``ds[i]``).

What each entry of ``pretrain.extra_corpus`` (parsed by ``PretrainConfig.extra_sources``) gives:

* ``synthetic:N``: N synthetic records per class of ``data.label_set`` in ``data.style``, no
  copies, seeded ``cfg.seed + SYNTHETIC_SEED_OFFSET`` so they are never the run's own synthetic pages;
* ``ptbxl:PATH``: every record of that PTB-XL folder with a diagnostic superclass, all folds,
  drawn in the ``ptbxl`` style: the factory's ``ptbxl`` source draws its own page style whatever
  ``data.style`` says (the panel mosaic then cuts the ``ptbxl`` layout's panels, so the prepared
  pages have the run's shape, but their paper and trace look is PTB-XL's, not Dataset I's).

Labels: the extra pages carry :data:`UNLABELLED` (-1). Pretraining uses no label; its kNN monitor
(``train/pretrain.py``) leaves label -1 out, so it watches the run's own training pages only.
Test pages: a page whose id is one of the run's own dataset (``exclude_ids``) is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from simcardionet_lite.config import DataConfig
from simcardionet_lite.errors import DataError

#: the label of a page that has none (an extra page of the pretraining corpus)
UNLABELLED = -1
#: the synthetic extra pages are drawn with ``seed + SYNTHETIC_SEED_OFFSET`` (ours): other records
#: than the run's own synthetic pages (``seed``), whose test pages they must never be
SYNTHETIC_SEED_OFFSET = 1_000_003


def extra_datasets(data: DataConfig, sources: Iterable[tuple[str, int | str]], seed: int) -> list[tuple[str, Any]]:
    """``(entry, dataset)`` for each parsed ``pretrain.extra_corpus`` entry, built by the factory from
    the run's ``data`` with only the source (and its folder or count) changed."""
    from simcardionet_lite.data.factory import build_dataset

    out: list[tuple[str, Any]] = []
    for kind, arg in sources:
        if kind == "synthetic":
            d = replace(data, source="synthetic", root=None, train_root=None, n_per_class=int(arg), duplicate_fraction=0.0)
            ds = build_dataset(d, seed=seed + SYNTHETIC_SEED_OFFSET)
        elif kind == "ptbxl":
            ds = build_dataset(replace(data, source="ptbxl", root=str(arg), train_root=None), single_label=False, seed=seed)
        else:
            raise ValueError(f"unknown extra-corpus source {kind!r} (PretrainConfig.extra_sources reads 'synthetic', 'ptbxl')")
        out.append((f"{kind}:{arg}", ds))
    return out


class PretrainCorpus(torch.utils.data.Dataset):
    """The labelled training pages of one split followed by unlabelled pages of other sources.

    ``labels`` are the training pages' then :data:`UNLABELLED` for every extra page; ``groups``
    are each part's groups shifted past the previous parts' (a PTB-XL patient never shares an id
    with a Dataset I duplicate cluster); ``ids`` are the parts' own ids (two parts sharing one is
    an error); ``fingerprint`` hashes every part's fingerprint, size and entry, so an encoder cached
    on one corpus is never taken for another. ``classes``, ``root``, ``split_name`` and
    ``groups_are`` are the training pages'; ``source`` joins the parts' (``dataset1+ptbxl+synthetic``).
    """

    def __init__(self, labelled: Any, extras: Sequence[tuple[str, Any]], *, exclude_ids: Iterable[str] = ()) -> None:
        self.labelled, self.extras = labelled, list(extras)
        self.parts = [labelled, *(ds for _, ds in self.extras)]
        self.transform = None
        self.classes = tuple(labelled.classes)
        self.n_labelled = len(labelled)
        self._check(set(map(str, exclude_ids)) - set(map(str, labelled.ids)))
        self.labels = np.concatenate([np.asarray(labelled.labels, dtype=np.int64)]
                                     + [np.full(len(ds), UNLABELLED, dtype=np.int64) for _, ds in self.extras])
        groups, offset = [], 0
        for ds in self.parts:
            g = np.unique(np.asarray(ds.groups), return_inverse=True)[1].astype(np.int64)
            groups.append(g + offset)
            offset += int(g.max()) + 1 if len(g) else 0
        self.groups = np.concatenate(groups)
        self.ids = [str(i) for ds in self.parts for i in ds.ids]
        self.part_of = np.repeat(np.arange(len(self.parts)), [len(ds) for ds in self.parts])
        self._starts = np.concatenate([[0], np.cumsum([len(ds) for ds in self.parts])])
        self.source = "+".join([str(getattr(labelled, "source", "")), *(e.split(":", 1)[0] for e, _ in self.extras)])
        self.root = getattr(labelled, "root", None)
        self.split_name = getattr(labelled, "split_name", None)
        self.groups_are = getattr(labelled, "groups_are", "duplicates")
        self.skipped = getattr(labelled, "skipped", None)
        h = hashlib.sha256(b"pretrain-corpus-v1\n")
        for entry, ds in [("train", labelled), *self.extras]:
            h.update(f"{entry}\0{type(ds).__name__}\0{getattr(ds, 'fingerprint', '')}\0{len(ds)}\n".encode())
        self.fingerprint: str = h.hexdigest()

    def _check(self, run_ids: set[str]) -> None:
        """Refuse extra pages of another page size, pages of the run's own dataset, and repeated ids."""
        size, seen = tuple(self.labelled.image_size), set(map(str, self.labelled.ids))
        for entry, ds in self.extras:
            if tuple(ds.image_size) != size:
                raise ValueError(f"pretrain.extra_corpus entry {entry!r} gives {tuple(ds.image_size)} pages, "
                                 f"the run's are {size}")
            ids = [str(i) for i in ds.ids]
            own = [i for i in ids if i in run_ids]
            if own:
                raise DataError(f"pretrain.extra_corpus entry {entry!r} holds {len(own)} pages of the run's own dataset "
                                f"(e.g. {own[0]!r}), so this split's test pages would be pretrained on",
                                fix="point the entry at other records, or leave it out "
                                "(the training pages are in the corpus already)")
            again = [i for i in ids if i in seen]
            if again:
                raise DataError(f"pretrain.extra_corpus entry {entry!r} repeats {len(again)} pages already in the corpus "
                                f"(e.g. {again[0]!r})", fix="give each source once")
            seen.update(ids)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, str]:
        p = int(self.part_of[i])
        x, _, ident = self.parts[p][int(i - self._starts[p])]
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[i]), ident

    def images_uint8(self) -> np.ndarray:
        """All pages, N x H x W x 3 uint8 (training pages first)."""
        return np.concatenate([np.asarray(ds.images_uint8(), dtype=np.uint8) for ds in self.parts])

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.labelled.image_size)  # type: ignore[return-value]

    def class_counts(self) -> dict[str, int]:
        """Labelled pages per class (the extra pages have no class)."""
        return {c: int((self.labels == k).sum()) for k, c in enumerate(self.classes)}

    def record(self) -> dict[str, Any]:
        """What the corpus holds, JSON-ready: the training pages' and each extra source's dataset record."""
        from simcardionet_lite.data.factory import dataset_record

        return {"n": len(self), "n_labelled": self.n_labelled, "fingerprint": self.fingerprint,
                "train": dataset_record(self.labelled), "extra": {e: dataset_record(ds) for e, ds in self.extras}}

    def __repr__(self) -> str:
        extra = ", ".join(f"{e}: {len(ds)}" for e, ds in self.extras)
        return f"PretrainCorpus(n={len(self)}, labelled={self.n_labelled}, extra={{{extra}}})"


__all__ = ["PretrainCorpus", "SYNTHETIC_SEED_OFFSET", "UNLABELLED", "extra_datasets"]
