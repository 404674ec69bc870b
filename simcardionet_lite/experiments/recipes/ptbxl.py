"""Chapter 07's recipe: PTB-XL's five diagnostic superclasses on the official folds.

Why the official folds: ``strat_fold`` 1-8 / 9 / 10 keep every patient on one side and are what
the public benchmark (Strodthoff et al. 2021) reports on, so our fold-10 numbers can sit beside
its. Single-label training (records with exactly one superclass) gives the paper's kind of
accuracy and F1; the benchmark's multi-label macro AUC comes from one-vs-rest linear probes on
the fine-tuned encoder's features (ours: the single-label network cannot output several labels).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from simcardionet_lite.config import Config
from simcardionet_lite.data.factory import build_dataset
from simcardionet_lite.data.pages import subset
from simcardionet_lite.evaluate import extract_features, linear_probe, summarize
from simcardionet_lite.experiments.engine import baseline_metrics, fit_and_evaluate
from simcardionet_lite.experiments.protocols import label_subset
from simcardionet_lite.experiments.registry import Outcome, register

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def multilabel_auc(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                   classes: Sequence[str], seed: int) -> dict[str, Any]:
    """Macro AUC of one-vs-rest linear probes (C = 0.1, ours) on features: the benchmark's metric.

    Classes without both positives and negatives in the training or test set are left out of
    the macro mean (and listed), as the AUC is undefined for them.
    """
    from sklearn.metrics import roc_auc_score

    per: dict[str, float | None] = {}
    for j, c in enumerate(classes):
        if len(np.unique(train_y[:, j])) < 2 or len(np.unique(test_y[:, j])) < 2:
            per[c] = None
            continue
        p = linear_probe(train_x, train_y[:, j], test_x, C=0.1, seed=seed, n_classes=2)[:, 1]
        per[c] = float(roc_auc_score(test_y[:, j], p))
    vals = [v for v in per.values() if v is not None]
    return {"macro_auc": float(np.mean(vals)) if vals else None, "per_class_auc": per,
            "left_out": [c for c, v in per.items() if v is None]}


def multilabel_scores(model: Any, ml_train: Any, ml_test: Any, seed: int) -> dict[str, Any]:
    """:func:`multilabel_auc` of ``model``'s features: probes fitted on ``ml_train``, scored on ``ml_test``."""
    return {**multilabel_auc(extract_features(model, ml_train), np.asarray(ml_train.multilabel),
                             extract_features(model, ml_test), np.asarray(ml_test.multilabel), ml_test.classes, seed),
            "n_train": len(ml_train), "n_test": len(ml_test)}


def run_ptbxl(sets: dict[str, Any], cfg: Config, *, seeds: list[int] | None = None, baseline: bool = True,
              progress: bool = False, models: dict[str, Any] | None = None) -> dict[str, Any]:
    """Single-label 5-class PTB-XL on the official folds, for each of ``eval.seeds``.

    ``sets`` holds ``train``/``val``/``test`` (single-label records of folds 1-8 / 9 / 10) and
    ``ml_train``/``ml_test`` (every record with a superclass, multi-hot, folds 1-8 / 10).
    Pretraining and fine-tuning use folds 1-8, early stopping fold 9, the metrics fold 10.
    """
    seeds = list(cfg.eval.seeds if seeds is None else seeds)
    train, val, test = (sets[s] for s in SPLITS)
    runs = []
    for seed in seeds:
        res = fit_and_evaluate(cfg, train, test, seed=seed, val_ds=val, progress=progress, return_model=True)
        model = res.pop("model")
        if models is not None:
            models[f"seed{seed}"] = (model, cfg, tuple(train.classes))
        run: dict[str, Any] = {"seed": seed, "metrics": res["metrics"], "pretrain": res["pretrain"]}
        run["multilabel"] = multilabel_scores(model, sets["ml_train"], sets["ml_test"], seed)
        if baseline:
            run["baseline"] = baseline_metrics(cfg, train, test, seed)
        runs.append(run)
    out: dict[str, Any] = {
        "seeds": seeds, "n_train": len(train), "n_val": len(val), "n_test": len(test),
        "test_class_counts": {c: int((np.asarray(test.labels) == k).sum()) for k, c in enumerate(test.classes)},
        "runs": runs, "summary": summarize([r["metrics"] for r in runs]),
        "multilabel_summary": summarize([r["multilabel"] for r in runs], ["macro_auc"]),
    }
    if baseline:
        out["baseline_summary"] = summarize([r["baseline"] for r in runs])
    if cfg.experiment.learning_curve:
        out["learning_curve"] = learning_curve(sets, cfg, seeds, runs, progress=progress)
    return out


def learning_curve(sets: dict[str, Any], cfg: Config, seeds: list[int], full_runs: list[dict[str, Any]], *,
                   progress: bool = False) -> list[dict[str, Any]]:
    """Fold-10 scores when fitting on stratified fractions (``experiment.learning_curve``) of the training
    records, per seed; the full set's point is the main runs'. Why: on a 988-record sample a low
    score may be the method or the sample size; the slope says which, and how far 21,799 records
    might carry it (an extrapolation the chapter labels as one). Each point also carries the multi-label
    macro AUC of its network's features, with probes fitted on the same share of the multi-label records
    (:func:`multilabel_subset`)."""
    train, val, test = (sets[s] for s in SPLITS)
    ml_train, ml_test = sets["ml_train"], sets["ml_test"]
    points = [{"fraction": 1.0, "n_train": len(train), "seed": r["seed"], "metrics": r["metrics"],
               "multilabel": r["multilabel"]} for r in full_runs]
    for frac in sorted(f for f in cfg.experiment.learning_curve if 0 < f < 1):
        for seed in seeds:
            pos = label_subset(np.asarray(train.labels), frac, seed)
            res = fit_and_evaluate(cfg, subset(train, pos), test, seed=seed, val_ds=val, progress=progress,
                                   return_model=True)
            ml_pos = multilabel_subset(len(ml_train), frac, seed)
            ml = multilabel_scores(res.pop("model"), subset(ml_train, ml_pos), ml_test, seed)
            points.append({"fraction": frac, "n_train": int(len(pos)), "seed": seed, "metrics": res["metrics"],
                           "multilabel": ml})
            log.info("PTB-XL learning curve: %.2f of the records (%d), seed %d: macro-F1 %.3f, multi-label AUC %s",
                     frac, len(pos), seed, res["metrics"]["macro_f1"], ml["macro_auc"])
    return sorted(points, key=lambda p: (p["fraction"], p["seed"]))


def multilabel_subset(n: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted positions of ``round(fraction * n)`` of ``n`` multi-label training records, drawn by ``seed``.

    Why: a learning-curve point's multi-label probes must see the same share of the labelled records as
    its network, or the multi-label AUC would credit the full training set to a smaller fit.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    k = max(1, int(round(fraction * n)))
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def ptbxl_sets(cfg: Config) -> dict[str, Any]:
    """The five sets of :func:`run_ptbxl`, built from ``cfg.data`` (real PTB-XL or its synthetic stand-in)."""
    sets = {s: build_dataset(cfg.data, split=s, seed=cfg.seed) for s in SPLITS}
    sets["ml_train"] = build_dataset(cfg.data, split="train", single_label=False, seed=cfg.seed)
    sets["ml_test"] = build_dataset(cfg.data, split="test", single_label=False, seed=cfg.seed)
    return sets


@register("ptbxl_folds", chapter="07_ptbxl", title="PTB-XL (5 superclasses)", real_source="ptbxl",
          reads=("data", "model", "loss", "aug_pretrain", "aug_finetune", "pretrain", "finetune", "eval", "experiment"))
def ptbxl_folds(cfg: Config) -> Outcome:
    """PTB-XL on the official folds, single-label metrics plus the multi-label AUC."""
    sets = ptbxl_sets(cfg)
    models: dict[str, Any] = {}
    return Outcome(run_ptbxl(sets, cfg, models=models), sets, {"sets": sets}, models=models)


__all__ = ["learning_curve", "multilabel_auc", "multilabel_scores", "multilabel_subset", "run_ptbxl", "ptbxl_sets", "ptbxl_folds"]
