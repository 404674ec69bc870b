"""Estimate the GPU time of each results chapter of the ``paper`` or the ``gpu`` preset, step by step.

How: for each chapter this script lists the fits its recipe makes under the preset (folds x
protocols x seeds x arms x fractions; each fit: pages pretrained on, fine-tuned on, validated
each epoch, scored), turns each fit into optimizer steps and image passes (epochs, batch sizes,
two views per pretraining page, the kNN monitor every pretraining epoch, encoders shared through
the cache), and prices them with rates:

* ``paper`` (views in CPU worker processes): rates measured on one H200 with 16 CPU cores
  (2026-11-30, ``results/model_checks/``): the paper-size network in bf16 + channels_last
  (``throughput_gpu.json``) and the per-image augmentation per worker process
  (``gpu/aug_workers_gpu.json``). A stage costs the larger of its GPU time and its pipeline time
  (the workers overlap the GPU step): the **pipeline** sets the pace.
* ``gpu`` (views made on the GPU, ``augment_on = "device"``): the pipeline's time adds to the
  GPU's (same device). Measured rates when ``benchmarks/pipeline.py --device cuda --preset gpu``
  has written ``results/model_checks/gpu/pipeline_gpu.json``; until then **assumed** ones, each
  stated in :data:`ASSUMED_GPU` with its reason. The GPU is then the bottleneck; at a batch of
  16 pages fine-tuning is launch-bound (a fixed time per step).

Datasets are counted at their real sizes (``paper``: Dataset I and the full PTB-XL; ``gpu``: the
real Dataset I and the PTB-XL sample the gpu run uses). Chapter 09 is listed but is not one of
the ``gpu`` preset's target chapters. CPU work (page decoding and rendering, bootstrap intervals,
the pixel baseline, saving models) is charged as a fixed time per chapter and per fit
(:data:`CPU_SECONDS`). Everything printed is an ESTIMATE.

    python scripts/gpu_estimate.py [--preset paper|gpu] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simcardionet_lite.config import Config, load_preset

CHECKS = Path(__file__).resolve().parents[1] / "results" / "model_checks"

#: data sizes (items). Dataset I: 928 files, 491 distinct pages (duplicate clusters); a 2/3 training split
#: holds about 327 distinct pages under grouped folds and about 385 under file-level folds (20 random
#: splits of the real file list). PTB-XL: single-label train (folds 1-8) / validation (9) / test (10) and
#: the multi-label records whose features the probes read (train + test).
DATA = {
    "paper": {"d1": 928, "d1_distinct": 491, "d1_train_distinct": {"file": 385, "grouped": 327}, "d2_test": 232,
              "px": (16200, 1990, 2000), "px_ml": 19300},
    "gpu": {"d1": 928, "d1_distinct": 491, "d1_train_distinct": {"file": 385, "grouped": 327}, "d2_test": 232,
            "px": (576, 98, 100), "px_ml": 848},  # the PTB-XL sample (records 1-1000, ../shared/realdata)
}

#: rates assumed for the gpu preset on one H200 until benchmarks/pipeline.py has measured them there
ASSUMED_GPU = {
    # the cpu network is 0.155 GFLOPs per 192 x 384 mosaic (16-64 channels): narrow convolutions use a GPU
    # far worse than the paper network, which reached 30 TFLOP/s (3 x 1.26 GFLOPs x 7,978 images/s); 5
    # TFLOP/s, a sixth of that, is assumed
    "train": 5e12 / (3 * 0.155e9),
    "infer": 3 * 5e12 / (3 * 0.155e9),
    # a whole SimCLR step of the smoke network (the same depth) took 10 ms on the H200 whatever its batch
    # (6,385 images/s at 64 views, launch-bound): a pretraining step costs that on top of its images
    "step_overhead_s": 0.012,
    # a fine-tuning step at 16 pages (fp32, views made on the device first): launch-bound, as above
    "finetune_step_s": 0.015,
    # the batched pipeline at 192 x 384: about 40 passes over a view's 0.9 MB of floats per view; at a
    # quarter of the H200's 4.8 TB/s that is 35,000 views/s; 20,000 is assumed
    "pipeline": 20000.0,
    "pipeline_finetune": 20000.0,
}
#: fixed CPU seconds: each chapter (start-up, reading and preparing its pages once) and each fit
#: (bootstrap intervals, the pixel baseline, writing the encoder and the model); assumed
CPU_SECONDS = {"chapter": 60.0, "chapter_ptbxl": 90.0, "fit": 4.0}


@dataclass
class Fit:
    """One pretrain (when ``pre`` > 0) + fine-tune + score, in pages."""

    pre: float = 0.0  # distinct pages pretrained on (0: no pretraining, or the cached encoder of another arm)
    fit: float = 0.0  # pages fine-tuned on
    val: float = 0.0  # pages scored after every fine-tuning epoch
    test: float = 0.0  # pages scored once (and any features extracted)
    big: bool = False  # a ResNet-18 arm (whole pages, fp32, no pretraining)


def _fit(cfg: Config, pre: float, fit: float, test: float, *, val: float | None = None) -> Fit:
    """A fit of ``cfg``'s method: ``fit`` training pages (a share split off to validate when no ``val``)."""
    if val is None:
        val = cfg.finetune.val_fraction * fit
        fit = fit - val
    return Fit(pre=pre if cfg.finetune.init == "pretrained" else 0.0, fit=fit, val=val, test=test)


def _encoder_key(cfg: Config) -> str:
    d = cfg.to_dict()
    return json.dumps([d[s] for s in ("model", "loss", "aug_pretrain", "pretrain")], sort_keys=True)


def chapter_fits(cfg: Config, data: dict[str, Any]) -> dict[str, list[Fit]]:
    """The fits each results chapter makes under ``cfg`` on data of ``data``'s sizes."""
    from simcardionet_lite.experiments.arms import arm_config

    e, seeds, folds = cfg.experiment, len(cfg.eval.seeds), cfg.eval.folds
    n1, dist = data["d1"], data["d1_distinct"]
    tr_files = n1 * (folds - 1) / folds
    test = n1 / folds

    def train_pages(protocol: str) -> tuple[float, float]:
        """(pages pretrained on, pages fine-tuned on) of one split's training part."""
        distinct = data["d1_train_distinct"].get(protocol, data["d1_train_distinct"]["grouped"])
        return distinct, (distinct if cfg.finetune.unique_pages else tr_files)

    out: dict[str, list[Fit]] = {}
    ch5: list[Fit] = []
    for protocol in e.protocols:
        pre, fit = train_pages(protocol)
        ch5 += [_fit(cfg, pre, fit, test)] * (folds * seeds)
        if protocol in e.cv_arm_protocols:
            ch5 += [Fit(fit=fit, test=test, big=True)] * (folds * seeds * len(e.cv_arms))
    out["05_dataset1"] = ch5
    out["06_dataset2"] = [_fit(cfg, dist, dist if cfg.finetune.unique_pages else n1, data["d2_test"])] * seeds
    px_tr, px_va, px_te = data["px"]
    ml = data["px_ml"]
    ch7 = [_fit(cfg, px_tr, px_tr, px_te + ml, val=px_va)] * seeds
    for f in e.learning_curve:
        ch7 += [_fit(cfg, f * px_tr, f * px_tr, px_te + ml, val=px_va)] * seeds
    out["07_ptbxl"] = ch7
    pre, fit = train_pages("grouped")
    ch8, seen = [], set()
    for arm in e.ablations:
        acfg = arm_config(cfg, arm)
        key = _encoder_key(acfg)
        shared = key in seen  # the same pretraining config as an earlier arm: its encoder comes from the cache
        seen.add(key)
        f = _fit(acfg, pre, fit, test)
        ch8 += [Fit(pre=0.0 if shared else f.pre, fit=f.fit, val=f.val, test=f.test)] * seeds
    out["08_ablations"] = ch8
    ch9 = []
    for _ in range(seeds):
        ch9.append(Fit(pre=pre, test=tr_files + test))  # the encoder, and the probes' features
        for frac in e.label_fractions:
            ch9 += [_fit(cfg, 0.0, frac * fit, test), _fit(arm_config(cfg, "scratch"), 0.0, frac * fit, test)]
    out["09_label_efficiency"] = ch9
    cams = 4 * e.gradcam_per_class * (3 + 2 * (e.deletion_steps + 1)) * 3  # maps, deletion and ROAD curves, baselines
    out["10_gradcam"] = [Fit(pre=f.pre, fit=f.fit, val=f.val, test=f.test + cams) for f in [_fit(cfg, pre, fit, test)] * seeds]
    return out


def _paper_rates(cfg: Config) -> dict[str, float] | None:
    tp, aw = CHECKS / "throughput_gpu.json", CHECKS / "gpu" / "aug_workers_gpu.json"
    if not (tp.exists() and aw.exists()):
        return None
    t = json.loads(tp.read_text())
    fast = next(r for r in t["rows"] if r["preset"] == "paper" and r["amp_bf16"] and r["channels_last"])
    base = next(r for r in t["rows"] if r["preset"] == "paper" and not r["amp_bf16"])
    a = json.loads(aw.read_text())
    par = max((r for r in a["rows"] if r["num_workers"] > 0), key=lambda r: r["num_workers"])
    per_worker = par["views_per_s"] / par["num_workers"]
    return {"train": fast["train_images_per_s"], "infer": fast["infer_images_per_s"],
            "train_finetune": base["train_images_per_s"], "step_overhead_s": 0.0, "finetune_step_s": 0.0,
            "pipeline": per_worker * max(1, cfg.pretrain.num_workers),
            "pipeline_finetune": per_worker * max(1, cfg.finetune.num_workers),
            "source": f"measured: {t['meta']['device']}; per-image augmentation {per_worker:.0f} views/s per worker x "
                      f"{cfg.pretrain.num_workers} / {cfg.finetune.num_workers} workers"}


def _gpu_rates() -> dict[str, float]:
    p = CHECKS / "gpu" / "pipeline_gpu.json"
    if p.exists():
        d = json.loads(p.read_text())
        r = d["rows"][0]
        return {"train": r["train_images_per_s"], "infer": r["infer_images_per_s"], "step_overhead_s": 0.0,
                "finetune_step_s": r["finetune_step_s"], "pipeline": r["pipeline_views_per_s"],
                "pipeline_finetune": r["pipeline_finetune_views_per_s"],
                "source": f"measured: {d['meta']['device']} (benchmarks/pipeline.py)"}
    return {**ASSUMED_GPU, "source": "ASSUMED (no GPU measurement of the gpu preset yet; see ASSUMED_GPU)"}


def fit_minutes(cfg: Config, f: Fit, r: dict[str, float], device_views: bool) -> tuple[float, float]:
    """(GPU minutes, CPU-pipeline minutes) of one fit."""
    pc, fc = cfg.pretrain, cfg.finetune
    gpu = pipe = 0.0
    if f.pre:
        bs = min(pc.batch_size, f.pre)
        steps = pc.epochs * max(1, int(f.pre // bs))
        views = 2 * bs * steps
        gpu += steps * r["step_overhead_s"] + views / r["train"]
        if pc.knn_k > 0:  # the kNN monitor embeds the labelled pages before and after every epoch
            gpu += (pc.epochs + 1) * (f.pre / r["infer"] + math.ceil(f.pre / 128) * 0.003)
        if device_views:
            gpu += views / r["pipeline"]
        else:
            pipe += views / r["pipeline"]
    if f.fit:
        steps = fc.epochs * math.ceil(f.fit / fc.batch_size)
        images = fc.epochs * f.fit
        if f.big:  # ResNet-18 on 128 x 176 pages: 0.6 of the paper network's FLOPs, fp32 (measured ratio 2.28)
            rate = r["train"] / 2.28 / 0.6
            gpu += steps * max(r["finetune_step_s"], fc.batch_size / rate)
        elif r["finetune_step_s"]:
            gpu += steps * r["finetune_step_s"]
        else:
            gpu += images / r.get("train_finetune", r["train"])
        if device_views and not r["finetune_step_s"]:
            gpu += images / r["pipeline_finetune"]
        elif not device_views:
            pipe += images / r["pipeline_finetune"]
    gpu += (fc.epochs * f.val + f.test) / r["infer"] + fc.epochs * math.ceil(f.val / 128) * 0.003
    return gpu / 60, pipe / 60


def estimate(preset: str) -> tuple[list[tuple[str, int, float, float, float]], dict[str, float], Config]:
    """Per chapter: (name, fits, GPU min, pipeline min, estimate min), the rates, the config."""
    cfg = load_preset(preset)
    device_views = cfg.pretrain.augment_on == "device"
    r = _gpu_rates() if device_views else (_paper_rates(cfg) or _assumed_paper(cfg))
    rows = []
    for ch, fits in chapter_fits(cfg, DATA["gpu" if device_views else "paper"]).items():
        g = p = cpu = 0.0
        for f in fits:
            fg, fp = fit_minutes(cfg, f, r, device_views)
            g, p = g + fg, p + fp
            cpu += CPU_SECONDS["fit"] / 60
        cpu += CPU_SECONDS["chapter_ptbxl" if ch == "07_ptbxl" else "chapter"] / 60
        rows.append((ch, len(fits), g, p, max(g, p) + cpu))
    return rows, r, cfg


def _assumed_paper(cfg: Config) -> dict[str, float]:
    """The paper preset without the committed measurements: FLOPs at 40 TFLOP/s, 130 views/s per worker."""
    flops = 1.256e9
    return {"train": 40e12 / (3 * flops), "infer": 40e12 / flops, "step_overhead_s": 0.0, "finetune_step_s": 0.0,
            "pipeline": 130.0 * max(1, cfg.pretrain.num_workers), "pipeline_finetune": 130.0 * max(1, cfg.finetune.num_workers),
            "source": "ASSUMED (no committed GPU measurements): 40 TFLOP/s, 130 views/s per worker"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="paper", choices=("paper", "gpu"))
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args(argv)
    rows, r, cfg = estimate(args.preset)
    w = sys.stdout.write
    w(f"{args.preset} preset, image {cfg.data.image_size}, views made {cfg.pretrain.augment_on == 'device' and 'on the GPU' or 'by CPU workers'}; "
      f"rates {r['source']}: train {r['train']:.0f}, inference {r['infer']:.0f} images/s, pipeline {r['pipeline']:.0f} views/s. ESTIMATE\n")
    if args.markdown:
        w("\n| chapter | fits | GPU (min) | CPU views (min) | estimate with CPU work (min) |\n|---|---|---|---|---|\n")
        for ch, n, g, pl, est in rows:
            w(f"| {ch} | {n} | {g:.1f} | {pl:.1f} | ~{est:.0f} |\n")
    else:
        for ch, n, g, pl, est in rows:
            w(f"{ch:22s} fits {n:4d}  gpu {g:6.1f}  cpu views {pl:6.1f}  ~{est:6.1f} min\n")
    w(f"total ~{sum(x[4] for x in rows):.0f} min\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
