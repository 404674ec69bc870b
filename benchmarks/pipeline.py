"""Views/s of the batched (device) augmentation pipeline against the model's training images/s, in one run.

Why: with ``augment_on = "device"`` the views of a step are made on the training device before
its forward pass, so the pipeline costs GPU time: it must make views much faster than the
network consumes them (the bar of issue 14: at least 5x on the GPU at the ``gpu`` preset's size).
This measures, back to back in one process on one device, at a preset's image size and tile grid:

* ``pipeline``: :class:`~simcardionet_lite.batch_augment.BatchAugment` with the preset's
  ``aug_pretrain`` (and ``aug_finetune``) on a batch of uint8 pages already on the device;
* ``train``: one SimCLR step (two views through backbone + projector, hybrid loss, backward,
  AdamW) on ready views, bf16 + channels_last as the preset asks on CUDA (fp32 on a CPU);
* ``step``: the same step with its views made by the pipeline first (what training does);
* ``infer`` and a fine-tuning step at ``finetune.batch_size`` (fp32, one view, cross-entropy):
  the rates and the per-step time ``scripts/gpu_estimate.py`` uses;
* ``per_image``: the old per-image torchvision pipeline (``augment.ssl_views``) in this process
  with one thread, the rate of one DataLoader worker, for reference.

Pages are the package's synthetic pages prepared as the preset prepares pages (lead-panel mosaic).

    .venv/bin/python benchmarks/pipeline.py --preset gpu --batch 16 --steps 3 --threads 1 --clock cpu   # a shared CPU
    python3 benchmarks/pipeline.py --preset gpu --device cuda --json results/model_checks/gpu/pipeline_gpu.json
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from dataclasses import replace
from typing import Callable

import torch

from simcardionet_lite.augment import apply_seeded, mosaic_grid, ssl_views
from simcardionet_lite.batch_augment import BatchAugment
from simcardionet_lite.config import load_preset
from simcardionet_lite.data.factory import build_dataset
from simcardionet_lite.losses import HybridContrastiveLoss
from simcardionet_lite.model import build_backbone
from simcardionet_lite.train.pretrain import fast_paths


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


#: the clock: wall time (a GPU, an idle machine) or this process's CPU time (``--clock cpu``: a shared CPU
#: machine, where a reniced benchmark waits for the other jobs; with one thread CPU time is the work itself)
CLOCK: Callable[[], float] = time.perf_counter


def seconds_per_call(fn: Callable[[int], object], steps: int, dev: torch.device) -> float:
    """Mean time of ``fn(i)`` over ``steps`` calls after one warm-up call, on :data:`CLOCK`."""
    fn(-1)
    _sync(dev)
    t0 = CLOCK()
    for i in range(steps):
        fn(i)
    _sync(dev)
    return (CLOCK() - t0) / steps


def pages_for(cfg, n: int) -> torch.Tensor:
    """``n`` synthetic pages prepared as ``cfg.data`` says (uint8 N x 3 x H x W)."""
    per_class = math.ceil(n / 4)
    ds = build_dataset(replace(cfg.data, source="synthetic", root=None, n_per_class=per_class), seed=0)
    u8 = torch.from_numpy(ds.images_uint8()[:n]).permute(0, 3, 1, 2).contiguous()
    return u8


def measure(preset: str, dev: torch.device, batch: int, steps: int) -> dict:
    cfg = load_preset(preset)
    size, grid = tuple(cfg.data.image_size), mosaic_grid(cfg.data)
    pages = pages_for(cfg, batch)
    on_dev = pages.to(dev)
    aug_pre = BatchAugment(cfg.aug_pretrain, size, grid)
    aug_ft = BatchAugment(cfg.aug_finetune, size, grid)
    out: dict = {"preset": preset, "device": str(dev), "input": list(size), "tile_grid": list(grid) if grid else None,
                 "batch_pages": batch}

    # the batched pipeline alone (views of pages already on the device)
    t = seconds_per_call(lambda i: aug_pre(on_dev, torch.Generator().manual_seed(i + 1)), steps, dev)
    out["pipeline_views_per_s"] = batch / t
    t = seconds_per_call(lambda i: aug_ft(on_dev, torch.Generator().manual_seed(i + 1)), steps, dev)
    out["pipeline_finetune_views_per_s"] = batch / t

    # the network: a SimCLR step on ready views, as pretraining runs it on this device
    amp, cl = fast_paths(cfg.pretrain, dev)
    torch.manual_seed(0)
    model = build_backbone(cfg.model, 4).to(dev, memory_format=torch.channels_last if cl else torch.preserve_format)
    opt, loss_fn = torch.optim.AdamW(model.parameters(), lr=1e-3), HybridContrastiveLoss(cfg.loss.temperature, cfg.loss.lam)
    ready = torch.cat([aug_pre(on_dev, torch.Generator().manual_seed(s)) for s in (101, 102)])

    def step(views: torch.Tensor) -> None:
        if cl:
            views = views.contiguous(memory_format=torch.channels_last)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            z = model.project(views)
        loss = loss_fn(*z.float().chunk(2))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    model.train()
    out["train_images_per_s"] = 2 * batch / seconds_per_call(lambda i: step(ready), steps, dev)
    out["step_images_per_s"] = 2 * batch / seconds_per_call(
        lambda i: step(torch.cat([aug_pre(on_dev, torch.Generator().manual_seed(2 * i + 3 + k)) for k in (0, 1)])), steps, dev)
    model.eval()

    def infer(_: int) -> None:
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            model(ready[:batch].contiguous(memory_format=torch.channels_last) if cl else ready[:batch])

    out["infer_images_per_s"] = batch / seconds_per_call(infer, steps, dev)

    # a fine-tuning step (fp32, one view, the preset's batch): launch-bound on a GPU at batch 16
    fb = min(cfg.finetune.batch_size, batch)
    model.train()
    ce, labels = torch.nn.CrossEntropyLoss(), torch.arange(fb, device=dev) % 4

    def ft_step(i: int) -> None:
        x = aug_ft(on_dev[:fb], torch.Generator().manual_seed(i + 7))
        loss = ce(model(x), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    out["finetune_batch"] = fb
    out["finetune_step_s"] = seconds_per_call(ft_step, steps, dev)

    # the old per-image pipeline, one thread: what one DataLoader worker makes
    threads = torch.get_num_threads()
    tf = ssl_views(cfg.aug_pretrain, size, grid).transform
    cpu_pages = pages[: min(batch, 16)].float() / 255
    out["per_image_views_per_s_1_thread"] = len(cpu_pages) / seconds_per_call(
        lambda i: apply_seeded(tf, cpu_pages, i + 11), max(1, steps // 2), torch.device("cpu"))
    torch.set_num_threads(threads)
    out["ratio_pipeline_vs_train"] = out["pipeline_views_per_s"] / out["train_images_per_s"]
    out["amp_bf16"], out["channels_last"] = amp, cl
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="gpu")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=0, help="pages per step (default: the preset's pretrain.batch_size)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall time, or this process's CPU time (a shared CPU machine, --threads 1 only)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.clock == "cpu":
        if a.device != "cpu" or a.threads != 1:
            ap.error("--clock cpu measures a CPU run with --threads 1 (CPU time of several threads is not their wall time)")
        global CLOCK
        CLOCK = time.process_time
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    batch = a.batch or load_preset(a.preset).pretrain.batch_size
    row = measure(a.preset, dev, batch, a.steps)
    meta = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine(),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "steps": a.steps, "clock": a.clock}
    print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    print(f"pipeline {row['pipeline_views_per_s']:.0f} views/s vs training {row['train_images_per_s']:.0f} images/s: "
          f"ratio {row['ratio_pipeline_vs_train']:.2f} ({meta['device']}, {meta['threads']} threads); the old per-image "
          f"pipeline makes {row['per_image_views_per_s_1_thread']:.0f} views/s per worker")
    if a.json:
        from simcardionet_lite.results import write_check

        write_check(a.json, {"meta": meta, "rows": [row]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
