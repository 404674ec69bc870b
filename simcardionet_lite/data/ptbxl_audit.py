"""PTB-XL audit: which records of a PTB-XL tree the loader can read, and what the readable ones hold.

Why: before a run, a user pointing the package at their PTB-XL copy should learn how many records
the dataset will skip and why, and whether the tree is the published one: records per diagnostic
superclass and per ``strat_fold``, patients (the official folds keep each patient in one fold),
and records whose signal file is a byte-identical copy of another's. The checks are the loader's
own (:func:`~simcardionet_lite.data.ptbxl.load_ptbxl_metadata`'s row checks,
:func:`~simcardionet_lite.data.ptbxl.read_record`, :func:`~simcardionet_lite.data.ptbxl.signal_problem`),
so a record the audit calls unreadable is one the dataset skips, with the same reason. No page is
drawn: the audit of the 988-record sample takes seconds.

CLI: ``simcardionet-lite audit PTBXL_ROOT [--sampling-rate 100] [--out records.csv] [--json report.json]``;
the ``audit`` command takes this path for a folder holding ``ptbxl_database.csv`` (or ``--layout ptbxl``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from simcardionet_lite.config import PTBXL_CLASSES
from simcardionet_lite.errors import DataError

COLUMNS = ["record", "ecg_id", "patient_id", "strat_fold", "superclasses", "bytes", "sha256", "error"]


def is_ptbxl_root(root: str | Path) -> bool:
    """Whether ``root`` is a PTB-XL top folder (it holds ``ptbxl_database.csv``)."""
    return (Path(root) / "ptbxl_database.csv").is_file()


def _record_error(root: Path, filename: str, sampling_rate: int) -> str:
    """The dataset's skip reason for one listed record ("" when it would be drawn)."""
    from simcardionet_lite.data.images import error_reason
    from simcardionet_lite.data.ptbxl import read_record, signal_problem

    try:
        sig = read_record(root, filename, sampling_rate)
    except FileNotFoundError as exc:
        return str(exc)
    except DataError as exc:
        return error_reason(exc)
    return signal_problem(sig, sampling_rate) or ""


def ptbxl_manifest(root: str | Path, sampling_rate: int = 100, progress: bool = False) -> pd.DataFrame:
    """One row per row of ``ptbxl_database.csv``: ``record`` (the record's file name, or the CSV row
    for a malformed row, as the dataset's skip report names them), ``ecg_id``, ``patient_id``,
    ``strat_fold``, ``superclasses`` (``|``-joined), ``bytes`` and ``sha256`` of the ``.dat`` file
    (-1 and "" when missing) and ``error`` (the skip reason; empty when the record is readable)."""
    from simcardionet_lite.data.images import file_sha256
    from simcardionet_lite.data.ptbxl import load_ptbxl_metadata

    if sampling_rate not in (100, 500):
        raise DataError(f"sampling_rate must be 100 or 500 (PTB-XL's two versions), got {sampling_rate}",
                        fix="use 100 (records100/, filename_lr) or 500 (records500/, filename_hr)")
    root = Path(root)
    meta = load_ptbxl_metadata(root)
    rows: list[dict[str, Any]] = [
        {"record": f"ptbxl_database.csv ({row})", "ecg_id": None, "patient_id": None, "strat_fold": None,
         "superclasses": "", "bytes": -1, "sha256": "", "error": reason}
        for row, reason in meta.attrs.get("malformed_rows", [])
    ]
    col = "filename_lr" if sampling_rate == 100 else "filename_hr"
    for ecg_id, r in tqdm(meta.iterrows(), total=len(meta), desc="audit PTB-XL", disable=not progress, leave=False):
        dat = root / f"{r[col]}.dat"
        rows.append({"record": r[col], "ecg_id": int(ecg_id), "patient_id": r["patient_id"],
                     "strat_fold": int(r["strat_fold"]), "superclasses": "|".join(r["superclasses"]),
                     "bytes": dat.stat().st_size if dat.is_file() else -1,
                     "sha256": file_sha256(dat) if dat.is_file() else "",
                     "error": _record_error(root, r[col], sampling_rate)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _duplicates(man: pd.DataFrame) -> dict[str, Any]:
    """Records sharing the exact ``.dat`` bytes: clusters, and whether they cross patients, folds or labels."""
    have = man[man["sha256"] != ""]
    clusters = [g for _, g in have.groupby("sha256", sort=False) if len(g) > 1]
    return {
        "unique_signals": int(have["sha256"].nunique()),
        "duplicates": int(len(have) - have["sha256"].nunique()),
        "clusters_with_copies": len(clusters),
        "clusters_across_patients": sum(g["patient_id"].nunique(dropna=False) > 1 for g in clusters),
        "clusters_across_folds": sum(g["strat_fold"].nunique(dropna=False) > 1 for g in clusters),
        "clusters_across_labels": sum(g["superclasses"].nunique() > 1 for g in clusters),
        "clusters": [g["record"].tolist() for g in clusters],
    }


def ptbxl_report(man: pd.DataFrame) -> dict[str, Any]:
    """What the PTB-XL audit found, as a JSON-ready dict (see :func:`ptbxl_summary_lines`).

    Class, patient and fold counts are over the readable records (what the dataset draws), with the
    records listed per fold alongside; ``single_label`` is the usual 5-class setting."""
    ok = man[man["error"] == ""]
    listed = man[man["ecg_id"].notna()]
    supers = ok["superclasses"].map(lambda s: s.split("|") if s else [])
    n_sup = supers.map(len)
    per_patient = ok.groupby("patient_id")
    return {
        "source": "ptbxl",
        "n_records": int(len(man)),
        "n_readable": int(len(ok)),
        "n_unreadable": int(len(man) - len(ok)),
        "unreadable_reasons": dict(Counter(man.loc[man["error"] != "", "error"])),
        "unreadable": man.loc[man["error"] != "", ["record", "error"]].to_dict("records"),
        "classes": {c: {"single_label": int(((n_sup == 1) & supers.map(lambda s, c=c: c in s)).sum()),
                        "any_label": int(supers.map(lambda s, c=c: c in s).sum())} for c in PTBXL_CLASSES},
        "no_superclass": int((n_sup == 0).sum()),
        "more_than_one_superclass": int((n_sup > 1).sum()),
        "patients": {"n": int(ok["patient_id"].nunique()),
                     "max_records_per_patient": int(per_patient.size().max()) if len(ok) else 0,
                     "in_more_than_one_fold": int((per_patient["strat_fold"].nunique() > 1).sum())},
        "folds": {str(int(f)): {"records": int((listed["strat_fold"] == f).sum()),
                                "readable": int((ok["strat_fold"] == f).sum()),
                                "patients": int(ok.loc[ok["strat_fold"] == f, "patient_id"].nunique())}
                  for f in sorted(listed["strat_fold"].dropna().unique())},
        "exact": _duplicates(man),
    }


def ptbxl_summary_lines(rep: Mapping[str, Any]) -> list[str]:
    """The printed report of :func:`ptbxl_report`."""
    lines = [f"PTB-XL records: {rep['n_records']} listed, {rep['n_readable']} readable, "
             f"{rep['n_unreadable']} unreadable"]
    lines += [f"  unreadable: {n} x {why}" for why, n in sorted(rep["unreadable_reasons"].items())]
    cls = rep["classes"]
    lines.append("single-superclass records: " + ", ".join(f"{c} {v['single_label']}" for c, v in cls.items())
                 + f"; more than one superclass: {rep['more_than_one_superclass']}; no diagnostic superclass: "
                 f"{rep['no_superclass']}")
    p = rep["patients"]
    lines.append(f"patients: {p['n']} (at most {p['max_records_per_patient']} records each; "
                 f"{p['in_more_than_one_fold']} in more than one strat_fold)")
    lines.append("records per strat_fold: " + ", ".join(
        f"{f}: {v['readable']}" + (f" of {v['records']}" if v["records"] != v["readable"] else "")
        for f, v in rep["folds"].items()))
    ex = rep["exact"]
    lines.append(f"exact duplicate signals (same .dat bytes): {ex['duplicates']} in {ex['clusters_with_copies']} "
                 "clusters "
                 f"({ex['clusters_across_patients']} across patients, {ex['clusters_across_folds']} across folds, "
                 f"{ex['clusters_across_labels']} across labels)")
    return lines


def run_cli(args: argparse.Namespace) -> int:
    """The ``audit`` command on a PTB-XL folder (``args`` from :func:`simcardionet_lite.data.audit.main`;
    the outputs were checked writable there). Raises :class:`DataError` for what it cannot audit."""
    for option, value in (("--against", args.against), ("--verify", args.verify), ("--class-map", args.class_map)):
        if value is not None:
            raise DataError(f"{option} applies to image folders, not to a PTB-XL folder", path=args.root,
                            fix=f"leave out {option}")
    man = ptbxl_manifest(args.root, args.sampling_rate)
    rep = ptbxl_report(man)
    if args.out:
        man.to_csv(args.out, index=False)
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=2))
    sys.stdout.write("\n".join(ptbxl_summary_lines(rep)) + "\n")
    return 0


__all__ = ["is_ptbxl_root", "ptbxl_manifest", "ptbxl_report", "ptbxl_summary_lines", "run_cli"]
