"""Two-view batches for pretraining: the serial stream is apply_batch's, workers do not change
the views, and a pretraining run with workers is deterministic and resumes exactly."""

from __future__ import annotations

import pytest
import torch

from simcardionet_lite.augment import apply_batch, ssl_views
from simcardionet_lite.config import AugConfig
from simcardionet_lite.train.views import ViewBatches
from test_pretrain import Toy, cfg, run

AUG = AugConfig()  # the smoke pretraining strength: crop, rotation, jitter, blur, JPEG all random


def _images(n: int = 10) -> torch.Tensor:
    return torch.rand(n, 3, 24, 32, generator=torch.Generator().manual_seed(1))


def _batches() -> list[torch.Tensor]:
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(2))
    return [perm[:4], perm[4:8], perm[8:]]  # a short last batch too


def _epoch(workers: int, seed: int = 3) -> tuple[list[torch.Tensor], torch.Generator]:
    imgs = _images()
    g = torch.Generator().manual_seed(seed)
    with ViewBatches(imgs, ssl_views(AUG, (24, 32)).transform, workers) as tv:
        return list(tv.epoch(_batches(), g)), g


def test_serial_mode_is_apply_batchs_stream() -> None:
    """workers == 0 reproduces the pre-worker pretraining loop bit for bit (committed smoke results)."""
    imgs, tf = _images(), ssl_views(AUG, (24, 32)).transform
    g = torch.Generator().manual_seed(3)
    ref = [torch.cat([apply_batch(tf, imgs[idx], g), apply_batch(tf, imgs[idx], g)]) for idx in _batches()]
    got, g2 = _epoch(0)
    assert len(got) == 3 and [v.shape[0] for v in got] == [8, 8, 4]
    assert all(torch.equal(a, b) for a, b in zip(ref, got))
    assert torch.equal(g.get_state(), g2.get_state())


def test_workers_do_not_change_the_views_and_leave_the_generator_as_serial() -> None:
    one, g1 = _epoch(1)
    two, g2 = _epoch(2)
    serial, g0 = _epoch(0)
    assert all(torch.equal(a, b) for a, b in zip(one, two))  # independent of the worker count and chunking
    assert [v.shape for v in one] == [v.shape for v in serial]
    assert not torch.equal(one[0], serial[0])  # a different (per-image seeded) draw
    assert not torch.equal(one[0][:4], one[0][4:])  # the two views of a page differ
    assert torch.equal(g1.get_state(), g0.get_state()) and torch.equal(g2.get_state(), g0.get_state())
    # per-image seeds: the same page at the same position with the same seed gives the same view
    again, _ = _epoch(2)
    assert all(torch.equal(a, b) for a, b in zip(one, again))


def test_bad_worker_count_and_closed_use_are_refused() -> None:
    with pytest.raises(ValueError, match="num_workers"):
        ViewBatches(_images(), lambda x: x, -1)
    tv = ViewBatches(_images(), lambda x: x, 0)
    tv.close()
    with pytest.raises(RuntimeError, match="closed"):
        next(tv.epoch(_batches(), torch.Generator()))


def test_pretraining_with_workers_is_deterministic_and_resumes_exactly(tmp_path) -> None:
    ds = Toy()
    c = cfg(**{"pretrain.num_workers": 2})
    m1, h1 = run(c, ds)
    m2, h2 = run(c, ds, ckpt_dir=tmp_path / "a")
    assert h1["loss"] == h2["loss"] and h1["knn_acc"] == h2["knn_acc"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    _, h_cut = run(c, ds, ckpt_dir=tmp_path / "b", stop_after_epoch=0)
    m3, h3 = run(c, ds, ckpt_dir=tmp_path / "b", resume=True)
    assert len(h_cut["loss"]) == 1 and h3["loss"] == h1["loss"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m3.state_dict().values()))
    _, h0 = run(cfg(), ds)  # the serial stream is another draw: the losses differ
    assert h0["loss"] != h1["loss"]


def test_one_view_mode_is_the_fine_tuning_stream() -> None:
    """n_views=1, workers=0: one apply_batch per batch, as the fine-tuning loop always drew."""
    imgs, tf = _images(), ssl_views(AUG, (24, 32)).transform
    g, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    ref = [apply_batch(tf, imgs[idx], g) for idx in _batches()]
    with ViewBatches(imgs, tf, 0, n_views=1) as vb:
        got = list(vb.epoch(_batches(), g2))
    assert all(torch.equal(a, b) for a, b in zip(ref, got))
    with ViewBatches(imgs, tf, 2, n_views=1) as vb:
        par = list(vb.epoch(_batches(), torch.Generator().manual_seed(5)))
    assert [v.shape for v in par] == [v.shape for v in got] and not torch.equal(par[0], got[0])


def test_finetuning_with_workers_is_deterministic() -> None:
    from simcardionet_lite.model.backbone import SimCardioNet
    from simcardionet_lite.runtime import seed_everything
    from simcardionet_lite.train.finetune import finetune
    from test_finetune import cfg as ft_cfg

    ds = Toy(8)
    tr, va = torch.utils.data.Subset(ds, list(range(0, 24, 2))), torch.utils.data.Subset(ds, list(range(1, 24, 2)))

    def fit(workers: int) -> tuple[dict, list[torch.Tensor]]:
        c = ft_cfg(**{"finetune.num_workers": workers, "finetune.patience": 10})
        seed_everything(0)
        m = SimCardioNet(c.model, 3)
        h = finetune(m, tr, va, c, progress=False, seed=0)
        return h, list(m.state_dict().values())

    (h1, s1), (h2, s2), (h0, _) = fit(2), fit(2), fit(0)
    assert h1["train_loss"] == h2["train_loss"] and h1["val_macro_f1"] == h2["val_macro_f1"]
    assert all(torch.equal(a, b) for a, b in zip(s1, s2))
    assert h0["train_loss"] != h1["train_loss"]  # the serial stream is another draw
