"""Synthetic 12-lead ECGs with class-conditional morphology (numpy, seeded).

Why synthetic: the three datasets of the paper cannot be downloaded at run time, so the book's
offline default is a generated stand-in that looks like the real thing and carries the class
features where a cardiologist would look for them.

The model (ours). Every wave of every beat is a 3-D *dipole* ``(x left, y inferior, z anterior)``
with a time course (a Gaussian, or a smooth plateau for the ST segment). A lead's voltage is the
dot product of the dipole with the lead's vector, so the six limb leads obey Einthoven's and
Goldberger's laws exactly (III = II - I, aVR = -(I + II)/2, ...) and the precordial leads show
an R-wave progression. Localised class features (an infarct territory, lateral strain) are also
dipoles, plus a local weight on the precordial electrodes that sit over the territory; the
reciprocal change in the opposite leads therefore comes out of the physics, not out of a list.

Per record we draw heart rate, frontal QRS axis, wave amplitudes, PR / QRS / QT intervals,
measurement noise, baseline wander and mains hum. ``difficulty`` in [0, 1] scales how strongly
the class features show (0: textbook, 1: barely there) and how much the class-free variability
mimics them, so the task is neither trivial nor hopeless.

:data:`CLASS_LEADS` is *computed* from the feature dipoles (the leads where a class's feature
reaches at least 60 % of its largest lead amplitude), so the Grad-CAM chapter checks the model
against where the generator really put the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from simcardionet_lite.config import DATASET1_CLASSES, LEADS, PTBXL_CLASSES

GENERATOR_VERSION = "synth-v2"  # bump when the output of generate() changes (invalidates caches)

LABEL_SETS: dict[str, tuple[str, ...]] = {"ptbxl": PTBXL_CLASSES, "dataset1": DATASET1_CLASSES}

# Lead vectors (x left, y inferior, z anterior). Limb leads: the hexaxial reference frame, with
# the augmented leads as Goldberger combinations of I and II. Precordial leads: horizontal-plane
# angles (V1 right-anterior ... V6 left) with a larger gain (the electrodes are close to the heart).
_LIMB = {
    "I": (1.0, 0.0, 0.0),
    "II": (0.5, np.sqrt(3) / 2, 0.0),
}
_LIMB["III"] = tuple(np.subtract(_LIMB["II"], _LIMB["I"]))
_LIMB["aVR"] = tuple(-(np.add(_LIMB["I"], _LIMB["II"])) / 2)
_LIMB["aVL"] = tuple((np.subtract(_LIMB["I"], _LIMB["III"])) / 2)
_LIMB["aVF"] = tuple((np.add(_LIMB["II"], _LIMB["III"])) / 2)
_PRECORDIAL_ANGLE = {"V1": 120.0, "V2": 100.0, "V3": 80.0, "V4": 60.0, "V5": 35.0, "V6": 10.0}
_PRECORDIAL_GAIN = {"V1": 1.2, "V2": 1.7, "V3": 1.8, "V4": 1.7, "V5": 1.4, "V6": 1.1}


def _lead_matrix() -> np.ndarray:
    rows = []
    for lead in LEADS:
        if lead in _LIMB:
            rows.append(_LIMB[lead])
        else:
            a = np.deg2rad(_PRECORDIAL_ANGLE[lead])
            g = _PRECORDIAL_GAIN[lead]
            rows.append((g * np.cos(a), g * 0.15, g * np.sin(a)))
    return np.asarray(rows, dtype=np.float64)


LEAD_MATRIX: np.ndarray = _lead_matrix()  # 12 x 3
_PREC = np.array([lead.startswith("V") for lead in LEADS])


def _unit(v: tuple[float, float, float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


@dataclass(frozen=True)
class Territory:
    """Where a localised feature shows: a dipole direction plus a local precordial weight."""

    direction: tuple[float, float, float]  # dipole pointing *towards* the territory
    precordial: Mapping[str, float]  # extra weight on electrodes over the territory (local, non-dipolar)

    def weights(self) -> np.ndarray:
        """12 per-lead weights (max |w| = 1) of a feature of unit amplitude in this territory."""
        w = LEAD_MATRIX @ _unit(self.direction)
        w = np.where(_PREC, 0.35 * w, w)  # the far-field share on the chest leads
        for lead, v in self.precordial.items():
            w[LEADS.index(lead)] += v
        return w / np.abs(w).max()


# Territories (ours; simplified): one per class, so that "the leads of the class" is one set.
TERRITORIES: dict[str, Territory] = {
    "inferior": Territory((0.0, 1.0, 0.0), {}),
    "anterior": Territory((0.0, 0.0, 1.0), {"V1": 0.8, "V2": 1.2, "V3": 1.2, "V4": 0.9}),
    "lateral": Territory((1.0, -0.3, 0.0), {"V4": 0.3, "V5": 0.9, "V6": 0.9}),
    "right_terminal": Territory((-1.0, 0.0, 0.6), {"V1": 0.9, "V2": 0.6}),
}

# Which territory carries each class's localised feature (ours). Classes without one (NORM)
# or with a global, rhythm-level feature (AHB) map to None / a rhythm territory below.
CLASS_TERRITORY: dict[str, dict[str, str | None]] = {
    "ptbxl": {"NORM": None, "MI": "inferior", "STTC": "lateral", "CD": "right_terminal", "HYP": "lateral"},
    "dataset1": {"MI": "anterior", "PMI": "inferior", "AHB": None, "NORM": None},
}


def _territory_leads(name: str, threshold: float = 0.6) -> tuple[str, ...]:
    w = TERRITORIES[name].weights()
    return tuple(lead for lead, v in zip(LEADS, w) if abs(v) >= threshold)


def _class_leads() -> dict[str, dict[str, tuple[str, ...]]]:
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for ls, terr in CLASS_TERRITORY.items():
        out[ls] = {}
        for cls, t in terr.items():
            leads = _territory_leads(t) if t else ()
            if ls == "ptbxl" and cls == "HYP":
                # high voltage: tall R on the left (lateral territory) and deep S in V1-V2
                leads = tuple(sorted(set(leads) | {"V1", "V2"}, key=LEADS.index))
            if cls == "AHB":
                # rhythm features (irregular RR, ectopic beats, fibrillatory waves) are global;
                # the f-waves are largest in II and V1, the classic places to read them
                leads = ("II", "V1")
            out[ls][cls] = leads
    return out


#: Leads where each synthetic class's features show (computed from the feature dipoles).
CLASS_LEADS: dict[str, dict[str, tuple[str, ...]]] = _class_leads()


def feature_strength(difficulty: float) -> float:
    """Mean expression of the class features at a difficulty (1.0 at 0, 0.15 at 1; ours)."""
    d = float(np.clip(difficulty, 0.0, 1.0))
    return 1.0 - 0.85 * d


# ------------------------------------------------------------------------------------------
# Waves
# ------------------------------------------------------------------------------------------


class _Waves:
    """Accumulates waves as (centre s, width s, kernel, 12-lead amplitude) and sums them."""

    def __init__(self) -> None:
        self.c: list[float] = []
        self.s1: list[float] = []
        self.s2: list[float] = []
        self.kind: list[int] = []  # 0 gaussian (asymmetric: s1 before, s2 after), 1 plateau
        self.amp: list[np.ndarray] = []

    def add(self, centre: float, s1: float, amp12: np.ndarray, s2: float | None = None, kind: int = 0) -> None:
        self.c.append(centre)
        self.s1.append(s1)
        self.s2.append(s1 if s2 is None else s2)
        self.kind.append(kind)
        self.amp.append(np.asarray(amp12, dtype=np.float64))

    def dipole(self, centre: float, s1: float, vec: np.ndarray, s2: float | None = None, kind: int = 0) -> None:
        self.add(centre, s1, LEAD_MATRIX @ vec, s2, kind)

    def render(self, t: np.ndarray) -> np.ndarray:
        if not self.c:
            return np.zeros((12, t.size))
        c = np.asarray(self.c)[:, None]
        s1 = np.asarray(self.s1)[:, None]
        s2 = np.asarray(self.s2)[:, None]
        kind = np.asarray(self.kind)[:, None]
        d = t[None, :] - c
        gauss = np.exp(-0.5 * (d / np.where(d < 0, s1, s2)) ** 2)
        # plateau: centre = start, s1 = length, s2 = edge softness
        plateau = expit(d / s2) - expit((d - s1) / s2)
        kern = np.where(kind == 0, gauss, plateau)
        return np.asarray(self.amp).T @ kern  # 12 x T


def _rot_frontal(angle_deg: float, z: float = 0.0) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([np.cos(a), np.sin(a), z])


def generate(
    label_set: str,
    cls: str,
    rng: np.random.Generator,
    difficulty: float = 0.5,
    fs: int = 500,
    duration: float = 10.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One synthetic 12-lead record of class ``cls``: ``(signal 12 x T float32 mV, meta)``.

    Deterministic for a given generator state: pass ``np.random.default_rng((seed, index))``
    to make record ``index`` reproducible on its own. ``meta`` holds every drawn parameter
    (heart rate ``hr``, axis, intervals, feature strength, territory, ...), so chapters can
    print the ground truth of a page.
    """
    # Long on purpose: one record is one draw sequence from ``rng`` (physiology, then waves, then the
    # class feature, then noise); split into helpers, the order of draws, which fixes every committed
    # synthetic page, would be spread over several functions and easy to change by accident.
    if label_set not in LABEL_SETS:
        raise KeyError(f"unknown label_set {label_set!r}; choose one of {sorted(LABEL_SETS)}")
    if cls not in LABEL_SETS[label_set]:
        raise KeyError(f"unknown class {cls!r} for {label_set}; choose one of {LABEL_SETS[label_set]}")
    if fs < 50:
        raise ValueError(f"fs={fs} Hz is too low to draw a QRS complex; use >= 100 Hz")
    n = int(round(fs * duration))
    t = np.arange(n) / fs
    d = float(np.clip(difficulty, 0.0, 1.0))
    m = feature_strength(d) * rng.uniform(0.6, 1.4)  # per-record expression of the class feature
    lookalike = 0.25 * d  # how strongly class-free variability mimics the features (ours)

    # ---- per-record physiology ----
    hr = float(rng.uniform(52, 98))
    axis = float(rng.normal(50, 22))
    gain = float(np.exp(rng.normal(0, 0.18)))
    pr = float(rng.uniform(0.13, 0.19))
    qrs_w = float(rng.uniform(0.009, 0.012))  # Gaussian sigma of R (s)
    p_amp = 0.16 * float(np.exp(rng.normal(0, 0.2)))
    r_amp = 1.25 * gain
    s_amp = 0.55 * float(np.exp(rng.normal(0, 0.25)))
    t_amp = 0.32 * float(np.exp(rng.normal(0, 0.25)))
    t_axis = axis - 10 + float(rng.normal(0, 12))
    st_generic = rng.normal(0, 0.02 + 0.05 * lookalike, size=3)  # random small ST vector (mV)
    meta: dict[str, Any] = {
        "label_set": label_set,
        "cls": cls,
        "difficulty": d,
        "strength": float(m),
        "axis": axis,
        "pr": pr,
        "territory": CLASS_TERRITORY[label_set].get(cls),
        "feature_leads": CLASS_LEADS[label_set][cls],
    }

    # ---- class features (parameters only; applied per beat below) ----
    q_terr = st_terr = strain_terr = None
    q_amp = st_amp = strain_amp = 0.0
    wide = 1.0
    terminal_amp = 0.0
    lvh = 0.0
    rhythm = "sinus"
    ectopic_p = 0.0
    terr = CLASS_TERRITORY[label_set].get(cls)
    if cls in ("MI",):
        q_terr, q_amp = terr, 0.45 * m
        st_terr, st_amp = terr, 0.22 * m
        strain_terr, strain_amp = terr, -0.0  # acute: T still upright (hyperacute)
    elif cls == "PMI":
        q_terr, q_amp = terr, 0.45 * m
        strain_terr, strain_amp = terr, 0.25 * m  # old MI: Q waves, inverted T, no ST elevation
    elif cls == "STTC":
        st_terr, st_amp = terr, -0.15 * m  # ST depression
        strain_terr, strain_amp = terr, 0.4 * m  # T inversion
    elif cls == "CD":
        wide = 1.0 + 0.9 * m
        terminal_amp = 0.5 * m  # RBBB-like terminal R' (V1) / wide S (I, V6)
        pr = pr + 0.09 * m * float(rng.uniform(0.0, 1.0))
    elif cls == "HYP":
        lvh = 0.9 * m
        strain_terr, strain_amp = terr, 0.25 * m
        st_terr, st_amp = terr, -0.06 * m
    elif cls == "AHB":
        rhythm = "af" if rng.random() < 0.5 else "ectopic"
        ectopic_p = 0.3 * min(1.0, m + 0.2)
        if rhythm == "af":
            hr = float(rng.uniform(70, 120))
    meta.update(hr=hr, rhythm=rhythm, pr=pr)

    # ---- beat times ----
    rr_mean = 60.0 / hr
    beats: list[float] = []
    kinds: list[str] = []
    tcur = float(rng.uniform(0.05, rr_mean))
    while tcur < duration + 0.5:
        beats.append(tcur)
        kind = "sinus"
        if rhythm == "ectopic" and beats and rng.random() < ectopic_p and len(beats) > 1:
            kind = "pvc"
        kinds.append(kind)
        if rhythm == "af":
            rr = rr_mean * float(np.exp(rng.normal(0, 0.08 + 0.18 * m)))
        else:
            rr = rr_mean * (1 + float(rng.normal(0, 0.015 + 0.02 * lookalike)))
        if kind == "pvc":
            # the PVC comes early; a compensatory pause follows
            beats[-1] -= 0.3 * rr_mean
            rr = rr_mean * 1.3
        tcur += max(0.3, rr)
    meta["n_beats"] = int(sum(1 for b in beats if 0 <= b < duration))
    meta["n_pvc"] = int(sum(1 for k, b in zip(kinds, beats) if k == "pvc" and 0 <= b < duration))

    w = _Waves()
    r_vec = _rot_frontal(axis, z=-0.05)
    septal = np.array([-0.7, 0.1, 0.7]) * 0.16
    s_vec = np.array([-0.15, -0.25, -1.0]) * s_amp
    t_vec = _rot_frontal(t_axis, z=0.45) * t_amp
    p_vec = _rot_frontal(55 + float(rng.normal(0, 10)), z=0.1) * p_amp
    terr_w = {k: TERRITORIES[k].weights() for k in TERRITORIES}
    lat = terr_w["lateral"]
    ant_right = terr_w["right_terminal"]
    lvh_r = np.where(lat > 0, lat, 0.0) * 1.1  # taller R on the left
    lvh_s = np.zeros(12)
    lvh_s[[LEADS.index("V1"), LEADS.index("V2")]] = (-0.9, -1.1)  # deeper S on the right chest

    for b, kind in zip(beats, kinds):
        rr_local = rr_mean
        qt = 0.40 * np.sqrt(rr_local)  # Bazett
        if kind == "pvc":
            # wide, bizarre QRS with a discordant T, no P wave (all leads)
            pv = _rot_frontal(float(rng.normal(-60, 30)), z=float(rng.normal(0, 0.6))) * 1.3 * gain
            w.dipole(b, 0.04, pv)
            w.dipole(b + 0.32, 0.07, -0.5 * pv, s2=0.05)
            continue
        if rhythm != "af":
            w.dipole(b - pr, 0.022, p_vec)
        qs = qrs_w * wide
        w.dipole(b - 0.022 * wide, 0.008 * wide, septal)
        w.dipole(b, qs, r_vec * r_amp)
        w.dipole(b + 0.022 * wide, 0.009 * wide, s_vec)
        if lvh:
            w.add(b, qs, lvh * (lvh_r + lvh_s))
        if terminal_amp:
            w.add(b + 0.05 * wide, 0.013 * wide, terminal_amp * ant_right)
        if q_terr:
            # pathological Q: an early negative deflection in the territory, R reduced there
            tw = terr_w[q_terr]
            w.add(b - 0.02, 0.012, -q_amp * np.clip(tw, 0, None))
        t_peak = b + 0.62 * qt
        w.dipole(t_peak, 0.055, t_vec, s2=0.04)
        if strain_terr and strain_amp:
            tw = terr_w[strain_terr]
            w.add(t_peak, 0.055, -strain_amp * np.clip(tw, 0, None) * 1.6, s2=0.04)
        j = b + 0.045 * wide
        st_len = max(0.05, t_peak - j - 0.02)
        st_vec = LEAD_MATRIX @ st_generic
        if st_terr and st_amp:
            st_vec = st_vec + st_amp * terr_w[st_terr]
        w.add(j, st_len, st_vec, s2=0.012, kind=1)

    sig = w.render(t)

    if rhythm == "af":
        # fibrillatory waves (4-9 Hz), largest in II and V1
        f = float(rng.uniform(4.5, 8.5))
        fw = 0.06 * min(1.0, m + 0.2) * np.sin(2 * np.pi * f * t + 0.6 * np.sin(2 * np.pi * 0.7 * t))
        fw_w = np.zeros(12)
        for lead, v in {"II": 1.0, "III": 0.6, "aVF": 0.8, "V1": 1.2, "V2": 0.6, "aVR": -0.5, "I": 0.2}.items():
            fw_w[LEADS.index(lead)] = v
        sig += fw_w[:, None] * fw[None, :]

    # ---- nuisance: noise, baseline wander, mains hum (consistent across limb leads) ----
    noise_sd = float(rng.uniform(0.004, 0.015))  # after the recorder's 0.67-25 Hz filter (EDAN footer)
    wander = np.zeros(3)
    bw = np.zeros((3, n))
    for _ in range(2):
        wander = rng.normal(0, float(rng.uniform(0.02, 0.12)), 3)
        fw_ = float(rng.uniform(0.1, 0.45))
        bw += wander[:, None] * np.sin(2 * np.pi * fw_ * t + rng.uniform(0, 2 * np.pi))[None, :]
    sig += LEAD_MATRIX @ bw
    electrode = rng.normal(0, noise_sd, size=(8, n))  # I, II and V1..V6 are measured ...
    if fs > 120:
        hum = float(rng.uniform(0, 0.02)) * np.sin(2 * np.pi * 50.0 * t + rng.uniform(0, 2 * np.pi))
        electrode += hum[None, :] * rng.uniform(0.5, 1.0, size=(8, 1))
    sig += _limb_consistent(electrode)  # ... and III, aVR, aVL, aVF are derived from I and II
    meta.update(noise_sd=noise_sd)
    return sig.astype(np.float32), meta


def _limb_consistent(x8: np.ndarray) -> np.ndarray:
    """Rows (I, II, V1..V6) to 12 leads, deriving III, aVR, aVL, aVF as an ECG machine does."""
    i, ii = x8[0], x8[1]
    return np.stack([i, ii, ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2, *x8[2:]])


def record_rng(seed: int, cls_index: int, index: int) -> np.random.Generator:
    """The generator for record ``index`` of class ``cls_index`` (independent of all others)."""
    return np.random.default_rng([int(seed), int(cls_index), int(index)])


__all__ = [
    "CLASS_LEADS",
    "CLASS_TERRITORY",
    "GENERATOR_VERSION",
    "LABEL_SETS",
    "LEAD_MATRIX",
    "TERRITORIES",
    "feature_strength",
    "generate",
    "record_rng",
]
