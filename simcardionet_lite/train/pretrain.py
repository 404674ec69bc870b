"""Stage 1: self-supervised pretraining with the hybrid contrastive loss (our "modified SimCLR").

The loop (choices ours unless marked): two augmented views of every page
(:func:`~simcardionet_lite.augment.ssl_views`), backbone features -> projection head ->
:class:`~simcardionet_lite.losses.HybridContrastiveLoss`; AdamW or LARS; linear warm-up then
cosine learning-rate decay per step; bf16 autocast and channels_last on GPU; gradient
clipping; a kNN-accuracy monitor on a held-out labelled subset each epoch (labels are used
only to *watch* the representation, never to train it); a checkpoint each epoch with exact
resume. The same function runs under ``torchrun`` (DDP): each rank takes its shard of every
global batch and the loss gathers negatives across ranks.

Randomness: the data order and the augmentations draw from two ``torch.Generator`` objects
seeded from ``seed`` (default: drawn from torch's global RNG, so the caller's
``seed_everything`` governs the run). One seed reproduces a CPU run bit for bit.

Command line (single process or ``torchrun --nproc_per_node=G``)::

    python -m simcardionet_lite.train.pretrain --preset paper --out runs/pretrain
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm  # plain bars: tqdm.auto warns in a kernel without ipywidgets (a stderr box on every built page)

from simcardionet_lite.augment import mosaic_grid, ssl_views
from simcardionet_lite.checkpoint import load_checkpoint, save_checkpoint, unwrap
from simcardionet_lite.config import Config, PretrainConfig
from simcardionet_lite.evaluate import dataset_groups, dataset_images, dataset_labels, infer, knn_accuracy
from simcardionet_lite.losses import HybridContrastiveLoss
from simcardionet_lite.runtime import resolve_device
from simcardionet_lite.train.views import make_views, page_tensor

log = logging.getLogger(__name__)

CKPT_NAME = "pretrain_last.pt"


class LARS(torch.optim.Optimizer):
    """Layer-wise adaptive rate scaling (You et al. 2017), SimCLR's large-batch optimizer.

    1-d parameters (biases, norms) get neither weight decay nor the trust ratio, as in SimCLR.
    """

    def __init__(self, params: Iterable[Any], lr: float, weight_decay: float = 0.0, momentum: float = 0.9, eta: float = 0.001) -> None:
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "eta": eta})

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # noqa: D102
        loss = closure() if closure is not None else None
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                d = p.grad
                if p.ndim > 1:
                    d = d.add(p, alpha=g["weight_decay"])
                    pn, dn = torch.norm(p), torch.norm(d)
                    q = torch.where((pn > 0) & (dn > 0), g["eta"] * pn / dn, torch.ones_like(pn))
                    d = d.mul(q)
                st = self.state[p]
                if "mu" not in st:
                    st["mu"] = torch.zeros_like(p)
                mu = st["mu"].mul_(g["momentum"]).add_(d)
                p.add_(mu, alpha=-g["lr"])
        return loss


def make_optimizer(params: Iterable[Any], pc: PretrainConfig) -> torch.optim.Optimizer:
    """AdamW or LARS from the config."""
    if pc.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=pc.lr, weight_decay=pc.weight_decay)
    if pc.optimizer == "lars":
        return LARS(params, lr=pc.lr, weight_decay=pc.weight_decay)
    raise ValueError(f"pretrain.optimizer must be 'adamw' or 'lars', got {pc.optimizer!r}")


def warmup_cosine(total_steps: int, warmup_steps: int) -> Any:
    """LR multiplier per step: linear warm-up to 1, then cosine decay to 0 (ours: SimCLR's schedule)."""
    total_steps = max(1, total_steps)
    warmup_steps = min(max(0, warmup_steps), total_steps - 1) if total_steps > 1 else 0

    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))

    return f


class _SSLNet(nn.Module):
    """Features and projection in one forward (what DDP wraps during pretraining)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.model.features(x)
        return h, self.model.projector(h)


def _dist() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def fast_paths(pc: PretrainConfig, device: torch.device) -> tuple[bool, bool]:
    """Whether bf16 autocast and channels_last are on for this run: ``(amp, channels_last)``.

    Why only on CUDA: both are GPU optimisations; on a CPU bf16 autocast is slow or unsupported
    and channels_last buys nothing, so a ``paper`` config run on a laptop stays in fp32. Tests
    patch this function to drive the GPU code path on a CPU.
    """
    on_gpu = device.type == "cuda"
    return bool(pc.amp and on_gpu), bool(pc.channels_last and on_gpu)


def knn_split(labels: np.ndarray, seed: int, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A stratified half/half split (bank, queries) of a labelled set for the kNN monitor.

    With ``groups`` (duplicate clusters, patients) whole groups go to one side, half of each
    class's groups to the bank: on Dataset I, where 437 of 928 pages are byte-identical copies,
    a page-level split puts a query's own copy in the bank and the monitor reads the copy, not
    the representation (every network, even an untrained one, maps a copy to the same point).
    A group's class is the label of its first page.
    """
    labels = np.asarray(labels)
    keys = np.arange(len(labels)) if groups is None else np.asarray(groups)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    g_label = labels[first]
    rng = np.random.default_rng(seed)
    bank_groups: list[int] = []
    for c in np.unique(g_label):
        gi = rng.permutation(np.flatnonzero(g_label == c))
        bank_groups.extend(gi[: max(1, len(gi) // 2)])
    in_bank = np.isin(inverse, np.asarray(bank_groups, dtype=np.int64))
    return np.flatnonzero(in_bank).astype(np.int64), np.flatnonzero(~in_bank).astype(np.int64)


def pretrain(
    model: nn.Module,
    dataset: Any,
    cfg: Config,
    *,
    knn_train: Any | None = None,
    knn_test: Any | None = None,
    ckpt_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    seed: int | None = None,
    stop_after_epoch: int | None = None,
) -> dict[str, Any]:
    """Pretrain ``model`` (a :class:`~simcardionet_lite.model.backbone.SimCardioNet`) on ``dataset``'s images.

    Labels of ``dataset`` are not used for training. The kNN monitor uses ``knn_train`` (bank)
    and ``knn_test`` (queries) when given, else a stratified half/half split of ``dataset``'s
    labelled pages (label -1: unlabelled, left out) that keeps each duplicate group
    (``dataset.groups``) on one side; ``pretrain.knn_k = 0``
    switches it off. With ``ckpt_dir`` a checkpoint is written each epoch; with ``resume`` the run continues from it exactly. ``stop_after_epoch`` ends the
    call after that epoch (0-based) as if interrupted (for tests and time-sliced jobs).

    Returns the history: per epoch ``loss, nt_xent, cosine, lr, knn_acc, seconds``, plus
    ``knn_init`` (kNN accuracy before training), ``knn_chance`` and ``steps_per_epoch``.
    """
    # Long on purpose: the loop reads top to bottom in the order it draws random numbers and writes
    # checkpoints (set-up, kNN monitor, epochs, resume), which exact resume and the DDP path depend on;
    # the pieces that stand alone (views, loss, optimizer, schedule, checkpoint, inference) are elsewhere.
    pc, rank_world = cfg.pretrain, _dist()
    rank, world = rank_world
    device = resolve_device(cfg.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", torch.cuda.current_device())
    amp, channels_last = fast_paths(pc, device)
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)))
    order_gen = torch.Generator().manual_seed(seed)
    aug_gen = torch.Generator().manual_seed(seed + 7919 * (rank + 1))

    # float pages for the CPU workers, uint8 pages for the device pipeline (pretrain.augment_on)
    images = page_tensor(dataset, pc.augment_on)
    n = len(images)
    if n < 2:
        raise ValueError(f"pretraining needs at least 2 images, got {n}")
    gbs = max(2 * world, min(pc.batch_size, n))
    gbs -= gbs % world
    local_bs = gbs // world
    steps = max(1, n // gbs)
    views = ssl_views(cfg.aug_pretrain, tuple(images.shape[-2:]), mosaic_grid(cfg.data))

    # kNN monitor data
    knn_bank = knn_query = None
    if pc.knn_k > 0:
        if knn_train is not None and knn_test is not None:
            knn_bank = (dataset_images(knn_train), dataset_labels(knn_train))
            knn_query = (dataset_images(knn_test), dataset_labels(knn_test))
        else:
            try:
                labels = dataset_labels(dataset)
            except (TypeError, IndexError, ValueError):
                labels = None
            # pages labelled -1 (a pretraining corpus's extra pages, data/corpus.py) never enter the monitor:
            # it watches the run's own labelled pages only (all of them when none is -1, as before)
            mine = np.flatnonzero(labels >= 0) if labels is not None else np.zeros(0, dtype=np.int64)
            if labels is not None and len(np.unique(labels[mine])) > 1:
                groups = dataset_groups(dataset)
                b, q = knn_split(labels[mine], seed % 2**32, None if groups is None else groups[mine])
                b, q = mine[b], mine[q]
                knn_bank, knn_query = (images[b], labels[b]), (images[q], labels[q])

    # model, optimizer, schedule
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    head_flags = [p.requires_grad for p in model.head.parameters()]
    for p in model.head.parameters():  # the classifier is not trained here (and DDP must not wait for it)
        p.requires_grad_(False)
    net: nn.Module = _SSLNet(model)
    if world > 1:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    if pc.compile:  # off by default: unmeasured; the checkpoint saves `model`, which compiling leaves as it is
        net = torch.compile(net)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(params, pc)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(pc.epochs * steps, pc.warmup_epochs * steps))
    scaler = torch.amp.GradScaler("cuda", enabled=False)  # bf16 needs no loss scaling; kept for fp16 and resume
    loss_fn = HybridContrastiveLoss(cfg.loss.temperature, cfg.loss.lam, gather_distributed=True)
    if cfg.loss.cosine_on not in ("projection", "features"):
        raise ValueError(f"loss.cosine_on must be 'projection' or 'features', got {cfg.loss.cosine_on!r}")

    n_cls = int(knn_bank[1].max()) + 1 if knn_bank is not None else 0
    hist: dict[str, Any] = {"epoch": [], "loss": [], "nt_xent": [], "cosine": [], "lr": [], "knn_acc": [], "seconds": [],
                            "knn_init": None, "knn_chance": (1.0 / n_cls if n_cls else None), "steps_per_epoch": steps,
                            "batch_size": gbs, "world_size": world, "seed": seed}
    start = 0
    gens = {"order": order_gen, "aug": aug_gen}
    ckpt = Path(ckpt_dir) / CKPT_NAME if ckpt_dir is not None else None
    ckpt_classes = _class_names(dataset, model)
    if resume and ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt, model=model, expect=cfg, optimizer=opt, scheduler=sched, scaler=scaler,
                                generators=gens, restore_rng=True)
        hist = state.history
        start = (state.epoch if state.epoch is not None else -1) + 1
        log.info("resumed pretraining from %s at epoch %d", ckpt, start)

    def monitor() -> float | None:
        if knn_bank is None:
            return None
        kw = dict(output="features", device=device, batch_size=128, amp=amp, channels_last=channels_last)
        fb = infer(model, knn_bank[0], **kw).numpy()
        fq = infer(model, knn_query[0], **kw).numpy()
        return knn_accuracy(fb, knn_bank[1], fq, knn_query[1], k=pc.knn_k)

    if start == 0:
        hist["knn_init"] = monitor()
    net.train()
    # the two views of each batch: in worker processes (pretrain.num_workers) or on the device (augment_on; views.py)
    view_maker = make_views(pc.augment_on, images, cfg.aug_pretrain, views.transform, mosaic_grid(cfg.data), pc.num_workers,
                            device, n_views=2)
    try:
        for epoch in range(start, pc.epochs):
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=order_gen)
            sums = np.zeros(3)
            bar = tqdm(range(steps), desc=f"pretrain {epoch + 1}/{pc.epochs}", disable=not progress or rank != 0, leave=False)
            batches = [perm[s * gbs : (s + 1) * gbs][rank * local_bs : (rank + 1) * local_bs] for s in range(steps)]
            view_batches = view_maker.epoch(batches, aug_gen)
            for s in bar:
                v = next(view_batches).to(device)
                if channels_last:
                    v = v.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    h, z = net(v)
                z1, z2 = z.chunk(2)
                if cfg.loss.cosine_on == "features":
                    h1, h2 = h.chunk(2)
                    loss = loss_fn(z1, z2, h1, h2)
                else:
                    loss = loss_fn(z1, z2)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if pc.grad_clip and pc.grad_clip > 0:
                    scaler.unscale_(opt)
                    torch.nn.utils.clip_grad_norm_(params, pc.grad_clip)
                scaler.step(opt)
                scaler.update()
                sched.step()
                sums += (float(loss.detach()), loss_fn.last["nt_xent"], loss_fn.last["cosine"])
                bar.set_postfix(loss=f"{float(loss.detach()):.3f}", lr=f"{sched.get_last_lr()[0]:.2e}")
            bar.close()
            sums /= steps
            if world > 1:  # the logged loss is the mean over ranks (= the whole-batch loss)
                t = torch.tensor(sums, device=device)
                torch.distributed.all_reduce(t)
                sums = (t / world).cpu().numpy()
            knn = monitor()
            for k, val in zip(("loss", "nt_xent", "cosine"), sums):
                hist[k].append(float(val))
            hist["epoch"].append(epoch)
            hist["lr"].append(float(sched.get_last_lr()[0]))
            hist["knn_acc"].append(knn)
            hist["seconds"].append(time.perf_counter() - t0)
            if rank == 0:  # the kNN monitor is rank 0's model (BN buffers are per rank without SyncBN)
                log.info("pretrain epoch %d/%d loss %.4f (nt-xent %.4f, cos %.4f) lr %.2e kNN %s", epoch + 1, pc.epochs,
                         sums[0], sums[1], sums[2], hist["lr"][-1], "-" if knn is None else f"{knn:.3f}")
            if ckpt is not None:
                if rank == 0:
                    save_checkpoint(ckpt, model, cfg, ckpt_classes, history=hist, extra={"config_hash": cfg.hash(), "stage": "pretrain"},
                                    optimizer=opt, scheduler=sched, scaler=scaler, epoch=epoch, generators=gens)
                if world > 1:
                    torch.distributed.barrier()
            if stop_after_epoch is not None and epoch >= stop_after_epoch:
                break
    finally:
        view_maker.close()

    for p, f in zip(model.head.parameters(), head_flags):
        p.requires_grad_(f)
    model.eval()
    return hist


def _class_names(dataset: Any, model: nn.Module) -> tuple[str, ...]:
    """The class names a checkpoint records: the dataset's, else ``"0", "1", ...`` for the model's head."""
    n = getattr(unwrap(model), "num_classes", None)
    names = tuple(str(c) for c in (getattr(dataset, "classes", ()) or ()))
    if names and (n is None or len(names) == n):
        return names
    return tuple(str(i) for i in range(int(n or 0)))


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: pretrain on the configured data, single process or under ``torchrun`` (DDP)."""
    import os

    from simcardionet_lite.config import load_preset, parse_assignments
    from simcardionet_lite.data.datasets import build_dataset
    from simcardionet_lite.model import build_backbone
    from simcardionet_lite.runtime import seed_everything

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="smoke")
    ap.add_argument("--out", default="runs/pretrain", help="checkpoint folder (resume from it with --resume)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="dotted overrides; values as JSON or Python literals")
    args = ap.parse_args(argv)
    try:
        cfg = load_preset(args.preset, **parse_assignments(args.set))
    except (KeyError, ValueError) as exc:
        ap.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    seed_everything(cfg.seed)
    ds = build_dataset(cfg.data)
    model = build_backbone(cfg.model, len(ds.classes))
    if torch.distributed.is_initialized() and torch.cuda.is_available():
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # ours: BN statistics over the global batch
    hist = pretrain(model, ds, cfg, ckpt_dir=args.out, resume=args.resume, seed=cfg.seed)
    if _dist()[0] == 0:
        enc = save_checkpoint(Path(args.out) / "encoder.pt", model, cfg, _class_names(ds, model), history=hist,
                              extra={"config_hash": cfg.hash(), "stage": "pretrain"},
                              epoch=hist["epoch"][-1] if hist["epoch"] else None)
        log.info("encoder written to %s", enc)
    if torch.distributed.is_initialized():
        # every rank waits for rank 0's save before gloo is torn down: a rank leaving while its
        # peer is still connected can abort the peer ("terminate called without an active exception")
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
