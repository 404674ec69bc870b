"""Page cache: keyed by spec, atomic writes, concurrent writers, hit speed-up."""

from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np

from simcardionet_lite.data.cache import PageCache, cache_key, default_cache_dir


def test_key_is_stable_and_sensitive():
    a = cache_key({"style": "mendeley", "size": [96, 128], "seed": 0})
    assert a == cache_key({"seed": 0, "size": [96, 128], "style": "mendeley"})
    assert a != cache_key({"style": "mendeley", "size": [96, 128], "seed": 1})


def test_default_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SIMCARDIONET_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    assert default_cache_dir(tmp_path / "x") == tmp_path / "x"


def test_get_or_create_builds_once(tmp_path):
    cache = PageCache(tmp_path)
    calls = []

    def build():
        calls.append(1)
        return np.arange(24, dtype=np.uint8).reshape(2, 2, 2, 3)

    a = cache.get_or_create({"k": 1}, build)
    b = cache.get_or_create({"k": 1}, build)
    assert len(calls) == 1 and np.array_equal(a, b)
    assert (cache.hits, cache.misses) == (1, 1)
    assert not list(tmp_path.rglob("*.tmp"))  # no temp files left behind


def test_damaged_entry_is_rebuilt(tmp_path):
    cache = PageCache(tmp_path)
    key = cache_key({"k": 2})
    cache.path(key).parent.mkdir(parents=True)
    cache.path(key).write_bytes(b"garbage")
    arr = cache.get_or_create({"k": 2}, lambda: np.ones((1, 2, 2, 3), np.uint8))
    assert arr.shape == (1, 2, 2, 3)


def _writer(args):
    root, i = args
    cache = PageCache(root)
    for _ in range(20):
        cache.put(cache_key({"same": True}), np.full((8, 16, 16, 3), 7, np.uint8))
    return i


def test_concurrent_writers_same_key(tmp_path):
    with mp.get_context("spawn").Pool(2) as pool:
        assert sorted(pool.map(_writer, [(str(tmp_path), 0), (str(tmp_path), 1)])) == [0, 1]
    arr = PageCache(tmp_path).get(cache_key({"same": True}))
    assert arr is not None and (np.asarray(arr) == 7).all()
    assert not list(tmp_path.rglob("*.tmp"))


def test_cache_hit_is_much_faster_than_rendering(tmp_path):
    from simcardionet_lite.data.datasets import SyntheticECG

    t0 = time.perf_counter()
    a = SyntheticECG("mendeley", "dataset1", n_per_class=6, cache_dir=tmp_path)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = SyntheticECG("mendeley", "dataset1", n_per_class=6, cache_dir=tmp_path)
    t_hit = time.perf_counter() - t0
    assert np.array_equal(a.images_uint8(), b.images_uint8())
    assert b.cache.hits == 2 and b.cache.misses == 0
    assert t_build > 5 * t_hit
