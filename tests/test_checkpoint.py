"""Checkpoints load with weights_only=True and restore every random state."""

from __future__ import annotations

import random

import numpy as np
import torch

from simcardionet_lite.train.checkpoint import load_checkpoint, save_checkpoint


def test_roundtrip_weights_only_with_all_states(tmp_path) -> None:
    m = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(m.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5**s)
    m(torch.randn(4, 3)).sum().backward()
    opt.step()
    sched.step()
    g = torch.Generator().manual_seed(7)
    path = save_checkpoint(tmp_path / "c.pt", model=m, optimizer=opt, scheduler=sched, epoch=3,
                           history={"loss": [1.0, 0.5]}, generators={"aug": g})
    raw = torch.load(path, weights_only=True)  # the contract: no arbitrary unpickling
    assert raw["epoch"] == 3 and raw["history"]["loss"] == [1.0, 0.5]
    expect = (random.random(), float(np.random.rand()), torch.rand(2), torch.rand(2, generator=g))
    m2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.AdamW(m2.parameters(), lr=0.1)
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda s: 0.5**s)
    g2 = torch.Generator().manual_seed(0)
    load_checkpoint(path, model=m2, optimizer=opt2, scheduler=sched2, generators={"aug": g2})
    got = (random.random(), float(np.random.rand()), torch.rand(2), torch.rand(2, generator=g2))
    assert got[0] == expect[0] and got[1] == expect[1] and torch.equal(got[2], expect[2]) and torch.equal(got[3], expect[3])
    assert torch.equal(m2.weight, m.weight) and sched2.get_last_lr() == sched.get_last_lr()
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
