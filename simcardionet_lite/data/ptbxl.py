"""PTB-XL metadata: SCP codes to diagnostic superclasses, the official folds, signal reading.

Why this aggregation: it is the one of the PTB-XL example code (``example_physionet.py``) and
of the public benchmark (Strodthoff et al. 2021): *every* SCP code listed for a record counts,
whatever its likelihood, if ``scp_statements.csv`` marks it ``diagnostic == 1``; its
``diagnostic_class`` is the superclass. A record is single-label when its set of superclasses
has exactly one member. The official split is ``strat_fold`` 1-8 train, 9 validation, 10 test.

Only the columns ``ecg_id, patient_id, scp_codes, strat_fold, filename_lr, filename_hr`` are
needed, so a trimmed copy of the database CSV works as well as the full one.

The :class:`PTBXL` dataset draws the records as report pages. Why its fingerprint and page-cache
key hash the *bytes* of the two CSV files and of every selected ``.hea``/``.dat`` file (not
their names and sizes): two PTB-XL trees with the same file names and sizes but other
signals (a swapped or re-exported record) must never share cached pages or results.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from simcardionet_lite.config import LEADS, PTBXL_CLASSES
from simcardionet_lite.data.cache import PageCache, cache_key
from simcardionet_lite.data.images import error_reason, file_sha256
from simcardionet_lite.data.pages import DATA_VERSION, PageDataset, Transform, groups_from_keys, prepare_page
from simcardionet_lite.ecg import render as R
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
    df = _read_csv(p, index_col=0)
    for col in ("diagnostic", "diagnostic_class"):
        if col not in df.columns:
            raise DataError(f"scp_statements.csv lacks the column {col!r}", path=p,
                            fix="use the official scp_statements.csv of PTB-XL 1.0.x")
    # a damaged table must not silently turn every code non-diagnostic (all records "no superclass")
    diagnostic = pd.to_numeric(df["diagnostic"], errors="coerce")
    bad = df.index[diagnostic.isna() & df["diagnostic"].notna()].tolist()
    classes = df.loc[diagnostic == 1, "diagnostic_class"]
    bad += classes.index[~classes.isin(PTBXL_CLASSES)].tolist()
    if bad:
        raise DataError(f"scp_statements.csv rows {[str(b) for b in bad[:5]]} are not a diagnostic flag (1 or empty) "
                        f"with a superclass of {list(PTBXL_CLASSES)}", path=p,
                        fix="use the official scp_statements.csv of PTB-XL 1.0.x")
    df["diagnostic"] = diagnostic
    return df


def _read_csv(path: Path, **kwargs: object) -> pd.DataFrame:
    """``pd.read_csv`` with an undecodable or unparsable file as a :class:`DataError` naming it."""
    try:
        return pd.read_csv(path, **kwargs)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"unreadable CSV ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:120]})", path=path,
                        fix="re-download this file of PTB-XL 1.0.3 from PhysioNet") from exc


def superclass_map(scp: pd.DataFrame) -> dict[str, str]:
    """SCP code -> diagnostic superclass, for the codes marked diagnostic."""
    diag = scp[scp["diagnostic"] == 1]
    return {str(k): str(v) for k, v in diag["diagnostic_class"].items() if isinstance(v, str)}


def superclasses(codes: dict[str, float], mapping: dict[str, str]) -> list[str]:
    """The sorted set of diagnostic superclasses of one record (every listed code counts)."""
    return sorted({mapping[c] for c in codes if c in mapping}, key=PTBXL_CLASSES.index)


def _parse_scp_codes(text: object) -> dict[str, float] | None:
    """One row's ``scp_codes`` (a Python dict literal), or None when it is not one."""
    try:
        value = ast.literal_eval(str(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def load_ptbxl_metadata(root: str | Path) -> pd.DataFrame:
    """``ptbxl_database.csv`` with parsed ``scp_codes`` and a ``superclasses`` list column.

    Rows that cannot be used (``scp_codes`` not a dict literal, ``ecg_id`` not an integer or repeated,
    ``strat_fold`` not 1-10, no ``patient_id`` or file name) are left out and listed with the
    reason in ``df.attrs["malformed_rows"]`` as ``("ecg_id E, line N", reason)`` pairs; the dataset
    reports them as skipped and the audit as unreadable."""
    root = Path(root)
    if not root.is_dir():
        raise DataError("PTB-XL root folder not found", path=root,
                        fix="download PTB-XL 1.0.3 from PhysioNet and pass its folder as root")
    p = root / "ptbxl_database.csv"
    if not p.is_file():
        raise DataError("ptbxl_database.csv not found in the PTB-XL root", path=p,
                        fix="point root at the folder that holds ptbxl_database.csv (the PTB-XL top folder)")
    df = _read_csv(p)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"ptbxl_database.csv lacks the columns {missing}", path=p,
                        fix=f"use the official database file; the loader needs {list(REQUIRED_COLUMNS)}")
    codes = df["scp_codes"].map(_parse_scp_codes)
    why = _row_problems(df, codes)
    bad = why.notna()
    if bad.any():  # named and left out, not a crash: PTBXL reports them in its skip report
        log.warning("ptbxl_database.csv: %d malformed rows, e.g. %s", int(bad.sum()), why[bad].tolist()[:3])
    ids = pd.to_numeric(df["ecg_id"], errors="coerce")
    labels = [f"ecg_id {int(i)}, line {k + 2}" if pd.notna(i) and float(i).is_integer() else f"line {k + 2}"
              for k, i in enumerate(ids)]
    malformed = [(labels[k], str(why.iloc[k])) for k in np.flatnonzero(bad.to_numpy())]
    df = df[~bad].copy()
    df["scp_codes"] = codes[~bad]
    df["strat_fold"] = pd.to_numeric(df["strat_fold"]).astype(int)
    df.index = pd.Index(ids[~bad].astype(int), name="ecg_id")
    df = df.drop(columns="ecg_id")
    df.attrs["malformed_rows"] = malformed
    mapping = superclass_map(load_scp_statements(root))
    df["superclasses"] = df["scp_codes"].apply(lambda c: superclasses(c, mapping))
    return df


def _row_problems(df: pd.DataFrame, codes: pd.Series) -> pd.Series:
    """Per row of ``ptbxl_database.csv``: why it cannot be used (a skip reason), or None."""
    def number(col: str) -> pd.Series:
        return pd.to_numeric(df[col], errors="coerce")

    ids, folds, patients = number("ecg_id"), number("strat_fold"), number("patient_id")
    whole_id = ids.notna() & (ids % 1 == 0)
    checks = [  # the first failing check names the row's problem
        (~whole_id, "ecg_id is not an integer: fix or remove the row"),
        (whole_id & ids.duplicated(), "ecg_id listed twice: remove the repeated row"),
        (codes.isna(), "malformed scp_codes (not a dict literal): fix or remove the row"),
        (~folds.isin(range(1, 11)), "strat_fold is not a fold 1-10: fix or remove the row"),
        (patients.isna(), "patient_id missing or not a number: fix or remove the row"),
    ]
    for col in ("filename_lr", "filename_hr"):
        named = df[col].map(lambda v: isinstance(v, str) and bool(v.strip()))
        checks.append((~named, f"{col} missing: fix or remove the row"))
    why = pd.Series([None] * len(df), index=df.index, dtype=object)
    for mask, reason in reversed(checks):
        why[mask.to_numpy()] = reason
    return why


def multilabel_matrix(supers: list[list[str]]) -> np.ndarray:
    """N x 5 0/1 matrix in the order of :data:`PTBXL_CLASSES`."""
    out = np.zeros((len(supers), len(PTBXL_CLASSES)), dtype=np.int64)
    for i, s in enumerate(supers):
        for c in s:
            out[i, PTBXL_CLASSES.index(c)] = 1
    return out


def read_record(root: str | Path, filename: str, sampling_rate: int) -> np.ndarray:
    """One record as ``12 x T float32`` mV in the order of :data:`LEADS`.

    Raises :class:`FileNotFoundError` for missing ``.hea``/``.dat`` files and :class:`DataError`
    for an unreadable (truncated, corrupt) record or one whose header states another sampling
    rate; the dataset skips and reports both.
    """
    import wfdb

    base = Path(root) / filename
    hea, dat = Path(f"{base}.hea"), Path(f"{base}.dat")  # not with_suffix: a dot in a name is not an extension
    for p in (hea, dat):
        if not p.is_file():
            raise FileNotFoundError(f"missing {p.name}")
    try:
        sig, fields = wfdb.rdsamp(str(base))
    except (ValueError, OSError, IndexError, EOFError, KeyError, TypeError) as exc:  # truncated or corrupt files
        raise DataError(f"unreadable record ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                        path=dat, fix="re-download this record from PhysioNet; it is skipped") from exc
    fs = float(fields["fs"])
    if abs(fs - sampling_rate) > 1e-6:
        raise DataError(f"record header says {fs:g} Hz, but it is listed as the {sampling_rate} Hz version",
                        path=hea,
                        fix=f"this file is not PTB-XL's {sampling_rate} Hz record {filename}: re-download it from "
                        "PhysioNet (it is skipped)")
    names = [_PTBXL_LEAD_NAMES.get(str(n).upper(), str(n)) for n in fields["sig_name"]]
    try:
        order = [names.index(lead) for lead in LEADS]
    except ValueError as exc:
        raise DataError(f"record leads {fields['sig_name']} are not the 12 standard leads", path=hea,
                        fix="use the official PTB-XL records") from exc
    return np.asarray(sig, dtype=np.float32).T[order]


PAGE_SECONDS = 4 * R.COL_SECONDS  # what a page draws: four 2.5 s columns and a 10 s rhythm strip


def signal_problem(sig: np.ndarray, fs: float) -> str | None:
    """Why a record read by :func:`read_record` cannot be drawn as a page (a skip reason), or None.

    Shared by the dataset and the audit. A record shorter than the page (PTB-XL's are all 10 s)
    would be drawn with empty panels, or crash the baseline filter; NaN and flat lines are not signals.
    """
    n = int(sig.shape[-1])
    if n < round(PAGE_SECONDS * fs):
        return f"record too short ({n} samples = {n / fs:g} s; a page draws {PAGE_SECONDS:g} s)"
    if not np.isfinite(sig).all():
        return "NaN or inf in the signal"
    if float(np.max(np.ptp(sig, axis=1))) < 1e-3:
        return "flat-line signal (all leads constant)"
    return None


def remove_baseline(sig: np.ndarray, fs: float, cutoff_hz: float = 0.5) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth high-pass per lead (baseline wander removal).

    Why (ours): PTB-XL stores the raw recording; printing ECG machines filter the baseline
    (the Dataset I pages print "0.67~25Hz"), so a page drawn from the raw signal would show a
    drift no real report shows.
    """
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, cutoff_hz, btype="highpass", fs=fs, output="sos")
    return sosfiltfilt(sos, np.asarray(sig, np.float64), axis=-1).astype(np.float32)


# ------------------------------------------------------------------------------------------
# The PTB-XL page dataset
# ------------------------------------------------------------------------------------------


def select_records(df: pd.DataFrame, *, split: str | None = None, folds: Sequence[int] | None = None,
                   single_label: bool = True, max_records: int | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """The metadata rows a :class:`PTBXL` dataset holds, and the counts of records left out.

    ``split`` ("train" | "val" | "test") or ``folds`` selects ``strat_fold`` values; records
    without a diagnostic superclass are left out, and with ``single_label`` those with more
    than one (left-out records are not data errors, so they are counted, not skipped).
    """
    if split is not None:
        if split not in OFFICIAL_SPLIT:
            raise ValueError(f"split must be one of {sorted(OFFICIAL_SPLIT)}, got {split!r}")
        folds = OFFICIAL_SPLIT[split]
    if folds is not None:
        df = df[df["strat_fold"].isin(list(folds))]
    n_sup = df["superclasses"].apply(len)
    excluded: dict[str, int] = {"no diagnostic superclass": int((n_sup == 0).sum())}
    if single_label:
        excluded["more than one superclass"] = int((n_sup > 1).sum())
        df = df[n_sup == 1]
    else:
        df = df[n_sup >= 1]
    if max_records is not None:
        df = df.iloc[: int(max_records)]
    return df, excluded


def records_fingerprint(root: str | Path, files: Sequence[str], sampling_rate: int) -> str:
    """SHA-256 hex of ``ptbxl_database.csv``, ``scp_statements.csv`` and the ``.hea``/``.dat``
    bytes of every record in ``files`` (in order; a missing file counts as ``missing``)."""
    root = Path(root)
    h = hashlib.sha256(f"ptbxl:{sampling_rate}\n".encode())
    for meta in ("ptbxl_database.csv", "scp_statements.csv"):
        h.update(f"{meta}\0{file_sha256(root / meta)}\n".encode())
    for f in files:
        parts = [f]
        for ext in (".hea", ".dat"):
            p = root / f"{f}{ext}"
            parts.append(file_sha256(p) if p.is_file() else "missing")
        h.update(("\0".join(parts) + "\n").encode())
    return h.hexdigest()


def _render_records(root: Path, files: Sequence[str], sampling_rate: int, highpass_hz: float | None,
                    size: tuple[int, int], style: str, crop: bool, grayscale: bool,
                    progress: bool, panels: bool = False) -> tuple[np.ndarray, dict[str, object]]:
    """Pages of the readable records and a JSON record ``{ok, reasons}`` (index -> why skipped)."""
    out = np.zeros((len(files), *size, 3), np.uint8)
    ok = np.zeros(len(files), bool)
    reasons: dict[str, str] = {}
    for i, f in enumerate(tqdm(files, desc="render PTB-XL", disable=not progress, leave=False)):
        try:
            sig = read_record(root, f, sampling_rate)
        except FileNotFoundError as exc:
            reasons[str(i)] = f"{exc}"
            continue
        except DataError as exc:
            reasons[str(i)] = error_reason(exc)
            continue
        problem = signal_problem(sig, sampling_rate)
        if problem:
            reasons[str(i)] = problem
            continue
        if highpass_hz:
            sig = remove_baseline(sig, sampling_rate, highpass_hz)
        page = R.render(sig, sampling_rate, style, R.page_size_for_mosaic(style, size) if panels else size)
        out[i] = prepare_page(page, image_size=size, crop_header_footer=crop, style=style, grayscale=grayscale,
                              panels=panels)
        ok[i] = True
    return out[ok], {"ok": ok.tolist(), "reasons": reasons}


class PTBXL(PageDataset):
    """PTB-XL records rendered as ``ptbxl``-style pages (diagnostic superclasses).

    ``single_label=True`` keeps the records with exactly one superclass (the usual 5-class
    setting); the others are counted in ``excluded`` (not data errors, so not in ``skipped``).
    ``split`` ("train" | "val" | "test") or ``folds`` selects ``strat_fold`` values (official
    split: 1-8 / 9 / 10). ``groups`` are patients: records of one patient stay together.
    ``highpass_hz`` (ours) removes baseline wander before drawing, as a printing ECG machine does.
    ``multilabel`` is the N x 5 superclass matrix (for macro AUC). ``fingerprint`` is
    :func:`records_fingerprint` of the selected records; the page cache is keyed by it.
    """

    source = "ptbxl"

    groups_are = "patients"  # records of one patient: not copies (finetune.unique_pages leaves them)

    def __init__(
        self,
        root: str | os.PathLike,
        sampling_rate: int = 100,
        single_label: bool = True,
        image_size: tuple[int, int] = (96, 128),
        folds: Sequence[int] | None = None,
        crop_header_footer: bool = False,
        cache_dir: str | os.PathLike | None = None,
        transform: Transform | None = None,
        *,
        split: str | None = None,
        style: str = "ptbxl",
        highpass_hz: float | None = 0.5,
        max_records: int | None = None,
        grayscale: bool = False,
        panels: bool = False,
        progress: bool = False,
    ) -> None:
        super().__init__(transform)
        if sampling_rate not in (100, 500):
            raise DataError(f"sampling_rate must be 100 or 500 (PTB-XL's two versions), got {sampling_rate}",
                            fix="use 100 (records100/, filename_lr) or 500 (records500/, filename_hr)")
        self.root = Path(root)
        self.split_name = split
        self.classes = PTBXL_CLASSES
        self.size = (int(image_size[0]), int(image_size[1]))
        meta = load_ptbxl_metadata(self.root)
        for row, reason in meta.attrs.get("malformed_rows", []):
            self.skipped.add(f"{self.root / 'ptbxl_database.csv'} ({row})", reason)
        df, self.excluded = select_records(meta, split=split, folds=folds, single_label=single_label,
                                           max_records=max_records)
        log.info("PTB-XL %s: %d records; excluded %s", self.root, len(df), self.excluded)
        files = df["filename_lr" if sampling_rate == 100 else "filename_hr"].tolist()
        self.fingerprint = records_fingerprint(self.root, files, sampling_rate)
        spec = {
            "kind": "ptbxl",
            "versions": [R.RENDERER_VERSION, DATA_VERSION],
            "fingerprint": self.fingerprint,
            "highpass_hz": highpass_hz,
            "size": list(self.size),
            "style": style,
            "crop": bool(crop_header_footer),
            "grayscale": bool(grayscale),
            "panels": bool(panels),
        }
        self.cache = cache = PageCache(cache_dir)
        key = cache_key(spec)
        arr, info = cache.get(key), cache.get_meta(key)
        if arr is None or info is None:
            cache.misses += 1
            arr, info = _render_records(self.root, files, sampling_rate, highpass_hz, self.size, style,
                                        bool(crop_header_footer), bool(grayscale), progress, bool(panels))
            if any(info["ok"]):  # an all-missing tree is an error below, not a cache entry
                cache.put(key, arr)
                cache.put_meta(key, info)
        else:
            cache.hits += 1
        self._finish(df, files, np.asarray(info["ok"], bool), {int(k): v for k, v in info["reasons"].items()},
                     arr, sampling_rate)

    def _finish(self, df: pd.DataFrame, files: Sequence[str], ok: np.ndarray, reasons: dict[int, str],
                arr: np.ndarray, sampling_rate: int) -> None:
        """Report the skips and set the per-item attributes of the records that were drawn."""
        if len(files) and not ok.any():
            raise DataError(f"none of the {len(files)} PTB-XL records could be read ({sorted(set(reasons.values()))[:3]})",
                            path=self.root / files[0],
                            fix=f"download the records{sampling_rate}/ folder next to ptbxl_database.csv, "
                            f"or pass sampling_rate={'500' if sampling_rate == 100 else '100'} if you have the other one")
        for i, r in reasons.items():
            self.skipped.add(str(self.root / files[i]), r)
        if len(self.skipped):
            log.warning("PTB-XL %s: %s", self.root, self.skipped.summary())
        kept = df[ok]
        self._images = arr
        self.ecg_id = kept.index.to_numpy()
        self.ids = [f"ptbxl-{int(e)}" for e in self.ecg_id]
        self.strat_fold = kept["strat_fold"].to_numpy().astype(int)
        self.superclasses = kept["superclasses"].tolist()
        self.multilabel = multilabel_matrix(self.superclasses)
        self.labels = np.asarray([PTBXL_CLASSES.index(s[0]) for s in self.superclasses], dtype=np.int64)
        self.groups = groups_from_keys([str(p) for p in kept["patient_id"]])
        self.patient_id = kept["patient_id"].to_numpy()


__all__ = [
    "PTBXL",
    "records_fingerprint",
    "select_records",
    "OFFICIAL_SPLIT",
    "remove_baseline",
    "REQUIRED_COLUMNS",
    "load_ptbxl_metadata",
    "load_scp_statements",
    "multilabel_matrix",
    "read_record",
    "signal_problem",
    "superclass_map",
    "superclasses",
]
