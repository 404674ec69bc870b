"""Does any pretraining variant add class information on the synthetic default? A sweep.

Why: on the synthetic Dataset I pages the kNN monitor after pretraining sits only a little above
the untrained network's (``label_efficiency_check.py``). Before the book says "pretraining does
not help here", this script tries the obvious knobs, each as a config override, and records for
every variant: the kNN accuracy and a linear probe (standardised logistic regression, 5-fold CV
over the pages) on the features of the **untrained** network and of the **pretrained** one with
the same initial weights, the final loss and whether the loss collapsed to log(2N - 1) (every
page mapped to the same point).

    .venv/bin/python benchmarks/ssl_variants.py --seeds 0 --out results/model_checks/ssl_variants.json

The second sweep (longer training at a low temperature, axis scaling, the grid removed; 3 seeds,
two runs at a time):

    .venv/bin/python benchmarks/ssl_variants.py --seeds 0 1 2 --jobs 2 \
        --only "temperature 0.1, 30 epochs" "time and voltage scale +-5 %" \
               "grid removed (diagnostic)" "grid removed, scale +-5 % (diagnostic)" \
        --out results/model_checks/ssl_variants_scale.json
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import cross_val_score

from simcardionet_lite.config import load_preset
from simcardionet_lite.data.factory import build_dataset
from simcardionet_lite.data.synthetic import SyntheticECG
from simcardionet_lite.evaluate import extract_features, probe_model
from simcardionet_lite.experiments import build_model
from simcardionet_lite.results import run_metadata
from simcardionet_lite.runtime import seed_everything
from simcardionet_lite.train.pretrain import pretrain

# Not a config key: a diagnostic that serves every page (pretraining views, kNN and probe alike)
# with its green and blue channels replaced by the red one. The pink grid is nearly white in the
# red channel and the dark trace is dark in all three, so this removes the grid but keeps the ECG.
# Why: crops and rotations collapsed smoke pretraining; this tests whether the grid (whose fine,
# scan-rotated pattern changes under any resampling) is what the network tells pages apart by.
RED = "_diagnostic.red_channel_only"


class RedOnly(torch.utils.data.Dataset):
    """``ds`` with its pages' G and B channels replaced by R (see :data:`RED`)."""

    def __init__(self, ds: SyntheticECG) -> None:
        self.ds, self.classes, self.labels = ds, ds.classes, ds.labels

    def images_uint8(self) -> np.ndarray:
        a = np.array(self.ds.images_uint8(), copy=True)
        a[..., 1] = a[..., 0]
        a[..., 2] = a[..., 0]
        return a

    def __len__(self) -> int:
        return len(self.ds)


# name -> dotted overrides on the smoke preset (ours: the knobs a reader would try first)
VARIANTS: dict[str, dict[str, Any]] = {
    "smoke default": {},
    "lambda 0 (pure InfoNCE)": {"loss.lam": 0.0},
    "temperature 0.1": {"loss.temperature": 0.1},
    "temperature 0.5": {"loss.temperature": 0.5},
    "crop 0.7, temperature 0.1": {"loss.temperature": 0.1, "aug_pretrain.crop_scale_min": 0.7},
    "crop 0.6, lambda 0": {"loss.lam": 0.0, "aug_pretrain.crop_scale_min": 0.6},
    "blur and JPEG on every view": {"aug_pretrain.blur_p": 1.0, "aug_pretrain.jpeg_p": 1.0},
    "no attention": {"model.attention": False},
    "LR 5e-4": {"pretrain.lr": 5e-4},
    "page 192 x 256": {"data.image_size": (192, 256)},
    "temperature 0.1, 30 epochs": {"loss.temperature": 0.1, "pretrain.epochs": 30},
    "time and voltage scale +-5 %": {"aug_pretrain.scale_jitter": 0.05, "aug_pretrain.translate_frac": 0.0},
    "grid removed (diagnostic)": {RED: True},
    "grid removed, scale +-5 % (diagnostic)": {RED: True, "aug_pretrain.scale_jitter": 0.05, "aug_pretrain.translate_frac": 0.0},
    "page 128 x 176": {"data.image_size": (128, 176)},
    "page 128 x 176, grid pool 2 x 4": {"data.image_size": (128, 176), "model.pool": "grid"},
    "page 128 x 176, grid pool 3 x 4": {"data.image_size": (128, 176), "model.pool": "grid", "model.pool_grid": (3, 4)},
    "page 128 x 176, grid pool 2 x 4, temperature 0.1": {"data.image_size": (128, 176), "model.pool": "grid", "loss.temperature": 0.1},
    "page 128 x 176, grid pool 2 x 4, temperature 0.5": {"data.image_size": (128, 176), "model.pool": "grid", "loss.temperature": 0.5},
    "page 96 x 128, grid pool 2 x 4": {"model.pool": "grid"},
}


def probe_cv(feats: np.ndarray, labels: np.ndarray, seed: int) -> float:
    return float(cross_val_score(probe_model(C=0.1, seed=seed), feats, labels, cv=5).mean())


def one(name: str, overrides: dict[str, Any], seed: int, n_per_class: int, epochs: int) -> dict[str, Any]:
    red = bool(overrides.get(RED, False))
    cfg = load_preset("smoke", **{"pretrain.epochs": epochs, **{k: v for k, v in overrides.items() if k != RED}})
    ds = build_dataset(replace(cfg.data, n_per_class=n_per_class), seed=seed)
    if red:
        ds = RedOnly(ds)
    y = np.asarray(ds.labels)
    seed_everything(seed)
    model = build_model(cfg, len(ds.classes))
    probe_init = probe_cv(extract_features(model, ds), y, seed)
    t0 = time.perf_counter()
    h = pretrain(model, ds, cfg, progress=False, seed=seed)
    seconds = time.perf_counter() - t0
    probe_final = probe_cv(extract_features(model, ds), y, seed)
    collapse_line = math.log(2 * cfg.pretrain.batch_size - 1)
    out = {"variant": name, "overrides": overrides, "seed": seed, "knn_init": h["knn_init"], "knn_final": h["knn_acc"][-1],
           "knn_chance": h["knn_chance"], "probe_init": probe_init, "probe_final": probe_final,
           "loss_final": h["loss"][-1], "nt_xent_final": h["nt_xent"][-1], "collapse_line": collapse_line,
           "collapsed": bool(abs(h["nt_xent"][-1] - collapse_line) < 0.02), "seconds": seconds}
    logging.info("%-28s seed %d: kNN %.3f -> %.3f, probe %.3f -> %.3f, NT-Xent %.2f (collapse %.2f)%s", name, seed,
                 out["knn_init"], out["knn_final"], probe_init, probe_final, out["nt_xent_final"], collapse_line,
                 " COLLAPSED" if out["collapsed"] else "")
    return out


def _init_worker(threads: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(threads)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--n-per-class", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    ap.add_argument("--only", nargs="*", default=None, help="variant names to run (default: all)")
    ap.add_argument("--out", default="results/model_checks/ssl_variants.json")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    names = a.only or list(VARIANTS)
    jobs = [(n, VARIANTS[n], s, a.n_per_class, a.epochs) for n in names for s in a.seeds]
    if a.jobs > 1:  # independent runs in spawned processes, each with --threads threads
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(a.jobs, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                    initargs=(a.threads,)) as ex:
            runs = list(ex.map(one, *zip(*jobs)))
    else:
        runs = [one(*j) for j in jobs]
    res = {"what": "pretraining variants on the synthetic default: kNN and 5-fold linear probe, untrained vs pretrained",
           "n_per_class": a.n_per_class, "epochs": a.epochs, "seeds": a.seeds, "runs": runs,
           "jobs": a.jobs, "threads_per_job": a.threads, "metadata": run_metadata(), "wall_s": time.perf_counter() - t0}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
