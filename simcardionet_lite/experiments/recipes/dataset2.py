"""Chapter 06's recipe: train on Dataset I, test without retraining on Dataset II, audit the overlap first.

Why the audit comes first: the likeliest Dataset II (a Kaggle re-upload) holds the same pictures
as Dataset I, re-encoded. A test page whose picture was trained on measures memory, not
out-of-distribution generalisation, so every score is split into pages seen and not seen in
training, by the page-hash distance to the nearest training page.

Data roles (all from ``cfg.data``): ``source="kaggle_standin"`` trains on the Dataset I at
``data.root`` and tests on the stand-in built from it; ``source="kaggle"`` tests on a real
Kaggle-layout folder and trains on ``data.train_root`` (synthetic Dataset I pages when unset);
``source="synthetic"`` trains on synthetic ``mendeley`` pages and tests on other records drawn
in the ``kaggle`` style, a genuinely out-of-distribution contrast.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from simcardionet_lite.config import Config, DataConfig
from simcardionet_lite.data.factory import STANDIN_DEFAULTS, build_dataset
from simcardionet_lite.errors import DataError
from simcardionet_lite.evaluate import summarize
from simcardionet_lite.experiments.engine import baseline_metrics, fit_and_evaluate, score
from simcardionet_lite.experiments.registry import Outcome, register

log = logging.getLogger(__name__)


def overlap_audit(train_ds: Any, test_ds: Any, max_distance: int | None = None) -> dict[str, Any]:
    """How many test pages are (near-)copies of a training page, by page-hash Hamming distance.

    Uses the 1024-bit page hash (:func:`simcardionet_lite.data.audit.page_hash`, a SimHash of
    the page's ink map): SHA-256 misses re-encoded copies, and a 64-bit pHash cannot tell two
    report pages apart (their shared layout dominates it). A test page with a training page
    within ``max_distance`` bits (default ``audit.DEFAULT_HAMMING``) counts as seen. Also returns
    the histogram of nearest distances and whether the nearest training page has the same label.
    """
    from simcardionet_lite.data.audit import DEFAULT_HAMMING, hamming_matrix, page_hashes

    thr = DEFAULT_HAMMING if max_distance is None else int(max_distance)
    a = page_hashes(train_ds.images_uint8())
    b = page_hashes(test_ds.images_uint8())
    dist = hamming_matrix(b, a)
    nearest = dist.min(axis=1) if len(a) else np.full(len(b), a.shape[1] if a.ndim == 2 else 1024)
    seen = nearest <= thr
    labels = np.asarray(test_ds.labels)
    same_label = (np.asarray(train_ds.labels)[dist.argmin(axis=1)] == labels) if len(a) else np.zeros(len(b), bool)
    return {
        "n_train": int(len(a)), "n_test": int(len(b)), "hash": "page_hash (1024-bit SimHash of the ink map)",
        "max_distance": thr, "n_seen": int(seen.sum()), "fraction_seen": float(seen.mean()) if len(seen) else 0.0,
        "seen_with_same_label": float(same_label[seen].mean()) if seen.any() else None,
        "nearest_distance_hist": np.bincount(np.minimum(nearest, 256), minlength=257).tolist(),
        "per_class": {c: {"n": int((labels == k).sum()), "seen": int(seen[labels == k].sum())}
                      for k, c in enumerate(test_ds.classes)},
        "seen_mask": seen.tolist(),
        # per test page, the training positions within max_distance (its copies): run_ood splits "seen"
        # into pages whose copy was fitted and pages whose copy was only in the early-stopping split
        "matches": [np.flatnonzero(row <= thr).tolist() for row in dist] if len(a) else [[] for _ in range(len(b))],
    }


#: the three parts a Dataset II test set is scored in, by where a test page's copy sat in training
OOD_SUBSETS = ("fitted", "val_only", "unseen")


def ood_subsets(matches: list[list[int]], train_groups: np.ndarray, fit_positions: np.ndarray,
                val_positions: np.ndarray) -> np.ndarray:
    """Per test page: ``"fitted"`` (a copy's duplicate cluster was trained on), ``"val_only"`` (its
    copies sat only in the early-stopping split) or ``"unseen"`` (no copy in training at all)."""
    g = np.asarray(train_groups)
    fitted, validated = set(g[np.asarray(fit_positions, dtype=np.int64)].tolist()), set(
        g[np.asarray(val_positions, dtype=np.int64)].tolist())
    out = []
    for m in matches:
        mg = set(g[np.asarray(m, dtype=np.int64)].tolist())
        out.append("fitted" if mg & fitted else "val_only" if mg & validated else "fitted" if mg else "unseen")
    return np.asarray(out)


def run_ood(train_ds: Any, test_ds: Any, cfg: Config, *, seeds: list[int] | None = None, baseline: bool = True,
            progress: bool = False, models: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train on all of ``train_ds``, score ``test_ds`` without retraining, for each of ``eval.seeds``.

    The overlap audit (data only, the same for every seed) runs first; each seed's metrics are
    also split into the :data:`OOD_SUBSETS`: test pages whose copy was fitted, whose copy was
    only in the early-stopping split, and with no copy in training (counts per seed, as the
    split into fitting and validation depends on the seed).
    """
    if list(train_ds.classes) != list(test_ds.classes):
        raise DataError(f"class lists differ: train {list(train_ds.classes)} vs test {list(test_ds.classes)}",
                        fix="map the test folders to the training classes (class_map=)")
    seeds = list(cfg.eval.seeds if seeds is None else seeds)
    overlap = overlap_audit(train_ds, test_ds)
    runs = []
    test_groups = np.asarray(test_ds.groups)
    for seed in seeds:
        res = fit_and_evaluate(cfg, train_ds, test_ds, seed=seed, progress=progress, return_model=models is not None)
        if models is not None:
            models[f"seed{seed}"] = (res.pop("model"), cfg, tuple(train_ds.classes))
        run: dict[str, Any] = {"seed": seed, "metrics": res["metrics"], "pretrain": res["pretrain"]}
        probs, labels = np.asarray(res["probs"]), np.asarray(res["labels"])
        part = ood_subsets(overlap["matches"], np.asarray(train_ds.groups), res["fit_positions"], res["val_positions"])
        run["subset_counts"] = {name: int((part == name).sum()) for name in OOD_SUBSETS}
        for name in OOD_SUBSETS:
            mask = part == name
            run[f"metrics_{name}"] = (score(cfg, labels[mask], probs[mask], test_ds.classes, seed, groups=test_groups[mask])
                                      if mask.sum() >= 2 else None)
        if baseline:
            run["baseline"] = baseline_metrics(cfg, train_ds, test_ds, seed)
        runs.append(run)
    out: dict[str, Any] = {"seeds": seeds, "overlap": overlap, "runs": runs,
                           "summary": summarize([r["metrics"] for r in runs]),
                           **{f"summary_{name}": summarize([r[f"metrics_{name}"] for r in runs if r[f"metrics_{name}"]])
                              for name in OOD_SUBSETS}}
    if baseline:
        out["baseline_summary"] = summarize([r["baseline"] for r in runs])
    return out


def ood_datasets(cfg: Config) -> tuple[Any, Any]:
    """(training Dataset I, Dataset II test split) as ``cfg.data`` selects them (see the module docstring)."""
    d = cfg.data
    synthetic_d1 = replace(d, source="synthetic", root=None, **STANDIN_DEFAULTS["dataset1"])
    if d.source == "synthetic":
        train = build_dataset(synthetic_d1, seed=cfg.seed)
        test = build_dataset(replace(d, n_per_class=max(2, d.n_per_class // 2), duplicate_fraction=0.0),
                             seed=cfg.seed + 1000)
        return train, test
    if d.source == "kaggle_standin":
        train_cfg: DataConfig = replace(d, source="dataset1", root=d.root)
    elif d.source == "kaggle":
        train_cfg = replace(d, source="dataset1", root=d.train_root) if d.train_root else synthetic_d1
    else:
        raise DataError(f"the Dataset II recipe reads data.source 'kaggle', 'kaggle_standin' or 'synthetic', not {d.source!r}",
                        fix="set data.source accordingly (chapter 6: data_root, or standin_from)")
    return build_dataset(train_cfg, seed=cfg.seed), build_dataset(d, split="test", seed=cfg.seed)


@register("dataset2_ood", chapter="06_dataset2", title="Dataset II (Kaggle re-upload)", real_source="kaggle",
          reads=("data", "model", "loss", "aug_pretrain", "aug_finetune", "pretrain", "finetune", "eval"))
def dataset2_ood(cfg: Config) -> Outcome:
    """Zero-shot Dataset II with the overlap audit."""
    train_ds, test_ds = ood_datasets(cfg)
    models: dict[str, Any] = {}
    return Outcome(run_ood(train_ds, test_ds, cfg, models=models), {"train": train_ds, "test": test_ds},
                   {"train": train_ds, "test": test_ds}, models=models)


__all__ = ["OOD_SUBSETS", "overlap_audit", "ood_subsets", "run_ood", "ood_datasets", "dataset2_ood"]
