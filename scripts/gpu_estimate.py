"""Estimate the GPU time of each ``reproduce --preset paper`` results chapter (an ESTIMATE).

Why an estimate: no GPU was available where this project was developed. The time of a chapter
is dominated by the image passes through the network; this script counts them from the
``paper`` preset (epochs, views, folds, seeds, arms, fractions, dataset sizes), multiplies by
the model's FLOPs per image (``SimCardioNet.complexity``; a training step costs about 3 x the
forward FLOPs) and divides by an *assumed* effective throughput (``--tflops``, default 40
TFLOP/s: roughly 5-10 % of an H100's dense bf16 peak, typical for a small CNN with attention at
224 x 224 and batch 64-256). The assumption is printed beside the numbers. Small CNNs on a GPU
are often limited by the CPU data pipeline instead, so the script also *measures* this
machine's augmentation rate per core at the paper image size and multiplies it by
``pretrain.num_workers``; a chapter's estimate is the larger of the two times. Measured GPU
throughput (``benchmarks/throughput.py --device cuda``) replaces all of this when a GPU run exists.

    python scripts/gpu_estimate.py [--tflops 40] [--markdown]
"""

from __future__ import annotations

import argparse
import sys

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
    tr = 0.0
    if pretrain:
        tr += 2 * n_train * cfg.pretrain.epochs  # two views per image
    tr += (1 - cfg.finetune.val_fraction) * n_train * cfg.finetune.epochs
    inf = cfg.finetune.val_fraction * n_train * cfg.finetune.epochs + n_test
    return {"train": tr, "infer": inf}


def add(a: dict[str, float], b: dict[str, float], k: float = 1.0) -> dict[str, float]:
    return {key: a.get(key, 0.0) + k * b.get(key, 0.0) for key in set(a) | set(b)}


def chapter_passes(cfg) -> dict[str, dict[str, float]]:
    e = cfg.experiment
    n1 = SIZES["dataset1"]
    folds = cfg.eval.folds
    out: dict[str, dict[str, float]] = {}
    fold_tr, fold_te = n1 * (folds - 1) / folds, n1 / folds
    out["05_dataset1"] = {"train": 0.0, "infer": 0.0}
    for _ in e.protocols:
        out["05_dataset1"] = add(out["05_dataset1"], passes(cfg, fold_tr, fold_te), folds)
    out["06_dataset2"] = passes(cfg, n1, SIZES["dataset2_test"])
    px = passes(cfg, SIZES["ptbxl_train"], SIZES["ptbxl_test"])
    px["infer"] += SIZES["ptbxl_val"] * cfg.finetune.epochs + SIZES["ptbxl_ml"]
    out["07_ptbxl"] = px
    abl = {"train": 0.0, "infer": 0.0}
    for arm in e.ablations:
        abl = add(abl, passes(cfg, fold_tr, fold_te, pretrain=arm != "scratch"), len(e.ablation_seeds))
    out["08_ablations"] = abl
    le = {"train": 0.0, "infer": 0.0}
    for _ in e.ablation_seeds:
        le = add(le, {"train": 2 * fold_tr * cfg.pretrain.epochs, "infer": fold_tr + fold_te})
        for f in e.label_fractions:
            le = add(le, passes(cfg, f * fold_tr, fold_te, pretrain=False), 2)
    out["09_label_efficiency"] = le
    g = add(passes(cfg, fold_tr, fold_te), {"infer": 4 * e.gradcam_per_class * (3 + 2 * (e.deletion_steps + 1))})
    out["10_gradcam"] = g
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tflops", type=float, default=40.0, help="assumed effective TFLOP/s of the GPU")
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args(argv)
    cfg = load_preset("paper")
    from simcardionet_lite.model.backbone import SimCardioNet

    import time

    import torch

    from simcardionet_lite.augment import ssl_views

    model = SimCardioNet(cfg.model, 4)
    flops = float(model.complexity(tuple(cfg.data.image_size))["flops"])
    torch.set_num_threads(1)
    views = ssl_views(cfg.aug_pretrain, tuple(cfg.data.image_size))
    x = torch.rand(3, *cfg.data.image_size)  # pages are cached at the input size
    t0 = time.perf_counter()
    n_aug = 20
    for _ in range(n_aug):
        views(x)
    per_core = 2 * n_aug / (time.perf_counter() - t0)  # augmented images per second, one core
    pipe = per_core * max(1, cfg.pretrain.num_workers)
    rows = []
    for ch, ps in chapter_passes(cfg).items():
        total = 3 * flops * ps["train"] + flops * ps["infer"]
        gpu_min = total / (args.tflops * 1e12) / 60
        pipe_min = ps["train"] / pipe / 60
        rows.append((ch, ps["train"], ps["infer"], max(gpu_min, pipe_min), gpu_min, pipe_min))
    w = sys.stdout.write
    w(f"paper preset: image {cfg.data.image_size}, forward {flops / 1e9:.2f} GFLOP/image, assumed {args.tflops:g} TFLOP/s "
      f"effective; augmentation measured here {per_core:.0f} img/s per core x {cfg.pretrain.num_workers} workers "
      "(ESTIMATE, not a GPU measurement)\n")
    if args.markdown:
        w("\n| chapter | training image passes | inference passes | GPU compute (min) | data pipeline (min) | estimate (min) |\n"
          "|---|---|---|---|---|---|\n")
        for ch, tr, inf, mins, g, pl in rows:
            w(f"| {ch} | {tr:,.0f} | {inf:,.0f} | {g:.1f} | {pl:.1f} | {mins:.0f} |\n")
    else:
        for ch, tr, inf, mins, g, pl in rows:
            w(f"{ch:22s} train passes {tr:12,.0f}  infer {inf:10,.0f}  gpu {g:5.1f}  pipeline {pl:5.1f}  ~{mins:6.1f} min\n")
    w(f"total ~{sum(r[3] for r in rows):.0f} min (plus page rendering/decoding and data loading)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
