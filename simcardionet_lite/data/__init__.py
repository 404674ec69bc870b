"""Datasets (synthetic pages, Dataset I/II folders, PTB-XL), the page cache and the leakage audit.

One module per concept: ``pages`` (page preparation, base class, subsets), ``images`` (folder
discovery, the one image reader, ``ECGImageFolder``), ``synthetic``, ``ptbxl``, ``standin``
(the constructed Dataset II), ``factory`` (``build_dataset`` from a ``DataConfig``,
``dataset_record``), ``corpus`` (the pretraining corpus: training pages plus
unlabelled pages of other sources), ``cache``, ``audit`` and ``fixtures``; ``datasets`` re-exports the public
names. Submodules are imported lazily by their users (``from simcardionet_lite.data.factory
import build_dataset``) so that importing the package stays cheap.
"""

from __future__ import annotations

__all__ = ["audit", "cache", "corpus", "datasets", "factory", "fixtures", "images", "pages", "ptbxl", "standin", "synthetic"]
