"""Seeds, devices and threads: the run-time facts every loop needs.

Why a module: determinism is a contract of this package (one seed reproduces a CPU run
bit for bit), so the seeding and device choice live in one place that every loop calls.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch.Generator seeded with ``seed``.

    Library code should prefer the returned generator (or a ``numpy.random.Generator``
    made from the seed) to global state; this call covers what cannot take a generator
    (weight initialisation, dropout).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` gives CUDA when available, else CPU; anything else is passed to torch."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def deterministic(enabled: bool = True) -> None:
    """Ask torch for deterministic kernels (CPU runs are deterministic already)."""
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = not enabled
        torch.backends.cudnn.deterministic = enabled
