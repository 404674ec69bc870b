"""Pretraining epoch time with augmentation in the training process vs in worker processes.

Why: the per-image ECG augmentations run on the CPU (``simcardionet_lite.train.views``); at the
``paper`` size one core makes about 130 views/s, far below what a GPU trains. This runs the real
pretraining loop (``pretrain``, kNN monitor off) on synthetic pages for a few epochs with
``pretrain.num_workers`` = each value given, back to back in one process, and prints the epoch
time of each against the first value (the baseline, normally 0) as a ratio. The first epoch of
each run (worker start-up, cuDNN autotuning) is reported but left out of the median.

    .venv/bin/python benchmarks/aug_workers.py --preset smoke --workers 0 2          # CPU
    python3 benchmarks/aug_workers.py --device cuda --preset paper --workers 0 12    # a GPU box
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

from simcardionet_lite.config import load_preset
from simcardionet_lite.data.factory import build_dataset
from simcardionet_lite.model.backbone import SimCardioNet
from simcardionet_lite.results import run_metadata
from simcardionet_lite.runtime import seed_everything
from simcardionet_lite.train.pretrain import pretrain


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="smoke")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--n-per-class", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads of the training process (0 = default)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    base = load_preset(a.preset)
    t0 = time.perf_counter()
    pages = build_dataset(replace(base.data, n_per_class=a.n_per_class), seed=0)  # rendered once (page cache)
    render_s = time.perf_counter() - t0
    rows = []
    for w in a.workers:
        cfg = load_preset(a.preset, **{"device": a.device, "pretrain.epochs": a.epochs, "pretrain.knn_k": 0,
                                       "pretrain.num_workers": w})
        seed_everything(0)
        model = SimCardioNet(cfg.model, 4)
        h = pretrain(model, pages, cfg, progress=False, seed=0)
        steady = statistics.median(h["seconds"][1:]) if len(h["seconds"]) > 1 else h["seconds"][0]
        views = 2 * h["steps_per_epoch"] * h["batch_size"]
        rows.append({"num_workers": w, "epoch_seconds": h["seconds"], "median_epoch_s": steady,
                     "views_per_s": views / steady, "loss": h["loss"]})
    for r in rows:
        r["speedup_vs_first"] = rows[0]["median_epoch_s"] / r["median_epoch_s"]
        print(f"preset={a.preset} device={a.device} workers={r['num_workers']} epoch_s={r['median_epoch_s']:.2f} "
              f"views/s={r['views_per_s']:.0f} speedup_vs_workers{rows[0]['num_workers']}={r['speedup_vs_first']:.2f} "
              f"first_epoch_s={r['epoch_seconds'][0]:.2f}")
    if a.json:
        out = {"preset": a.preset, "device": a.device, "pages": len(pages), "image_size": list(base.data.image_size),
               "batch_size": cfg.pretrain.batch_size, "epochs": a.epochs, "render_s": render_s, "rows": rows,
               "metadata": run_metadata()}
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
