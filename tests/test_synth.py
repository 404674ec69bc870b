"""Synthetic ECG generator: determinism, lead physics, class features where CLASS_LEADS says."""

from __future__ import annotations

import numpy as np
import pytest

from simcardionet_lite.config import DATASET1_CLASSES, LEADS, PTBXL_CLASSES
from simcardionet_lite.ecg import synth as S


def _gen(ls: str, cls: str, seed: int = 0, **kw):
    return S.generate(ls, cls, S.record_rng(seed, 0, 0), **kw)


def test_shape_dtype_and_determinism():
    a, ma = _gen("ptbxl", "MI", fs=500, duration=10.0)
    b, mb = _gen("ptbxl", "MI", fs=500, duration=10.0)
    assert a.shape == (12, 5000) and a.dtype == np.float32
    assert np.array_equal(a, b) and ma == mb
    c, _ = S.generate("ptbxl", "MI", S.record_rng(0, 0, 1))
    assert not np.array_equal(a, c)


def test_limb_leads_obey_einthoven_and_goldberger():
    sig, _ = _gen("dataset1", "AHB", seed=3)
    i, ii, iii, avr, avl, avf = (sig[LEADS.index(n)].astype(np.float64) for n in ("I", "II", "III", "aVR", "aVL", "aVF"))
    assert np.allclose(iii, ii - i, atol=1e-5)
    assert np.allclose(avr, -(i + ii) / 2, atol=1e-5)
    assert np.allclose(avl, i - ii / 2, atol=1e-5)
    assert np.allclose(avf, ii - i / 2, atol=1e-5)


def test_plausible_amplitudes_and_heart_rate():
    for ls, classes in (("ptbxl", PTBXL_CLASSES), ("dataset1", DATASET1_CLASSES)):
        for c in classes:
            sig, meta = _gen(ls, c, seed=1)
            assert np.isfinite(sig).all()
            ptp = np.ptp(sig, axis=1)
            assert (ptp > 0.2).all() and (ptp < 8).all(), (c, ptp)
            assert 40 <= meta["hr"] <= 130


def test_class_leads_are_computed_and_localised():
    assert S.CLASS_LEADS["ptbxl"]["MI"] == ("II", "III", "aVF")
    assert S.CLASS_LEADS["dataset1"]["MI"] == ("V1", "V2", "V3", "V4")
    assert S.CLASS_LEADS["ptbxl"]["NORM"] == () and S.CLASS_LEADS["dataset1"]["NORM"] == ()
    for ls, d in S.CLASS_LEADS.items():
        assert set(d) == set(S.LABEL_SETS[ls])
        for leads in d.values():
            assert set(leads) <= set(LEADS)


def _st_level(sig: np.ndarray, fs: int, meta: dict) -> np.ndarray:
    """Median ST level (80 ms after the R peak of lead II, relative to PR baseline) per lead."""
    ii = sig[LEADS.index("II")]
    peaks = [t for t in range(5, len(ii) - 5) if ii[t] == ii[t - 5 : t + 6].max() and ii[t] > 0.5 * ii.max()]
    st = []
    for p in peaks:
        if p - int(0.09 * fs) < 0 or p + int(0.1 * fs) >= sig.shape[1]:
            continue
        st.append(sig[:, p + int(0.08 * fs)] - sig[:, p - int(0.09 * fs)])
    return np.median(np.asarray(st), axis=0)


def test_mi_features_sit_in_class_leads():
    """ST elevation of the synthetic MI is larger in CLASS_LEADS than elsewhere, vs NORM."""
    fs = 500
    diffs = []
    for seed in range(6):
        mi, m1 = S.generate("ptbxl", "MI", S.record_rng(seed, 1, 0), difficulty=0.0, fs=fs)
        no, m0 = S.generate("ptbxl", "NORM", S.record_rng(seed, 0, 0), difficulty=0.0, fs=fs)
        diffs.append(_st_level(mi, fs, m1) - _st_level(no, fs, m0))
    d = np.mean(diffs, axis=0)
    inside = [LEADS.index(n) for n in S.CLASS_LEADS["ptbxl"]["MI"]]
    outside = [k for k in range(12) if k not in inside and LEADS[k] not in ("aVR", "aVL")]  # reciprocal leads excluded
    assert d[inside].mean() > 0.05
    assert d[inside].mean() > 3 * abs(d[outside]).mean()


def test_difficulty_scales_feature_strength():
    assert S.feature_strength(0.0) == pytest.approx(1.0)
    assert S.feature_strength(1.0) < S.feature_strength(0.5) < S.feature_strength(0.0)
    easy, _ = S.generate("dataset1", "MI", S.record_rng(4, 0, 0), difficulty=0.0)
    hard, _ = S.generate("dataset1", "MI", S.record_rng(4, 0, 0), difficulty=1.0)
    base, _ = S.generate("dataset1", "NORM", S.record_rng(4, 0, 0), difficulty=0.0)
    v = [LEADS.index(n) for n in S.CLASS_LEADS["dataset1"]["MI"]]
    assert np.abs(easy[v] - base[v]).mean() > np.abs(hard[v] - base[v]).mean()


def test_ahb_rhythm_is_irregular():
    cv = []
    for seed in range(8):
        _, m = S.generate("dataset1", "AHB", S.record_rng(seed, 2, 0), difficulty=0.0)
        cv.append(m["rhythm"])
        assert m["rhythm"] in ("af", "ectopic")
    assert {"af", "ectopic"} <= set(cv)


def test_bad_arguments_raise():
    rng = np.random.default_rng(0)
    with pytest.raises(KeyError, match="label_set"):
        S.generate("nope", "MI", rng)
    with pytest.raises(KeyError, match="class"):
        S.generate("ptbxl", "PMI", rng)
    with pytest.raises(ValueError, match="fs"):
        S.generate("ptbxl", "MI", rng, fs=20)
