"""Real-format miniature datasets written from synthetic records, for tests and the data chapter.

Why: the loaders and the audit must be exercised on files in the *published* formats (JPEG
class folders in the Mendeley and Kaggle layouts, a PTB-XL tree written by ``wfdb``), with the
defects real downloads have (byte-identical copies, re-encoded copies, truncated and corrupt
files, grayscale/RGBA/CMYK images, NaN or flat records, missing files), without shipping any
real data. Each builder returns what it planted, so a test can check the loader found exactly that.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simcardionet_lite.config import DATASET1_CLASSES, LEADS
from simcardionet_lite.data.images import MENDELEY_FOLDERS
from simcardionet_lite.ecg import render as R
from simcardionet_lite.ecg import synth as S

MENDELEY_PREFIX = {"MI": "MI", "PMI": "PMI", "AHB": "HB", "NORM": "Normal"}
KAGGLE_NAMES = {"MI": "Myocardial Infarction Patient", "PMI": "History Of MI", "AHB": "Abnormal Heartbeat", "NORM": "Normal"}


def _jpeg(img: np.ndarray, quality: int = 90, mode: str = "RGB") -> bytes:
    from PIL import Image

    im = Image.fromarray(img)
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, format="JPEG" if mode in ("RGB", "L", "CMYK") else "PNG", quality=quality)
    return buf.getvalue()


def synthetic_pages(n_per_class: int, seed: int = 0, size: tuple[int, int] = (262, 368), style: str = "mendeley",
                    difficulty: float = 0.3) -> dict[str, list[np.ndarray]]:
    """``n_per_class`` distinct rendered pages per Dataset I class."""
    out: dict[str, list[np.ndarray]] = {}
    for ci, c in enumerate(DATASET1_CLASSES):
        out[c] = []
        for i in range(n_per_class):
            sig, meta = S.generate("dataset1", c, S.record_rng(seed, ci, i), difficulty, fs=250)
            out[c].append(R.render(sig, 250, style, size, header={"hr": meta["hr"], "id": f"{170000 + 100 * ci + i}"}))
    return out


def write_image_tree(
    root: str | Path,
    layout: str = "mendeley",
    n_per_class: int = 4,
    *,
    exact_copies: int = 2,
    near_copies: int = 1,
    corrupt: bool = True,
    modes: bool = True,
    seed: int = 0,
    size: tuple[int, int] = (262, 368),
    pages: dict[str, list[np.ndarray]] | None = None,
    quality: int = 90,
) -> dict[str, Any]:
    """Write a Dataset I-like tree and return what was planted.

    Per class: ``n_per_class`` distinct pages, plus ``exact_copies`` byte-identical copies and
    ``near_copies`` re-encoded (JPEG quality 60) copies of its first pages. With ``corrupt``:
    one truncated JPEG, one corrupt ``.jpg`` (not a JPEG inside) and one non-image file
    (``notes.txt``) in the first class. With
    ``modes``: one grayscale JPEG (class 1), one CMYK JPEG (class 2) and one RGBA PNG (class 3),
    each the last distinct page of its class (copies are made of the first pages).
    ``quality`` is the JPEG quality of the distinct pages. ``layout="kaggle"`` writes ``root/train`` and ``root/test`` (alternating files) with the
    Kaggle class-folder names.
    """
    # One pass on purpose (about 70 lines): each planted defect is written and counted in the
    # same place, so the returned record cannot drift from the files on disk.
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    pages = pages or synthetic_pages(n_per_class, seed, size)
    planted: dict[str, Any] = {"distinct": 0, "exact_copies": 0, "near_copies": 0, "truncated": [], "corrupt": [],
                               "non_image": [], "modes": {}, "files": 0}
    special_modes = ["L", "CMYK", "RGBA"] if modes else []
    for ci, c in enumerate(DATASET1_CLASSES):
        files: list[tuple[str, bytes]] = []
        prefix = MENDELEY_PREFIX[c]
        for i, page in enumerate(pages[c][:n_per_class]):
            mode = "RGB"
            if special_modes and i == n_per_class - 1 and ci < len(special_modes):
                mode = special_modes[ci]
                planted["modes"][mode] = planted["modes"].get(mode, 0) + 1
            ext = ".png" if mode == "RGBA" else ".jpg"
            files.append((f"{prefix}({i + 1}){ext}", _jpeg(page, quality, mode)))
        planted["distinct"] += len(files)
        for k in range(exact_copies):
            src_name, data = files[k % n_per_class]
            files.append((f"{prefix}({n_per_class + k + 1}){Path(src_name).suffix}", data))
            planted["exact_copies"] += 1
        for k in range(near_copies):
            files.append((f"{prefix}({n_per_class + exact_copies + k + 1}).jpg", _jpeg(pages[c][k % n_per_class], 60)))
            planted["near_copies"] += 1
        extra: list[tuple[str, bytes]] = []
        if corrupt and ci == 0:
            good = _jpeg(pages[c][0], 90)
            extra.append((f"{prefix}(999).jpg", good[: len(good) // 3]))
            extra.append((f"{prefix}(998).jpg", b"\xff\xd8 this is not really a JPEG" * 20))
            extra.append(("notes.txt", b"not an image"))
        for j, (name, data) in enumerate(files + extra):
            if layout == "mendeley":
                folder = root / next(k for k, v in MENDELEY_FOLDERS.items() if v == c)
            else:
                folder = root / ("train" if j % 2 == 0 else "test") / KAGGLE_NAMES[c]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
            if name.endswith("(999).jpg"):
                planted["truncated"].append(str(folder / name))
            elif name.endswith("(998).jpg"):
                planted["corrupt"].append(str(folder / name))
            elif name == "notes.txt":
                planted["non_image"].append(str(folder / name))
            else:
                planted["files"] += 1
    return planted


# ------------------------------------------------------------------------------------------
# PTB-XL
# ------------------------------------------------------------------------------------------

#: A subset of the official ``scp_statements.csv`` rows (the columns the loader reads).
SCP_ROWS: list[dict[str, Any]] = [
    {"code": "NORM", "diagnostic": 1.0, "diagnostic_class": "NORM"},
    {"code": "IMI", "diagnostic": 1.0, "diagnostic_class": "MI"},
    {"code": "ASMI", "diagnostic": 1.0, "diagnostic_class": "MI"},
    {"code": "NDT", "diagnostic": 1.0, "diagnostic_class": "STTC"},
    {"code": "ISC_", "diagnostic": 1.0, "diagnostic_class": "STTC"},
    {"code": "CLBBB", "diagnostic": 1.0, "diagnostic_class": "CD"},
    {"code": "IRBBB", "diagnostic": 1.0, "diagnostic_class": "CD"},
    {"code": "LVH", "diagnostic": 1.0, "diagnostic_class": "HYP"},
    {"code": "SR", "diagnostic": None, "diagnostic_class": None},
    {"code": "LVOLT", "diagnostic": None, "diagnostic_class": None},
]

_CODE_FOR = {"NORM": "NORM", "MI": "IMI", "STTC": "NDT", "CD": "CLBBB", "HYP": "LVH"}


def write_mini_ptbxl(
    root: str | Path,
    n_per_class: int = 2,
    *,
    sampling_rate: int = 100,
    defects: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Write a PTB-XL 1.0.3-format tree with ``wfdb.wrsamp``; return what was planted.

    Records: ``n_per_class`` single-superclass records per class (codes with likelihood 0
    count too, as in the official aggregation), one multi-superclass record, one without a
    diagnostic code. With ``defects``: one record with NaN samples, one flat-line record and
    one whose ``.dat`` is missing. Folds cycle through 1-10.
    """
    # One pass on purpose (about 70 lines), as write_image_tree: each record's defect is
    # written and counted in the same place as its CSV row.
    import wfdb

    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    folder = "records100" if sampling_rate == 100 else "records500"
    suffix = "lr" if sampling_rate == 100 else "hr"
    rows = []
    planted: dict[str, Any] = {"single": {}, "multi": 0, "none": 0, "nan": [], "flat": [], "missing": []}
    specs: list[tuple[str, dict[str, float]]] = []
    for c in S.LABEL_SETS["ptbxl"]:
        for i in range(n_per_class):
            # the second record of a class lists its code with likelihood 0: it still counts
            specs.append((c, {_CODE_FOR[c]: 0.0 if i == 1 else 100.0, "SR": 0.0}))
            planted["single"][c] = planted["single"].get(c, 0) + 1
    specs.append(("MI", {"IMI": 100.0, "LVH": 50.0}))
    planted["multi"] += 1
    specs.append(("NORM", {"SR": 0.0, "LVOLT": 0.0}))
    planted["none"] += 1
    defect_kinds = ["nan", "flat", "missing"] if defects else []
    for kind in defect_kinds:
        specs.append(("NORM", {"NORM": 100.0}))
        planted["single"]["NORM"] = planted["single"].get("NORM", 0) + 1
    for k, (c, codes) in enumerate(specs):
        ecg_id = k + 1
        sig, _ = S.generate("ptbxl", c, S.record_rng(seed, 0, k), 0.2, fs=sampling_rate)
        sig = sig.T.astype(np.float64)  # T x 12
        kind = defect_kinds[k - (len(specs) - len(defect_kinds))] if k >= len(specs) - len(defect_kinds) else None
        if kind == "nan":
            sig[100:200, 3] = np.nan
        if kind == "flat":
            sig[:] = 0.0
        sub = root / folder / f"{(ecg_id // 1000) * 1000:05d}"
        sub.mkdir(parents=True, exist_ok=True)
        name = f"{ecg_id:05d}_{suffix}"
        wfdb.wrsamp(name, fs=sampling_rate, units=["mV"] * 12, sig_name=[lead.upper() if lead.startswith("aV") else lead for lead in LEADS],
                    p_signal=sig, fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(sub))
        rel = f"{folder}/{sub.name}/{name}"
        if kind == "missing":
            (sub / f"{name}.dat").unlink()
        if kind:
            planted[kind].append(rel)
        rows.append({
            "ecg_id": ecg_id,
            "patient_id": 1000 + k // 2,
            "scp_codes": repr(codes),
            "strat_fold": k % 10 + 1,
            "filename_lr": f"records100/{sub.name}/{ecg_id:05d}_lr",
            "filename_hr": f"records500/{sub.name}/{ecg_id:05d}_hr",
        })
    pd.DataFrame(rows).to_csv(root / "ptbxl_database.csv", index=False)
    pd.DataFrame(SCP_ROWS).rename(columns={"code": ""}).to_csv(root / "scp_statements.csv", index=False)
    planted["n_records"] = len(rows)
    return planted


def copy_subset(src: str | Path, dst: str | Path, per_folder: int, patterns: Sequence[str] = ("*.jpg", "*.png")) -> Path:
    """Copy the first ``per_folder`` images of every class folder (for quick demos on real data)."""
    src, dst = Path(src), Path(dst)
    for folder in sorted(p for p in src.rglob("*") if p.is_dir()):
        files = sorted(f for pat in patterns for f in folder.glob(pat))[:per_folder]
        for f in files:
            out = dst / f.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, out)
    return dst


__all__ = ["KAGGLE_NAMES", "SCP_ROWS", "copy_subset", "synthetic_pages", "write_image_tree", "write_mini_ptbxl"]
