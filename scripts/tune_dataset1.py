"""Settings of the Dataset I panel configuration, chosen by inner validation (never a test fold).

Every candidate is a set of config overrides on top of ``--preset``; each is fitted inside the
training part of each outer grouped fold (seed ``--seed``) and scored on a held-out part of it
(:mod:`simcardionet_lite.experiments.tuning`). Prints one row per candidate and writes the
table, the per-fold runs and the provenance of the run to ``--out``.

    .venv/bin/python scripts/tune_dataset1.py --data-root ../shared/realdata/dataset1_mendeley \
        --jobs 2 --round 2 --out results/tuning/dataset1_cpu_round2.json

``--round N`` picks a grid of ``ROUNDS`` (each round starts from the previous one's choice, which
the preset then holds); ``--only NAME ...`` runs a subset; ``--arm NAME`` applies an arm (``experiments.arms``) first, so
the same grid tunes the method, the network from scratch and the ResNet-18 alike.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

#: round -> {name -> overrides}; in each round the first is the reference the others change one thing of
ROUNDS: dict[int, dict[str, dict[str, Any]]] = {
    # round 1 (cpu preset of 2026-12-01 08:40: 40 epochs): schedule, learning rate, early stopping, augmentation, epochs
    1: {
        "lr 1e-3, cosine, no early stopping": {"finetune.epochs": 40},
        "lr 3e-3": {"finetune.epochs": 40, "finetune.lr": 3e-3},
        "constant lr": {"finetune.epochs": 40, "finetune.lr_schedule": "constant"},
        "early stopping on 20 % of the fit part": {"finetune.epochs": 40, "finetune.val_fraction": 0.2, "finetune.patience": 10},
        "no colour / blur / JPEG augmentation": {"finetune.epochs": 40, "aug_finetune": {"color_jitter": 0.0, "grid_jitter": 0.0,
                                                                                          "blur_p": 0.0, "jpeg_p": 0.0}},
        "30 epochs": {"finetune.epochs": 30},
    },
    # round 2 (on round 1's choice, the cpu preset): the width and depth of the shared panel encoder
    2: {
        "round-1 choice: stages 16-32-64": {},
        "stages 32-64-128": {"model.stage_channels": [32, 64, 128]},
        "4 stages 16-32-64-128": {"model.stage_channels": [16, 32, 64, 128], "model.blocks_per_stage": [1, 1, 1, 1]},
        "stages 32-64-128, 40 epochs": {"model.stage_channels": [32, 64, 128], "finetune.epochs": 40},
    },
    # round 3 (on round 2's choice): the encoder's resolution, not its size. The stem no longer halves the 48 x 96
    # panel (traces 1-2 px wide), with the widths halved so the cost stays about the same; and the same with a fourth
    # stage, so the last map is again 3 x 6. (The reference is round 2's first row, reproduced there exactly.)
    3: {
        "round-2 choice: stem stride 2, stages 16-32-64": {},
        "stem stride 1, stages 8-16-32": {"model.stem_stride": 1, "model.stem_channels": 8, "model.stage_channels": [8, 16, 32]},
        "stem stride 1, 4 stages 8-16-32-64": {"model.stem_stride": 1, "model.stem_channels": 8,
                                               "model.stage_channels": [8, 16, 32, 64], "model.blocks_per_stage": [1, 1, 1, 1]},
    },
    # round 4 (on round 3's choice): the two untried differences from issue #17's exploratory network (0.90 on the
    # test folds): the standard post-norm transformer-encoder layer instead of our pre-norm block, and a plain
    # (single 3x3 kernel, max-pooled, no shortcut) panel encoder at full panel resolution, with its 40 epochs.
    # Widths are ours (the issue does not state them), sized to its 8-10 minutes per fold on 2 cores.
    4: {
        "standard transformer layer": {"model.attn_form": "standard"},
        "plain encoder 8 + 8-16-32-64 (stride 1), standard layer, 40 epochs": {
            "model.block": "plain", "model.attn_form": "standard", "model.stem_stride": 1, "model.stem_channels": 8,
            "model.stage_channels": [8, 16, 32, 64], "model.blocks_per_stage": [1, 1, 1, 1], "finetune.epochs": 40},
        "plain encoder 16-32-64 (stride 2), standard layer, 40 epochs": {
            "model.block": "plain", "model.attn_form": "standard", "finetune.epochs": 40},
    },
    # round 5 (on the preset, round 4 kept it): what the panel is made of before any layer sees it. A lead panel of
    # the downscaled Dataset I page is about 100 x 170 pixels; the preset's 48 x 96 tile halves it, which may blur
    # the ST-segment and Q-wave detail that tells MI from its neighbours (MI has 30 distinct pages). Twice the tile
    # side (96 x 192, mosaic 384 x 768; the stride-2 stem then gives the first stage the preset's 48 x 96 grid) keeps
    # the source's detail; grey pages drop the printer's grid colour, which carries no diagnosis.
    5: {
        "tiles 96 x 192 (mosaic 384 x 768)": {"data.image_size": [384, 768]},
        "grey pages": {"data.grayscale": True},
    },
    # round 6 (on the preset, round 5 kept it): regularisation for few distinct pages. The preset's errors on the test
    # folds are mostly MI pages called AHB (MI recall 0.56-0.63 at precision 0.95-0.99, 3 seeds): about 20 distinct MI
    # pages per training part, so the network may memorise them. Each candidate changes one knob the config already has:
    # per-panel time shifts (beats move, shapes stay; pretraining uses 0.1), label smoothing, AdamW's weight decay at
    # the usual transformer value, and dropout before the classifier.
    6: {
        "per-panel time shifts up to 10 %": {"aug_finetune": {"translate_frac": 0.1}},
        "label smoothing 0.1": {"finetune.label_smoothing": 0.1},
        "weight decay 0.05": {"finetune.weight_decay": 0.05},
        "dropout 0.5": {"model.dropout": 0.5},
    },
    # round 7 (run with --arm resnet18: a diagnostic of the baseline, not a tuning of the method): the ResNet-18 on
    # whole pages beats the lead-panel network on the test folds in 3 of 3 seeds, and a whole page prints the heart
    # rate and intervals in its header and footer, which the mosaic leaves out. Masking them (the crop arm's mask)
    # says how much of the ResNet-18's score needs the print.
    7: {
        "ResNet-18 on whole pages (the arm)": {},
        "header and footer masked": {"data.crop_header_footer": True},
    },
    # round 8 (on round 6's choice, the per-panel time shifts, which the test folds put at 0.880): more of what worked.
    # Larger shifts; the shifts with round 6's runner-up (dropout 0.5); and the shifts with independent time and voltage
    # scaling of up to 5 % inside each panel (heart rate and gain vary between patients and printers; pretraining
    # measured it on smoke pages only). None costs more than the shifts alone, so the 2-hour budget is unchanged.
    8: {
        "round-6 choice: per-panel time shifts up to 10 %": {"aug_finetune": {"translate_frac": 0.1}},
        "time shifts up to 20 %": {"aug_finetune": {"translate_frac": 0.2}},
        "time shifts 10 % + dropout 0.5": {"aug_finetune": {"translate_frac": 0.1}, "model.dropout": 0.5},
        "time shifts 10 % + time and voltage scaling 5 %": {"aug_finetune": {"translate_frac": 0.1, "scale_jitter": 0.05}},
    },
    # round 9 (on the preset, which holds round 8's choice): train longer for the same time. The shifts make each epoch
    # a new draw of every page, so more epochs may still help where round 1 (without shifts) found 30 and 40 tied; the
    # batched view pipeline (finetune.augment_on="device", another draw of the same augmentations) costs about 0.5-0.8 of
    # the per-image one on this CPU (benchmarks/finetune_epoch.py, 2 threads), so 45 epochs might fit the preset's time
    # (with one thread per candidate the round measured otherwise: results/tuning/README.md). The reference is round 8's
    # first row (0.877), not re-run: rounds 2 and 8 reproduced their references to the last digit.
    9: {
        "batched views, 30 epochs": {"finetune.augment_on": "device"},
        "batched views, 45 epochs": {"finetune.augment_on": "device", "finetune.epochs": 45},
    },
    # round 10 (on the preset, which round 9 kept): test-time views. The network was trained on panels shifted by up to
    # 10 % of their width; scoring each validation page also shifted by a few of those amounts (eval.tta_shifts, inside
    # every panel) and averaging the probabilities costs no training. The fits are round 8's reference fits (the same
    # config and seed, deterministic), so the difference to its 0.877 is the test-time views' alone.
    10: {
        "test-time shifts of 5 % either way": {"eval.tta_shifts": [-0.05, 0.05]},
        "test-time shifts of 5 and 10 % either way": {"eval.tta_shifts": [-0.1, -0.05, 0.05, 0.1]},
    },
    # round 11 (run with --preset cpu_pretrain): the pretrained arm's fine-tuning, by the same procedure that tuned the
    # scratch arm (rounds 1-10), so chapter 8's comparison is between two equally tuned arms. The paper states
    # progressive unfreezing; the learning rate and how much slower earlier groups learn (discriminative rates,
    # finetune.lr_decay) are ours, and were never tuned (nor when each group thaws: not tried here, for time).
    # Candidates differing only in fine-tuning share each outer fold's encoder (content-keyed cache; run with --jobs 1 so the first candidate's
    # encoders are there for the rest). The diagnostic fine-tunes the pretrained encoder exactly like the scratch arm
    # (every layer from epoch 0, one rate), and the second diagnostic is the scratch arm itself (the cpu preset, round
    # 10's choice) re-run in the same round, so that pair differs in the starting weights only and was measured on one
    # CPU (kernels differ between CPUs: results/tuning/README.md). Diagnostics are measured, never selected.
    11: {
        "cpu_pretrain preset: thaw at epochs 0/3/6, rate halves per earlier group": {},
        "one learning rate (lr_decay 1)": {"finetune.lr_decay": 1.0},
        "lr 3e-4": {"finetune.lr": 3e-4},
        "diagnostic: fine-tuned like scratch (all layers from epoch 0, one rate)": {
            "finetune.unfreeze_schedule": [[0, ["all"]]], "finetune.lr_decay": 1.0},
        "diagnostic: the scratch arm (the cpu preset, random initial weights)": {
            "finetune.init": "random", "finetune.unfreeze_schedule": [[0, ["all"]]], "finetune.lr_decay": 1.0},
    },
}


def _run(job: tuple[str, str, dict[str, Any], str | None, str, int, int]) -> tuple[str, dict[str, Any]]:
    name, preset, overrides, arm, root, seed, threads = job
    import torch

    torch.set_num_threads(threads)
    from simcardionet_lite import experiments as ex
    from simcardionet_lite.data.factory import build_dataset
    from simcardionet_lite.experiments.tuning import inner_validation

    cfg = ex.get("dataset1_cv").config(preset, data_root=root, overrides=overrides)
    if arm:
        cfg = ex.arm_config(cfg, arm)
    ds = build_dataset(cfg.data, seed=cfg.seed)
    t0 = time.perf_counter()
    res = inner_validation(cfg, ds, seed=seed)
    res["seconds"] = time.perf_counter() - t0
    res["overrides"] = overrides
    res["config"] = cfg.to_dict()
    return name, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--arm", default=None, help="an arm of experiments.arms applied before each candidate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="candidates run in parallel, one thread each")
    ap.add_argument("--round", type=int, default=max(ROUNDS), choices=sorted(ROUNDS), help="which candidate grid (default: the latest)")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from simcardionet_lite.errors import check_writable
    from simcardionet_lite.experiments.tuning import select
    from simcardionet_lite.results import run_metadata, to_jsonable

    if args.out:
        check_writable(args.out, "--out")
    candidates = ROUNDS[args.round]
    names = args.only or list(candidates)
    unknown = [n for n in names if n not in candidates]
    if unknown:
        raise SystemExit(f"unknown candidates {unknown}; known: {list(candidates)}")
    threads = max(1, (os.cpu_count() or 2) // max(1, args.jobs)) if args.jobs > 1 else max(1, os.cpu_count() or 1)
    jobs = [(n, args.preset, candidates[n], args.arm, str(Path(args.data_root).resolve()), args.seed, threads) for n in names]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        scores = dict(pool.map(_run, jobs))
    scores = {n: scores[n] for n in names}
    print(f"{'candidate':45s} {'inner-val macro-F1 per outer fold':36s} {'mean':>6s} {'time':>7s}")
    for n, r in scores.items():
        per = ", ".join(f"{x['macro_f1']:.3f}" for x in r["runs"])
        print(f"{n:45s} {per:36s} {r['mean_macro_f1']:6.3f} {r['seconds']:6.0f}s")
    best = select(scores)
    print(f"selected: {best}  (total {time.perf_counter() - t0:.0f} s, {args.jobs} jobs x {threads} threads)")
    if args.out:
        payload = {"what": "inner-validation tuning of the Dataset I configuration (experiments.tuning)",
                   "preset": args.preset, "round": args.round, "arm": args.arm, "seed": args.seed, "candidates": scores, "selected": best,
                   "wall_s": time.perf_counter() - t0, "jobs": args.jobs, "threads_per_job": threads,
                   "metadata": run_metadata()}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(to_jsonable(payload), indent=2) + "\n")


if __name__ == "__main__":
    main()
