"""Run the results chapters' experiments on the real data and commit-ready results JSON.

Why a script and not the chapters: the real runs take tens of minutes on a CPU and must run in
the background while the book builds in the smoke preset; they write the same result dicts the
chapters compute (same functions in :mod:`simcardionet_lite.experiments`) into
``results/<chapter>/<tag>/metrics.json``, which the chapters and the "Paper vs ours" page read.

Parts:

* ``dataset1``: real Dataset I (Mendeley), 3-fold CV under the file-level and grouped protocols;
* ``dataset2``: the *constructed* Dataset II stand-in (Dataset I re-encoded and re-split, built
  in the cache), zero-shot after training on all of Dataset I, with the overlap audit;
* ``ptbxl``: the real PTB-XL sample, official folds 1-8/9/10, single label + multi-label AUC.

Usage::

    python scripts/run_real.py --tag real-cpu --parts dataset1,ptbxl,dataset2 \\
        --set data.image_size=[128,176] --set pretrain.epochs=8

``--dry`` sizes a run: it times one fold of one protocol and extrapolates.
Never reads ``realdata/holdout_labels``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import torch

from simcardionet_lite import experiments as ex
from simcardionet_lite.config import load_preset
from simcardionet_lite.results import publish, repo_root

log = logging.getLogger("run_real")


def parse_sets(items: list[str]) -> dict[str, object]:
    """``key=value`` pairs with JSON values (``data.image_size=[128,176]``, ``pretrain.epochs=8``)."""
    out: dict[str, object] = {}
    for it in items:
        k, _, v = it.partition("=")
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
        if isinstance(out[k], list):
            out[k] = tuple(tuple(x) if isinstance(x, list) else x for x in out[k])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tag", default="real-cpu")
    p.add_argument("--preset", default="smoke")
    p.add_argument("--parts", default="dataset1,ptbxl,dataset2")
    p.add_argument("--realdata", default=os.environ.get("SIMCARDIONET_REALDATA", str(repo_root().parent / "shared" / "realdata")))
    p.add_argument("--set", action="append", default=[], help="dotted config override key=JSON")
    # One thread: on a shared 2-core machine two OpenMP threads spin-wait on each other and a
    # training step was measured 6x slower than with one (02:30 UTC, load average ~3).
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--results", default=str(repo_root() / "results"))
    p.add_argument("--dry", action="store_true", help="time one fold and extrapolate; write nothing")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)
    torch.set_num_threads(args.threads)
    cfg = load_preset(args.preset, **parse_sets(args.set))
    real = Path(args.realdata)
    d1_root = real / "dataset1_mendeley"
    px_root = real / "ptbxl_sample"
    parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    log.info("config %s: %s", cfg.hash(), json.dumps({k: cfg.to_dict()[k] for k in ("data", "model", "pretrain", "finetune", "experiment")}))
    t_all = time.perf_counter()

    if args.dry:
        ds = ex.load_dataset1(cfg, d1_root, progress=True)
        one = load_preset(args.preset, **{**parse_sets(args.set), "experiment.max_cv_folds": 1})
        t0 = time.perf_counter()
        r = ex.run_cv(ds, one, "grouped", baseline=False)
        dt = time.perf_counter() - t0
        log.info("one fold: %.1f s, accuracy %s; 2 protocols x %d folds ~ %.1f min", dt,
                 ex.fmt(ex.value(r["folds"][0]["metrics"], "accuracy")), cfg.eval.folds, 2 * cfg.eval.folds * dt / 60)
        return 0

    for part in parts:
        t0 = time.perf_counter()
        if part == "dataset1":
            ds = ex.load_dataset1(cfg, d1_root, progress=True)
            res = {protocol: ex.run_cv(ds, cfg, protocol) for protocol in cfg.experiment.protocols}
            out = publish(res, cfg=cfg, results_dir=Path(args.results) / "05_dataset1" / args.tag,
                          extra={"data_root": str(d1_root), "n_items": len(ds), "n_unique": len(set(ds.groups.tolist())),
                                 "wall_s": time.perf_counter() - t0})
        elif part == "dataset2":
            standin = ex.build_kaggle_standin(d1_root, ex.cache_root(cfg) / "dataset2_standin",
                                              quality=cfg.experiment.kaggle_jpeg_quality, seed=cfg.seed)
            train_ds = ex.load_dataset1(cfg, d1_root, progress=True)
            test_ds = ex.load_dataset2(cfg, standin, split="test", progress=True)
            res = ex.run_ood(train_ds, test_ds, cfg)
            out = publish(res, cfg=cfg, results_dir=Path(args.results) / "06_dataset2" / args.tag,
                          extra={"data_root": str(standin), "constructed_standin": True, "train_root": str(d1_root),
                                 "standin_recipe": json.loads((standin / ".complete").read_text()),
                                 "wall_s": time.perf_counter() - t0})
        elif part == "ptbxl":
            sets = ex.load_ptbxl(cfg, px_root, progress=True)
            res = ex.run_ptbxl(sets["train"], sets["val"], sets["test"], cfg, multilabel=(sets["ml_train"], sets["ml_test"]))
            out = publish(res, cfg=cfg, results_dir=Path(args.results) / "07_ptbxl" / args.tag,
                          extra={"data_root": str(px_root), "sample": "PTB-XL records 1-1000 (988 present), 100 Hz",
                                 "wall_s": time.perf_counter() - t0})
        else:
            raise SystemExit(f"unknown part {part!r}")
        log.info("%s done in %.1f min -> %s", part, (time.perf_counter() - t0) / 60, out)
    log.info("all done in %.1f min", (time.perf_counter() - t_all) / 60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
