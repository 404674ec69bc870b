"""Evaluation protocols: how a dataset is split into what is trained on and what is scored.

Why a module: a number means little without its split, and the four protocols the results
chapters use differ exactly in what they let cross from training into test:

* **file-level CV** (``cv_splits(..., protocol="file")``): stratified K-fold over files, the
  paper's likely protocol; copies of a Dataset I page can sit on both sides;
* **duplicate-cluster CV** (``protocol="grouped"``): ``StratifiedGroupKFold`` with duplicate
  clusters (or patients) as groups, so every copy of a page is on one side;
* **hold-out** (:func:`holdout_split`): fold 0 of grouped CV, the one split the ablations,
  label-efficiency and Grad-CAM recipes share;
* **official PTB-XL folds** (:func:`official_fold_split`): ``strat_fold`` 1-8 train, 9
  validation, 10 test, patients never crossing.

Inside a training part, :func:`train_val_split` carves the early-stopping split (group-aware)
and :func:`label_subset` the labelled fraction of the label-efficiency recipe. Every function
is a pure function of labels, groups and a seed, so a split is reproducible from its record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PROTOCOLS = ("file", "grouped")


def cv_splits(
    labels: Sequence[int] | np.ndarray,
    groups: Sequence[int] | np.ndarray | None,
    n_splits: int = 3,
    protocol: str = "file",
    seed: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold splits ``[(train_idx, test_idx)]`` under ``protocol`` (``file`` | ``grouped``)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y = np.asarray(labels)
    X = np.zeros((len(y), 1))
    counts = np.bincount(y) if len(y) else np.zeros(0, int)
    if len(y) < n_splits or (counts[counts > 0].min() if counts.size else 0) < n_splits:
        log.warning("a class has fewer than n_splits=%d members; folds will miss it", n_splits)
    if protocol == "file":
        cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return [(tr, te) for tr, te in cv.split(X, y)]
    if protocol == "grouped":
        if groups is None:
            raise ValueError("protocol='grouped' needs groups (duplicate-cluster ids)")
        g = np.asarray(groups)
        if len(g) != len(y):
            raise ValueError(f"groups ({len(g)}) and labels ({len(y)}) differ in length")
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return [(tr, te) for tr, te in cv.split(X, y, g)]
    raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")


def leakage(splits: Sequence[tuple[np.ndarray, np.ndarray]], groups: Sequence[int] | np.ndarray) -> list[dict[str, Any]]:
    """Per fold: test files with a copy (same group) in the training part, count and share."""
    g = np.asarray(groups)
    out = []
    for tr, te in splits:
        leaked = np.isin(g[te], g[tr])
        out.append({"n_test": int(len(te)), "leaked": int(leaked.sum()), "fraction": float(leaked.mean()) if len(te) else 0.0})
    return out


def holdout_split(labels: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One grouped train/test split: fold 0 of grouped ``folds``-fold CV (no duplicate crosses it)."""
    return cv_splits(np.asarray(labels), np.asarray(groups), folds, protocol="grouped", seed=seed)[0]


def official_fold_split(strat_fold: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PTB-XL's recommended split: folds 1-8 train, 9 validation, 10 test."""
    f = np.asarray(strat_fold)
    return np.flatnonzero(f <= 8), np.flatnonzero(f == 9), np.flatnonzero(f == 10)


def train_val_split(
    labels: np.ndarray, groups: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, group-aware split of a training part into train and validation (ours).

    Whole duplicate groups go to one side, so no copy of a validation page is trained on.
    Each class keeps at least one group in training when it has any.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    train, val = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        g = np.unique(groups[idx])
        rng.shuffle(g)
        n_val = min(int(round(len(g) * val_fraction)), len(g) - 1)
        val_g = set(g[:n_val].tolist())
        for i in idx:
            (val if groups[i] in val_g else train).append(i)
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(val, dtype=np.int64))


def first_per_group(groups: np.ndarray) -> np.ndarray:
    """Positions of the first item of each group, in order: one page per duplicate cluster."""
    _, first = np.unique(np.asarray(groups), return_index=True)
    return np.sort(first).astype(np.int64)


def _draw_per_class(labels: np.ndarray, size: Callable[[int], int], seed: int) -> list[np.ndarray]:
    """Per class (in label order): ``size(class count)`` positions drawn without replacement, sorted."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    parts = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        parts.append(np.sort(rng.choice(idx, size=min(size(len(idx)), len(idx)), replace=False)))
    return parts


def label_subset(labels: np.ndarray, fraction: float, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Positions of a stratified ``fraction`` of the labels, at least one per class.

    With ``groups`` (duplicate clusters, patients) the fraction is of each class's *groups*, and
    every position of a drawn group comes along. Why: on Dataset I 10 % of the files can be ten
    copies of one page; 10 % of the clusters is 10 % of the distinct pages, the labelling effort
    the question is about. (A group is counted under its first position's class.)
    """
    labels = np.asarray(labels)
    if groups is None:
        parts = _draw_per_class(labels, lambda n: max(1, int(round(fraction * n))), seed)
        return np.sort(np.concatenate(parts)).astype(np.int64) if parts else np.zeros(0, np.int64)
    groups = np.asarray(groups)
    if len(groups) != len(labels):
        raise ValueError(f"label_subset: {len(groups)} groups for {len(labels)} labels")
    first = first_per_group(groups)
    picked = _draw_per_class(labels[first], lambda n: max(1, int(round(fraction * n))), seed)
    keep = groups[first][np.concatenate(picked)] if picked else groups[:0]
    return np.flatnonzero(np.isin(groups, keep)).astype(np.int64)


def pick_per_class(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Up to ``n`` positions per class, drawn without replacement (grouped by class)."""
    parts = _draw_per_class(labels, lambda _: n, seed)
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


__all__ = [
    "PROTOCOLS",
    "cv_splits",
    "leakage",
    "holdout_split",
    "official_fold_split",
    "train_val_split",
    "first_per_group",
    "label_subset",
    "pick_per_class",
]
