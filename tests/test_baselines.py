"""Pixel baseline: contract, and it is above chance but not perfect on the default synthetic task."""

from __future__ import annotations

import numpy as np
import pytest

from simcardionet_lite.baselines import chance_accuracy, pixel_baseline, pixel_features


def test_features_accept_uint8_and_float():
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (3, 40, 60, 3), dtype=np.uint8)
    f = pixel_features(u8, (12, 16))
    assert f.shape == (3, 192) and f.min() >= 0 and f.max() <= 1
    g = pixel_features(np.transpose(u8, (0, 3, 1, 2)).astype(np.float32) / 255, (12, 16))
    assert np.abs(f - g).max() < 0.02


def test_probabilities_align_with_all_classes():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (20, 24, 32, 3), dtype=np.uint8)
    y = np.array([0, 2] * 10)  # class 1 absent from training
    p = pixel_baseline(X, y, X[:5], n_classes=3)
    assert p.shape == (5, 3) and np.allclose(p.sum(1), 1) and (p[:, 1] == 0).all()


def test_learns_a_visible_difference():
    X = np.full((40, 24, 32, 3), 255, np.uint8)
    y = np.repeat([0, 1], 20)
    X[y == 1, 5:10, 5:20] = 0
    p = pixel_baseline(X[::2], y[::2], X[1::2])
    assert (p.argmax(1) == y[1::2]).mean() == 1.0


def test_chance_levels():
    c = chance_accuracy([0, 0, 1], [0, 1, 1, 1])
    assert c == {"majority": 0.25, "uniform": 0.5}


@pytest.mark.slow
def test_default_difficulty_is_above_chance_and_below_perfect(tmp_path):
    from sklearn.model_selection import StratifiedKFold

    from simcardionet_lite.config import load_preset
    from simcardionet_lite.data.datasets import build_dataset

    cfg = load_preset("smoke", **{"data.n_per_class": 100, "data.cache_dir": str(tmp_path)})
    ds = build_dataset(cfg.data)
    X, y = ds.images_uint8(), ds.labels
    acc = []
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        acc.append((pixel_baseline(X[tr], y[tr], X[te]).argmax(1) == y[te]).mean())
    # measured: 0.41 +- 0.07 at difficulty 0.5 (4 classes, chance 0.25; centred pixel baseline)
    assert 0.25 + 0.1 < np.mean(acc) < 0.8


def test_a_grey_cast_in_near_constant_margins_does_not_flip_predictions():
    """Regression: per-pixel standardisation blew near-constant margin pixels up, so pages that
    were re-encoded (a slightly different white) were all given one class."""
    rng = np.random.default_rng(1)
    X = np.full((60, 48, 64, 3), 255, np.uint8)
    y = np.repeat([0, 1, 2], 20)
    for i, c in enumerate(y):  # a class-dependent dark bar plus page-to-page variation
        X[i, 10 + 8 * c : 16 + 8 * c, 8:56] = 60 + rng.integers(0, 40)
        X[i, 40:44, rng.integers(0, 50) :][:, :10] = 120
    # the top margin is white except for a one-grey-level JPEG flicker, here on class-0 pages
    # only (a weak chance correlation, as a small real set has many)
    rows, cols = np.meshgrid(np.arange(6), np.arange(64), indexing="ij")
    X[rng.integers(0, 20, rows.size), rows.ravel(), cols.ravel()] = 254
    noisy = X.copy()  # the same pages re-encoded: the white margin is now 5 grey levels darker
    noisy[:, 0:6] = 250
    clean_pred = pixel_baseline(X, y, X, n_classes=3).argmax(1)
    noisy_pred = pixel_baseline(X, y, noisy, n_classes=3).argmax(1)
    assert (clean_pred == y).mean() == 1.0
    assert (noisy_pred == clean_pred).mean() >= 0.95
