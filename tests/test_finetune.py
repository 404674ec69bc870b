"""Fine-tuning: the unfreezing schedule as data, discriminative LRs, early stopping, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simcardionet_lite.config import load_preset
from simcardionet_lite.model.backbone import SimCardioNet
from simcardionet_lite.runtime import seed_everything
from simcardionet_lite.experiments.report.figures import plot_history
from simcardionet_lite.train.finetune import UnfreezeSchedule, build_optimizer, class_weights, finetune, group_order
from test_pretrain import TINY, Toy

GROUPS = ["stem", "stage1", "stage2", "attention", "head"]


def cfg(**kw):
    base = {"device": "cpu", "finetune.epochs": 4, "finetune.batch_size": 6, "finetune.patience": 1, "finetune.lr": 3e-3,
            "finetune.unfreeze_schedule": [[0, ["head"]], [1, ["attention", "stage2"]], [2, ["all"]]]}
    base.update(kw)
    c = load_preset("smoke", **base)
    c.model = TINY
    return c


def test_schedule_is_cumulative_and_validated() -> None:
    s = UnfreezeSchedule(((0, ("head",)), (2, ("attention", "stage2")), (4, ("all",))), GROUPS)
    assert s.trainable_at(0) == s.trainable_at(1) == ["head"]
    assert s.trainable_at(2) == ["head", "attention", "stage2"]
    assert s.trainable_at(9) == ["head", "attention", "stage2", "stage1", "stem"]
    assert s.last_stage_epoch == 4
    with pytest.raises(ValueError):
        UnfreezeSchedule(((0, ("head",)), (1, ("stage9",))), GROUPS)
    with pytest.raises(ValueError):
        UnfreezeSchedule(((1, ("head",)),), GROUPS)


def test_discriminative_lrs_follow_depth() -> None:
    m = SimCardioNet(TINY, 3)
    c = cfg(**{"finetune.lr": 1e-2, "finetune.lr_decay": 0.5})
    opt = build_optimizer(m.layer_groups(), ["head", "attention", "stage2", "stem"], c)
    lrs = {g["name"]: g["lr"] for g in opt.param_groups}
    assert group_order(m.layer_groups()) == ["head", "attention", "stage2", "stage1", "stem"]
    assert lrs == pytest.approx({"head": 1e-2, "attention": 5e-3, "stage2": 2.5e-3, "stem": 1e-2 * 0.5**4})


def test_finetune_unfreezes_logs_and_is_deterministic() -> None:
    ds = Toy(8)
    idx = np.arange(len(ds))
    tr, va = torch.utils.data.Subset(ds, idx[idx % 3 != 0]), torch.utils.data.Subset(ds, idx[idx % 3 == 0])
    out = []
    for _ in range(2):
        seed_everything(0)
        m = SimCardioNet(TINY, 3)
        frozen_stem = m.stem[0].weight.detach().clone()
        h = finetune(m, tr, va, cfg(), progress=False, seed=1)
        out.append((h, m))
    h, m = out[0]
    tp = h["trainable_params"]
    assert tp[0] == sum(p.numel() for p in m.head.parameters()) and tp[0] < tp[1] < tp[2]
    assert tp[2] == sum(p.numel() for p in m.parameters()) - sum(p.numel() for p in m.projector.parameters())
    assert list(h["lr"][0]) == ["head"] and "stem" in h["lr"][-1]
    assert len(h["val_macro_f1"]) == len(h["epoch"]) and h["best_epoch"] is not None
    assert h["train_loss"] == out[1][0]["train_loss"] and h["val_macro_f1"] == out[1][0]["val_macro_f1"]
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), out[1][1].state_dict().values()))
    assert not torch.equal(frozen_stem, m.stem[0].weight) or h["best_epoch"] < 2  # the stem moved once unfrozen
    assert all(p.requires_grad for p in m.parameters())
    ax = plot_history(h)
    assert ax.figure is not None


def test_early_stopping_counts_from_the_last_stage() -> None:
    ds = Toy(4)
    seed_everything(0)
    m = SimCardioNet(TINY, 3)
    h = finetune(m, ds, ds, cfg(**{"finetune.epochs": 30, "finetune.patience": 1, "finetune.lr": 0.0}), progress=False, seed=0)
    # with lr 0 nothing improves after epoch 0; stopping waits for the last stage (epoch 2), then patience 1
    assert h["stopped_epoch"] == 2 and len(h["epoch"]) == 3


def test_class_weights() -> None:
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    assert w[2] == 0 and w[1] == pytest.approx(3 * w[0])


def test_lr_factor_constant_and_cosine() -> None:
    from simcardionet_lite.train.finetune import lr_factor

    assert [lr_factor("constant", e, 10) for e in (0, 5, 9)] == [1.0, 1.0, 1.0]
    cos = [lr_factor("cosine", e, 10) for e in range(10)]
    assert cos[0] == 1.0 and abs(cos[5] - 0.5) < 1e-12 and all(a > b for a, b in zip(cos, cos[1:])) and cos[-1] > 0
    with pytest.raises(ValueError, match="lr_schedule"):
        lr_factor("step", 0, 10)
