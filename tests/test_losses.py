"""The hybrid contrastive loss against an independent loop reference, known values and invariances."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from simcardionet_lite.losses import HybridContrastiveLoss


def reference_loss(z1: torch.Tensor, z2: torch.Tensor, tau: float, lam: float) -> float:
    """SimCLR's NT-Xent written as the paper formula with explicit loops, plus the cosine term."""
    z = [F.normalize(v.double(), dim=0) for v in torch.cat([z1, z2])]
    n = z1.shape[0]
    total = 0.0
    for i in range(2 * n):
        j = i + n if i < n else i - n
        num = math.exp(float(z[i] @ z[j]) / tau)
        den = sum(math.exp(float(z[i] @ z[k]) / tau) for k in range(2 * n) if k != i)
        total += -math.log(num / den)
    cos = sum(1 - float(z[i] @ z[i + n]) for i in range(n)) / n
    return total / (2 * n) + lam * cos


@pytest.mark.parametrize("tau,lam", [(0.5, 1.0), (0.1, 0.0), (0.2, 0.7)])
def test_matches_loop_reference(tau: float, lam: float) -> None:
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
    got = float(HybridContrastiveLoss(tau, lam)(z1, z2))
    assert got == pytest.approx(reference_loss(z1, z2, tau, lam), abs=1e-5)


def test_lambda_zero_is_plain_ntxent_with_known_value() -> None:
    # two orthogonal pages, each view identical to its partner: every anchor sees its positive at
    # cos 1 and the two views of the other page at cos 0, so L = log(1 + 2 exp(-1/tau))
    z = torch.eye(2, 4)
    for tau in (0.5, 0.1):
        assert float(HybridContrastiveLoss(tau, 0.0)(z, z.clone())) == pytest.approx(math.log(1 + 2 * math.exp(-1 / tau)), abs=1e-6)
    # and the cosine term is zero for identical views: lam does not matter here
    assert float(HybridContrastiveLoss(0.5, 3.0)(z, z.clone())) == pytest.approx(math.log(1 + 2 * math.exp(-2)), abs=1e-6)


def test_cosine_term_is_lambda_times_mean_one_minus_cos() -> None:
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    base = float(HybridContrastiveLoss(0.3, 0.0)(z1, z2))
    expected = (1 - F.cosine_similarity(z1, z2)).mean().item()
    assert float(HybridContrastiveLoss(0.3, 2.0)(z1, z2)) == pytest.approx(base + 2.0 * expected, abs=1e-6)
    # the cosine term may act on other embeddings (the backbone features)
    c1, c2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    got = float(HybridContrastiveLoss(0.3, 1.0)(z1, z2, c1, c2))
    assert got == pytest.approx(base + (1 - F.cosine_similarity(c1, c2)).mean().item(), abs=1e-6)


def test_invariant_to_batch_order_and_view_swap() -> None:
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(7, 16, generator=g), torch.randn(7, 16, generator=g)
    loss = HybridContrastiveLoss(0.5, 1.0)
    perm = torch.randperm(7, generator=g)
    assert float(loss(z1[perm], z2[perm])) == pytest.approx(float(loss(z1, z2)), abs=1e-6)
    assert float(loss(z2, z1)) == pytest.approx(float(loss(z1, z2)), abs=1e-6)


def test_fp32_under_autocast_and_gradients_flow() -> None:
    g = torch.Generator().manual_seed(3)
    z1 = torch.randn(4, 8, generator=g).bfloat16().requires_grad_()
    z2 = torch.randn(4, 8, generator=g).bfloat16().requires_grad_()
    loss_fn = HybridContrastiveLoss(0.1, 1.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = loss_fn(z1, z2)
    assert out.dtype == torch.float32
    out.backward()
    assert z1.grad is not None and torch.isfinite(z1.grad.float()).all()
    assert set(loss_fn.last) == {"nt_xent", "cosine"}


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        HybridContrastiveLoss(0.0, 1.0)
    with pytest.raises(ValueError):
        HybridContrastiveLoss(0.5, 1.0)(torch.randn(3, 4), torch.randn(2, 4))


def test_class_defaults_are_the_configs() -> None:
    from simcardionet_lite.config import LossConfig

    loss = HybridContrastiveLoss()
    assert (loss.temperature, loss.lam) == (LossConfig().temperature, LossConfig().lam)
