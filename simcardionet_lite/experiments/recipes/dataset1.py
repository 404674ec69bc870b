"""Chapter 05's recipe: Dataset I under file-level and duplicate-cluster cross-validation.

Why both protocols side by side: Dataset I holds 437 byte-identical copies among 928 files.
Under file-level folds (the paper's likely protocol) copies of a test page sit in training;
under grouped folds they cannot. The gap between the two is the part of a file-level score
that duplicates can explain, and the baselines on the same folds (the pixel baseline always,
the arms of ``experiment.cv_arms``, e.g. a ResNet-18) show how much of it needs no deep model
at all, or no new one.

Every number is repeated over ``eval.seeds``: each seed draws its own folds and trains its own
models. Per seed the held-out predictions of all folds are pooled (each page is tested once)
and scored with a cluster bootstrap over duplicate clusters (``per_seed``); ``seed_summary`` is
the mean +- SD of those over seeds.
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
from simcardionet_lite.experiments.arms import ARMS, arm_config
from simcardionet_lite.experiments.engine import PAGE_FIELDS, baseline_probs, fit_and_evaluate, pretraining_corpus, score
from simcardionet_lite.experiments.protocols import cv_splits
from simcardionet_lite.experiments.registry import Outcome, register

log = logging.getLogger(__name__)


class _Pool:
    """Held-out probabilities of one model over the folds of one seed, pooled and scored."""

    def __init__(self, n: int, k: int) -> None:
        self.probs = np.full((n, k), np.nan)

    def add(self, test_idx: np.ndarray, probs: Any) -> None:
        self.probs[test_idx] = np.asarray(probs)

    def metrics(self, cfg: Config, dataset: Any, seed: int) -> dict[str, Any]:
        tested = ~np.isnan(self.probs).any(axis=1)  # max_cv_folds may leave folds untested
        idx = np.flatnonzero(tested)
        return score(cfg, np.asarray(dataset.labels)[idx], self.probs[idx], dataset.classes, seed,
                     groups=np.asarray(dataset.groups)[idx])


def _per_seed(pools: dict[int, _Pool], cfg: Config, dataset: Any) -> dict[str, Any]:
    per_seed = [{"seed": s, "metrics": p.metrics(cfg, dataset, s)} for s, p in pools.items()]
    return {"per_seed": per_seed, "seed_summary": summarize([r["metrics"] for r in per_seed])}


def arm_datasets(cfg: Config, dataset: Any, arms: tuple[str, ...]) -> dict[str, Any]:
    """The dataset each arm of ``arms`` reads: ``dataset`` itself, or the same files prepared as the
    arm's page fields say (e.g. whole pages for the ResNet-18). Same items in the same order, or an error."""
    out = {}
    for name in arms:
        acfg = arm_config(cfg, name)
        if all(getattr(acfg.data, f) == getattr(cfg.data, f) for f in PAGE_FIELDS):
            out[name] = dataset
            continue
        ds = build_dataset(acfg.data, seed=cfg.seed)
        if list(ds.ids) != list(dataset.ids) or not np.array_equal(ds.groups, dataset.groups):
            raise RuntimeError(f"arm {name!r}: its pages are not the method's pages in the same order")
        out[name] = ds
    return out


def run_cv(dataset: Any, cfg: Config, protocol: str = "file", *, seeds: list[int] | None = None,
           baseline: bool = True, progress: bool = False, arms: dict[str, Any] | None = None,
           models: dict[str, Any] | None = None) -> dict[str, Any]:
    """k-fold CV (``eval.folds``) under ``protocol`` ("file" or "grouped"), repeated over ``eval.seeds``.

    Per fold: pretrain on the fold's training pages or on all pages (``pretrain.corpus``),
    fine-tune, score the held-out fold; fit the pixel baseline and every arm of ``arms`` (name ->
    its dataset, see :func:`arm_datasets`) on the same split. Returns every fold (with its seed),
    mean +- SD over all folds of all seeds, per-seed pooled metrics with cluster-bootstrap
    intervals, the summed confusion matrix and the split sizes. ``models`` (when given) collects
    the method's fitted models by ``<protocol>-seed<s>-fold<k>``.
    """
    seeds = list(cfg.eval.seeds if seeds is None else seeds)
    arms = arms or {}
    labels, groups = np.asarray(dataset.labels), np.asarray(dataset.groups)
    n, k_cls = len(labels), len(dataset.classes)
    folds: list[dict[str, Any]] = []
    base: list[dict[str, Any]] = []
    arm_folds: dict[str, list[dict[str, Any]]] = {a: [] for a in arms}
    pools = {"method": {}, "pixel": {}, **{a: {} for a in arms}}  # type: dict[str, dict[int, _Pool]]
    confusion = np.zeros((k_cls,) * 2, dtype=np.int64)
    for seed in seeds:
        for pool in pools.values():
            pool[seed] = _Pool(n, k_cls)
        splits = cv_splits(labels, groups, cfg.eval.folds, protocol=protocol, seed=seed)
        if cfg.experiment.max_cv_folds > 0:
            splits = splits[: cfg.experiment.max_cv_folds]
        for k, (tr, te) in enumerate(splits):
            t0 = time.perf_counter()
            train_ds, test_ds = subset(dataset, tr), subset(dataset, te)
            res = fit_and_evaluate(cfg, train_ds, test_ds, seed=seed, progress=progress, return_model=models is not None,
                                   pretrain_ds=pretraining_corpus(cfg, dataset, train_ds))
            m = res["metrics"]
            confusion += np.asarray(m["confusion"], dtype=np.int64)
            pools["method"][seed].add(te, res["probs"])
            if models is not None:
                models[f"{protocol}-seed{seed}-fold{k}"] = (res["model"], cfg, tuple(dataset.classes))
            folds.append({"seed": seed, "fold": k, "n_train": len(tr), "n_test": len(te), "n_fit": res["n_fit"],
                          "n_val": res["n_val"], "test_groups_seen_in_train": len(set(groups[tr]) & set(groups[te])),
                          "metrics": m, "pretrain": res["pretrain"], "best_epoch": res["finetune_history"]["best_epoch"],
                          "seconds": time.perf_counter() - t0})
            if baseline:
                bp = baseline_probs(train_ds, test_ds, seed)
                pools["pixel"][seed].add(te, bp)
                base.append({"seed": seed, "fold": k, "metrics": score(cfg, labels[te], bp, dataset.classes, seed,
                                                                       groups=groups[te])})
            for name, ads in arms.items():
                t1 = time.perf_counter()
                acfg = arm_config(cfg, name)
                ares = fit_and_evaluate(acfg, subset(ads, tr), subset(ads, te), seed=seed, progress=progress,
                                        pretrain_ds=pretraining_corpus(acfg, ads, subset(ads, tr)))
                pools[name][seed].add(te, ares["probs"])
                arm_folds[name].append({"seed": seed, "fold": k, "metrics": ares["metrics"], "n_fit": ares["n_fit"],
                                        "best_epoch": ares["finetune_history"]["best_epoch"],
                                        "seconds": time.perf_counter() - t1})
                log.info("seed %d fold %d (%s) arm %s: macro-F1 %.3f", seed, k + 1, protocol, name,
                         ares["metrics"]["macro_f1"])
            log.info("seed %d fold %d/%d (%s): accuracy %.3f, macro-F1 %.3f", seed, k + 1, len(splits), protocol,
                     m["accuracy"], m["macro_f1"])
    out: dict[str, Any] = {"protocol": protocol, "seeds": seeds, "folds": folds,
                           "summary": summarize([f["metrics"] for f in folds]), **_per_seed(pools["method"], cfg, dataset),
                           "confusion": confusion.tolist(), "classes": list(dataset.classes)}
    if baseline:
        out["baseline"] = {"folds": base, "summary": summarize([b["metrics"] for b in base]),
                           **_per_seed(pools["pixel"], cfg, dataset)}
    if arms:
        out["arms"] = {name: {"label": ARMS[name].label, "folds": arm_folds[name],
                              "summary": summarize([f["metrics"] for f in arm_folds[name]]),
                              **_per_seed(pools[name], cfg, dataset)} for name in arms}
    return out


@register("dataset1_cv", chapter="05_dataset1", title="Dataset I (Mendeley, 4 classes)", real_source="dataset1",
          reads=("data", "model", "loss", "aug_pretrain", "aug_finetune", "pretrain", "finetune", "eval", "experiment"))
def dataset1_cv(cfg: Config) -> Outcome:
    """Both protocols of ``experiment.protocols`` on the Dataset I that ``cfg.data`` selects, with the
    arms of ``experiment.cv_arms`` beside the method on the same folds."""
    ds = build_dataset(cfg.data, seed=cfg.seed)
    arms = arm_datasets(cfg, ds, tuple(cfg.experiment.cv_arms))
    models: dict[str, Any] = {}
    res = {protocol: run_cv(ds, cfg, protocol, models=models,
                            arms=arms if protocol in cfg.experiment.cv_arm_protocols else None)
           for protocol in cfg.experiment.protocols}
    datasets = {"pages": ds, **{f"pages_{name}": a for name, a in arms.items() if a is not ds}}
    return Outcome(res, datasets, {"dataset": ds}, models=models)


__all__ = ["arm_datasets", "run_cv", "dataset1_cv"]
