"""Synthetic 12-lead ECG signals (:mod:`.synth`) and their rendering as printed pages (:mod:`.render`).

The submodules are the API (``from simcardionet_lite.ecg.render import render``); names are
not re-exported here because ``render`` is both a module and its main function.
"""

from __future__ import annotations

from . import render, synth

__all__ = ["render", "synth"]
