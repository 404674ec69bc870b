"""Datasets (synthetic pages, Dataset I/II folders, PTB-XL), the page cache and the leakage audit.

Submodules are imported lazily by their users (``from simcardionet_lite.data.datasets import
SyntheticECG``) so that importing the package stays cheap.
"""

from __future__ import annotations

__all__ = ["audit", "cache", "datasets", "ptbxl"]
