"""Write and read the results JSON of a chapter run.

Why: a number in the book is only worth something if a reader can tell *which code, which
configuration, which seeds and which machine* produced it. Every chapter ends with
:func:`publish`, which writes ``<results_dir>/metrics.json`` holding the metrics together
with the full configuration, the seeds and :func:`run_metadata` (git commit and dirty flag,
package versions, hardware, Python, UTC time). ``simcardionet-lite reproduce`` sets
``results_dir`` to ``results/<chapter>/<preset>/``; runs committed there are read back by
:func:`load_committed` so that a chapter executed in the cheap ``smoke`` preset can still show
the numbers of a full ``paper`` run beside the paper's own.

File format (``schema`` = ``simcardionet-lite/metrics-v1``)::

    {"schema", "chapter", "preset", "metrics", "config", "config_hash", "seeds",
     "data": {role: {"source", "root", "fingerprint", "n", "counts", ...}},
     "metadata": {"git": {"commit", "dirty", "branch"}, "packages": {...},
                  "hardware": {...}, "python": {...}, "timestamp_utc", "kernel_uptime_s"},
     "extra": {...}}

``reproduce`` adds a ``run`` section (wall time, parameters, executed notebook path).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from importlib import metadata as _md
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEMA = "simcardionet-lite/metrics-v1"
METRICS_FILE = "metrics.json"

# Distribution names whose versions every results file records (import names differ for some).
PACKAGES: tuple[str, ...] = (
    "simcardionet-lite",
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "matplotlib",
    "seaborn",
    "opencv-python-headless",
    "pillow",
    "imagehash",
    "wfdb",
    "grad-cam",
    "jupytext",
    "papermill",
)


def repo_root() -> Path:
    """The project root: the folder holding ``simcardionet_lite/`` (an editable install).

    Why not the working directory: chapters are executed from ``book/``, ``notebooks/`` or a
    papermill temp folder, and committed results must be found from all of them.
    """
    return Path(__file__).resolve().parents[1]


def _git(args: Sequence[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_info(root: Path | None = None) -> dict[str, Any]:
    """Commit, branch and dirty state of the project checkout (``None`` values outside git).

    ``dirty`` says whether any tracked file differs from the commit; ``dirty_files`` lists them
    (at most 50) and ``code_dirty`` whether any of them lies outside ``results/``: a run that
    publishes while an earlier run's results file is still uncommitted ran committed code.
    """
    root = repo_root() if root is None else Path(root)
    commit = _git(["rev-parse", "HEAD"], root)
    if commit is None:
        return _checked_copy() or {"commit": None, "branch": None, "dirty": None, "dirty_files": None, "code_dirty": None}
    status = _git(["diff", "--name-only", "HEAD"], root)  # tracked files changed, staged or not
    files = None if status is None else [ln.strip() for ln in status.splitlines() if ln.strip()]
    return {
        "commit": commit,
        "branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], root),
        "dirty": None if files is None else bool(files),
        "dirty_files": None if files is None else files[:50],
        "code_dirty": None if files is None else any(not f.startswith("results/") for f in files),
    }


def _checked_copy() -> dict[str, Any] | None:
    """The git record of a copy of the tree without ``.git`` (a GPU machine's copy), from the file that
    ``$SIMCARDIONET_TREE_CHECK`` names: ``{"commit", "dirty_files"}`` as ``scripts/prepare_device_data.py
    check-tree`` wrote it after comparing every tracked file's blob hash with the commit's; None without it."""
    path = os.environ.get("SIMCARDIONET_TREE_CHECK")
    if not path or not Path(path).is_file():
        return None
    rec = json.loads(Path(path).read_text())
    files = list(rec.get("dirty_files") or [])
    return {"commit": rec.get("commit"), "branch": rec.get("branch"), "dirty": bool(files), "dirty_files": files[:50],
            "code_dirty": any(not f.startswith("results/") for f in files), "checked": "blob hashes of the tracked files"}


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (``None`` when not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = None
    return out


#: CPU instruction-set extensions that change which kernels oneDNN and ATen pick, and so the low bits of a
#: CPU result (an AVX2 and an AVX-512 host train the same recipe to different numbers; measured in the
#: session of 2026-12-02, see ``verify``)
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "avx512_vnni", "amx_tile", "amx_bf16")


#: environment variables that cap the CPU kernels -> the field of :func:`cpu_info` that records them: oneDNN's
#: (convolutions), MKL's (matrix products) and torch's own vectorised kernels (ATen: element-wise ops, reductions,
#: optimiser steps). Each rounds by instruction set; measured on 2026-12-03 on an AVX2 host, 20 AdamW steps of a small
#: convolutional network end at other weights with ``ATEN_CPU_CAPABILITY=default`` than without it.
CPU_CAPS = {"ONEDNN_MAX_CPU_ISA": "onednn_max_cpu_isa", "MKL_CBWR": "mkl_cbwr", "ATEN_CPU_CAPABILITY": "aten_cpu_capability"}


def cpu_info() -> dict[str, Any]:
    """The CPU's model name and its kernel-relevant instruction sets (from ``/proc/cpuinfo`` where there is one),
    with the caps a user set on oneDNN's, MKL's and torch's own kernels (:data:`CPU_CAPS`) and torch's effective
    dispatch level."""
    fields: dict[str, str] = {}
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, val = ln.partition(":")
            fields.setdefault(key.strip(), val.strip())  # the first processor's
    except OSError:  # not Linux: the fields stay empty
        pass
    have = set(fields.get("flags", "").split())
    info: dict[str, Any] = {"cpu_model": fields.get("model name"), "cpu_isa_flags": [f for f in ISA_FLAGS if f in have],
                            **{field: os.environ.get(var) for var, field in CPU_CAPS.items()}}
    try:
        import torch

        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except (ImportError, AttributeError):  # pragma: no cover - torch is a hard dependency
        info["torch_cpu_capability"] = None
    return info


def hardware_info() -> dict[str, Any]:
    """Platform, CPU count (total and usable) and instruction sets, torch threads and the GPU, if any."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "cpu_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "gpu": None,
        "torch_threads": None,
        "cuda": None,
        **cpu_info(),
    }
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return info
    info["torch_threads"] = torch.get_num_threads()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
        info["cuda"] = torch.version.cuda
    return info


def _uptime_s() -> float | None:
    """Seconds since this process started: in a chapter, the kernel's run time so far."""
    try:
        import psutil

        return round(time.time() - psutil.Process().create_time(), 3)
    except Exception:  # noqa: BLE001 - psutil is optional; the field is informative only
        return None


def run_metadata() -> dict[str, Any]:
    """Everything about *this* run that is not the configuration: code, packages, machine, time."""
    return {
        "git": git_info(),
        "packages": package_versions(),
        "hardware": hardware_info(),
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "timestamp_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "kernel_uptime_s": _uptime_s(),
    }


def write_check(path: str | Path, payload: Mapping[str, Any]) -> Path:
    """Write a model check or benchmark result (``results/model_checks/``) as JSON with the run's
    provenance under ``"metadata"`` (commit, dirty flag, torch/CUDA, threads, device), so that every
    committed number says which code and machine made it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(to_jsonable({**payload, "metadata": run_metadata()}), indent=1) + "\n")
    return out


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars and arrays, paths, dataclasses, sets and tuples for JSON.

    Non-finite floats become ``None`` (strict JSON has no NaN; a reader in another language
    must not choke on a file this package wrote).
    """
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        return [to_jsonable(v) for v in items]
    if isinstance(obj, Path):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    # numpy and torch: scalars have .item(), arrays/tensors have .tolist()
    mod = type(obj).__module__
    if mod.startswith(("numpy", "torch")):
        if hasattr(obj, "detach"):
            obj = obj.detach().cpu()
        if getattr(obj, "ndim", 0) == 0 and hasattr(obj, "item"):
            return to_jsonable(obj.item())
        if hasattr(obj, "tolist"):
            return to_jsonable(obj.tolist())
    raise TypeError(f"cannot write an object of type {type(obj).__name__} to a results JSON")


def _config_dict(cfg: Any) -> dict[str, Any] | None:
    if cfg is None:
        return None
    if hasattr(cfg, "to_dict"):
        return cfg.to_dict()
    if isinstance(cfg, Mapping):
        return to_jsonable(cfg)
    raise TypeError(f"cfg must be a Config or a mapping, not {type(cfg).__name__}")


def publish(
    metrics: Mapping[str, Any],
    *,
    cfg: Any,
    results_dir: str | os.PathLike | None,
    seeds: Sequence[int] | int | None = None,
    data: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path | None:
    """Write ``<results_dir>/metrics.json`` (metrics + config + seeds + metadata).

    A no-op returning ``None`` when ``results_dir`` is ``None``: chapters always call this at
    their end, and only a ``reproduce`` run (or a user who sets ``results_dir``) records it.
    ``seeds`` defaults to the config's ``eval.seeds`` (or ``cfg.seed``). ``data`` records the
    datasets the numbers come from (role -> source, root, content fingerprint, counts; see
    ``data.factory.dataset_record``). The write is atomic (temp file, then rename) so a killed
    run never leaves half a JSON behind.
    """
    if results_dir is None:
        return None
    out_dir = Path(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg_dict = _config_dict(cfg)
    if seeds is None and cfg_dict is not None:
        seeds = cfg_dict.get("eval", {}).get("seeds") or [cfg_dict.get("seed")]
    elif isinstance(seeds, int):
        seeds = [seeds]
    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "chapter": out_dir.parent.name if out_dir.parent.name else None,
        "preset": None if cfg_dict is None else cfg_dict.get("preset"),
        "metrics": to_jsonable(dict(metrics)),
        "config": cfg_dict,
        "config_hash": cfg.hash() if hasattr(cfg, "hash") else None,
        "seeds": to_jsonable(list(seeds) if seeds is not None else None),
        "data": to_jsonable(dict(data)) if data is not None else None,
        "metadata": run_metadata(),
        "extra": to_jsonable(dict(extra or {})),
    }
    path = out_dir / METRICS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n")
    tmp.replace(path)
    log.info("results written to %s", path)
    return path


def chapter_name(chapter: str | os.PathLike) -> str:
    """``"book/05_dataset1.md"``, ``"05_dataset1.ipynb"`` or ``"05_dataset1"`` -> ``"05_dataset1"``."""
    return Path(chapter).stem


def results_path(chapter: str | os.PathLike, tag: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/results/<chapter>/<tag>/metrics.json`` (root defaults to :func:`repo_root`)."""
    base = repo_root() if root is None else Path(root)
    return base / "results" / chapter_name(chapter) / tag / METRICS_FILE


def load_committed(chapter: str, tag: str = "paper", root: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """The results JSON committed for ``chapter`` under ``tag``, or ``None`` if there is none.

    Located relative to the package's repository root, not the working directory. A file that
    exists but is not valid JSON raises ``ValueError`` naming it (a corrupt committed result
    must not silently disappear from the book).
    """
    path = results_path(chapter, tag, root)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"committed results file {path} is not valid JSON: {exc}") from exc


def committed_tags(chapter: str, root: str | os.PathLike | None = None) -> list[str]:
    """The result folders committed for ``chapter`` (``results/<chapter>/<tag>/metrics.json``), sorted.

    Runs of the plain ``smoke`` preset (tags ending in ``-smoke``) are demos of the code, not
    results, and are left out; so is the ``-canary`` run the test suite verifies (a check of
    ``simcardionet-lite verify``, not a result).
    """
    base = (repo_root() if root is None else Path(root)) / "results" / chapter_name(chapter)
    if not base.is_dir():
        return []
    return sorted(p.parent.name for p in base.glob(f"*/{METRICS_FILE}")
                  if not p.parent.name.endswith(("-smoke", "-canary", ".failed")))


__all__ = [
    "SCHEMA",
    "committed_tags",
    "run_metadata",
    "publish",
    "load_committed",
    "results_path",
    "repo_root",
    "git_info",
    "package_versions",
    "hardware_info",
    "to_jsonable",
    "write_check",
    "chapter_name",
]
