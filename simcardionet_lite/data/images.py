"""Image files: class-folder discovery, the one image reader, and the image-folder dataset.

Why one reader: the training pages, the audit's page hashes, the Dataset II stand-in and
``predict`` must see the same pixels for the same file. Two readers that disagree (a reduced
JPEG draft here, a saturating 16-bit conversion there, a phone photo read sideways) make a
page sit far from its own copy, or a prediction differ from the evaluated model. So every
pixel of an image file goes through :func:`load_image`: a full decode, EXIF orientation
applied, transparency composited onto white paper, 16-bit scaled (not clipped) to 8 bits.

Why content hashes: a dataset is identified by the SHA-256 of its files' bytes (its
``fingerprint``), so the page cache and any result that names it change when a file's
content changes, even if its name and size do not.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from simcardionet_lite.config import DATASET1_CLASSES
from simcardionet_lite.data.cache import PageCache, cache_key
from simcardionet_lite.data.pages import DATA_VERSION, PageDataset, Transform, groups_from_keys, prepare_page
from simcardionet_lite.errors import DataError, SkipReport

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
# decode-v2: full decode with EXIF orientation, 16-bit scaling and white alpha compositing;
# decode-v3: images that cannot be a page (check_page_size) are skipped and reported
IMAGE_DECODE_VERSION = "decode-v3"

# Dataset I (Mendeley, Khan & Hussain, v2): the published folder names.
MENDELEY_FOLDERS: dict[str, str] = {
    "ECG Images of Myocardial Infarction Patients (240x12=2880)": "MI",
    "ECG Images of Patient that have History of MI (172x12=2064)": "PMI",
    "ECG Images of Patient that have abnormal heartbeat (233x12=2796)": "AHB",
    "Normal Person ECG Images (284x12=3408)": "NORM",
}
# Dataset II (Kaggle re-uploads): class-folder names seen across mirrors (matched case- and
# space-insensitively). Extend with ``class_map=`` for another mirror.
KAGGLE_FOLDERS: dict[str, str] = {
    "abnormal heartbeat": "AHB",
    "abnormal heartbeats": "AHB",
    "patient that have abnormal heartbeat": "AHB",
    "history of mi": "PMI",
    "history of myocardial infarction": "PMI",
    "patient that have history of mi": "PMI",
    "myocardial infarction": "MI",
    "myocardial infarction patient": "MI",
    "myocardial infarction patients": "MI",
    "normal": "NORM",
    "normal person": "NORM",
    "normal person ecg images": "NORM",
}
KAGGLE_SPLITS = ("train", "test")


# ------------------------------------------------------------------------------------------
# Discovery
# ------------------------------------------------------------------------------------------


def _norm_name(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower())


def _match_class(name: str, class_map: Mapping[str, str]) -> str | None:
    if name in class_map:
        return class_map[name]
    lowered = {_norm_name(k): v for k, v in class_map.items()}
    return lowered.get(_norm_name(name))


def _scan_class_folders(folder: Path, split: str, layout: str, cmap: Mapping[str, str], explicit_map: bool,
                        classes: Sequence[str], items: list[tuple[Path, str, str]], skipped: SkipReport) -> None:
    """Append the images of one ``<class folder>/`` level to ``items`` (see :func:`discover_images`)."""
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    found: dict[str, Path] = {}
    unknown: list[str] = []
    for d in subdirs:
        c = _match_class(d.name, cmap)
        if c is None:
            unknown.append(d.name)
        elif c in found:
            raise DataError(f"two folders map to class {c}: {found[c].name!r} and {d.name!r}", path=folder,
                            fix="keep one folder per class or pass an explicit class_map")
        else:
            found[c] = d
    expected = sorted(set(cmap)) if explicit_map else sorted(
        MENDELEY_FOLDERS if layout == "mendeley" else {k.title() for k in KAGGLE_FOLDERS})
    if unknown or not found:
        raise DataError(
            f"folder layout does not match layout={layout!r}: found folders {[d.name for d in subdirs]}, "
            f"unknown {unknown}; expected class folders such as {expected}",
            path=folder,
            fix="check the root and layout, or pass class_map={folder name: class} "
            + ("(the kaggle layout needs root/train/<class>/ and root/test/<class>/)" if layout == "kaggle" else ""),
        )
    for c in classes:
        if c not in found:
            raise DataError(f"no folder for class {c} (found {[d.name for d in subdirs]})", path=folder,
                            fix=f"add the class folder or pass class_map; expected one of {expected}")
    for c in classes:
        files = sorted(p for p in found[c].rglob("*") if p.is_file() and not p.name.startswith("."))
        n_img = 0
        for p in files:
            if p.suffix.lower() in IMAGE_EXTENSIONS:
                items.append((p, c, split))
                n_img += 1
            else:
                skipped.add(p, f"not an image file ({p.suffix or 'no extension'})")
        if n_img == 0:
            raise DataError(f"class folder for {c} holds no images", path=found[c],
                            fix=f"put the {c} images ({', '.join(IMAGE_EXTENSIONS)}) into this folder")


def discover_images(
    root: str | os.PathLike,
    layout: str = "mendeley",
    class_map: Mapping[str, str] | None = None,
    classes: Sequence[str] = DATASET1_CLASSES,
    splits: Sequence[str] | None = None,
) -> tuple[list[tuple[Path, str, str]], SkipReport]:
    """Files of a class-folder tree: ``[(path, class, split)]`` plus the non-image skips.

    Layouts: ``mendeley`` = ``root/<class folder>/*.jpg`` (split ``"all"``); ``kaggle`` =
    ``root/<split>/<class folder>/*.jpg`` for ``splits`` (default train and test). An
    unknown class folder, a missing split or an empty class raises :class:`DataError` listing
    what was expected and what was found.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError("dataset root folder not found", path=root,
                        fix="pass the folder that holds the class folders (or train/ and test/ for the kaggle layout)")
    if layout not in ("mendeley", "kaggle"):
        raise ValueError(f"layout must be 'mendeley' or 'kaggle', got {layout!r}")
    cmap = dict(class_map) if class_map is not None else dict(MENDELEY_FOLDERS if layout == "mendeley" else KAGGLE_FOLDERS)
    if layout == "mendeley" and class_map is None:
        cmap.update(KAGGLE_FOLDERS)  # tolerate shortened names; the published ones come first
    bad = sorted({v for v in cmap.values() if v not in classes})
    if bad:
        raise ValueError(f"class_map maps to unknown classes {bad}; classes are {tuple(classes)}")
    skipped = SkipReport()
    items: list[tuple[Path, str, str]] = []
    if layout == "mendeley":
        _scan_class_folders(root, "all", layout, cmap, class_map is not None, classes, items, skipped)
        return items, skipped
    want = tuple(splits) if splits is not None else KAGGLE_SPLITS
    present = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    missing = [s for s in want if s.lower() not in present]
    if missing:
        raise DataError(
            f"kaggle layout needs split folders {list(want)}; missing {missing}, found {sorted(p for p in present)}",
            path=root, fix="point root at the folder holding train/ and test/, or use layout='mendeley' for a flat class-folder tree")
    for s in want:
        _scan_class_folders(present[s.lower()], s.lower(), layout, cmap, class_map is not None, classes, items, skipped)
    return items, skipped


# ------------------------------------------------------------------------------------------
# Content hashes
# ------------------------------------------------------------------------------------------

# (path, size, mtime_ns, ctime_ns, inode) -> sha256. Entries are only kept for files last
# changed more than _SETTLED_S before they were hashed ("racy git" rule): a file rewritten
# within one timestamp tick of its hash could otherwise keep a stale entry.
_SHA_MEMO: dict[tuple[str, int, int, int, int], str] = {}
_SHA_LOCK = threading.Lock()
_SETTLED_S = 2.0


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex of a file's bytes (memoised per process for files that have settled)."""
    p = os.fspath(path)
    st = os.stat(p)
    key = (os.path.abspath(p), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    with _SHA_LOCK:
        hit = _SHA_MEMO.get(key)
    if hit is not None:
        return hit
    started = time.time_ns()
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    if started - max(st.st_mtime_ns, st.st_ctime_ns) > _SETTLED_S * 1e9:
        with _SHA_LOCK:
            _SHA_MEMO[key] = digest
    return digest


def files_fingerprint(root: str | os.PathLike, paths: Sequence[str | os.PathLike], shas: Sequence[str]) -> str:
    """SHA-256 hex over the sorted ``(path relative to root, sha256 of its bytes)`` pairs."""
    rows = sorted((Path(os.path.relpath(p, root)).as_posix(), s) for p, s in zip(paths, shas))
    h = hashlib.sha256()
    for rel, s in rows:
        h.update(f"{rel}\0{s}\n".encode())
    return h.hexdigest()


def folder_fingerprint(root: str | os.PathLike, layout: str = "mendeley", class_map: Mapping[str, str] | None = None,
                       classes: Sequence[str] = DATASET1_CLASSES, splits: Sequence[str] | None = None) -> str:
    """The ``fingerprint`` an :class:`ECGImageFolder` of this tree would have (no decoding)."""
    items, _ = discover_images(root, layout, class_map, classes, splits)
    return files_fingerprint(root, [p for p, _, _ in items], [file_sha256(p) for p, _, _ in items])


# ------------------------------------------------------------------------------------------
# The one image reader
# ------------------------------------------------------------------------------------------

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


def _high_depth_to_uint8(a: np.ndarray, mode: str) -> np.ndarray:
    """Integer or float pixels of a high-depth grey image as uint8 (never saturated).

    16-bit modes are scaled by 1/257 (65535 -> 255), rounded. Mode ``I`` (32-bit int) holds
    16-bit PNG/TIFF values in older Pillow: values up to 65535 with any above 255 are scaled
    the same way, values within 0..255 are kept; anything else (and mode ``F`` beyond 0..255)
    is stretched from its min..max, as there is no known white point. NaN or infinite values
    raise ``ValueError``.
    """
    with np.errstate(invalid="ignore"):  # a signalling NaN warns when cast; it is refused just below
        x = a.astype(np.float64)
    if not np.isfinite(x).all():  # a damaged float image: no honest grey value exists (load_image refuses it)
        raise ValueError("NaN or infinite pixel values")
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if mode in _SIXTEEN_BIT_MODES or (mode == "I" and lo >= 0 and 255 < hi <= 65535):
        y = x / 257.0
    elif mode == "F" and lo >= 0 and hi <= 1.0:
        y = x * 255.0
    elif lo >= 0 and hi <= 255:
        y = x
    else:
        y = (x - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(x)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def _to_rgb_array(im: Any) -> np.ndarray:
    """A decoded PIL image as uint8 H x W x 3 RGB (alpha onto white, 16-bit scaled)."""
    from PIL import Image

    mode = im.mode
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        g = _high_depth_to_uint8(np.asarray(im), mode)
        return np.repeat(g[..., None], 3, axis=2)
    if "A" in mode or "a" in mode or "transparency" in im.info:
        # RGBA, LA, PA, P or L/RGB with a transparent colour: the page is paper-white underneath
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"), dtype=np.uint8)
    return np.asarray(im if mode == "RGB" else im.convert("RGB"), dtype=np.uint8)


def load_image(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """Decode one image file fully as RGB uint8 ``H x W x 3``; returns ``(array, original mode)``.

    EXIF orientation is applied (a rotated phone photo is read upright). Grayscale, palette,
    CMYK and 1-bit files are converted to RGB; RGBA, LA and palette-with-transparency are
    composited onto white paper; 16-bit images are scaled to 8 bits (value / 257, rounded), not
    saturated. Missing, truncated, corrupt or non-image files raise :class:`DataError` naming
    the file and what to do.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataError("image not found", path=path, fix="check the path of the ECG image")
    try:
        with Image.open(path) as im:
            im.load()  # decodes fully: a truncated JPEG fails here, not later
            mode = im.mode
            try:
                upright = ImageOps.exif_transpose(im)
            except Exception as exc:  # a damaged EXIF block must not make the pixels unreadable
                log.warning("%s: EXIF orientation unreadable (%s); read as stored", path, exc)
                upright = im
            return np.ascontiguousarray(_to_rgb_array(upright if upright is not None else im)), mode
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot decode image ({type(exc).__name__}: {exc})", path=path,
                        fix="re-download or re-export the file as JPEG or PNG; truncated or corrupt files are skipped "
                        "by the dataset loaders") from exc


MIN_PAGE_SIDE = 64  # ours: pixels; no 12-lead page (12 panels and a rhythm strip) fits in less
MAX_PAGE_ASPECT = 4.0  # ours: a page (landscape or portrait, photographed or scanned) is at most 4:1


def check_page_size(shape: Sequence[int], path: str | Path) -> None:
    """Refuse an image that cannot be an ECG page: under ``MIN_PAGE_SIDE`` px a side or more
    elongated than ``MAX_PAGE_ASPECT`` (a 1 x 1 image read as a blank page would be classified)."""
    h, w = int(shape[0]), int(shape[1])
    if min(h, w) < MIN_PAGE_SIDE or max(h, w) > MAX_PAGE_ASPECT * min(h, w):
        raise DataError(f"a {w} x {h} px image cannot be a 12-lead ECG page (at least {MIN_PAGE_SIDE} px a side "
                        f"and at most {MAX_PAGE_ASPECT:g}:1)", path=path,
                        fix="pass a scan or photo of a whole ECG page")


def error_reason(exc: DataError) -> str:
    """A :class:`DataError`'s message without the path and fix (for skip reports and manifests)."""
    return str(exc).split(" [file:")[0]


# ------------------------------------------------------------------------------------------
# Image-folder dataset (Dataset I, Dataset II)
# ------------------------------------------------------------------------------------------


def _decode_pages(items: Sequence[tuple[Path, str, str]], size: tuple[int, int], crop: bool, panels: bool, style: str,
                  grayscale: bool, progress: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """Prepared pages of the readable files and a JSON record ``{ok, reasons, modes}``."""
    ok = np.zeros(len(items), bool)
    out = np.zeros((len(items), *size, 3), np.uint8)
    reasons: dict[str, str] = {}
    modes: dict[str, int] = {}
    for i, (p, _, _) in enumerate(tqdm(items, desc="decode pages", disable=not progress, leave=False)):
        try:
            arr, mode = load_image(p)
            check_page_size(arr.shape, p)
        except DataError as exc:
            reasons[str(i)] = error_reason(exc)
            continue
        if mode != "RGB":
            modes[mode] = modes.get(mode, 0) + 1
            log.info("converted %s from %s to RGB", p, mode)
        out[i] = prepare_page(arr, image_size=size, crop_header_footer=crop, style=style, grayscale=grayscale,
                              panels=panels)
        ok[i] = True
    return out[ok], {"ok": ok.tolist(), "reasons": reasons, "modes": modes}


class ECGImageFolder(PageDataset):
    """Real report pages in class folders: Dataset I (``mendeley``) or Dataset II (``kaggle``).

    ``groups`` are exact-duplicate clusters (SHA-256 of the file bytes), so grouped CV keeps
    copies together; near-duplicates are the audit's job (:mod:`simcardionet_lite.data.audit`).
    ``fingerprint`` hashes the sorted (relative path, SHA-256) pairs of the discovered files;
    decoded and resized pages are cached under a key of the files' content, size and crop.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        layout: str = "mendeley",
        class_map: Mapping[str, str] | None = None,
        image_size: tuple[int, int] = (96, 128),
        crop_header_footer: bool = False,
        cache_dir: str | os.PathLike | None = None,
        transform: Transform | None = None,
        *,
        style: str = "mendeley",
        splits: Sequence[str] | None = None,
        classes: Sequence[str] = DATASET1_CLASSES,
        grayscale: bool = False,
        panels: bool = False,
        progress: bool = False,
    ) -> None:
        super().__init__(transform)
        self.root = Path(root)
        self.layout = layout
        self.source = "dataset1" if layout == "mendeley" else "kaggle"
        self.split_name = ",".join(splits) if splits is not None else None
        self.classes = tuple(classes)
        self.size = (int(image_size[0]), int(image_size[1]))
        items, self.skipped = discover_images(self.root, layout, class_map, self.classes, splits)
        shas = [file_sha256(p) for p, _, _ in tqdm(items, desc="hash files", disable=not progress, leave=False)]
        self.fingerprint = files_fingerprint(self.root, [p for p, _, _ in items], shas)
        ordered = hashlib.sha256("".join(f"{os.path.relpath(p, self.root)}\0{c}\n" for p, c, _ in items).encode())
        spec = {
            "kind": "image_folder",
            "versions": [DATA_VERSION, IMAGE_DECODE_VERSION],
            "fingerprint": self.fingerprint,  # the files' content
            "order": ordered.hexdigest(),  # which file is item i, in which class
            "size": list(self.size),
            "crop": bool(crop_header_footer),
            "style": style,
            "grayscale": bool(grayscale),
            "panels": bool(panels),
        }
        self.cache = PageCache(cache_dir)
        arr, info = self._cached_pages(spec, items, bool(crop_header_footer), bool(panels), style, bool(grayscale),
                                       progress)
        self._finish(items, shas, arr, info)

    def _cached_pages(self, spec: dict[str, Any], items: Sequence[tuple[Path, str, str]], crop: bool, panels: bool,
                      style: str,
                      grayscale: bool, progress: bool) -> tuple[np.ndarray, dict[str, Any]]:
        """The prepared pages and their ``{ok, reasons, modes}`` record, from the cache or decoded."""
        key = cache_key(spec)
        arr, info = self.cache.get(key), self.cache.get_meta(key)
        if arr is not None and info is not None:
            self.cache.hits += 1
            return arr, info
        self.cache.misses += 1
        arr, info = _decode_pages(items, self.size, crop, panels, style, grayscale, progress)
        self.cache.put(key, arr)
        self.cache.put_meta(key, info)
        return arr, info

    def _finish(self, items: Sequence[tuple[Path, str, str]], shas: Sequence[str], arr: np.ndarray,
                info: dict[str, Any]) -> None:
        """Report the skips and conversions and set the per-item attributes of the readable files."""
        ok = np.asarray(info["ok"], bool)
        for k, reason in info.get("reasons", {}).items():
            self.skipped.add(items[int(k)][0], reason)
        #: image modes converted to RGB: {mode: count} (recorded, never silent)
        self.conversions: dict[str, int] = dict(info.get("modes", {}))
        if self.conversions:
            log.info("converted to RGB: %s", self.conversions)
        if len(self.skipped):
            log.warning("%s: %s", self.root, self.skipped.summary())
        kept = [it for it, good in zip(items, ok) if good]
        if not kept:
            raise DataError("no readable images in the dataset", path=self.root, fix="check the files; " + self.skipped.summary())
        self._images = arr
        self.paths = [str(p) for p, _, _ in kept]
        self.split = np.asarray([s for _, _, s in kept])
        self.labels = np.asarray([self.classes.index(c) for _, c, _ in kept], dtype=np.int64)
        self.sha256 = [s for s, good in zip(shas, ok) if good]
        self.ids = [os.path.relpath(p, self.root) for p in self.paths]
        self.groups = groups_from_keys(self.sha256)


__all__ = [
    "ECGImageFolder",
    "IMAGE_DECODE_VERSION",
    "IMAGE_EXTENSIONS",
    "KAGGLE_FOLDERS",
    "KAGGLE_SPLITS",
    "MENDELEY_FOLDERS",
    "discover_images",
    "error_reason",
    "file_sha256",
    "files_fingerprint",
    "folder_fingerprint",
    "load_image",
]
