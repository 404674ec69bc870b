"""Two gloo processes on CPU with gathered negatives give the single-process whole-batch loss and gradient."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from simcardionet_lite.losses import HybridContrastiveLoss


def _worker(rank: int, world: int, store: str, z1: torch.Tensor, z2: torch.Tensor, out: str) -> None:
    # a file rendezvous: no TCP port to find free and then lose to another process
    kv = dist.FileStore(store, world)
    dist.init_process_group("gloo", store=kv, rank=rank, world_size=world)
    try:
        n = z1.shape[0] // world
        a = z1[rank * n : (rank + 1) * n].clone().requires_grad_()
        b = z2[rank * n : (rank + 1) * n].clone().requires_grad_()
        loss = HybridContrastiveLoss(0.3, 0.5)(a, b)
        loss.backward()
        # what DDP does: average the loss for logging and the gradients over ranks
        t = loss.detach().clone()
        dist.all_reduce(t)
        ga, gb = a.grad.clone(), b.grad.clone()
        torch.save({"loss": t / world, "ga": ga / world, "gb": gb / world}, f"{out}.{rank}")
        # both ranks are done before either tears gloo down: a rank that leaves while its peer
        # still talks to it can abort ("terminate called without an active exception"). The gloo
        # barrier alone still let one rank abort (SIGABRT) in 1 of about 10 loaded full-suite runs:
        # each rank may leave the barrier before its peer has read the last message, so the final
        # handshake goes through the file store, which carries no gloo traffic.
        dist.barrier()
        kv.set(f"done{rank}", "1")
        kv.wait([f"done{r}" for r in range(world)])
    finally:
        dist.destroy_process_group()


def test_two_process_gathered_negatives_equal_single_process(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g)
    out = str(tmp_path / "res")
    mp.spawn(_worker, args=(2, str(tmp_path / "store"), z1, z2, out), nprocs=2, join=True)
    a, b = z1.clone().requires_grad_(), z2.clone().requires_grad_()
    full = HybridContrastiveLoss(0.3, 0.5)(a, b)
    full.backward()
    for r in range(2):
        res = torch.load(f"{out}.{r}", weights_only=True)
        assert abs(float(res["loss"]) - float(full.detach())) < 1e-5
        # the gradient each rank's rows receive, after DDP's averaging, is the whole-batch gradient
        assert torch.allclose(res["ga"], a.grad[r * 4 : (r + 1) * 4], atol=1e-6)
        assert torch.allclose(res["gb"], b.grad[r * 4 : (r + 1) * 4], atol=1e-6)
    # and without gathering the two halves would give a different (smaller-negative-set) loss
    half = HybridContrastiveLoss(0.3, 0.5, gather_distributed=False)(z1[:4], z2[:4])
    assert abs(float(half) - float(full.detach())) > 1e-3
