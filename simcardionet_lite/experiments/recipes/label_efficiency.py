"""Chapter 09's recipe: macro F1 against the fraction of labelled training pages (beyond the paper).

Why four arms: the claim "pretraining reduces the need for labels" predicts that the pretrained
network stays ahead of the same network from scratch as labels shrink. A lead over scratch can
also be a failure of scratch on a handful of pages, so two linear probes read the frozen
features directly: on the pretrained encoder, and on the *untrained* network with the same
initial weights (random convolutional features are already far from useless; the gap between
the probes is what pretraining added).

The pretrained encoder is shared across fractions (it never sees a label), so the curve
isolates the labelled-data effect; the test set is the grouped hold-out split.
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
from simcardionet_lite.experiments.arms import LABEL_EFFICIENCY_ARMS, arm_config
from simcardionet_lite.experiments.engine import (build_model, fit_and_evaluate, pretrained_encoder,
                                                  pretraining_corpus, score)
from simcardionet_lite.experiments.protocols import holdout_split, label_subset
from simcardionet_lite.experiments.registry import Outcome, register

log = logging.getLogger(__name__)

PROBE_C = 0.5  # ours: L2 strength 1/C of the label-efficiency probes


def _probe_features(cfg: Config, pool: Any, train_ds: Any, test_ds: Any, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train and test features of the pretrained encoder and of the untrained network (same initial weights)."""
    from simcardionet_lite.runtime import seed_everything

    enc, _ = pretrained_encoder(cfg, pool, len(train_ds.classes), seed=seed)
    seed_everything(seed)  # the same draw as pretrained_encoder's initial weights
    untrained = build_model(cfg, len(train_ds.classes))
    return {name: (extract_features(m, train_ds), extract_features(m, test_ds))
            for name, m in (("linear_probe", enc), ("random_probe", untrained))}


def _curves(rows: list[dict[str, Any]], fractions: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Per arm and fraction: mean +- SD over seeds and each seed's bootstrap interval of macro F1."""
    curves: dict[str, dict[str, Any]] = {}
    for arm in LABEL_EFFICIENCY_ARMS:
        curves[arm] = {}
        for frac in fractions:
            sel = [r for r in rows if r["arm"] == arm and r["fraction"] == frac]
            curves[arm][str(frac)] = {**summarize([r["metrics"] for r in sel], ("macro_f1", "accuracy")),
                                      "ci": [r["metrics"].get("ci", {}).get("macro_f1") for r in sel]}
    return curves


def label_efficiency(dataset: Any, cfg: Config, fractions: Sequence[float] | None = None,
                     seeds: Sequence[int] | None = None, *, progress: bool = False) -> dict[str, Any]:
    """The four arms at each fraction of ``experiment.label_fractions``, for each of ``eval.seeds``."""
    fractions = list(cfg.experiment.label_fractions if fractions is None else fractions)
    seeds = list(cfg.eval.seeds if seeds is None else seeds)
    rows = []
    for s in seeds:
        tr, te = holdout_split(dataset.labels, dataset.groups, cfg.eval.folds, s)
        train_ds, test_ds = subset(dataset, tr), subset(dataset, te)
        pool = pretraining_corpus(cfg, dataset, train_ds)
        feats = _probe_features(cfg, pool, train_ds, test_ds, s)
        for frac in fractions:
            pos = label_subset(train_ds.labels, frac, s, groups=train_ds.groups)  # a fraction of the clusters
            for arm, arm_name in (("pretrained", "full"), ("scratch", "scratch")):
                r = fit_and_evaluate(arm_config(cfg, arm_name), subset(train_ds, pos), test_ds, seed=s,
                                     pretrain_ds=pool, progress=progress)
                rows.append({"seed": s, "fraction": frac, "arm": arm, "n_labels": len(pos), "metrics": r["metrics"]})
            y = np.asarray(train_ds.labels)[pos]
            for arm, (f_tr, f_te) in feats.items() if len(np.unique(y)) >= 2 else ():
                prob = linear_probe(f_tr[pos], y, f_te, C=PROBE_C, seed=s, n_classes=len(dataset.classes))
                rows.append({"seed": s, "fraction": frac, "arm": arm, "n_labels": len(pos),
                             "metrics": score(cfg, test_ds.labels, prob, dataset.classes, s, groups=test_ds.groups)})
            log.info("label efficiency seed %d fraction %.2f done", s, frac)
    return {"fractions": fractions, "seeds": seeds, "rows": rows, "curves": _curves(rows, fractions)}


@register("label_efficiency", chapter="09_label_efficiency", title="Dataset I (Mendeley, 4 classes)",
          real_source="dataset1",
          reads=("data", "model", "loss", "aug_pretrain", "aug_finetune", "pretrain", "finetune", "eval", "experiment"))
def label_efficiency_recipe(cfg: Config) -> Outcome:
    """Label-efficiency curves on the Dataset I that ``cfg.data`` selects."""
    ds = build_dataset(cfg.data, seed=cfg.seed)
    return Outcome(label_efficiency(ds, cfg), {"pages": ds}, {"dataset": ds})


__all__ = ["PROBE_C", "label_efficiency", "label_efficiency_recipe"]
