"""The device view pipeline wired into training (``pretrain.augment_on`` / ``finetune.augment_on = "device"``).

On the CPU, as a stand-in for the GPU (the code is the same; the device is a parameter): the
view stream uses the caller's generator as the worker stream does, a seed fixes a run, a resumed
run equals an uninterrupted one, a 1-epoch pretraining and fine-tuning run on synthetic
lead-panel pages, and the DDP path (two gloo processes) keeps the ranks' weights equal.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from simcardionet_lite.augment import ssl_views
from simcardionet_lite.batch_augment import BatchAugment
from simcardionet_lite.config import AugConfig, DataConfig, ModelConfig
from simcardionet_lite.model.backbone import SimCardioNet
from simcardionet_lite.runtime import seed_everything
from simcardionet_lite.train.finetune import finetune
from simcardionet_lite.train.pretrain import pretrain
from simcardionet_lite.train.views import DeviceViews, ViewBatches, make_views, page_tensor
from test_pretrain import TINY, Toy, cfg, run

DEVICE = {"pretrain.augment_on": "device", "finetune.augment_on": "device"}


def _batches() -> list[torch.Tensor]:
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(2))
    return [perm[:4], perm[4:8], perm[8:]]


def test_device_views_shapes_determinism_and_generator_use() -> None:
    imgs = (torch.rand(10, 3, 24, 32, generator=torch.Generator().manual_seed(1)) * 255).to(torch.uint8)
    aug = BatchAugment(AugConfig(), (24, 32))
    g1, g2, g0 = (torch.Generator().manual_seed(3) for _ in range(3))
    a = list(DeviceViews(imgs, aug, "cpu").epoch(_batches(), g1))
    b = list(DeviceViews(imgs, aug, "cpu").epoch(_batches(), g2))
    assert [v.shape[0] for v in a] == [8, 8, 4] and a[0].dtype == torch.float32
    assert all(torch.equal(x, y) for x, y in zip(a, b))  # a seed fixes the views
    assert not torch.equal(a[0][:4], a[0][4:])  # the two views of a page differ
    with ViewBatches(imgs.float() / 255, ssl_views(AugConfig(), (24, 32)).transform, 0) as vb:
        list(vb.epoch(_batches(), g0))
    assert torch.equal(g1.get_state(), g0.get_state())  # one seed per view per step, as the worker stream
    assert isinstance(make_views("device", imgs, AugConfig(), None, None, 0, torch.device("cpu"), n_views=1), DeviceViews)
    with pytest.raises(ValueError, match="augment_on"):
        make_views("gpu", imgs, AugConfig(), None, None, 0, torch.device("cpu"), n_views=1)


def test_page_tensor_is_uint8_for_the_device_and_float_for_workers() -> None:
    ds = Toy(2)
    f, u = page_tensor(ds, "workers"), page_tensor(ds, "device")
    assert f.dtype == torch.float32 and u.dtype == torch.uint8 and f.shape == u.shape
    assert float((u.float() / 255 - f).abs().max()) <= 0.5 / 255 + 1e-6
    with pytest.raises(ValueError, match="augment_on"):
        page_tensor(ds, "cpu")


def test_pretraining_with_device_views_is_seeded_and_resumes_exactly(tmp_path) -> None:
    ds = Toy()
    c = cfg(**DEVICE)
    m1, h1 = run(c, ds, ckpt_dir=tmp_path / "a")
    m2, h2 = run(c, ds)
    assert all(np.isfinite(h1["loss"])) and h1["loss"] == h2["loss"] and h1["knn_acc"] == h2["knn_acc"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    _, hw = run(cfg(), ds)
    assert hw["loss"] != h1["loss"]  # the workers' stream is another draw
    _, h_cut = run(c, ds, ckpt_dir=tmp_path / "b", stop_after_epoch=0)
    seed_everything(123)
    m_res = SimCardioNet(TINY, 3)
    h_res = pretrain(m_res, ds, c, progress=False, seed=0, ckpt_dir=tmp_path / "b", resume=True)
    assert len(h_cut["loss"]) == 1 and h_res["loss"] == h1["loss"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m_res.state_dict().values()))


def test_one_epoch_pretrain_and_finetune_on_lead_panel_pages(tmp_path) -> None:
    """Synthetic pages cut into the 4 x 4 lead-panel mosaic, the tiles network, device views in both stages."""
    from simcardionet_lite.data.factory import build_dataset

    data = DataConfig(n_per_class=3, image_size=(64, 128), panels=True, cache_dir=str(tmp_path))
    ds = build_dataset(data, seed=0)
    c = cfg(**DEVICE, **{"pretrain.epochs": 1, "finetune.epochs": 1, "finetune.batch_size": 4,
                         "finetune.unfreeze_schedule": ((0, ("all",)),)})
    c.data = data
    c.model = ModelConfig(**{**TINY.__dict__, "tokens": "tiles", "tile_grid": (4, 4)})
    seed_everything(0)
    m = SimCardioNet(c.model, len(ds.classes))
    hp = pretrain(m, ds, c, progress=False, seed=0)
    hf = finetune(m, ds, None, c, progress=False, seed=0)
    assert len(hp["loss"]) == 1 and np.isfinite(hp["loss"][0])
    assert len(hf["train_loss"]) == 1 and np.isfinite(hf["train_loss"][0])


def _ddp_worker(rank: int, world: int, store: str, out: str) -> None:
    kv = dist.FileStore(store, world)
    dist.init_process_group("gloo", store=kv, rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        c = cfg(**DEVICE, **{"pretrain.batch_size": 8, "pretrain.knn_k": 0})
        seed_everything(0)  # the same initial weights on both ranks, as torchrun + seed_everything give
        m = SimCardioNet(c.model, 3)
        h = pretrain(m, Toy(), c, progress=False, seed=0)
        torch.save({"params": {k: v for k, v in m.named_parameters()}, "loss": h["loss"], "world": h["world_size"]},
                   f"{out}.{rank}")
        dist.barrier()
        kv.set(f"done{rank}", "1")  # the final handshake through the file store (see test_distributed.py)
        kv.wait([f"done{r}" for r in range(world)])
    finally:
        dist.destroy_process_group()


def test_ddp_pretraining_with_device_views_keeps_ranks_in_step(tmp_path) -> None:
    out = str(tmp_path / "res")
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "store"), out), nprocs=2, join=True)
    r0, r1 = (torch.load(f"{out}.{r}", weights_only=True) for r in range(2))
    assert r0["world"] == 2 and all(np.isfinite(r0["loss"])) and r0["loss"] == r1["loss"]
    assert all(torch.allclose(r0["params"][k], r1["params"][k], atol=1e-6) for k in r0["params"])
