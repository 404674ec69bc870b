"""Stage 2: supervised fine-tuning with progressive layer unfreezing (paper), discriminative LRs and early stopping.

The paper says fine-tuning unfreezes layers progressively "to reduce overfitting and keep the
pretrained representations". The schedule and everything else are ours, in
:class:`~simcardionet_lite.config.FinetuneConfig`:

* the **schedule is data**: ``((epoch, groups), ...)``, e.g. ``((0, ("head",)), (2,
  ("attention", "stage3")), (4, ("all",)))``; groups are the model's
  :meth:`~simcardionet_lite.model.backbone.SimCardioNet.layer_groups` names plus ``all``;
* at each stage the optimizer (AdamW) is **rebuilt** with one parameter group per trainable layer
  group and **discriminative learning rates**: the head gets ``lr``, the group ``d`` steps below
  it ``lr * lr_decay**d`` (order: head, attention, stageK, ..., stage1, stem), so early layers,
  which hold the most generic features, move least;
* frozen groups keep their batch-norm statistics (their BN layers run in eval mode);
* **early stopping** on validation macro-F1, counted from the start of the last stage (stopping
  before the whole network was ever trainable would not test the schedule), and the best
  epoch's weights are restored;
* optional inverse-frequency **class weights** and label smoothing in the cross-entropy;
* an optional **cosine** decay of every group's learning rate over the run (``lr_schedule``):
  with a constant rate the validation score of a small training set swings from epoch to epoch,
  and early stopping then picks a lucky epoch.

The trainable-parameter count and every group's LR are logged per epoch (``history``), and
``experiments.report.figures.plot_history`` draws them.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm  # plain bars: tqdm.auto warns in a kernel without ipywidgets (a stderr box on every built page)

from simcardionet_lite.augment import finetune_transform, mosaic_grid
from simcardionet_lite.config import Config
from simcardionet_lite.evaluate import _point_metrics, dataset_images, dataset_labels, infer
from simcardionet_lite.runtime import resolve_device
from simcardionet_lite.train.views import make_views, page_tensor

log = logging.getLogger(__name__)


def group_order(groups: Mapping[str, Any]) -> list[str]:
    """Layer groups from the head down: head, attention, stageK, ..., stage1, stem."""
    stages = sorted((g for g in groups if g.startswith("stage")), key=lambda s: int(s[5:]), reverse=True)
    return [g for g in ("head", "attention", *stages, "stem") if g in groups]


class UnfreezeSchedule:
    """Which layer groups are trainable at each epoch: the union of all stages started so far.

    ``UnfreezeSchedule(((0, ("head",)), (3, ("all",))), group_names)``; ``all`` means every group.
    """

    def __init__(self, schedule: Sequence[tuple[int, Sequence[str]]], group_names: Sequence[str]) -> None:
        self.group_names = list(group_names)
        steps = sorted((int(e), tuple(gs)) for e, gs in schedule)
        if not steps or steps[0][0] != 0:
            raise ValueError(f"the unfreeze schedule must start at epoch 0, got {schedule!r}")
        for _, gs in steps:
            for g in gs:
                if g != "all" and g not in self.group_names:
                    raise ValueError(f"unknown layer group {g!r} in the unfreeze schedule; known: {self.group_names + ['all']}")
        self.steps = steps

    def trainable_at(self, epoch: int) -> list[str]:
        """Groups trainable at ``epoch`` (in head-down order)."""
        on: set[str] = set()
        for e, gs in self.steps:
            if e <= epoch:
                on |= set(self.group_names) if "all" in gs else set(gs)
        return [g for g in group_order({g: None for g in self.group_names}) if g in on]

    @property
    def last_stage_epoch(self) -> int:
        return self.steps[-1][0]

    def as_list(self) -> list[list[Any]]:
        return [[e, list(gs)] for e, gs in self.steps]


def _set_trainable(model: nn.Module, groups: Mapping[str, list[nn.Module]], on: Sequence[str]) -> None:
    for p in model.parameters():
        p.requires_grad_(False)
    for g in on:
        for m in groups[g]:
            for p in m.parameters():
                p.requires_grad_(True)


def _train_mode(model: nn.Module, groups: Mapping[str, list[nn.Module]], on: Sequence[str]) -> None:
    """Train mode for trainable groups; frozen groups (and the unused projector) stay in eval mode."""
    model.eval()
    for g in on:
        for m in groups[g]:
            m.train()


def build_optimizer(groups: Mapping[str, list[nn.Module]], on: Sequence[str], cfg: Config) -> torch.optim.Optimizer:
    """AdamW with one parameter group per trainable layer group and discriminative LRs."""
    fc = cfg.finetune
    depth = {g: d for d, g in enumerate(group_order(groups))}
    pgs = []
    for g in on:
        params = [p for m in groups[g] for p in m.parameters()]
        if params:
            pgs.append({"params": params, "lr": fc.lr * fc.lr_decay ** depth[g], "name": g})
    return torch.optim.AdamW(pgs, lr=fc.lr, weight_decay=fc.weight_decay)


def lr_factor(schedule: str, epoch: int, epochs: int) -> float:
    """The learning-rate multiplier at ``epoch`` of ``epochs``: 1 (``constant``) or a cosine from 1 towards 0."""
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + float(np.cos(np.pi * epoch / max(1, epochs))))
    raise ValueError(f"finetune.lr_schedule must be 'constant' or 'cosine', got {schedule!r}")


def class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights normalised to mean 1 (absent classes get weight 0)."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / n_classes, 0.0)
    w = w / w[w > 0].mean()
    return torch.tensor(w, dtype=torch.float32)


def _evaluate(model: nn.Module, images: torch.Tensor, labels: np.ndarray, n_classes: int, device: torch.device,
              loss_fn: nn.Module) -> dict[str, float]:
    logits = infer(model, images, device=device, batch_size=128)
    m = _point_metrics(labels, logits.softmax(1).numpy(), n_classes)
    with torch.no_grad():
        loss = float(loss_fn(logits, torch.as_tensor(labels)))
    return {"loss": loss, "macro_f1": float(m["macro_f1"]), "accuracy": float(m["accuracy"])}


def finetune(model: nn.Module, train_ds: Any, val_ds: Any | None, cfg: Config, *, progress: bool = True,
             seed: int | None = None) -> dict[str, Any]:
    """Fine-tune ``model`` on ``train_ds`` with the configured unfreezing schedule; early-stop on ``val_ds``.

    ``seed`` seeds the data order and augmentations (default: drawn from torch's global RNG, so
    the caller's ``seed_everything`` governs the run). Returns the per-epoch history
    (``train_loss, val_loss, val_macro_f1, val_acc, trainable_params, lr`` (group -> LR),
    ``trainable`` (groups)) plus ``best_epoch``, ``stopped_epoch``, ``schedule``.
    """
    # Long on purpose: the stage changes, optimizer rebuilds and early stopping share one epoch counter
    # and one best state; the parts that stand alone (schedule, optimizer, views, inference) are elsewhere.
    fc = cfg.finetune
    device = resolve_device(cfg.device)
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)))
    gen = torch.Generator().manual_seed(seed)
    images, labels = page_tensor(train_ds, fc.augment_on), dataset_labels(train_ds)  # uint8 for augment_on="device"
    n_classes = int(getattr(model, "num_classes", int(labels.max()) + 1))
    has_val = val_ds is not None and len(val_ds) > 0
    if has_val:
        v_images, v_labels = dataset_images(val_ds), dataset_labels(val_ds)
    tf = finetune_transform(cfg.aug_finetune, tuple(images.shape[-2:]), mosaic_grid(cfg.data))
    model.to(device)
    groups = model.layer_groups()
    sched = UnfreezeSchedule(fc.unfreeze_schedule, list(groups))
    weight = class_weights(labels, n_classes).to(device) if fc.class_weights else None
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=fc.label_smoothing)
    eval_loss = nn.CrossEntropyLoss()
    n = len(images)
    bs = max(1, min(fc.batch_size, n))
    steps = max(1, n // bs) if n // bs > 0 else 1

    hist: dict[str, Any] = {"epoch": [], "train_loss": [], "val_loss": [], "val_macro_f1": [], "val_acc": [],
                            "trainable_params": [], "lr": [], "trainable": [], "seconds": [],
                            "schedule": sched.as_list(), "best_epoch": None, "stopped_epoch": None, "seed": seed}
    current: list[str] = []
    opt: torch.optim.Optimizer | None = None
    best_f1, best_state, bad = -1.0, None, 0
    # the augmented batches: in worker processes (finetune.num_workers) or on the device (augment_on; views.py)
    view_maker = make_views(fc.augment_on, images, cfg.aug_finetune, tf, mosaic_grid(cfg.data), fc.num_workers, device,
                            n_views=1)
    try:
        for epoch in range(fc.epochs):
            t0 = time.perf_counter()
            on = sched.trainable_at(epoch)
            if on != current:
                _set_trainable(model, groups, on)
                opt = build_optimizer(groups, on, cfg)
                log.info("epoch %d: trainable groups %s (%d parameters)", epoch, on,
                         sum(p.numel() for p in model.parameters() if p.requires_grad))
                current = on
                if epoch == sched.last_stage_epoch:
                    bad = 0
            assert opt is not None
            factor = lr_factor(fc.lr_schedule, epoch, fc.epochs)
            for g in opt.param_groups:
                g["lr"] = g.setdefault("base_lr", g["lr"]) * factor
            _train_mode(model, groups, on)
            perm = torch.randperm(n, generator=gen)
            total = 0.0
            batches = [perm[s * bs : (s + 1) * bs] if s < steps - 1 else perm[s * bs :] for s in range(steps)]
            batches = [idx for idx in batches if len(idx) >= 2 or n < 2]  # a 1-page batch breaks batch norm
            view_batches = view_maker.epoch(batches, gen)
            bar = tqdm(batches, desc=f"finetune {epoch + 1}/{fc.epochs}", disable=not progress, leave=False)
            for idx in bar:
                x = next(view_batches).to(device)
                y = torch.as_tensor(labels[idx.numpy()], device=device)
                loss = loss_fn(model(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
            bar.close()
            hist["epoch"].append(epoch)
            hist["train_loss"].append(total / n)
            hist["trainable_params"].append(int(sum(p.numel() for p in model.parameters() if p.requires_grad)))
            hist["lr"].append({g["name"]: float(g["lr"]) for g in opt.param_groups})
            hist["trainable"].append(list(on))
            if has_val:
                ev = _evaluate(model, v_images, v_labels, n_classes, device, eval_loss)
                hist["val_loss"].append(ev["loss"])
                hist["val_macro_f1"].append(ev["macro_f1"])
                hist["val_acc"].append(ev["accuracy"])
                if ev["macro_f1"] > best_f1:
                    best_f1, bad = ev["macro_f1"], 0
                    best_state = copy.deepcopy(model.state_dict())
                    hist["best_epoch"] = epoch
                elif epoch >= sched.last_stage_epoch:
                    bad += 1
            hist["seconds"].append(time.perf_counter() - t0)
            log.info("finetune epoch %d/%d loss %.4f val F1 %s trainable %d", epoch + 1, fc.epochs, hist["train_loss"][-1],
                     f"{hist['val_macro_f1'][-1]:.3f}" if has_val else "-", hist["trainable_params"][-1])
            if has_val and bad >= fc.patience:
                hist["stopped_epoch"] = epoch
                log.info("early stop at epoch %d (best %d, macro-F1 %.3f)", epoch, hist["best_epoch"], best_f1)
                break
    finally:
        view_maker.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return hist


__all__ = ["finetune", "UnfreezeSchedule", "build_optimizer", "class_weights", "group_order", "lr_factor"]
