"""Chapter 05's recipe: Dataset I under file-level and duplicate-cluster cross-validation.

Why both protocols side by side: Dataset I holds 437 byte-identical copies among 928 files.
Under file-level folds (the paper's likely protocol) copies of a test page sit in training;
under grouped folds they cannot. The gap between the two is the part of a file-level score
that duplicates can explain, and the pixel baseline on the same folds shows how much of it needs
no deep model at all.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from simcardionet_lite.config import Config
from simcardionet_lite.data.factory import build_dataset
from simcardionet_lite.data.pages import subset
from simcardionet_lite.evaluate import summarize
from simcardionet_lite.experiments.engine import baseline_metrics, fit_and_evaluate, pretraining_corpus
from simcardionet_lite.experiments.protocols import cv_splits
from simcardionet_lite.experiments.registry import Outcome, register

log = logging.getLogger(__name__)


def run_cv(dataset: Any, cfg: Config, protocol: str = "file", *, seeds: list[int] | None = None,
           baseline: bool = True, progress: bool = False) -> dict[str, Any]:
    """k-fold CV (``eval.folds``) under ``protocol`` ("file" or "grouped"), repeated over ``eval.seeds``.

    Each seed draws its own folds and trains its own models. Per fold: pretrain on the fold's
    training pages or on all pages (``pretrain.corpus``), fine-tune, score the held-out fold, and
    fit the pixel baseline on the same split. Returns every fold (with its seed), mean +- SD over
    all folds of all seeds, the summed confusion matrix and the split sizes.
    """
    seeds = list(cfg.eval.seeds if seeds is None else seeds)
    labels, groups = np.asarray(dataset.labels), np.asarray(dataset.groups)
    folds, base = [], []
    confusion = np.zeros((len(dataset.classes),) * 2, dtype=np.int64)
    for seed in seeds:
        splits = cv_splits(labels, groups, cfg.eval.folds, protocol=protocol, seed=seed)
        if cfg.experiment.max_cv_folds > 0:
            splits = splits[: cfg.experiment.max_cv_folds]
        for k, (tr, te) in enumerate(splits):
            t0 = time.perf_counter()
            train_ds, test_ds = subset(dataset, tr), subset(dataset, te)
            res = fit_and_evaluate(cfg, train_ds, test_ds, seed=seed, progress=progress,
                                   pretrain_ds=pretraining_corpus(cfg, dataset, train_ds))
            m = res["metrics"]
            confusion += np.asarray(m["confusion"], dtype=np.int64)
            folds.append({"seed": seed, "fold": k, "n_train": len(tr), "n_test": len(te),
                          "test_groups_seen_in_train": len(set(groups[tr]) & set(groups[te])),
                          "metrics": m, "pretrain": res["pretrain"], "seconds": time.perf_counter() - t0})
            if baseline:
                base.append({"seed": seed, "fold": k, "metrics": baseline_metrics(cfg, train_ds, test_ds, seed)})
            log.info("seed %d fold %d/%d (%s): accuracy %.3f", seed, k + 1, len(splits), protocol, m["accuracy"])
    out: dict[str, Any] = {"protocol": protocol, "seeds": seeds, "folds": folds,
                           "summary": summarize([f["metrics"] for f in folds]),
                           "confusion": confusion.tolist(), "classes": list(dataset.classes)}
    if baseline:
        out["baseline"] = {"folds": base, "summary": summarize([b["metrics"] for b in base])}
    return out


@register("dataset1_cv", chapter="05_dataset1", title="Dataset I (Mendeley, 4 classes)", real_source="dataset1",
          reads=("data", "model", "loss", "aug_pretrain", "aug_finetune", "pretrain", "finetune", "eval", "experiment"))
def dataset1_cv(cfg: Config) -> Outcome:
    """Both protocols of ``experiment.protocols`` on the Dataset I that ``cfg.data`` selects."""
    ds = build_dataset(cfg.data, seed=cfg.seed)
    res = {protocol: run_cv(ds, cfg, protocol) for protocol in cfg.experiment.protocols}
    return Outcome(res, {"pages": ds}, {"dataset": ds})


__all__ = ["run_cv", "dataset1_cv"]
