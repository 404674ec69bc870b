"""Choosing settings without looking at a test fold: inner validation inside the training folds.

Why a module: a setting picked because it scored well on the test folds (a learning rate, an
augmentation, how long to train) inflates the reported number by exactly the luck it selected.
The procedure here is the one every arm's settings come from (the method, the same network
from scratch, the ResNet-18), so the comparison between arms is fair by construction:

1. draw the outer folds of the protocol with the tuning seed (the same folds the results use);
2. inside each outer fold's *training* part, split off a group-aware validation part
   (:func:`~simcardionet_lite.experiments.protocols.train_val_split`, whole duplicate clusters);
3. fit the candidate on the rest and score macro-F1 on the validation part's distinct pages;
4. pick the candidate with the best mean over the outer folds.

The outer test folds are never read. What this cannot rule out, and the book says: with other
seeds the outer folds move, so a page tested under seed 1 may have sat in a training part that
seed 0's tuning validated on; the settings chosen are few (a learning rate, a schedule), so the
selection has little room to fit those pages.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from simcardionet_lite.config import Config
from simcardionet_lite.data.pages import subset
from simcardionet_lite.experiments.engine import fit_and_evaluate
from simcardionet_lite.experiments.protocols import cv_splits, first_per_group, train_val_split


def inner_splits(dataset: Any, cfg: Config, *, seed: int, protocol: str = "grouped", val_fraction: float = 0.25,
                 folds: tuple[int, ...] | None = None) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``(outer fold, inner-train positions, inner-validation positions)`` inside each outer training part.

    Positions index ``dataset``; the inner validation holds one page per duplicate cluster.
    """
    labels, groups = np.asarray(dataset.labels), np.asarray(dataset.groups)
    out = []
    for k, (tr, _te) in enumerate(cv_splits(labels, groups, cfg.eval.folds, protocol=protocol, seed=seed)):
        if folds is not None and k not in folds:
            continue
        itr, iva = train_val_split(labels[tr], groups[tr], val_fraction, seed + 1000)
        if len(iva) == 0:  # too few clusters per class to set a quarter aside: a score of nothing would read as 0
            per_class = {int(c): int(np.unique(groups[tr][labels[tr] == c]).size) for c in np.unique(labels[tr])}
            raise ValueError(f"outer fold {k}: the inner validation part is empty (duplicate clusters per class in its "
                             f"training part: {per_class}; val_fraction={val_fraction} rounds to none); tune on more "
                             "pages or raise val_fraction")
        val = tr[iva][first_per_group(groups[tr][iva])]
        out.append((k, tr[itr], val))
    return out


def inner_validation(cfg: Config, dataset: Any, *, seed: int = 0, protocol: str = "grouped",
                     val_fraction: float = 0.25, folds: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Macro-F1 of ``cfg`` on the inner validation part of each outer training part (see the module doc)."""
    runs = []
    for k, itr, iva in inner_splits(dataset, cfg, seed=seed, protocol=protocol, val_fraction=val_fraction, folds=folds):
        t0 = time.perf_counter()
        res = fit_and_evaluate(cfg, subset(dataset, itr), subset(dataset, iva), seed=seed)
        run = {"outer_fold": k, "n_fit": res["n_fit"], "n_inner_val": int(len(iva)),
               "macro_f1": res["metrics"]["macro_f1"], "accuracy": res["metrics"]["accuracy"],
               "best_epoch": res["finetune_history"]["best_epoch"], "seconds": time.perf_counter() - t0}
        if "pretrain" in res:  # a pretrained arm: whether its encoder came from the cache, and under which key
            run["pretrain"] = res["pretrain"]
        runs.append(run)
    f1 = [r["macro_f1"] for r in runs]
    return {"runs": runs, "mean_macro_f1": float(np.mean(f1)), "sd_macro_f1": float(np.std(f1, ddof=1)) if len(f1) > 1 else 0.0,
            "seed": seed, "protocol": protocol, "val_fraction": val_fraction}


#: a candidate whose name starts with this is measured but never selected: it answers a question about the
#: method (e.g. would the pretrained network do better fine-tuned like the scratch one?) without being a setting
#: of it (it drops something the paper states)
DIAGNOSTIC = "diagnostic:"


def select(scores: dict[str, dict[str, Any]]) -> str:
    """The candidate with the highest mean inner-validation macro-F1 (the first listed on a tie); candidates
    named ``diagnostic: ...`` (:data:`DIAGNOSTIC`) are never selected."""
    names = [n for n in scores if not n.startswith(DIAGNOSTIC)]
    if not names:
        raise ValueError("no candidates to select from (diagnostics are never selected)")
    return max(names, key=lambda name: (scores[name]["mean_macro_f1"], -names.index(name)))


__all__ = ["DIAGNOSTIC", "inner_splits", "inner_validation", "select"]
