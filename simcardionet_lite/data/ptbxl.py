"""PTB-XL metadata: SCP codes to diagnostic superclasses, the official folds, signal reading.

Why this aggregation: it is the one of the PTB-XL example code (``example_physionet.py``) and
of the public benchmark (Strodthoff et al. 2021): *every* SCP code listed for a record counts,
whatever its likelihood, if ``scp_statements.csv`` marks it ``diagnostic == 1``; its
``diagnostic_class`` is the superclass. A record is single-label when its set of superclasses
has exactly one member. The official split is ``strat_fold`` 1-8 train, 9 validation, 10 test.

Only the columns ``ecg_id, patient_id, scp_codes, strat_fold, filename_lr, filename_hr`` are
needed, so a trimmed copy of the database CSV works as well as the full one.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from simcardionet_lite.config import LEADS, PTBXL_CLASSES
from simcardionet_lite.errors import DataError

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("ecg_id", "patient_id", "scp_codes", "strat_fold", "filename_lr", "filename_hr")
OFFICIAL_SPLIT: dict[str, tuple[int, ...]] = {"train": tuple(range(1, 9)), "val": (9,), "test": (10,)}
# PTB-XL writes augmented leads in capitals
_PTBXL_LEAD_NAMES = {lead.upper(): lead for lead in LEADS}


def load_scp_statements(root: str | Path) -> pd.DataFrame:
    """``scp_statements.csv`` indexed by SCP code (clear error when missing)."""
    p = Path(root) / "scp_statements.csv"
    if not p.is_file():
        raise DataError("scp_statements.csv not found in the PTB-XL root", path=p,
                        fix="point root at the PTB-XL folder that holds ptbxl_database.csv and scp_statements.csv")
    df = pd.read_csv(p, index_col=0)
    for col in ("diagnostic", "diagnostic_class"):
        if col not in df.columns:
            raise DataError(f"scp_statements.csv lacks the column {col!r}", path=p,
                            fix="use the official scp_statements.csv of PTB-XL 1.0.x")
    return df


def superclass_map(scp: pd.DataFrame) -> dict[str, str]:
    """SCP code -> diagnostic superclass, for the codes marked diagnostic."""
    diag = scp[scp["diagnostic"] == 1]
    return {str(k): str(v) for k, v in diag["diagnostic_class"].items() if isinstance(v, str)}


def superclasses(codes: dict[str, float], mapping: dict[str, str]) -> list[str]:
    """The sorted set of diagnostic superclasses of one record (every listed code counts)."""
    return sorted({mapping[c] for c in codes if c in mapping}, key=PTBXL_CLASSES.index)


def load_ptbxl_metadata(root: str | Path) -> pd.DataFrame:
    """``ptbxl_database.csv`` with parsed ``scp_codes`` and a ``superclasses`` list column."""
    root = Path(root)
    if not root.is_dir():
        raise DataError("PTB-XL root folder not found", path=root,
                        fix="download PTB-XL 1.0.3 from PhysioNet and pass its folder as root")
    p = root / "ptbxl_database.csv"
    if not p.is_file():
        raise DataError("ptbxl_database.csv not found in the PTB-XL root", path=p,
                        fix="point root at the folder that holds ptbxl_database.csv (the PTB-XL top folder)")
    df = pd.read_csv(p, index_col="ecg_id")
    missing = [c for c in REQUIRED_COLUMNS if c != "ecg_id" and c not in df.columns]
    if missing:
        raise DataError(f"ptbxl_database.csv lacks the columns {missing}", path=p,
                        fix=f"use the official database file; the loader needs {list(REQUIRED_COLUMNS)}")
    df["scp_codes"] = df["scp_codes"].apply(ast.literal_eval)
    mapping = superclass_map(load_scp_statements(root))
    df["superclasses"] = df["scp_codes"].apply(lambda c: superclasses(c, mapping))
    return df


def multilabel_matrix(supers: list[list[str]]) -> np.ndarray:
    """N x 5 0/1 matrix in the order of :data:`PTBXL_CLASSES`."""
    out = np.zeros((len(supers), len(PTBXL_CLASSES)), dtype=np.int64)
    for i, s in enumerate(supers):
        for c in s:
            out[i, PTBXL_CLASSES.index(c)] = 1
    return out


def read_record(root: str | Path, filename: str, sampling_rate: int) -> np.ndarray:
    """One record as ``12 x T float32`` mV in the order of :data:`LEADS`.

    Raises :class:`FileNotFoundError` for missing ``.hea``/``.dat`` files (the caller skips
    and reports) and :class:`DataError` when the record's sampling rate is not the requested one.
    """
    import wfdb

    base = Path(root) / filename
    for ext in (".hea", ".dat"):
        if not base.with_suffix(ext).is_file():
            raise FileNotFoundError(f"missing {base.with_suffix(ext).name}")
    sig, fields = wfdb.rdsamp(str(base))
    fs = float(fields["fs"])
    if abs(fs - sampling_rate) > 1e-6:
        raise DataError(f"record sampled at {fs:g} Hz, but sampling_rate={sampling_rate} was requested",
                        path=base.with_suffix(".hea"),
                        fix="pass sampling_rate=100 for records100/ (filename_lr) or 500 for records500/ (filename_hr)")
    names = [_PTBXL_LEAD_NAMES.get(str(n).upper(), str(n)) for n in fields["sig_name"]]
    try:
        order = [names.index(lead) for lead in LEADS]
    except ValueError as exc:
        raise DataError(f"record leads {fields['sig_name']} are not the 12 standard leads", path=base.with_suffix(".hea"),
                        fix="use the official PTB-XL records") from exc
    return np.asarray(sig, dtype=np.float32).T[order]


def remove_baseline(sig: np.ndarray, fs: float, cutoff_hz: float = 0.5) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth high-pass per lead (baseline wander removal).

    Why (ours): PTB-XL stores the raw recording; printing ECG machines filter the baseline
    (the Dataset I pages print "0.67~25Hz"), so a page drawn from the raw signal would show a
    drift no real report shows.
    """
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, cutoff_hz, btype="highpass", fs=fs, output="sos")
    return sosfiltfilt(sos, np.asarray(sig, np.float64), axis=-1).astype(np.float32)


__all__ = [
    "OFFICIAL_SPLIT",
    "remove_baseline",
    "REQUIRED_COLUMNS",
    "load_ptbxl_metadata",
    "load_scp_statements",
    "multilabel_matrix",
    "read_record",
    "superclass_map",
    "superclasses",
]
