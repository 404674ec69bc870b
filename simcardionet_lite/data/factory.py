"""The one dataset factory: a :class:`~simcardionet_lite.config.DataConfig` in, a dataset out.

Why one factory: a results file records its config, and that record is only worth something
if the config alone says which data produced the numbers. So every dataset of a run is built
here from ``cfg.data`` plus the *role* a recipe asks for (a split, a seed, single- or
multi-label); nothing else (no keyword overrides of data fields) can change which data is read.
:func:`dataset_record` then says, in JSON, what was actually read: the source, the folder, the
number of pages per class, what was skipped, and a content ``fingerprint`` (SHA-256) that
changes whenever the bytes read change, so two results can be checked to come from one dataset.

Sources (:data:`SOURCES`):

* ``synthetic``: generated pages (no files); with ``split=`` PTB-XL-like folds are drawn
  (per class 10 % test, 10 % validation) and the split's subset is returned;
* ``dataset1``: a Dataset I (Mendeley) folder at ``data.root``;
* ``kaggle``: one split (default ``test``) of a Kaggle-layout Dataset II folder;
* ``kaggle_standin``: the constructed Dataset II stand-in, built once from the Dataset I folder
  at ``data.root`` (:mod:`simcardionet_lite.data.standin`) and cached;
* ``ptbxl``: PTB-XL at ``data.root`` on its official folds.

:data:`STANDIN_DEFAULTS` holds the data fields of the synthetic pages that stand in for each
real source when no download is at hand (:func:`synthetic_standin`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from simcardionet_lite.config import DataConfig
from simcardionet_lite.data.cache import default_cache_dir
from simcardionet_lite.data.images import ECGImageFolder, folder_fingerprint
from simcardionet_lite.data.pages import PageDataset, SubsetView, Transform, subset
from simcardionet_lite.data.ptbxl import OFFICIAL_SPLIT, PTBXL
from simcardionet_lite.data.standin import build_kaggle_standin
from simcardionet_lite.data.synthetic import SyntheticECG, ptbxl_like_folds
from simcardionet_lite.errors import DataError

log = logging.getLogger(__name__)

Dataset = PageDataset | SubsetView


@dataclass(frozen=True)
class Role:
    """What a recipe asks of the data beyond ``DataConfig``: the split, labels mode and seed."""

    split: str | None = None
    single_label: bool = True
    seed: int = 0
    progress: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # further constructor options (classes=, max_records=, ...)


@dataclass(frozen=True)
class Source:
    """How one ``data.source`` value is built."""

    name: str
    build: Callable[[DataConfig, Role], Dataset]
    needs_root: bool
    splits: tuple[str | None, ...]  # the ``split=`` values it accepts (None: all of it)
    about: str


def _common(data: DataConfig, role: Role) -> dict[str, Any]:
    return {"image_size": tuple(data.image_size), "crop_header_footer": data.crop_header_footer,
            "cache_dir": data.cache_dir, "grayscale": data.grayscale, "panels": data.panels, "progress": role.progress, **role.extra}


def _synthetic(data: DataConfig, role: Role) -> Dataset:
    ds = SyntheticECG(style=data.style, label_set=data.label_set, n_per_class=data.n_per_class, seed=role.seed,
                      difficulty=data.difficulty, duplicate_fraction=data.duplicate_fraction, **_common(data, role))
    if role.split is None:
        return ds
    # PTB-XL-like folds (1 train, 9 validation, 10 test), one-hot labels for the multi-label metrics
    ds.strat_fold = ptbxl_like_folds(ds.labels, role.seed)
    ds.multilabel = np.eye(len(ds.classes), dtype=np.int64)[ds.labels]
    idx = np.flatnonzero(np.isin(ds.strat_fold, OFFICIAL_SPLIT[role.split]))
    return subset(ds, idx, split_name=role.split)


def _dataset1(data: DataConfig, role: Role) -> Dataset:
    return ECGImageFolder(data.root, layout="mendeley", style="mendeley", **_common(data, role))  # type: ignore[arg-type]


def _kaggle(data: DataConfig, role: Role) -> Dataset:
    return ECGImageFolder(data.root, layout="kaggle", splits=(role.split or "test",), style="mendeley",  # type: ignore[arg-type]
                          **_common(data, role))


def standin_dir(data: DataConfig, seed: int = 0) -> tuple[str, str]:
    """(folder the stand-in of ``data.root`` is cached in, Dataset I fingerprint it is built from)."""
    fp = folder_fingerprint(data.root, "mendeley")  # type: ignore[arg-type]
    key = hashlib.sha256(json.dumps({"fingerprint": fp, "quality": int(data.standin_jpeg_quality),
                                     "seed": int(seed)}, sort_keys=True).encode()).hexdigest()[:16]
    return str(default_cache_dir(data.cache_dir) / "dataset2_standin" / key), fp


def _kaggle_standin(data: DataConfig, role: Role) -> Dataset:
    out, fp = standin_dir(data, role.seed)
    root = build_kaggle_standin(data.root, out, quality=int(data.standin_jpeg_quality), seed=role.seed)  # type: ignore[arg-type]
    ds = ECGImageFolder(root, layout="kaggle", splits=(role.split or "test",), style="mendeley", **_common(data, role))
    ds.built_from = {"root": str(data.root), "fingerprint": fp, "jpeg_quality": int(data.standin_jpeg_quality),
                     "seed": int(role.seed)}
    return ds


def _ptbxl(data: DataConfig, role: Role) -> Dataset:
    return PTBXL(data.root, sampling_rate=data.sampling_rate, split=role.split,  # type: ignore[arg-type]
                 single_label=role.single_label, **_common(data, role))


_SPLITS3 = (None, "train", "val", "test")
SOURCES: dict[str, Source] = {
    "synthetic": Source("synthetic", _synthetic, False, _SPLITS3, "generated pages (no files)"),
    "dataset1": Source("dataset1", _dataset1, True, (None,), "Dataset I (Mendeley) folder"),
    "kaggle": Source("kaggle", _kaggle, True, (None, "train", "test"), "one split of a Kaggle-layout Dataset II folder"),
    "kaggle_standin": Source("kaggle_standin", _kaggle_standin, True, (None, "train", "test"),
                             "constructed Dataset II stand-in built from the Dataset I folder data.root"),
    "ptbxl": Source("ptbxl", _ptbxl, True, _SPLITS3, "PTB-XL folder, official folds"),
}

#: data fields of the synthetic pages that stand in for each real source (no download at hand)
STANDIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "dataset1": {"style": "mendeley", "label_set": "dataset1", "duplicate_fraction": 0.47},  # 437 of 928 files are copies
    "kaggle": {"style": "kaggle", "label_set": "dataset1"},
    "kaggle_standin": {"style": "kaggle", "label_set": "dataset1"},
    # ours: 24 records per class (120 pages) in every preset: a demo of the pipeline, sized for the
    # smoke budget; the paper preset is meant for the real PTB-XL (--set data.n_per_class=N for more)
    "ptbxl": {"style": "ptbxl", "label_set": "ptbxl", "n_per_class": 24},
}

_DATA_FIELDS = frozenset(f.name for f in fields(DataConfig))


def synthetic_standin(data: DataConfig) -> DataConfig:
    """``data`` turned into the synthetic pages that stand in for ``data.source``
    (:data:`STANDIN_DEFAULTS`); a synthetic config is returned unchanged."""
    if data.source == "synthetic":
        return data
    if data.source not in STANDIN_DEFAULTS:
        raise KeyError(f"no synthetic stand-in for data.source={data.source!r}; known: {sorted(STANDIN_DEFAULTS)}")
    return replace(data, source="synthetic", root=None, **STANDIN_DEFAULTS[data.source])


def build_dataset(
    data: DataConfig,
    *,
    split: str | None = None,
    single_label: bool = True,
    seed: int = 0,
    progress: bool = False,
    transform: Transform | None = None,
    **kw: Any,
) -> Dataset:
    """The dataset ``data`` describes, in the role a recipe asks for.

    ``split``: "train" | "val" | "test" (synthetic, ptbxl) or "train" | "test" (kaggle,
    kaggle_standin; default "test"); None for all of it. ``single_label`` (ptbxl): only records
    with one superclass. ``seed``: synthetic pages, their folds and the stand-in's re-split.
    ``transform`` is set on the returned dataset. ``kw`` are further constructor options
    (``classes=``, ``max_records=``, ``highpass_hz=``, ``class_map=``); a ``DataConfig`` field
    is refused there: change ``data`` instead (``dataclasses.replace``), so the recorded config
    stays the data's one description.
    """
    if not isinstance(data, DataConfig):
        raise TypeError(f"build_dataset takes a DataConfig (cfg.data), got {type(data).__name__}")
    clash = sorted(set(kw) & _DATA_FIELDS)
    if clash:
        raise TypeError(f"{clash} are DataConfig fields: pass dataclasses.replace(data, "
                        f"{', '.join(f'{k}=...' for k in clash)}) instead of keyword overrides")
    if data.source not in SOURCES:
        raise KeyError(f"unknown data.source {data.source!r}; SOURCES: {sorted(SOURCES)}")
    src = SOURCES[data.source]
    if split not in src.splits:
        raise ValueError(f"data.source={data.source!r} takes split in {list(src.splits)}, got {split!r}"
                         + ("; Dataset I has no official split (use experiments.protocols.cv_splits)" if data.source == "dataset1" else ""))
    if src.needs_root and not data.root:
        raise DataError(f"data.source={data.source!r} needs data.root (the dataset folder)",
                        fix="set data.root (a chapter's data_root parameter) to the downloaded folder, "
                        "or use data.source='synthetic' (data.factory.synthetic_standin)")
    if not src.needs_root and data.root:
        raise DataError(f"data.root is set but data.source={data.source!r} reads no folder", path=data.root,
                        fix=f"set data.source to the dataset in that folder (one of {sorted(SOURCES)}) or data.root=None")
    ds = src.build(data, Role(split=split, single_label=single_label, seed=int(seed), progress=progress, extra=dict(kw)))
    ds.source = data.source
    if transform is not None:
        ds.transform = transform
    return ds


def dataset_record(ds: Any) -> dict[str, Any]:
    """What a dataset read, JSON-ready: ``source``, ``root``, ``fingerprint``, ``n``,
    ``counts`` {class: n}, ``skipped`` (count), ``split``; plus ``built_from`` (stand-in) and
    ``excluded`` (PTB-XL records left out by the label rule) where they apply."""
    parent = ds.parent if isinstance(ds, SubsetView) else ds
    root = getattr(ds, "root", None)
    skipped = getattr(ds, "skipped", None)
    labels = np.asarray(ds.labels)
    rec: dict[str, Any] = {
        "source": getattr(ds, "source", ""),
        "root": None if root is None else str(root),
        "fingerprint": getattr(ds, "fingerprint", ""),
        "n": int(len(ds)),
        "counts": {str(c): int((labels == k).sum()) for k, c in enumerate(ds.classes)},
        "skipped": int(len(skipped)) if skipped is not None else 0,
        "split": getattr(ds, "split_name", None),
    }
    built_from = getattr(parent, "built_from", None)
    if built_from is not None:
        rec["built_from"] = dict(built_from)
    excluded = getattr(parent, "excluded", None)
    if excluded is not None:
        rec["excluded"] = {str(k): int(v) for k, v in excluded.items()}
    return rec


__all__ = ["Role", "SOURCES", "STANDIN_DEFAULTS", "Source", "build_dataset", "dataset_record", "standin_dir",
           "synthetic_standin"]
