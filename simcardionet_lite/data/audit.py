"""Leakage audit: file manifest, exact and near duplicates, and cross-validation splits.

Why: Dataset I holds 928 files but only 491 distinct images (437 byte-identical copies, all
within their class), and the Kaggle re-upload (Dataset II) holds the same pictures re-encoded.
A file-level random split then puts copies of a test image into training, and an "external"
test set may be the training set. This module measures that before any accuracy is read:

* :func:`build_manifest`: path, class, split, size, mode, SHA-256 and a 64-bit perceptual hash
  (pHash) per file; unreadable files stay in the manifest with their error.
* :func:`duplicate_groups`: clusters of exact copies (same SHA-256), optionally merged with
  near-copies (page-hash Hamming distance <= k), which survive re-encoding and resizing.
  The page hash (ours, :func:`page_hash`) replaces the 64-bit pHash for near-copies because
  pHash cannot tell two report pages apart (their shared layout dominates it).
* :func:`audit_report`: counts within a class, across classes and across two datasets.
The cross-validation protocols that use these clusters as groups (and count the test files
with a copy in training) live in :mod:`simcardionet_lite.experiments.protocols`.

CLI: ``python -m simcardionet_lite audit ROOT --layout mendeley --out manifest.csv
[--against OTHER --layout-against kaggle] [--hamming K]``; a folder holding ``ptbxl_database.csv``
gets the PTB-XL records audit of :mod:`simcardionet_lite.data.ptbxl_audit` instead.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from simcardionet_lite.config import DATASET1_CLASSES
from simcardionet_lite.errors import DataError, check_writable

log = logging.getLogger(__name__)

PAGE_HASH_BITS = 1024  # ours
# ours: of 1024 page-hash bits. Measured on real Dataset I pages: re-encoding (JPEG q75, same
# size) moves a page by <= 21 bits, resizing 737 -> 400 px plus q60 by <= 49; the closest two
# *different* pages (two patients) are 48 bits apart, all other distinct pairs > 60.
DEFAULT_HAMMING = 32
_FP_SHAPE = (48, 96)  # fingerprint grid (rows, cols)


@functools.lru_cache(maxsize=1)
def _projection() -> np.ndarray:
    # a fixed random projection (SimHash); the seed is part of the hash definition
    return np.random.default_rng(20260125).standard_normal((PAGE_HASH_BITS, _FP_SHAPE[0] * _FP_SHAPE[1])).astype(np.float32)


def page_fingerprint(rgb: np.ndarray) -> np.ndarray:
    """Unit-norm, mean-free ink map of a page at 48 x 96 (what near-copies share).

    Ink = 255 - the darkest channel, so pale grids of any colour fade and the black trace
    and text remain; a light blur and area resizing make it robust to re-encoding and resizing.
    """
    img = np.asarray(rgb)
    if img.ndim == 2:
        dark = img
    else:
        dark = np.minimum(np.minimum(img[..., 0], img[..., 1]), img[..., 2])  # faster than min(axis=2)
    ink = 255.0 - dark.astype(np.float32)
    ink = cv2.resize(ink, (2 * _FP_SHAPE[1], 2 * _FP_SHAPE[0]), interpolation=cv2.INTER_AREA)
    ink = cv2.GaussianBlur(ink, (0, 0), 1.0)
    v = cv2.resize(ink, (_FP_SHAPE[1], _FP_SHAPE[0]), interpolation=cv2.INTER_AREA).ravel()
    v = v - v.mean()
    return v / (np.linalg.norm(v) + 1e-6)


def page_hash(rgb: np.ndarray) -> np.ndarray:
    """1024-bit page hash (SimHash of :func:`page_fingerprint`; bool array).

    Why not pHash: a 64-bit pHash of a whole report page is dominated by the shared layout
    (header, grid, label positions); on Dataset I distinct pages lie 0-6 bits apart, so it
    cannot tell copies from different patients. The Hamming distance of this hash tracks the
    angle between ink maps: re-encoded or resized copies stay within ~40 bits, distinct
    pages of Dataset I are more than ~70 bits apart.
    """
    return (_projection() @ page_fingerprint(rgb)) > 0


def page_hashes(images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """Page hashes of many pages, ``N x 1024`` bool."""
    return np.stack([page_hash(im) for im in images]) if len(images) else np.zeros((0, PAGE_HASH_BITS), bool)


def _to_hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def _hash_file(path: Path) -> tuple[str, str, int, int, str]:
    """(page-hash hex, pHash hex, width, height, mode) of one image file (:class:`DataError` if unreadable).

    Pixels come from :func:`~simcardionet_lite.data.images.load_image`, every dataset's reader: full
    decode, upright, transparency on white (a reduced JPEG draft decode put a full-size original
    25-58 bits from its own downscaled copy). Width and height are the decoded, upright page's.
    """
    import imagehash
    from PIL import Image

    from simcardionet_lite.data.images import load_image

    rgb, mode = load_image(path)
    h, w = rgb.shape[:2]
    ph = imagehash.phash(Image.fromarray(rgb).convert("L"))
    return _to_hex(page_hash(rgb)), str(ph), w, h, mode


def build_manifest(
    root: str | os.PathLike,
    layout: str = "mendeley",
    class_map: Mapping[str, str] | None = None,
    *,
    splits: Sequence[str] | None = None,
    classes: Sequence[str] = DATASET1_CLASSES,
    phash: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per file: ``path`` (relative to root), ``class``, ``split``, ``bytes``,
    ``width``, ``height``, ``mode``, ``sha256``, ``page_hash`` (1024-bit :func:`page_hash`,
    hex), ``phash`` (standard 64-bit pHash, hex, for reference) and ``error`` (empty when the
    image decodes). Non-image files are logged and left out."""
    from simcardionet_lite.data.images import discover_images, error_reason

    root = Path(root)
    items, skipped = discover_images(root, layout, class_map, classes, splits)
    if len(skipped):
        log.warning("audit %s: %s", root, skipped.summary())
    rows = []
    for p, c, s in tqdm(items, desc="audit files", disable=not progress, leave=False):
        data = p.read_bytes()
        row: dict[str, Any] = {
            "path": os.path.relpath(p, root),
            "class": c,
            "split": s,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "width": -1,
            "height": -1,
            "mode": "",
            "page_hash": "",
            "phash": "",
            "error": "",
        }
        if phash:
            try:
                row["page_hash"], row["phash"], row["width"], row["height"], row["mode"] = _hash_file(p)
            except DataError as exc:
                row["error"] = error_reason(exc)
                log.warning("audit: cannot decode %s (%s)", p, row["error"])
        rows.append(row)
    cols = ["path", "class", "split", "bytes", "width", "height", "mode", "sha256", "page_hash", "phash", "error"]
    return pd.DataFrame(rows, columns=cols).fillna("")


def _bits(hexes: Sequence[str] | np.ndarray) -> np.ndarray:
    """N x B bool bits of hex hashes (or a bool array, returned as is); empty hashes: all False."""
    if isinstance(hexes, np.ndarray) and hexes.dtype == bool:
        return hexes
    lengths = {len(h) for h in hexes if isinstance(h, str) and h}
    nbits = 4 * (max(lengths) if lengths else 16)
    out = np.zeros((len(hexes), nbits), bool)
    for i, h in enumerate(hexes):
        if isinstance(h, str) and h:
            out[i] = np.unpackbits(np.frombuffer(bytes.fromhex(h), np.uint8)).astype(bool)
    return out


def hamming_matrix(a: Sequence[str] | np.ndarray, b: Sequence[str] | np.ndarray | None = None) -> np.ndarray:
    """Pairwise Hamming distances between two lists of hex hashes (or bool bit arrays)."""
    A = _bits(a).astype(np.float32)
    B = A if b is None else _bits(b).astype(np.float32)
    same = A @ B.T + (1 - A) @ (1 - B).T
    return np.rint(A.shape[1] - same).astype(np.int64)


def duplicate_groups(
    manifest: pd.DataFrame | Sequence[str], hamming: int | None = None
) -> np.ndarray:
    """Cluster id per file: exact copies (same SHA-256) share an id; with ``hamming=k`` files
    whose pHashes differ in at most ``k`` bits are merged too (union-find, so transitive).
    Ids are 0..K-1 in order of first appearance; a unique file gets its own id.
    Near-duplicates use the ``page_hash`` column (see :func:`page_hash`)."""
    if isinstance(manifest, pd.DataFrame):
        keys = manifest["sha256"].tolist()
        hashes = manifest["page_hash"].tolist() if "page_hash" in manifest else None
    else:
        keys, hashes = list(manifest), None
    n = len(keys)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k in first:
            union(first[k], i)
        else:
            first[k] = i
    if hamming is not None:
        if hashes is None:
            raise ValueError("near-duplicate grouping needs a manifest with a 'page_hash' column")
        valid = np.asarray([isinstance(h, str) and bool(h) for h in hashes])
        idx = np.flatnonzero(valid)
        if idx.size:
            d = hamming_matrix([hashes[i] for i in idx])
            ii, jj = np.nonzero(np.triu(d <= hamming, 1))
            for a, b in zip(idx[ii], idx[jj]):
                union(int(a), int(b))
    roots = [find(i) for i in range(n)]
    ids: dict[int, int] = {}
    return np.asarray([ids.setdefault(r, len(ids)) for r in roots], dtype=np.int64)


def _cluster_stats(groups: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    df = pd.DataFrame({"g": groups, "c": list(classes)})
    per = df.groupby("g")["c"].agg(["size", "nunique"])
    multi = per[per["size"] > 1]
    return {
        "clusters": int(len(per)),
        "clusters_with_copies": int(len(multi)),
        "files_in_clusters_with_copies": int(multi["size"].sum()),
        "clusters_across_classes": int((multi["nunique"] > 1).sum()),
        "files_in_clusters_across_classes": int(multi.loc[multi["nunique"] > 1, "size"].sum()),
    }


def nearest_distinct(manifest: pd.DataFrame) -> dict[str, dict[str, float]]:
    """For each hash (``page_hash``, ``phash``): the distance of every distinct image to its nearest
    *other* distinct image (byte-identical copies merged first), as min / 5th percentile / median / max.

    Why: a hash separates copies from distinct pages only if distinct pages are far apart; on
    report pages a 64-bit pHash is not (they share their layout), which this measures.
    """
    u = manifest[(manifest["error"] == "") if "error" in manifest else slice(None)].drop_duplicates("sha256")
    out: dict[str, dict[str, float]] = {}
    for col, bits in (("page_hash", PAGE_HASH_BITS), ("phash", 64)):
        if col not in u or len(u) < 2 or (u[col] == "").any():
            continue
        d = hamming_matrix(u[col].tolist())
        np.fill_diagonal(d, bits + 1)
        nn = d.min(axis=1)
        out[col] = {"bits": bits, "n": int(len(u)), "min": float(nn.min()), "p5": float(np.percentile(nn, 5)),
                    "median": float(np.median(nn)), "max": float(nn.max())}
    return out


def audit_report(
    manifest: pd.DataFrame, other: pd.DataFrame | None = None, hamming: int = DEFAULT_HAMMING
) -> dict[str, Any]:
    """What the audit found, as a JSON-ready dict.

    ``exact``: unique images and byte-identical copies (total, per class, across classes);
    ``near``: the same with pHash distance <= ``hamming`` merged in; ``against`` (when
    ``other`` is given): how many of the other dataset's files are exact or near copies of a
    file here, per class of the other dataset, and whether the classes agree.
    """
    m = manifest.reset_index(drop=True)
    exact = duplicate_groups(m)
    n = len(m)
    per_class = {
        str(c): {"files": int(len(g)), "unique": int(len(set(g["sha256"])))} for c, g in m.groupby("class", sort=False)
    }
    out: dict[str, Any] = {
        "n_files": n,
        "n_unreadable": int((m["error"] != "").sum()) if "error" in m else 0,
        "exact": {
            "unique": int(len(set(m["sha256"]))),
            "duplicates": int(n - len(set(m["sha256"]))),
            "per_class": per_class,
            **_cluster_stats(exact, m["class"]),
        },
        "hamming": hamming,
    }
    if "page_hash" in m and (m["page_hash"] != "").any():
        near = duplicate_groups(m, hamming=hamming)
        out["near"] = {"unique": int(len(set(near))), "duplicates": int(n - len(set(near))), **_cluster_stats(near, m["class"])}
        out["nearest_distinct"] = nearest_distinct(m)
    if other is not None:
        out["against"] = _against(m, other.reset_index(drop=True), hamming)
    return out


def _against(m: pd.DataFrame, o: pd.DataFrame, hamming: int) -> dict[str, Any]:
    """How many files of ``o`` are exact or near copies of a file of ``m`` (see :func:`audit_report`)."""
    sha_class: dict[str, set[str]] = {}
    for s, c in zip(m["sha256"], m["class"]):
        sha_class.setdefault(s, set()).add(c)
    ex = np.asarray([s in sha_class for s in o["sha256"]])
    ex_same = np.asarray([s in sha_class and c in sha_class[s] for s, c in zip(o["sha256"], o["class"])])
    res: dict[str, Any] = {
        "n_files": int(len(o)),
        "exact_matches": int(ex.sum()),
        "exact_matches_same_class": int(ex_same.sum()),
    }
    if "page_hash" in o and (o["page_hash"] != "").any() and (m["page_hash"] != "").any():
        d = hamming_matrix(o["page_hash"].tolist(), m["page_hash"].tolist())
        big = PAGE_HASH_BITS + 1
        d[~(o["page_hash"] != "").to_numpy()] = big
        d[:, ~(m["page_hash"] != "").to_numpy()] = big
        nearest = d.min(axis=1)
        near_mask = nearest <= hamming
        arg = d.argmin(axis=1)
        same = np.asarray(m["class"])[arg] == np.asarray(o["class"])
        res.update(
            near_matches=int(near_mask.sum()),
            near_matches_same_class=int((near_mask & same).sum()),
            nearest_distance=nearest.tolist(),
            per_class={
                str(c): {"files": int((o["class"] == c).sum()), "near_matches": int(near_mask[(o["class"] == c).to_numpy()].sum())}
                for c in pd.unique(o["class"])
            },
        )
        if "split" in o:
            res["per_split"] = {
                str(s): {"files": int((o["split"] == s).sum()), "near_matches": int(near_mask[(o["split"] == s).to_numpy()].sum())}
                for s in pd.unique(o["split"])
            }
    return res


# ------------------------------------------------------------------------------------------
# Checksums against the published release
# ------------------------------------------------------------------------------------------

EXPECTED_DATASET1 = "data/dataset1_manifest_expected.csv"  # relative to the repository root


def expected_manifest_path() -> Path | None:
    """The committed checksum list of Dataset I v2 (path, class, sha256, bytes, width, height
    of the 928 published files), or None when the package runs outside its repository."""
    p = Path(__file__).resolve().parents[2] / EXPECTED_DATASET1
    return p if p.is_file() else None


def _partition(keys: Sequence[str]) -> set[frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, set()).add(i)
    return {frozenset(g) for g in groups.values()}


def verify_manifest(manifest: pd.DataFrame, expected: pd.DataFrame | str | os.PathLike) -> dict[str, Any]:
    """Compare a dataset's manifest with the published checksums (matched by relative path).

    Reports missing and extra files, class disagreements, how many files are byte-identical to
    the published ones, and whether the *duplicate structure* (which files are copies of which)
    is the published one; a re-encoded or resized copy of the dataset fails the checksums but
    keeps the structure, which is what the leakage analysis depends on.
    """
    exp = pd.read_csv(expected) if not isinstance(expected, pd.DataFrame) else expected
    mine = manifest.set_index("path")
    ref = exp.set_index("path")
    common = sorted(set(mine.index) & set(ref.index))
    missing = sorted(set(ref.index) - set(mine.index))
    extra = sorted(set(mine.index) - set(ref.index))
    same_sha = int((mine.loc[common, "sha256"].to_numpy() == ref.loc[common, "sha256"].to_numpy()).sum()) if common else 0
    class_diff = [p for p in common if mine.at[p, "class"] != ref.at[p, "class"]]
    structure = _partition(mine.loc[common, "sha256"].tolist()) == _partition(ref.loc[common, "sha256"].tolist())
    return {
        "n_expected": int(len(ref)),
        "n_found": int(len(mine)),
        "missing": missing,
        "extra": extra,
        "class_mismatch": class_diff,
        "identical_to_published": same_sha,
        "duplicate_structure_as_published": bool(structure),
    }


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def summary_lines(rep: Mapping[str, Any]) -> list[str]:
    ex = rep["exact"]
    lines = [
        f"files: {rep['n_files']} (unreadable: {rep['n_unreadable']})",
        f"exact: {ex['unique']} unique, {ex['duplicates']} byte-identical duplicates; "
        f"{ex['clusters_with_copies']} clusters with copies, {ex['clusters_across_classes']} across classes",
    ]
    for c, v in ex["per_class"].items():
        lines.append(f"  {c}: {v['unique']} unique of {v['files']}")
    if "near" in rep:
        nr = rep["near"]
        lines.append(f"near (page-hash Hamming <= {rep['hamming']} of {PAGE_HASH_BITS}): {nr['unique']} clusters, {nr['duplicates']} near-duplicates, "
                     f"{nr['clusters_across_classes']} clusters across classes")
    for col, d in (rep.get("nearest_distinct") or {}).items():
        lines.append(f"nearest distinct image by {col} ({d['bits']} bits): min {d['min']:.0f}, 5th percentile "
                     f"{d['p5']:.0f}, median {d['median']:.0f}, max {d['max']:.0f} bits")
    if "against" in rep:
        a = rep["against"]
        lines.append(f"against other dataset: {a['n_files']} files, {a['exact_matches']} exact copies "
                     f"({a['exact_matches_same_class']} same class)" + (
                         f", {a['near_matches']} near copies ({a['near_matches_same_class']} same class)" if "near_matches" in a else ""))
    if "verify" in rep:
        v = rep["verify"]
        lines.append(f"verify: {v['n_found']} files vs {v['n_expected']} published; {len(v['missing'])} missing, "
                     f"{len(v['extra'])} extra, {len(v['class_mismatch'])} in another class; "
                     f"{v['identical_to_published']} byte-identical to the published files; duplicate structure "
                     f"{'as published' if v['duplicate_structure_as_published'] else 'DIFFERS from the published one'}")
    return lines


def _parse_class_map(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"--class-map is not valid JSON ({exc})", fix='pass e.g. \'{"Normal": "NORM"}\'') from exc
    return {str(k): str(v) for k, v in d.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """``simcardionet-lite audit``: write the manifest, print the duplicate report."""
    ap = argparse.ArgumentParser(prog="simcardionet-lite audit", description=__doc__.split("\n\n")[0])
    ap.add_argument("root", help="dataset folder (class folders, train/ and test/ for --layout kaggle, or a PTB-XL "
                    "folder holding ptbxl_database.csv)")
    ap.add_argument("--layout", choices=("mendeley", "kaggle", "ptbxl"), default="mendeley",
                    help="a folder holding ptbxl_database.csv is audited as PTB-XL (records, patients, folds, signals)")
    ap.add_argument("--sampling-rate", type=int, default=100, help="PTB-XL: records100/ (100) or records500/ (500)")
    ap.add_argument("--class-map", default=None, help='JSON {folder name: class}, e.g. \'{"Normal": "NORM"}\'')
    ap.add_argument("--out", default=None, help="manifest CSV to write (default: print only)")
    ap.add_argument("--against", default=None, help="a second dataset to compare with (e.g. Dataset II)")
    ap.add_argument("--layout-against", choices=("mendeley", "kaggle"), default="kaggle")
    ap.add_argument("--hamming", type=int, default=DEFAULT_HAMMING, help=f"near-duplicate page-hash distance (bits of {PAGE_HASH_BITS})")
    ap.add_argument("--json", default=None, help="write the report as JSON here")
    ap.add_argument("--verify", nargs="?", const="", default=None, metavar="CSV",
                    help="compare with published checksums (default: the committed Dataset I list)")
    args = ap.parse_args(list(argv) if argv is not None else None)
    try:
        for option, target in (("--out", args.out), ("--json", args.json)):
            if target:
                check_writable(target, option)  # before the work, not after it
        from simcardionet_lite.data.ptbxl_audit import is_ptbxl_root, run_cli

        if args.layout == "ptbxl" or (args.layout == "mendeley" and is_ptbxl_root(args.root)):
            return run_cli(args)
        cmap = _parse_class_map(args.class_map)
        man = build_manifest(args.root, args.layout, cmap)
        other = build_manifest(args.against, args.layout_against) if args.against else None
    except DataError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    rep = audit_report(man, other, hamming=args.hamming)
    if args.verify is not None:
        ref = args.verify or expected_manifest_path()
        if ref is None:
            sys.stderr.write(f"error: no checksum list found; pass --verify {EXPECTED_DATASET1}\n")
            return 2
        rep["verify"] = verify_manifest(man, ref)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        man.to_csv(args.out, index=False)
        if other is not None:
            other.to_csv(Path(args.out).with_name(Path(args.out).stem + "_against.csv"), index=False)
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=2))
    sys.stdout.write("\n".join(summary_lines(rep)) + "\n")
    return 0


__all__ = [
    "DEFAULT_HAMMING",
    "PAGE_HASH_BITS",
    "page_fingerprint",
    "page_hash",
    "page_hashes",
    "audit_report",
    "build_manifest",
    "duplicate_groups",
    "expected_manifest_path",
    "hamming_matrix",
    "summary_lines",
    "main",
    "verify_manifest",
]
