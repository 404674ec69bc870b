"""The hybrid contrastive loss: NT-Xent (InfoNCE over 2N views) plus a cosine term on the positives.

The paper says only "a hybrid loss combining InfoNCE with cosine similarity". Our reading (ours):

    L = NT-Xent_tau(z) + lam * mean_i (1 - cos(c1_i, c2_i))

* ``NT-Xent`` is SimCLR's loss: each of the 2N views must pick its partner out of the other
  2N - 1 views, with cosine similarities divided by the temperature ``tau``. It pulls positives
  together *relative to* the negatives.
* The cosine term pulls the two views of one page together *in absolute terms*, with no
  negatives. Alone it would collapse (every page to one point); next to NT-Xent it tightens the
  positive pairs. ``c`` is the projection by default; ``cosine_on="features"`` applies it to the
  backbone features instead (the caller passes them).
* ``lam = 0`` is plain NT-Xent.

The loss is computed in float32 even under autocast (bf16 similarities divided by a small
temperature lose the ranking). Under DDP the embeddings of all ranks are gathered with
``torch.distributed.nn.functional.all_gather`` (which carries gradients back to the rank that
produced them), so every anchor sees the whole global batch as negatives; each rank averages
over its own anchors and DDP's gradient averaging then gives exactly the gradient of the
whole-batch loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from simcardionet_lite.config import LossConfig

def _dist_ready() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1


def gather_with_grad(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Concatenate ``x`` over ranks (rank order) with gradients flowing back; also return this rank's offset.

    All ranks must pass the same number of rows.
    """
    if not _dist_ready():
        return x, 0
    import warnings

    from torch.distributed.nn.functional import all_gather

    # torch 2.14 marks this autograd-aware gather deprecated in favour of a private
    # (_functional_collectives) API; it is still the public one that carries gradients, and
    # tests/test_distributed.py checks the loss and gradients against the single-process result.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*all_gather is deprecated.*", category=FutureWarning)
        parts = all_gather(x)
    return torch.cat(list(parts), dim=0), torch.distributed.get_rank() * x.shape[0]


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float, gather_distributed: bool = True) -> torch.Tensor:
    """NT-Xent over the 2N views; the mean over this rank's 2n anchors (float32)."""
    z1 = F.normalize(z1.float(), dim=1)
    z2 = F.normalize(z2.float(), dim=1)
    n = z1.shape[0]
    if gather_distributed:
        g1, off = gather_with_grad(z1)
        g2, _ = gather_with_grad(z2)
    else:
        g1, g2, off = z1, z2, 0
    ng = g1.shape[0]
    cand = torch.cat([g1, g2], dim=0)  # 2N_global candidates
    anchors = torch.cat([z1, z2], dim=0)  # 2n local anchors
    logits = anchors @ cand.t() / temperature
    idx = torch.arange(n, device=z1.device)
    self_idx = torch.cat([off + idx, ng + off + idx])
    pos_idx = torch.cat([ng + off + idx, off + idx])
    logits = logits.masked_fill(F.one_hot(self_idx, 2 * ng).bool(), float("-inf"))
    return F.cross_entropy(logits, pos_idx)


def cosine_pull(c1: torch.Tensor, c2: torch.Tensor) -> torch.Tensor:
    """mean(1 - cos(c1_i, c2_i)) over the positive pairs (float32)."""
    return (1.0 - F.cosine_similarity(c1.float(), c2.float(), dim=1)).mean()


# The defaults are the config's (one place decides them; a bare ``HybridContrastiveLoss()`` is the
# loss the smoke preset trains with).
_DEFAULTS = LossConfig()


class HybridContrastiveLoss(nn.Module):
    """``NT-Xent_tau + lam * mean(1 - cos)`` (see the module docstring).

    ``forward(z1, z2, c1=None, c2=None)``: ``z`` are the two views' projections (N x d); ``c``
    the embeddings the cosine term acts on (default: ``z``). After a call, ``last`` holds the
    two terms as floats for logging.
    """

    def __init__(self, temperature: float = _DEFAULTS.temperature, lam: float = _DEFAULTS.lam,
                 gather_distributed: bool = True) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.lam = float(lam)
        self.gather_distributed = gather_distributed
        self.last: dict[str, float] = {}

    def forward(
        self, z1: torch.Tensor, z2: torch.Tensor, c1: torch.Tensor | None = None, c2: torch.Tensor | None = None
    ) -> torch.Tensor:
        if z1.shape != z2.shape:
            raise ValueError(f"the two views must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
        with torch.autocast(device_type=z1.device.type, enabled=False):
            con = nt_xent(z1, z2, self.temperature, self.gather_distributed)
            cos = cosine_pull(z1 if c1 is None else c1, z2 if c2 is None else c2)
            loss = con + self.lam * cos
        self.last = {"nt_xent": float(con.detach()), "cosine": float(cos.detach())}
        return loss

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, lam={self.lam}, gather_distributed={self.gather_distributed}"


__all__ = ["HybridContrastiveLoss", "nt_xent", "cosine_pull", "gather_with_grad"]
