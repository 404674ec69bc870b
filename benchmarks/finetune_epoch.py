"""Where a Dataset I fold's time goes on a CPU: fine-tuning epoch time per view pipeline and per network, in one run.

Why: the ``cpu`` preset's chapter-5 run must finish within two hours on two cores. Tuning round 6 added
per-panel time shifts to fine-tuning, and the folds of the first run with them took about 280 s against
200 s without; the guess was that the per-panel warp in the training process was the cost. This measures,
back to back in one process, the fine-tuning epoch of the ``cpu`` preset's network on the same pages with:

* ``preset``: the preset as it is (the per-image torchvision pipeline with the time shifts);
* ``no shifts``: ``aug_finetune.translate_frac = 0`` (the preset before round 6);
* ``no augmentation``: no shift, colour, blur or JPEG step (what the network alone costs);
* ``batched views``: the preset's augmentations as batched tensor ops (``finetune.augment_on = "device"``,
  here on the CPU; another draw of the same augmentations);
* ``1 worker``: the per-image pipeline in one worker process (``finetune.num_workers = 1``) beside the
  training threads;
* ``ResNet-18 arm``: the whole-page ResNet-18 baseline (``experiments.arms``) at its own input size.

and prints each median epoch time against the preset's as a ratio. Pages are random uint8 mosaics of the
preset's size (the cost does not depend on what the pixels show); the epoch after the first is timed.

    .venv/bin/python benchmarks/finetune_epoch.py --pages 160 --epochs 2 --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simcardionet_lite.config import load_preset
from simcardionet_lite.experiments.arms import arm_config
from simcardionet_lite.model import build_backbone
from simcardionet_lite.results import run_metadata
from simcardionet_lite.train.finetune import finetune

VARIANTS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "preset": (None, {}),
    "no shifts": (None, {"aug_finetune.translate_frac": 0.0}),
    "no augmentation": (None, {"aug_finetune": {"translate_frac": 0.0, "color_jitter": 0.0, "grid_jitter": 0.0,
                                                "blur_p": 0.0, "jpeg_p": 0.0}}),
    "batched views": (None, {"finetune.augment_on": "device"}),
    "1 worker": (None, {"finetune.num_workers": 1}),
    "ResNet-18 arm": ("resnet18", {}),
}


class _Pages:
    """The smallest dataset ``finetune`` reads: pages in memory (``images_uint8``) and labels."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self._images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self._images)

    def images_uint8(self) -> np.ndarray:
        return self._images


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--pages", type=int, default=160, help="training pages per epoch (a grouped fold trains on ~327)")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per variant; the first is left out of the median")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=None, choices=sorted(VARIANTS))
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.epochs < 2:
        ap.error("--epochs must be at least 2 (the first epoch is warm-up)")
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    labels = np.arange(a.pages) % 4
    rows = []
    for name in a.only or list(VARIANTS):
        arm, overrides = VARIANTS[name]
        cfg = load_preset(a.preset, **{"finetune.epochs": a.epochs, **overrides})
        if arm:
            cfg = arm_config(cfg, arm)
        h, w = cfg.data.image_size
        pages = _Pages(rng.integers(0, 256, (a.pages, h, w, 3), dtype=np.uint8), labels)
        torch.manual_seed(0)
        model = build_backbone(cfg.model, num_classes=4)
        hist = finetune(model, pages, None, cfg, progress=False, seed=0)
        rows.append({"variant": name, "image_size": [h, w], "epoch_seconds": hist["seconds"],
                     "median_epoch_s": statistics.median(hist["seconds"][1:])})
    base = next((r for r in rows if r["variant"] == "preset"), rows[0])
    for r in rows:
        r["ratio_vs_base"] = r["median_epoch_s"] / base["median_epoch_s"]
        print(f"{r['variant']:16s} {r['image_size'][0]}x{r['image_size'][1]}  epoch {r['median_epoch_s']:6.2f} s "
              f"for {a.pages} pages  ratio vs {base['variant']}: {r['ratio_vs_base']:.2f}")
    if a.json:
        out = {"preset": a.preset, "base": base["variant"], "pages": a.pages, "epochs": a.epochs, "threads": a.threads, "rows": rows,
               "metadata": run_metadata()}
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
