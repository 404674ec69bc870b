"""Estimate the GPU time of each ``reproduce --preset paper`` results chapter from measured rates.

How: this script counts the image passes each chapter implies from the ``paper`` preset
(epochs, views, folds, seeds, arms, fractions, dataset sizes) and divides them by rates measured
on one H200 GPU (2026-11-30, committed under ``results/model_checks/``):

* GPU compute: training and inference images/s of the paper-size network in bf16 +
  channels_last (``benchmarks/throughput.py --device cuda`` -> ``throughput_gpu.json``);
* the CPU augmentation pipeline: augmented views/s per worker process on that machine's 16
  cores (``benchmarks/aug_workers.py`` -> ``gpu/aug_workers_gpu.json``), times
  ``pretrain.num_workers`` / ``finetune.num_workers`` (fine-tuning's milder pipeline is charged
  at the pretraining rate: an upper bound).

A chapter's estimate is the larger of the two times (the pipeline overlaps the GPU step). It is
still an estimate: no full ``paper`` chapter has been run, page rendering and JPEG decoding are
not counted, and another GPU or CPU changes both rates. Without the measured files it falls back
to FLOPs at an assumed ``--tflops`` and this machine's augmentation rate per core.

    python scripts/gpu_estimate.py [--markdown] [--tflops 40]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simcardionet_lite.config import load_preset

# Dataset sizes (items): real Dataset I (928 files), its Kaggle stand-in test split (~25 %),
# full PTB-XL single-label records on folds 1-8 / 9 / 10 (about 16,200 / 1,990 / 2,000) and
# the multi-label records (about 17,100 train + 2,160 test); synthetic paper preset n_per_class.
SIZES = {
    "dataset1": 928,
    "dataset2_test": 232,
    "ptbxl_train": 16200,
    "ptbxl_val": 1990,
    "ptbxl_test": 2000,
    "ptbxl_ml": 19300,
}


def passes(cfg, n_train: int, n_test: int, *, pretrain: bool = True) -> dict[str, float]:
    """Training-image passes (forward + backward) and inference passes of one fit + evaluation."""
    pre = 2 * n_train * cfg.pretrain.epochs if pretrain else 0.0  # two views per image
    fine = (1 - cfg.finetune.val_fraction) * n_train * cfg.finetune.epochs
    inf = cfg.finetune.val_fraction * n_train * cfg.finetune.epochs + n_test
    return {"pretrain": pre, "finetune": fine, "infer": inf}


def add(a: dict[str, float], b: dict[str, float], k: float = 1.0) -> dict[str, float]:
    return {key: a.get(key, 0.0) + k * b.get(key, 0.0) for key in set(a) | set(b)}


def chapter_passes(cfg) -> dict[str, dict[str, float]]:
    e = cfg.experiment
    n1 = SIZES["dataset1"]
    folds = cfg.eval.folds
    out: dict[str, dict[str, float]] = {}
    fold_tr, fold_te = n1 * (folds - 1) / folds, n1 / folds
    seeds = len(cfg.eval.seeds)  # every recipe repeats over eval.seeds
    out["05_dataset1"] = {}
    for _ in e.protocols:
        out["05_dataset1"] = add(out["05_dataset1"], passes(cfg, fold_tr, fold_te), folds * seeds)
    out["06_dataset2"] = add({}, passes(cfg, n1, SIZES["dataset2_test"]), seeds)
    px = passes(cfg, SIZES["ptbxl_train"], SIZES["ptbxl_test"])
    px["infer"] += SIZES["ptbxl_val"] * cfg.finetune.epochs + SIZES["ptbxl_ml"]
    out["07_ptbxl"] = add({}, px, seeds)
    abl: dict[str, float] = {}
    for arm in e.ablations:
        abl = add(abl, passes(cfg, fold_tr, fold_te, pretrain=arm != "scratch"), seeds)
    out["08_ablations"] = abl
    le: dict[str, float] = {}
    for _ in cfg.eval.seeds:
        le = add(le, {"pretrain": 2 * fold_tr * cfg.pretrain.epochs, "infer": fold_tr + fold_te})
        for f in e.label_fractions:
            le = add(le, passes(cfg, f * fold_tr, fold_te, pretrain=False), 2)
    out["09_label_efficiency"] = le
    g = add(passes(cfg, fold_tr, fold_te), {"infer": 4 * e.gradcam_per_class * (3 + 2 * (e.deletion_steps + 1))})
    out["10_gradcam"] = add({}, g, seeds)
    return out


CHECKS = Path(__file__).resolve().parents[1] / "results" / "model_checks"


def measured_rates(cfg) -> dict[str, float] | None:
    """Rates from the committed GPU runs, or None when they are absent."""
    tp, aw = CHECKS / "throughput_gpu.json", CHECKS / "gpu" / "aug_workers_gpu.json"
    if not (tp.exists() and aw.exists()):
        return None
    t = json.loads(tp.read_text())
    fast = next(r for r in t["rows"] if r["preset"] == "paper" and r["amp_bf16"] and r["channels_last"])
    a = json.loads(aw.read_text())
    par = max((r for r in a["rows"] if r["num_workers"] > 0), key=lambda r: r["num_workers"])
    per_worker = par["views_per_s"] / par["num_workers"]
    return {"train": fast["train_images_per_s"], "infer": fast["infer_images_per_s"], "per_worker": per_worker,
            "device": f"{t['meta']['device']}, augmentation at {par['num_workers']} workers",
            "pretrain_pipe": per_worker * max(1, cfg.pretrain.num_workers),
            "finetune_pipe": per_worker * max(1, cfg.finetune.num_workers)}


def assumed_rates(cfg, tflops: float) -> dict[str, float]:
    """The fallback: FLOPs at an assumed effective TFLOP/s, augmentation timed on this machine."""
    import time

    import torch

    from simcardionet_lite.augment import ssl_views
    from simcardionet_lite.model.backbone import SimCardioNet

    flops = float(SimCardioNet(cfg.model, 4).complexity(tuple(cfg.data.image_size))["flops"])
    torch.set_num_threads(1)
    views = ssl_views(cfg.aug_pretrain, tuple(cfg.data.image_size))
    x = torch.rand(3, *cfg.data.image_size)
    t0 = time.perf_counter()
    for _ in range(20):
        views(x)
    per_core = 40 / (time.perf_counter() - t0)
    return {"train": tflops * 1e12 / (3 * flops), "infer": tflops * 1e12 / flops, "per_worker": per_core,
            "device": f"assumed {tflops:g} TFLOP/s",
            "pretrain_pipe": per_core * max(1, cfg.pretrain.num_workers),
            "finetune_pipe": per_core * max(1, cfg.finetune.num_workers)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tflops", type=float, default=40.0, help="fallback only: assumed effective TFLOP/s of the GPU")
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args(argv)
    cfg = load_preset("paper")
    r = measured_rates(cfg)
    kind = "measured"
    if r is None:
        r, kind = assumed_rates(cfg, args.tflops), "ASSUMED (no committed GPU measurements)"
    rows = []
    for ch, ps in chapter_passes(cfg).items():
        pre, fine, inf = ps.get("pretrain", 0.0), ps.get("finetune", 0.0), ps.get("infer", 0.0)
        gpu_min = ((pre + fine) / r["train"] + inf / r["infer"]) / 60
        pipe_min = (pre / r["pretrain_pipe"] + fine / r["finetune_pipe"]) / 60
        rows.append((ch, pre + fine, inf, max(gpu_min, pipe_min), gpu_min, pipe_min))
    w = sys.stdout.write
    w(f"paper preset, image {cfg.data.image_size}: GPU {r['device']} ({kind}): train {r['train']:.0f}, "
      f"inference {r['infer']:.0f} images/s; augmentation {r['per_worker']:.0f} views/s per worker "
      f"x {cfg.pretrain.num_workers} (pretraining) / {cfg.finetune.num_workers} (fine-tuning) workers. ESTIMATE\n")
    if args.markdown:
        w("\n| chapter | training image passes | inference passes | GPU compute (min) | data pipeline (min) | estimate (min) |\n"
          "|---|---|---|---|---|---|\n")
        for ch, tr, inf, mins, g, pl in rows:
            w(f"| {ch} | {tr:,.0f} | {inf:,.0f} | {g:.1f} | {pl:.1f} | {mins:.0f} |\n")
    else:
        for ch, tr, inf, mins, g, pl in rows:
            w(f"{ch:22s} train passes {tr:12,.0f}  infer {inf:10,.0f}  gpu {g:5.1f}  pipeline {pl:5.1f}  ~{mins:6.1f} min\n")
    w(f"total ~{sum(x[3] for x in rows):.0f} min (plus page rendering/decoding and data loading)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
