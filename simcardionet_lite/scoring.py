"""``simcardionet-lite evaluate --checkpoint CK --data-root ROOT [--source S] [--split SPLIT] --out metrics.json``.

Why a command: a trained model is only worth what it scores on data it never saw, and that data
is often somewhere else (another folder, held-out PTB-XL records, another mirror of Dataset II).
The checkpoint carries the model's config (:mod:`simcardionet_lite.checkpoint`), so the dataset is
built through the one factory from that config's ``data`` section with only the source, the
folder and the split replaced: the pages reach the model prepared exactly as in training. The
output is a results JSON like every recipe's: metrics with bootstrap intervals, per-class
metrics with support, the data record (source, root, content fingerprint, counts) and the
checkpoint it scored.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def evaluate_checkpoint(checkpoint: str | Path, data_root: str | Path | None, *, source: str | None = None,
                        split: str | None = None, seed: int = 0, n_boot: int | None = None) -> dict[str, Any]:
    """Score a saved model on the dataset ``source`` at ``data_root`` (default: the checkpoint's own
    ``data.source``; no root: its synthetic pages). Returns ``{"metrics", "data", "checkpoint"}``."""
    from simcardionet_lite.checkpoint import load_checkpoint
    from simcardionet_lite.data.factory import build_dataset, dataset_record
    from simcardionet_lite.errors import DataError
    from simcardionet_lite.evaluate import predict_cfg
    from simcardionet_lite.experiments.engine import score

    ck = load_checkpoint(checkpoint)
    cfg = ck.config
    src = source or (cfg.data.source if data_root is not None else "synthetic")
    root = None if data_root is None else str(Path(data_root).expanduser().resolve())
    data = replace(cfg.data, source=src, root=root)
    ds = build_dataset(data, split=split, seed=seed)
    if tuple(ds.classes) != tuple(ck.classes):
        raise DataError(f"the dataset's classes {list(ds.classes)} are not the model's {list(ck.classes)}",
                        path=root, fix="score the model on data with its label set (data.label_set of its config)")
    probs, labels = predict_cfg(cfg, ck.model, ds)
    if n_boot is not None:
        cfg = replace(cfg, eval=replace(cfg.eval, n_bootstrap=n_boot))
    digest = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    return {"metrics": score(cfg, labels, probs, ds.classes, seed), "data": {"test": dataset_record(ds)},
            "checkpoint": {"path": str(checkpoint), "sha256": digest, "extra": ck.extra}, "config": cfg}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="simcardionet-lite evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="a model saved by simcardionet-lite (checkpoint.save_checkpoint)")
    p.add_argument("--data-root", default=None, help="the dataset folder (default: the model's synthetic pages)")
    p.add_argument("--source", default=None, help="data.source of that folder: dataset1, kaggle, kaggle_standin, "
                   "ptbxl (default: the checkpoint's)")
    p.add_argument("--split", default=None, help="train/val/test (ptbxl, synthetic) or train/test (kaggle); default all")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (and synthetic pages' seed)")
    p.add_argument("--out", default=None, help="write the results JSON here (metrics.json in this folder)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: 0 on success, 2 on a data or checkpoint error (message on stderr)."""
    from simcardionet_lite.errors import DataError, check_writable
    from simcardionet_lite.experiments.report.format import fmt_ci
    from simcardionet_lite.results import publish

    args = build_parser().parse_args(argv)
    try:
        if args.out:
            check_writable(args.out, "--out", folder=True)
        res = evaluate_checkpoint(args.checkpoint, args.data_root, source=args.source, split=args.split, seed=args.seed)
    except (DataError, KeyError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    m = res["metrics"]
    sys.stdout.write(f"{res['data']['test']['n']} pages: accuracy {fmt_ci(m, 'accuracy')}, macro F1 {fmt_ci(m, 'macro_f1')}\n")
    if args.out:
        path = publish(m, cfg=res["config"], results_dir=args.out, seeds=[args.seed], data=res["data"],
                       extra={"checkpoint": res["checkpoint"]})
        sys.stdout.write(f"results: {path}\n")
    return 0


__all__ = ["evaluate_checkpoint", "main"]
