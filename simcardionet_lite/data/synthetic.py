"""Seeded synthetic report pages: the offline default of every chapter and test.

Why synthetic pages: no dataset ships with the package, yet every chapter must run (and
every claim be checked) without a download. A synthetic page is drawn from a generated
12-lead signal whose class features and heart rate are known, in the printed style of the
dataset it stands in for, so the pipeline and its failure modes (copies across folds, header
shortcuts) can be shown on data whose ground truth is exact.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from simcardionet_lite.data.cache import PageCache, cache_key
from simcardionet_lite.data.pages import DATA_VERSION, PageDataset, Transform, groups_from_keys, prepare_page
from simcardionet_lite.ecg import render as R
from simcardionet_lite.ecg import synth as S


class SyntheticECG(PageDataset):
    """Seeded synthetic report pages (the offline default of every chapter).

    Record ``i`` of class ``k`` is generated from ``rng = np.random.default_rng([seed, k, i])``,
    so any subset is reproducible on its own. ``duplicate_fraction`` (ours) makes that share of
    each class an exact copy of another page of the class, which mimics Dataset I, where 437
    of 928 files are byte-identical copies; ``groups`` then holds the copy clusters.
    ``fingerprint`` is the hash of the generator spec (versions, style, seed, sizes, ...).
    """

    source = "synthetic"

    def __init__(
        self,
        style: str = "mendeley",
        label_set: str = "dataset1",
        n_per_class: int = 40,
        seed: int = 0,
        difficulty: float = 0.5,
        image_size: tuple[int, int] = (96, 128),
        crop_header_footer: bool = False,
        cache_dir: str | os.PathLike | None = None,
        transform: Transform | None = None,
        *,
        classes: Sequence[str] | None = None,
        fs: int | None = None,
        duplicate_fraction: float = 0.0,
        grayscale: bool = False,
        panels: bool = False,
        progress: bool = False,
    ) -> None:
        super().__init__(transform)
        R.get_style(style)
        if label_set not in S.LABEL_SETS:
            raise KeyError(f"unknown label_set {label_set!r}; choose one of {sorted(S.LABEL_SETS)}")
        all_classes = S.LABEL_SETS[label_set]
        self.classes = tuple(classes) if classes is not None else all_classes
        unknown = [c for c in self.classes if c not in all_classes]
        if unknown:
            raise KeyError(f"classes {unknown} are not in label_set {label_set!r} {all_classes}")
        if n_per_class < 1:
            raise ValueError("n_per_class must be >= 1")
        if not 0.0 <= duplicate_fraction < 1.0:
            raise ValueError("duplicate_fraction must be in [0, 1)")
        self.style, self.label_set, self.seed, self.difficulty = style, label_set, int(seed), float(difficulty)
        self.n_per_class = int(n_per_class)
        self.size = (int(image_size[0]), int(image_size[1]))
        self.crop = bool(crop_header_footer)
        self.grayscale = bool(grayscale)
        self.panels = bool(panels)
        # ours: 250 Hz is more than a small page can show; 500 Hz (PTB-XL's rate) for large pages
        self.fs = int(fs or (500 if self.size[1] >= 512 else 250))
        self._plan_records(all_classes, float(duplicate_fraction))
        #: everything that determines the pixels; its hash is the page-cache key and the fingerprint
        self.spec = self._make_spec(float(duplicate_fraction))
        self.fingerprint = cache_key(self.spec)
        cache = PageCache(cache_dir)
        self.cache = cache
        self._progress = progress
        self._meta_cache: dict[int, dict[str, Any]] = {}
        self._images = cache.get_or_create(self.spec, self._build)
        self.hr = np.asarray(cache.get_or_create({**self.spec, "what": "hr"}, self._build_hr), dtype=np.float64)

    def _make_spec(self, duplicate_fraction: float) -> dict[str, Any]:
        return {
            "kind": "synthetic",
            "versions": [S.GENERATOR_VERSION, R.RENDERER_VERSION, DATA_VERSION],
            "style": self.style,
            "label_set": self.label_set,
            "classes": list(self.classes),
            "n_per_class": self.n_per_class,
            "seed": self.seed,
            "difficulty": self.difficulty,
            "size": list(self.size),
            "crop": self.crop,
            "grayscale": self.grayscale,
            "panels": self.panels,
            "fs": self.fs,
            "duplicate_fraction": duplicate_fraction,
        }

    def _plan_records(self, all_classes: tuple[str, ...], duplicate_fraction: float) -> None:
        """Which record each item shows (itself, or an earlier record of its class it copies)."""
        n_dup = int(round(duplicate_fraction * self.n_per_class))
        rs = np.random.default_rng([self.seed, 99991])
        src: list[int] = []
        labels: list[int] = []
        ids: list[str] = []
        self._cls_index: list[int] = []
        for k, c in enumerate(self.classes):
            ci = all_classes.index(c)
            n_unique = self.n_per_class - n_dup
            base = len(src)
            for i in range(self.n_per_class):
                j = i if i < n_unique else int(rs.integers(0, n_unique))
                src.append(base + j)
                labels.append(k)
                ids.append(f"syn-{self.label_set}-{self.style}-{c}-s{self.seed}-{i:05d}")
                self._cls_index.append(ci)
        self._src = np.asarray(src)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.ids = ids
        self.groups = groups_from_keys([str(s) for s in self._src])

    def _record_index(self, i: int) -> tuple[int, int]:
        """(label-set class index, within-class index) of the record that item ``i`` shows."""
        s = int(self._src[i])
        return self._cls_index[s], s % self.n_per_class

    def signal(self, i: int) -> tuple[np.ndarray, dict[str, Any]]:
        """The 12-lead signal and ground-truth meta behind page ``i`` (regenerated, exact)."""
        ci, j = self._record_index(i)
        cls = S.LABEL_SETS[self.label_set][ci]
        sig, meta = S.generate(self.label_set, cls, S.record_rng(self.seed, ci, j), self.difficulty, fs=self.fs)
        return sig, meta

    def _render_one(self, i: int) -> np.ndarray:
        ci, j = self._record_index(i)
        sig, meta = self.signal(i)
        header = {"hr": meta["hr"], "id": f"{168000 + 1000 * ci + j}"}
        page_size = R.page_size_for_mosaic(self.style, self.size) if self.panels else self.size
        page = R.render(sig, self.fs, self.style, page_size, rng=np.random.default_rng([self.seed, ci, j, 7]), header=header)
        self._meta_cache[i] = meta
        return prepare_page(page, image_size=self.size, crop_header_footer=self.crop, style=self.style,
                            grayscale=self.grayscale, panels=self.panels)

    def _build(self) -> np.ndarray:
        n = len(self.labels)
        out = np.empty((n, *self.size, 3), np.uint8)
        done: dict[int, int] = {}
        for i in tqdm(range(n), desc=f"render {self.style} pages", disable=not self._progress, leave=False):
            s = int(self._src[i])
            if s in done:
                out[i] = out[done[s]]
            else:
                out[i] = self._render_one(i)
                done[s] = i
        return out

    def _build_hr(self) -> np.ndarray:
        return np.asarray([self._meta_cache[i]["hr"] if i in self._meta_cache else self.signal(i)[1]["hr"]
                           for i in range(len(self.labels))], dtype=np.float64)


def ptbxl_like_folds(labels: Sequence[int] | np.ndarray, seed: int) -> np.ndarray:
    """PTB-XL-style ``strat_fold`` values for synthetic pages: per class 10 % fold 10 (test),
    10 % fold 9 (validation), the rest fold 1 (training); at least one of each per class.

    The rng is seeded with ``seed`` alone, as the PTB-XL chapter did before the factory.
    """
    y = np.asarray(labels)
    fold = np.zeros(len(y), dtype=np.int64)
    rng = np.random.default_rng(seed)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_te = max(1, int(round(0.1 * len(idx))))
        fold[idx] = 1
        fold[idx[:n_te]] = 10
        fold[idx[n_te : 2 * n_te]] = 9
    return fold


__all__ = ["SyntheticECG", "ptbxl_like_folds"]
