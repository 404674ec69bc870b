"""simcardionet-lite: the reference tutorial and reproducibility package for SimCardioNet.

SimCardioNet (Sci Rep 2026) is a multi-scale residual CNN with multi-head self-attention,
pretrained with a modified SimCLR (hybrid InfoNCE + cosine loss) on ECG images and then
fine-tuned with progressive layer unfreezing. This package holds the library code; the
book in ``book/`` holds the narrative and calls into it.
"""

from __future__ import annotations

from .config import Config, load_preset
from .errors import DataError, SkipReport

__version__ = "0.1.0"

__all__ = ["Config", "load_preset", "DataError", "SkipReport", "__version__"]
