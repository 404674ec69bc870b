"""On-disk cache of rendered or decoded pages (uint8 arrays), keyed by a config hash.

Why: training and every chapter read the same pages again and again; rendering or JPEG
decoding them each time would dominate the CPU budget. A cache entry is one ``.npy`` file
(memory-mapped on read) named by the SHA-256 of everything that determines its pixels:
generator and renderer versions, style, seed, indices, size, crop. Change any of them and
the key changes, so a stale page is never served.

Writes are atomic (temporary file, then ``os.replace``), so two processes rendering the same
key at once both succeed and a reader never sees a half-written file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir`` if given, else ``$SIMCARDIONET_CACHE``, else ``~/.cache/simcardionet-lite``."""
    if cache_dir:
        return Path(cache_dir)
    env = os.environ.get("SIMCARDIONET_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "simcardionet-lite"


def cache_key(spec: dict[str, Any]) -> str:
    """A stable SHA-256 key of a JSON-serialisable spec (sorted keys)."""
    blob = json.dumps(spec, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


class PageCache:
    """A folder of ``<namespace>/<key>.npy`` arrays with atomic writes."""

    def __init__(self, cache_dir: str | os.PathLike | None = None, namespace: str = "pages") -> None:
        self.root = default_cache_dir(cache_dir) / namespace
        self.hits = 0
        self.misses = 0

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The cached array (memory-mapped), or None when absent or unreadable."""
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:  # a damaged entry is rebuilt, never trusted
            log.warning("cache entry %s unreadable (%s); it will be rebuilt", p, exc)
            return None
        return arr

    def put(self, key: str, arr: np.ndarray) -> Path:
        """Store ``arr`` under ``key`` atomically; returns the file path."""
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{key[:8]}-", suffix=".npy.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)
            os.replace(tmp, p)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return p

    def get_meta(self, key: str) -> dict[str, Any] | None:
        """The JSON side record stored with :meth:`put_meta`, or None."""
        p = self.path(key).with_suffix(".json")
        if not p.is_file():
            return None
        try:
            return json.loads(p.read_text())
        except (ValueError, OSError) as exc:
            log.warning("cache record %s unreadable (%s); it will be rebuilt", p, exc)
            return None

    def put_meta(self, key: str, meta: dict[str, Any]) -> Path:
        """Store a small JSON record (skip reasons, conversions) atomically."""
        p = self.path(key).with_suffix(".json")
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{key[:8]}-", suffix=".json.tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(meta, fh)
            os.replace(tmp, p)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return p

    def get_or_create(self, spec: dict[str, Any], build: Callable[[], np.ndarray]) -> np.ndarray:
        """The array for ``spec``, built by ``build()`` and stored on the first call."""
        key = cache_key(spec)
        arr = self.get(key)
        if arr is not None:
            self.hits += 1
            return arr
        self.misses += 1
        arr = np.asarray(build())
        self.put(key, arr)
        log.debug("cache miss %s: stored %s %s", key[:12], arr.shape, arr.dtype)
        return arr


__all__ = ["PageCache", "cache_key", "default_cache_dir"]
