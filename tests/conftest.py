"""Shared test fixtures.

Real data lives in ``../shared/realdata`` beside the project (or where
``SIMCARDIONET_REALDATA`` points). Tests that need it take the ``realdata`` fixture and
skip with a reason when it is absent; they never copy any of it into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("SIMCARDIONET_REALDATA", ROOT.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """Path of the real-data folder, or skip the test with the reason."""
    if not (REALDATA / "dataset1_mendeley").is_dir() or not (REALDATA / "ptbxl_sample").is_dir():
        pytest.skip(f"real data not found at {REALDATA} (set SIMCARDIONET_REALDATA to its folder)")
    return REALDATA


# ------------------------------------------------------------------------------------------
# PTB-XL trees with one planted defect (the audit, the bad-input table and the fuzz tests)
# ------------------------------------------------------------------------------------------

PTBXL_DEFECTS = ("missing .dat", "truncated .dat", "500 Hz header", "short record", "NaN signal", "flat signal",
                 "malformed scp_codes", "bad strat_fold", "copy of another .dat")


@pytest.fixture(scope="session")
def clean_ptbxl_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean miniature PTB-XL tree written once (rows 0-4: one single-superclass record per class,
    row 5: two superclasses, row 6: none). Copy it (``shutil.copytree``) before damaging it."""
    from simcardionet_lite.data import fixtures as F

    root = tmp_path_factory.mktemp("clean_ptbxl") / "ptbxl"
    F.write_mini_ptbxl(root, n_per_class=1, defects=False)
    return root


def _nan_gap(sig):
    sig[100:200, 3] = float("nan")
    return sig


def _rewrite_signal(base: Path, change) -> None:
    """Write the record at ``base`` again with ``change(samples)`` (T x 12 mV) in place of its samples."""
    import wfdb

    rec = wfdb.rdrecord(str(base))
    wfdb.wrsamp(base.name, fs=rec.fs, units=rec.units, sig_name=rec.sig_name, p_signal=change(rec.p_signal.copy()),
                fmt=rec.fmt, adc_gain=rec.adc_gain, baseline=rec.baseline, write_dir=str(base.parent))


def plant_ptbxl_defect(root: Path, kind: str, row: int = 0) -> str:
    """Plant one defect of :data:`PTBXL_DEFECTS` in the tree at ``root`` (its ``row``-th CSV row) and
    return what names it in a skip report: the record's file name, or ``ecg_id N`` for a CSV row.
    ``copy of another .dat`` writes row ``row``'s signal bytes over row ``row + 1``'s (a readable duplicate)."""
    import pandas as pd

    db = pd.read_csv(root / "ptbxl_database.csv")
    rel = str(db["filename_lr"][row])
    base = root / rel
    if kind in ("malformed scp_codes", "bad strat_fold"):
        col, value = ("scp_codes", "{'NORM': 100.0") if kind == "malformed scp_codes" else ("strat_fold", "eleven")
        db[col] = db[col].astype(object)
        db.loc[row, col] = value
        db.to_csv(root / "ptbxl_database.csv", index=False)
        return f"ecg_id {int(db['ecg_id'][row])}"
    if kind == "missing .dat":
        Path(f"{base}.dat").unlink()
    elif kind == "truncated .dat":
        dat = Path(f"{base}.dat")
        dat.write_bytes(dat.read_bytes()[:1001])  # an odd byte count: not a whole number of samples
    elif kind in ("500 Hz header", "short record"):
        hea = Path(f"{base}.hea")
        first, *rest = hea.read_text().splitlines()
        parts = first.split()  # record line: name, signals, sampling frequency, samples
        parts[2 if kind == "500 Hz header" else 3] = "500"
        hea.write_text("\n".join([" ".join(parts), *rest]) + "\n")
    elif kind == "NaN signal":
        _rewrite_signal(base, _nan_gap)
    elif kind == "flat signal":
        _rewrite_signal(base, lambda s: s * 0.0)
    elif kind == "copy of another .dat":
        other = root / str(db["filename_lr"][row + 1])
        Path(f"{other}.dat").write_bytes(Path(f"{base}.dat").read_bytes())
        return str(db["filename_lr"][row + 1])
    else:
        raise ValueError(f"unknown PTB-XL defect {kind!r}; known: {PTBXL_DEFECTS}")
    return rel


@pytest.fixture(scope="session")
def break_ptbxl():
    """:func:`plant_ptbxl_defect`, for tests (a test module cannot import conftest)."""
    return plant_ptbxl_defect
