"""The one checkpoint format of simcardionet-lite: classifiers, encoders and exact-resume training state.

Why one format: a file written by pretraining, by fine-tuning or by a chapter's encoder cache
should be readable by every other part (``simcardionet-lite predict``, a resumed run, a chapter)
without guessing which of several layouts it has. So every checkpoint carries what is needed to
*rebuild and use* the model (the configuration, the class names and the page preparation), and a
training checkpoint adds what is needed to *continue* the run exactly.

Why exact resume: a pretraining run that is interrupted (a pre-empted GPU job, a time-sliced CI
runner) and resumed must end with the same weights as one that never stopped; otherwise a
resumed result is a different experiment. So the ``training`` section holds the optimizer,
scheduler and grad-scaler states, the epoch, and every random state the loop draws from:
Python's, NumPy's, torch's CPU (and CUDA) generator and the loop's own ``torch.Generator`` objects.

On disk (``torch.save`` of a dict, written atomically: temp file, then rename)::

    format         "simcardionet-lite/checkpoint-v2"
    config         Config.to_dict()
    classes        [str, ...]
    preprocessing  preprocessing_of(config): image_size, crop_header_footer, style, grayscale, data_version
    model          state dict of the (DDP-unwrapped) model
    history        dict (per-epoch logs)
    extra          dict (free-form: hashes, the stage that wrote it, ...)
    epoch          int | None (the last finished epoch)
    training       only when an optimizer was given: {optimizer, scheduler, scaler, epoch,
                   rng: {python, numpy, torch, cuda (when available), generators: {name: state}}}

Everything is stored as tensors, numbers, strings, lists and dicts, and files are read only with
``torch.load(..., weights_only=True)``: no arbitrary unpickling of a downloaded file.
"""

from __future__ import annotations

import os
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from simcardionet_lite.config import Config
from simcardionet_lite.errors import DataError

FORMAT = "simcardionet-lite/checkpoint-v2"
GEOMETRY_KEYS = ("image_size", "crop_header_footer", "grayscale", "panels", "label_set")  # input fields `expect` compares


def preprocessing_of(cfg: Config) -> dict[str, Any]:
    """What turns a page into the model's input (the keyword arguments of ``prepare_page``, plus the
    page-preparation version): ``image_size, crop_header_footer, style, grayscale, panels, data_version``."""
    from simcardionet_lite.data.datasets import DATA_VERSION

    d = cfg.data
    return {
        "image_size": [int(d.image_size[0]), int(d.image_size[1])],
        "crop_header_footer": bool(d.crop_header_footer),
        "style": str(d.style),
        "grayscale": bool(d.grayscale),
        "panels": bool(d.panels),
        "data_version": DATA_VERSION,
    }


@dataclass
class Checkpoint:
    """A loaded checkpoint. ``model`` has its weights loaded and is in eval mode (call ``.train()``
    to continue training); it is the model passed to :func:`load_checkpoint`, or one built from
    ``config`` when none was passed."""

    model: torch.nn.Module
    config: Config
    classes: tuple[str, ...]
    preprocessing: dict[str, Any]
    history: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    epoch: int | None = None


# ------------------------------------------------------------------------------------------
# Random states (weights_only-safe)
# ------------------------------------------------------------------------------------------


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
    """Restore what :func:`rng_state` saved (into the given generators, by name).

    States are moved to the CPU first (torch's setters want CPU byte tensors), so a checkpoint
    loaded with ``map_location="cuda"`` restores as well.
    """
    for k in (generators or {}):
        if k not in st["generators"]:
            raise KeyError(f"checkpoint has no state for generator {k!r}; it has {sorted(st['generators'])}")
    random.setstate(_py_from_safe(st["python"]))
    n = st["numpy"]
    np.random.set_state({"bit_generator": n["bit_generator"],
                         "state": {"key": n["key"].cpu().numpy().astype(np.uint32), "pos": int(n["pos"])},
                         "has_gauss": int(n["has_gauss"]), "gauss": float(n["gauss"])})
    torch.set_rng_state(st["torch"].cpu())
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in st["cuda"]])
    for k, g in (generators or {}).items():
        g.set_state(st["generators"][k].cpu())


def _py_to_safe(s: tuple) -> list:
    version, internal, gauss = s
    return [int(version), torch.tensor(internal, dtype=torch.int64), gauss]


def _py_from_safe(s: list) -> tuple:
    version, internal, gauss = s
    return (int(version), tuple(int(v) for v in internal.tolist()), gauss)


# ------------------------------------------------------------------------------------------
# Save and load
# ------------------------------------------------------------------------------------------


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DDP wrapper (or the model itself)."""
    return model.module if hasattr(model, "module") else model


def save_checkpoint(
    path: str | os.PathLike,
    model: torch.nn.Module,
    cfg: Config,
    classes: Sequence[str],
    *,
    history: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
    epoch: int | None = None,
    generators: Mapping[str, torch.Generator] | None = None,
) -> Path:
    """Write a checkpoint atomically (temp file in the same folder, then rename); return its path.

    With ``optimizer`` the file also holds the ``training`` section (optimizer, ``scheduler``,
    ``scaler``, ``epoch`` and every random state, ``generators`` by name) that
    ``load_checkpoint(..., optimizer=..., restore_rng=True)`` resumes from exactly.
    """
    if optimizer is None and (scheduler is not None or scaler is not None or generators):
        raise ValueError("scheduler, scaler and generators are saved only in a training checkpoint: pass the optimizer too")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {
        "format": FORMAT,
        "config": cfg.to_dict(),
        "classes": [str(c) for c in classes],
        "preprocessing": preprocessing_of(cfg),
        "model": unwrap(model).state_dict(),
        "history": dict(history or {}),
        "extra": dict(extra or {}),
        "epoch": None if epoch is None else int(epoch),
    }
    if optimizer is not None:
        state["training"] = {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict() if scaler is not None else None,
            "epoch": None if epoch is None else int(epoch),
            "rng": rng_state(generators),
        }
    # a unique temp name in the same folder (same filesystem: the rename is atomic; unique: two
    # writers never share a temp file); a reader sees the old file or the new one, never half of one
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        torch.save(state, tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _read(path: Path, map_location: str | torch.device) -> dict[str, Any]:
    """The raw checkpoint dict, loaded with ``weights_only=True`` and checked to be of this format."""
    if not path.is_file():
        raise DataError("checkpoint not found", path=path, fix="pass the path of a .pt file written by training")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not our checkpoint"
        raise DataError(
            f"cannot read the checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
            path=path,
            fix="pass a checkpoint saved by simcardionet-lite (torch.save of a dict of tensors, loaded with weights_only=True)",
        ) from exc
    if not isinstance(state, dict) or not all(k in state for k in ("config", "classes", "model")):
        raise DataError(
            "not a simcardionet-lite checkpoint (it lacks config, classes or model)",
            path=path,
            fix="save checkpoints with simcardionet_lite.checkpoint.save_checkpoint",
        )
    if state.get("format") != FORMAT:
        raise DataError(
            f"checkpoint format {state.get('format')!r} is not the one this version reads ({FORMAT!r})",
            path=path,
            fix="re-save the model with simcardionet_lite.checkpoint.save_checkpoint of this version",
        )
    return state


def _describe(path: Path, state: Mapping[str, Any], expect: Config | None) -> tuple[Config, tuple[str, ...]]:
    """The stored config and class names, checked against ``expect`` (model and input geometry)."""
    try:
        cfg = Config.from_dict(state["config"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(
            f"the checkpoint's configuration is not one this version understands: {exc}",
            path=path,
            fix="re-export the checkpoint with this version of simcardionet-lite",
        ) from exc
    classes = tuple(str(c) for c in state["classes"])
    if expect is not None:
        diffs = config_differences(expect, cfg)
        if diffs:
            raise DataError(
                "checkpoint of another configuration: " + "; ".join(diffs),
                path=path,
                fix="use the preset and overrides the checkpoint was trained with (with predict: or omit --preset)",
            )
    return cfg, classes


def load_checkpoint(
    path: str | os.PathLike,
    *,
    model: torch.nn.Module | None = None,
    expect: Config | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
    generators: Mapping[str, torch.Generator] | None = None,
    restore_rng: bool = False,
    map_location: str | torch.device = "cpu",
) -> Checkpoint:
    """Read a checkpoint (``weights_only=True``) and load it into a model (and training objects).

    The weights go into ``model`` when given (DDP-wrapped or not), else into a
    :class:`~simcardionet_lite.model.backbone.SimCardioNet` built from the stored config and
    classes. ``optimizer``/``scheduler``/``scaler`` get their stored states and, with
    ``restore_rng=True``, every random state (and ``generators``, by name) is restored: the
    three together resume a run exactly.

    Raises :class:`DataError` (naming the file and the fix) for a missing or unreadable file,
    a file that is not a checkpoint of this format, a config this version cannot parse, weights
    that do not fit the model, a checkpoint of another model or input configuration than
    ``expect``, and a training state requested from a checkpoint that has none.
    """
    if generators and not restore_rng:
        raise ValueError("generators are restored only with restore_rng=True")
    path = Path(path)
    state = _read(path, map_location)
    cfg, classes = _describe(path, state, expect)

    if model is None:
        from simcardionet_lite.model import build_backbone

        model = build_backbone(cfg.model, len(classes))
    try:
        unwrap(model).load_state_dict(state["model"], strict=True)
    except (RuntimeError, KeyError, TypeError, AttributeError) as exc:
        first = str(exc).splitlines()[0:3]
        raise DataError(
            "checkpoint of another configuration: its weights do not fit the model its config describes ("
            + " ".join(first)
            + ")",
            path=path,
            fix="the file was edited or saved with another model config; retrain or re-export it",
        ) from exc
    model.eval()

    wants_training = restore_rng or optimizer is not None or scheduler is not None or scaler is not None
    training = state.get("training")
    if wants_training:
        if not isinstance(training, dict):
            raise DataError(
                "the checkpoint holds no training state (optimizer, scheduler, random states) to resume from",
                path=path,
                fix="resume only from a checkpoint written with an optimizer (the per-epoch checkpoint of a run); "
                "to start a new run from these weights, load it without optimizer and restore_rng",
            )
        _load_training(path, training, optimizer, scheduler, scaler, generators, restore_rng)

    epoch = state.get("epoch")
    return Checkpoint(
        model=model,
        config=cfg,
        classes=classes,
        preprocessing=dict(state.get("preprocessing") or preprocessing_of(cfg)),
        history=dict(state.get("history") or {}),
        extra=dict(state.get("extra") or {}),
        epoch=None if epoch is None else int(epoch),
    )


def _load_training(path: Path, training: Mapping[str, Any], optimizer: Any, scheduler: Any, scaler: Any,
                   generators: Mapping[str, torch.Generator] | None, restore_rng: bool) -> None:
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        if obj is None:
            continue
        st = training.get(name)
        if st is None:
            raise DataError(f"the checkpoint holds no {name} state", path=path,
                            fix=f"resume without a {name}, or from a checkpoint saved with one")
        try:
            obj.load_state_dict(st)
        except (ValueError, KeyError, RuntimeError, TypeError) as exc:
            raise DataError(f"the checkpoint's {name} state does not fit this {name} ({exc})", path=path,
                            fix="resume with the configuration (optimizer, parameters) the run was started with") from exc
    if restore_rng:
        try:
            set_rng_state(training["rng"], generators)
        except KeyError as exc:
            raise DataError(f"cannot restore the random states: {exc}", path=path,
                            fix="resume with the generators the run was saved with") from exc


def config_differences(expect: Config, got: Config) -> list[str]:
    """Human-readable differences in the model section and the input geometry."""
    diffs: list[str] = []
    e, g = expect.to_dict(), got.to_dict()
    for k in e["model"]:
        if e["model"][k] != g["model"].get(k):
            diffs.append(f"model.{k} is {g['model'].get(k)} in the checkpoint, {e['model'][k]} requested")
    for k in GEOMETRY_KEYS:
        if e["data"][k] != g["data"].get(k):
            diffs.append(f"data.{k} is {g['data'].get(k)} in the checkpoint, {e['data'][k]} requested")
    return diffs


__all__ = [
    "FORMAT",
    "Checkpoint",
    "preprocessing_of",
    "save_checkpoint",
    "load_checkpoint",
    "config_differences",
    "rng_state",
    "set_rng_state",
    "unwrap",
]
