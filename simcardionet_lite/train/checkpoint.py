"""Checkpoints with exact resume, loadable with ``torch.load(..., weights_only=True)``.

Why exact: a pretraining run that is interrupted (a pre-empted GPU job, a time-sliced CI
runner) and resumed must end with the same weights as one that never stopped; otherwise a
resumed result is a different experiment. So a checkpoint holds the model, optimizer,
scheduler and grad-scaler states, the epoch and history, and every random state the loop
draws from: Python's, NumPy's, torch's CPU (and CUDA) generator and the loop's own
``torch.Generator`` objects.

Everything is stored as tensors, numbers, strings, lists and dicts, so the file loads with
``weights_only=True`` (no arbitrary unpickling of a downloaded file).
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch


def rng_state(generators: Mapping[str, torch.Generator] | None = None) -> dict[str, Any]:
    """All random states as weights_only-safe objects."""
    np_state = np.random.get_state(legacy=False)
    st: dict[str, Any] = {
        "python": _py_to_safe(random.getstate()),
        "numpy": {"bit_generator": np_state["bit_generator"], "key": torch.from_numpy(np.asarray(np_state["state"]["key"]).astype(np.int64)),
                  "pos": int(np_state["state"]["pos"]), "has_gauss": int(np_state["has_gauss"]), "gauss": float(np_state["gauss"])},
        "torch": torch.get_rng_state(),
        "generators": {k: g.get_state() for k, g in (generators or {}).items()},
    }
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: Mapping[str, Any], generators: Mapping[str, torch.Generator] | None = None) -> None:
    """Restore what :func:`rng_state` saved (into the given generators, by name)."""
    random.setstate(_py_from_safe(st["python"]))
    n = st["numpy"]
    np.random.set_state({"bit_generator": n["bit_generator"],
                         "state": {"key": n["key"].numpy().astype(np.uint32), "pos": int(n["pos"])},
                         "has_gauss": int(n["has_gauss"]), "gauss": float(n["gauss"])})
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])
    for k, g in (generators or {}).items():
        if k not in st["generators"]:
            raise KeyError(f"checkpoint has no state for generator {k!r}; it has {sorted(st['generators'])}")
        g.set_state(st["generators"][k])


def _py_to_safe(s: tuple) -> list:
    version, internal, gauss = s
    return [int(version), torch.tensor(internal, dtype=torch.int64), gauss]


def _py_from_safe(s: list) -> tuple:
    version, internal, gauss = s
    return (int(version), tuple(int(v) for v in internal.tolist()), gauss)


def save_checkpoint(path: str | os.PathLike, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, scaler: Any = None, epoch: int = -1, history: Mapping[str, Any] | None = None,
                    generators: Mapping[str, torch.Generator] | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically (temp file, then rename) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "epoch": int(epoch),
        "history": dict(history or {}),
        "rng": rng_state(generators),
        "extra": dict(extra or {}),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | os.PathLike, *, model: torch.nn.Module | None = None, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, scaler: Any = None, generators: Mapping[str, torch.Generator] | None = None,
                    restore_rng: bool = True, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint (``weights_only=True``) into the given objects; return the raw state dict."""
    state = torch.load(Path(path), map_location=map_location, weights_only=True)
    if model is not None:
        unwrap(model).load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer") is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state.get("scaler") is not None:
        scaler.load_state_dict(state["scaler"])
    if restore_rng:
        set_rng_state(state["rng"], generators)
    return state


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DDP wrapper (or the model itself)."""
    return model.module if hasattr(model, "module") else model


__all__ = ["save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state", "unwrap"]
