"""Training and inference throughput (images/s) of SimCardioNet at the smoke, cpu (lead-panel mosaic) and paper sizes.

Training = one SimCLR step on a batch of pages: two views through backbone + projection head,
hybrid loss, backward, AdamW step (augmentation excluded: it runs on the CPU side). Inference =
``model(x)`` under ``torch.no_grad`` in eval mode. On a GPU the same run also times bf16 autocast +
channels_last against fp32 and reports the ratio (measured in one process, back to back, so the
ratio is robust to a busy machine even when the absolute numbers are not).

    .venv/bin/python benchmarks/throughput.py --threads 2 --json results/model_checks/throughput_cpu_2threads.json  # CPU
    .venv/bin/python benchmarks/throughput.py --device cuda --json results/model_checks/throughput_gpu.json
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from simcardionet_lite.config import load_preset
from simcardionet_lite.losses import HybridContrastiveLoss
from simcardionet_lite.model.backbone import SimCardioNet


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def measure(preset: str, dev: torch.device, batch: int, steps: int, amp: bool, channels_last: bool) -> dict:
    cfg = load_preset(preset)
    h, w = cfg.data.image_size
    torch.manual_seed(0)
    model = SimCardioNet(cfg.model, 4).to(dev)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = HybridContrastiveLoss(cfg.loss.temperature, cfg.loss.lam)
    x = torch.rand(2 * batch, 3, h, w, device=dev)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ac = dict(device_type=dev.type, dtype=torch.bfloat16, enabled=amp)

    def train_step() -> None:
        with torch.autocast(**ac):
            z = model.project(x)
        loss = loss_fn(*z.chunk(2))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def infer_step() -> None:
        with torch.no_grad(), torch.autocast(**ac):
            model(x[:batch])

    out = {}
    for name, fn, imgs in (("train", train_step, 2 * batch), ("infer", infer_step, batch)):
        model.train(name == "train")
        fn()  # warm-up (allocations, cudnn autotune)
        _sync(dev)
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        _sync(dev)
        out[f"{name}_images_per_s"] = imgs * steps / (time.perf_counter() - t0)
    cx = model.complexity((h, w))
    return {"preset": preset, "input": [h, w], "batch": batch, "amp_bf16": amp, "channels_last": channels_last,
            "params": cx["params"], "gflops": cx["flops"] / 1e9, **out}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    rows = []
    for preset, batch in (("smoke", 32), ("cpu", 16), ("paper", 16 if dev.type == "cpu" else 128)):
        base = measure(preset, dev, batch, a.steps, amp=False, channels_last=False)
        rows.append(base)
        if dev.type == "cuda":
            fast = measure(preset, dev, batch, a.steps, amp=True, channels_last=True)
            fast["ratio_train_vs_fp32"] = fast["train_images_per_s"] / base["train_images_per_s"]
            fast["ratio_infer_vs_fp32"] = fast["infer_images_per_s"] / base["infer_images_per_s"]
            rows.append(fast)
    meta = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else platform.processor() or platform.machine(),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "steps": a.steps}
    for r in rows:
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))
    if a.json:
        from simcardionet_lite.results import write_check

        write_check(a.json, {"meta": meta, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
