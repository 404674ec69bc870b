"""The constructed Dataset II stand-in: Dataset I re-uploaded the way the Kaggle copy was made.

Why: the paper's "external" Kaggle test set is, as far as we can tell, a re-upload of Dataset I
(the same pictures re-encoded, renamed and re-split). Where that download is not at hand,
this stand-in rebuilds the same situation from a Dataset I folder, so the chapter can show
what an "out-of-distribution" score on it measures. It is clearly constructed (ours) and its
results record what it was built from.

Pixels are read through :func:`~simcardionet_lite.data.images.load_image`, the reader of every
other dataset, so a stand-in page is Dataset I's page re-encoded and nothing else.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from simcardionet_lite.data.images import discover_images, error_reason, load_image
from simcardionet_lite.errors import DataError

log = logging.getLogger(__name__)

#: Kaggle-style class-folder names the stand-in writes (the loader's KAGGLE_FOLDERS know them)
KAGGLE_CLASS_FOLDERS: dict[str, str] = {
    "MI": "Myocardial Infarction Patients",
    "PMI": "History of MI",
    "AHB": "Abnormal Heartbeat",
    "NORM": "Normal",
}
COMPLETE_MARKER = ".complete"


def _split_plan(items: list[tuple[Path, str, str]], test_fraction: float, seed: int) -> list[tuple[Path, str, str]]:
    """Stratified file-level split ``[(path, class, "train" | "test")]``: each class keeps at
    least one file on each side, and copies of one page may land on both (as an uploader's would)."""
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[Path]] = {}
    for path, cls, _split in items:
        by_class.setdefault(cls, []).append(path)
    plan: list[tuple[Path, str, str]] = []
    for cls, paths in by_class.items():
        order = rng.permutation(len(paths))
        n_test = min(len(paths) - 1, max(1, int(round(test_fraction * len(paths)))))
        for rank, j in enumerate(order):
            plan.append((paths[j], cls, "test" if rank < n_test else "train"))
    return plan


def _write_pages(src: Path, dst: Path, plan: list[tuple[Path, str, str]],
                 quality: int) -> tuple[dict[tuple[str, str], int], dict[str, str]]:
    """Re-encode and rename the planned files into ``dst/<split>/<Kaggle class folder>/``;
    returns the files written per (split, class) and the unreadable files left out."""
    from PIL import Image

    counters: dict[tuple[str, str], int] = {}
    skipped: dict[str, str] = {}
    for path, cls, split in plan:
        try:
            arr, _mode = load_image(path)
        except DataError as exc:
            skipped[os.path.relpath(path, src)] = error_reason(exc)
            continue
        folder = dst / split / KAGGLE_CLASS_FOLDERS.get(cls, cls)
        folder.mkdir(parents=True, exist_ok=True)
        n = counters.get((split, cls), 0) + 1
        counters[(split, cls)] = n
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
        (folder / f"{cls.lower()}_{n:04d}.jpg").write_bytes(buf.getvalue())
    return counters, skipped


def build_kaggle_standin(
    dataset1_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    quality: int = 75,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> Path:
    """Build the constructed Dataset II stand-in from a Dataset I root (ours; clearly constructed).

    Made the way the Kaggle re-upload (``evilspirit05/ecg-analysis``) was: the same Dataset I
    images, re-encoded as JPEG at another ``quality``, renamed, and re-split into ``train/`` and
    ``test/`` folders whose class folders carry other names. The split is random at file level
    (stratified by class), as an uploader's would be, so copies of one page can land in both.
    Files that cannot be decoded are left out and listed in the marker file. Idempotent: an
    existing complete build (its ``.complete`` marker) is reused; a build is written to a
    temporary folder and renamed into place, so an interrupted one is never taken as complete.
    Returns the stand-in's root (holding ``train/`` and ``test/``).
    """
    src, out = Path(dataset1_root), Path(out_dir)
    if (out / COMPLETE_MARKER).exists():
        return out
    if not src.is_dir():
        raise DataError("Dataset I root not found", path=src, fix="point dataset1_root at the Mendeley folder")
    items, _ = discover_images(src, layout="mendeley")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    counters, skipped = _write_pages(src, tmp, _split_plan(items, test_fraction, seed), quality)
    if skipped:
        log.warning("stand-in from %s: %d unreadable files left out", src, len(skipped))
    (tmp / COMPLETE_MARKER).write_text(json.dumps({
        "source": str(src), "quality": quality, "seed": seed, "test_fraction": test_fraction,
        "counts": {f"{k[0]}/{k[1]}": v for k, v in counters.items()}, "skipped": skipped,
    }))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        if (out / COMPLETE_MARKER).exists():  # another process finished first: keep its build
            shutil.rmtree(tmp)
            return out
        shutil.rmtree(out)  # a build interrupted before this marker existed
    try:
        os.replace(tmp, out)
    except OSError:
        if not (out / COMPLETE_MARKER).exists():
            raise
        shutil.rmtree(tmp)  # another process renamed its complete build into place meanwhile
    return out


__all__ = ["COMPLETE_MARKER", "KAGGLE_CLASS_FOLDERS", "build_kaggle_standin"]
