"""The model engineer's bar check on the synthetic default, over seeds.

For each seed: synthetic Dataset I pages (default difficulty), a stratified 70/30 train/test
split; pretrain on the training pages without labels (kNN monitor on them); then with 10 % of
the training labels (stratified, at least one per class) fine-tune
(a) the pretrained network with progressive unfreezing and (b) the same network from scratch
(all layers trainable from epoch 0: a fair scratch baseline; progressive unfreezing of random
weights would handicap it). Both arms use the same labelled pages, the same validation pages
(another 10 %) for early stopping and the same test pages. Writes a JSON with every number.

Besides the kNN monitor it measures a **linear probe** (standardised logistic regression fitted
on the features of all training pages, scored on the test pages) on the untrained network and on
the pretrained one, with the same initial weights: whether pretraining *added* linearly readable
class information, not just whether the features are above chance (random convolutional
features already are).

    .venv/bin/python benchmarks/label_efficiency_check.py --seeds 0 1 2 --n-per-class 100 \
        --out results/model_checks/label_efficiency.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from simcardionet_lite.config import load_preset, parse_assignments
from simcardionet_lite.data.factory import build_dataset
from simcardionet_lite.evaluate import classification_metrics, extract_features, linear_probe, predict, summarize
from simcardionet_lite.experiments import arm_config, build_model
from simcardionet_lite.results import run_metadata
from simcardionet_lite.runtime import seed_everything
from simcardionet_lite.train.finetune import finetune
from simcardionet_lite.train.pretrain import pretrain


def stratified(labels: np.ndarray, frac: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    take, rest = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = max(1, int(round(frac * len(idx))))
        take += list(idx[:k])
        rest += list(idx[k:])
    return np.sort(take), np.sort(rest)


def one_seed(seed: int, n_per_class: int, label_fraction: float, overrides: dict) -> dict:
    cfg = load_preset("smoke", **overrides)
    ds = build_dataset(replace(cfg.data, n_per_class=n_per_class), seed=seed)
    rng = np.random.default_rng(seed)
    y = np.asarray(ds.labels)
    test, train = stratified(y, 0.3, rng)
    lab_rel, rest_rel = stratified(y[train], label_fraction, rng)
    val_rel, _ = stratified(y[train][rest_rel], label_fraction / (1 - label_fraction), rng)
    lab, val = train[lab_rel], train[rest_rel][val_rel]
    sub = lambda idx: torch.utils.data.Subset(ds, idx.tolist())  # noqa: E731
    out: dict = {"seed": seed, "n_train": len(train), "n_labelled": len(lab), "n_val": len(val), "n_test": len(test)}

    t0 = time.perf_counter()
    seed_everything(seed)
    model = build_model(cfg, 4)

    def probe(m: torch.nn.Module) -> float:
        f_tr, f_te = extract_features(m, sub(train)), extract_features(m, sub(test))
        return float((linear_probe(f_tr, y[train], f_te, seed=seed, n_classes=4).argmax(1) == y[test]).mean())

    probe_init = probe(model)
    hist = pretrain(model, sub(train), cfg, progress=False, seed=seed)
    out["pretrain"] = {"knn_init": hist["knn_init"], "knn_final": hist["knn_acc"][-1], "knn_curve": hist["knn_acc"],
                       "knn_chance": hist["knn_chance"], "loss": hist["loss"], "seconds": time.perf_counter() - t0,
                       "probe_init": probe_init, "probe_final": probe(model)}
    seed_everything(seed)
    hp = finetune(model, sub(lab), sub(val), cfg, progress=False, seed=seed)
    pr, yt = predict(model, sub(test))
    out["ssl_progressive"] = {k: v for k, v in classification_metrics(yt, pr, ds.classes, n_boot=200, seed=seed).items()
                              if k in ("accuracy", "macro_f1", "weighted_f1", "macro_auc", "ci")}
    out["ssl_progressive"]["best_epoch"] = hp["best_epoch"]

    scfg = arm_config(cfg, "scratch")  # random init, every layer from epoch 0 at one learning rate
    seed_everything(seed)
    scratch = build_model(scfg, 4)
    hs = finetune(scratch, sub(lab), sub(val), scfg, progress=False, seed=seed)
    pr, yt = predict(scratch, sub(test))
    out["scratch"] = {k: v for k, v in classification_metrics(yt, pr, ds.classes, n_boot=200, seed=seed).items()
                      if k in ("accuracy", "macro_f1", "weighted_f1", "macro_auc", "ci")}
    out["scratch"]["best_epoch"] = hs["best_epoch"]
    logging.info("seed %d: kNN %.3f -> %.3f (chance %.3f); macro-F1 SSL+progressive %.3f vs scratch %.3f", seed,
                 out["pretrain"]["knn_init"], out["pretrain"]["knn_final"], out["pretrain"]["knn_chance"],
                 out["ssl_progressive"]["macro_f1"], out["scratch"]["macro_f1"])
    return out


def summary(runs: list[dict]) -> dict:
    """Mean, SD and values over seeds of the numbers the bar is about."""
    pre = lambda key: summarize([{"v": r["pretrain"][key]} for r in runs], ["v"])["v"]  # noqa: E731
    return {
        "knn_final": pre("knn_final"), "knn_init": pre("knn_init"), "knn_chance": runs[0]["pretrain"]["knn_chance"],
        "probe_init": pre("probe_init"), "probe_final": pre("probe_final"),
        "ssl_progressive_macro_f1": summarize([r["ssl_progressive"] for r in runs], ["macro_f1"])["macro_f1"],
        "scratch_macro_f1": summarize([r["scratch"] for r in runs], ["macro_f1"])["macro_f1"],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n-per-class", type=int, default=100)
    ap.add_argument("--label-fraction", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON")
    ap.add_argument("--out", default="results/model_checks/label_efficiency.json")
    ap.add_argument("--merge", nargs="+", default=None, metavar="JSON", help="merge per-seed outputs into --out (no run)")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(a.threads)
    overrides = parse_assignments(a.set)
    t_start = time.perf_counter()
    if a.merge:  # per-seed files of parallel runs (same settings) -> one file with the summary
        parts = [json.loads(Path(f).read_text()) for f in a.merge]
        if len({json.dumps(p["config"], sort_keys=True) for p in parts}) != 1:
            raise SystemExit("--merge: the files were run with different configs")
        runs = sorted((r for p in parts for r in p["runs"]), key=lambda r: r["seed"])
        first = parts[0]
        res = {**first, "runs": runs, "merged_from": [str(f) for f in a.merge],
               "wall_s": max(p["wall_s"] for p in parts), "summary": summary(runs)}
    else:
        runs = [one_seed(s, a.n_per_class, a.label_fraction, overrides) for s in a.seeds]
        res = {
            "what": "kNN after pretraining vs chance; 10% labels: SSL + progressive fine-tuning vs scratch (synthetic default)",
            "n_per_class": a.n_per_class, "label_fraction": a.label_fraction, "overrides": overrides,
            "config": load_preset("smoke", **overrides).to_dict(),
            "runs": runs,
            "metadata": run_metadata(),
            "wall_s": time.perf_counter() - t_start,
            "summary": summary(runs),
        }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    logging.info("summary %s", json.dumps(res["summary"], default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
