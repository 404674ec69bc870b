"""One dataset interface for synthetic pages, real page folders (Dataset I / II) and PTB-XL.

Every dataset is a torch ``Dataset`` with ``ds[i] -> (image float32 3 x H x W in [0, 1],
label int, id str)`` and the attributes ``classes``, ``labels``, ``ids``, ``groups``
(duplicate-cluster id per item, so grouped CV can keep copies together), ``skipped``
(a :class:`~simcardionet_lite.errors.SkipReport`: nothing is dropped silently), ``transform``
and ``images_uint8()`` (all pages, N x H x W x 3, from the cache).

Why everything goes through the page cache: a page is rendered (synthetic, PTB-XL) or decoded
and resized (JPEG folders) once per configuration; every later chapter and fold reads the
uint8 array from disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from tqdm import tqdm

from simcardionet_lite.config import DATASET1_CLASSES, PTBXL_CLASSES, DataConfig
from simcardionet_lite.data.cache import PageCache, cache_key
from simcardionet_lite.ecg import render as R
from simcardionet_lite.ecg import synth as S
from simcardionet_lite.errors import DataError, SkipReport

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
DATA_VERSION = "data-v1"  # bump when page preparation changes

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


def _norm_name(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower())


def _as_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg) if is_dataclass(cfg) else dict(cfg)


# ------------------------------------------------------------------------------------------
# Page preparation (shared by datasets and predict)
# ------------------------------------------------------------------------------------------


def prepare_page(
    page: np.ndarray,
    cfg: DataConfig | Mapping[str, Any] | None = None,
    *,
    image_size: tuple[int, int] | None = None,
    crop_header_footer: bool | None = None,
    style: str | None = None,
    grayscale: bool | None = None,
) -> np.ndarray:
    """A page (uint8 H x W x 3, any size) as the model sees it: resized (area), optionally
    with header/footer masked and converted to grey (3 equal channels). Keyword arguments
    override the fields of ``cfg``."""
    d = _as_dict(cfg) if cfg is not None else {}
    size = tuple(image_size or d.get("image_size", (96, 128)))
    crop = bool(d.get("crop_header_footer", False) if crop_header_footer is None else crop_header_footer)
    style = style or d.get("style", "mendeley")
    gray = bool(d.get("grayscale", False) if grayscale is None else grayscale)
    img = np.asarray(page)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"page must be H x W x 3 uint8, got shape {img.shape}")
    if img.shape[:2] != size:
        interp = cv2.INTER_AREA if img.shape[0] >= size[0] else cv2.INTER_LINEAR
        img = cv2.resize(img, (size[1], size[0]), interpolation=interp)
    if crop:
        img = R.crop_header_footer(img, style, mode="mask")
    if gray:
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        img = np.repeat(g[..., None], 3, axis=2)
    return np.ascontiguousarray(img, dtype=np.uint8)


# ------------------------------------------------------------------------------------------
# Base
# ------------------------------------------------------------------------------------------


class PageDataset(torch.utils.data.Dataset):
    """Pages held as one uint8 array (usually a memory-mapped cache entry)."""

    classes: tuple[str, ...]
    labels: np.ndarray
    ids: list[str]
    groups: np.ndarray
    skipped: SkipReport

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.transform = transform
        self.skipped = SkipReport()
        self._images: np.ndarray = np.zeros((0, 1, 1, 3), np.uint8)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, str]:
        img = torch.from_numpy(np.array(self._images[i], dtype=np.uint8)).permute(2, 0, 1).float().div_(255.0)
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.labels[i]), self.ids[i]

    def images_uint8(self) -> np.ndarray:
        """All pages, N x H x W x 3 uint8: a writable in-memory copy of the cached array."""
        return np.array(self._images, dtype=np.uint8, copy=True)

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self._images.shape[1:3])  # type: ignore[return-value]

    def class_counts(self) -> dict[str, int]:
        """Items per class."""
        return {c: int((self.labels == k).sum()) for k, c in enumerate(self.classes)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, classes={self.classes}, size={self.image_size}, {self.skipped.summary()})"


def _groups_from_keys(keys: Sequence[str]) -> np.ndarray:
    """Cluster ids (0..K-1, in order of first appearance) of equal keys."""
    seen: dict[str, int] = {}
    return np.asarray([seen.setdefault(k, len(seen)) for k in keys], dtype=np.int64)


# ------------------------------------------------------------------------------------------
# Synthetic
# ------------------------------------------------------------------------------------------


class SyntheticECG(PageDataset):
    """Seeded synthetic report pages (the offline default of every chapter).

    Record ``i`` of class ``k`` is generated from ``rng = np.random.default_rng([seed, k, i])``,
    so any subset is reproducible on its own. ``duplicate_fraction`` (ours) makes that share of
    each class an exact copy of another page of the class, which mimics Dataset I, where 437
    of 928 files are byte-identical copies; ``groups`` then holds the copy clusters.
    """

    def __init__(
        self,
        style: str = "mendeley",
        label_set: str = "dataset1",
        n_per_class: int = 40,
        seed: int = 0,
        difficulty: float = 0.5,
        image_size: tuple[int, int] = (96, 128),
        crop_header_footer: bool = False,
        cache_dir: str | os.PathLike | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        *,
        classes: Sequence[str] | None = None,
        fs: int | None = None,
        duplicate_fraction: float = 0.0,
        grayscale: bool = False,
        progress: bool = False,
    ) -> None:
        super().__init__(transform)
        R.get_style(style)
        if label_set not in S.LABEL_SETS:
            raise KeyError(f"unknown label_set {label_set!r}; choose one of {sorted(S.LABEL_SETS)}")
        all_classes = S.LABEL_SETS[label_set]
        self.classes = tuple(classes) if classes is not None else all_classes
        unknown = [c for c in self.classes if c not in all_classes]
        if unknown:
            raise KeyError(f"classes {unknown} are not in label_set {label_set!r} {all_classes}")
        if n_per_class < 1:
            raise ValueError("n_per_class must be >= 1")
        if not 0.0 <= duplicate_fraction < 1.0:
            raise ValueError("duplicate_fraction must be in [0, 1)")
        self.style, self.label_set, self.seed, self.difficulty = style, label_set, int(seed), float(difficulty)
        self.n_per_class = int(n_per_class)
        self.size = (int(image_size[0]), int(image_size[1]))
        self.crop = bool(crop_header_footer)
        self.grayscale = bool(grayscale)
        # ours: 250 Hz is more than a small page can show; 500 Hz (PTB-XL's rate) for large pages
        self.fs = int(fs or (500 if self.size[1] >= 512 else 250))
        # which earlier record each record copies (itself if unique), per class
        n_dup = int(round(duplicate_fraction * self.n_per_class))
        rs = np.random.default_rng([self.seed, 99991])
        src: list[int] = []
        labels: list[int] = []
        ids: list[str] = []
        self._cls_index: list[int] = []
        for k, c in enumerate(self.classes):
            ci = all_classes.index(c)
            n_unique = self.n_per_class - n_dup
            base = len(src)
            for i in range(self.n_per_class):
                j = i if i < n_unique else int(rs.integers(0, n_unique))
                src.append(base + j)
                labels.append(k)
                ids.append(f"syn-{label_set}-{style}-{c}-s{self.seed}-{i:05d}")
                self._cls_index.append(ci)
        self._src = np.asarray(src)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.ids = ids
        self.groups = _groups_from_keys([str(s) for s in self._src])
        self.spec = {
            "kind": "synthetic",
            "versions": [S.GENERATOR_VERSION, R.RENDERER_VERSION, DATA_VERSION],
            "style": style,
            "label_set": label_set,
            "classes": list(self.classes),
            "n_per_class": self.n_per_class,
            "seed": self.seed,
            "difficulty": self.difficulty,
            "size": list(self.size),
            "crop": self.crop,
            "grayscale": self.grayscale,
            "fs": self.fs,
            "duplicate_fraction": float(duplicate_fraction),
        }
        cache = PageCache(cache_dir)
        self.cache = cache
        self._progress = progress
        self._meta_cache: dict[int, dict[str, Any]] = {}
        self._images = cache.get_or_create(self.spec, self._build)
        self.hr = np.asarray(cache.get_or_create({**self.spec, "what": "hr"}, self._build_hr), dtype=np.float64)

    def _record_index(self, i: int) -> tuple[int, int]:
        """(label-set class index, within-class index) of the record that item ``i`` shows."""
        s = int(self._src[i])
        return self._cls_index[s], s % self.n_per_class

    def signal(self, i: int) -> tuple[np.ndarray, dict[str, Any]]:
        """The 12-lead signal and ground-truth meta behind page ``i`` (regenerated, exact)."""
        ci, j = self._record_index(i)
        cls = S.LABEL_SETS[self.label_set][ci]
        sig, meta = S.generate(self.label_set, cls, S.record_rng(self.seed, ci, j), self.difficulty, fs=self.fs)
        return sig, meta

    def _render_one(self, i: int) -> np.ndarray:
        ci, j = self._record_index(i)
        sig, meta = self.signal(i)
        header = {"hr": meta["hr"], "id": f"{168000 + 1000 * ci + j}"}
        page = R.render(sig, self.fs, self.style, self.size, rng=np.random.default_rng([self.seed, ci, j, 7]), header=header)
        self._meta_cache[i] = meta
        return prepare_page(page, image_size=self.size, crop_header_footer=self.crop, style=self.style, grayscale=self.grayscale)

    def _build(self) -> np.ndarray:
        n = len(self.labels)
        out = np.empty((n, *self.size, 3), np.uint8)
        done: dict[int, int] = {}
        for i in tqdm(range(n), desc=f"render {self.style} pages", disable=not self._progress, leave=False):
            s = int(self._src[i])
            if s in done:
                out[i] = out[done[s]]
            else:
                out[i] = self._render_one(i)
                done[s] = i
        return out

    def _build_hr(self) -> np.ndarray:
        return np.asarray([self._meta_cache[i]["hr"] if i in self._meta_cache else self.signal(i)[1]["hr"]
                           for i in range(len(self.labels))], dtype=np.float64)


# ------------------------------------------------------------------------------------------
# Image folders (Dataset I, Dataset II)
# ------------------------------------------------------------------------------------------


def _match_class(name: str, class_map: Mapping[str, str]) -> str | None:
    if name in class_map:
        return class_map[name]
    lowered = {_norm_name(k): v for k, v in class_map.items()}
    return lowered.get(_norm_name(name))


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

    def scan(folder: Path, split: str) -> None:
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
        expected = sorted(set(cmap)) if class_map is not None else sorted(
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

    if layout == "mendeley":
        scan(root, "all")
    else:
        want = tuple(splits) if splits is not None else KAGGLE_SPLITS
        present = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
        missing = [s for s in want if s.lower() not in present]
        if missing:
            raise DataError(
                f"kaggle layout needs split folders {list(want)}; missing {missing}, found {sorted(p for p in present)}",
                path=root, fix="point root at the folder holding train/ and test/, or use layout='mendeley' for a flat class-folder tree")
        for s in want:
            scan(present[s.lower()], s.lower())
    return items, skipped


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_image(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """Decode one image file as RGB uint8; returns ``(array, original mode)``.

    Grayscale, palette, RGBA and CMYK files are converted to RGB (the caller records it);
    truncated or corrupt files raise :class:`DataError` naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()  # decodes fully: a truncated JPEG fails here, not later
            mode = im.mode
            if mode == "RGBA" or (mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                rgb = Image.alpha_composite(bg, rgba).convert("RGB")
            else:
                rgb = im.convert("RGB")
            return np.asarray(rgb, dtype=np.uint8), mode
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot decode image ({type(exc).__name__}: {exc})", path=path,
                        fix="re-download or re-export the file; truncated or corrupt files are skipped") from exc


class ECGImageFolder(PageDataset):
    """Real report pages in class folders: Dataset I (``mendeley``) or Dataset II (``kaggle``).

    ``groups`` are exact-duplicate clusters (SHA-256 of the file bytes), so grouped CV keeps
    copies together; near-duplicates are the audit's job (:mod:`simcardionet_lite.data.audit`).
    Decoded and resized pages are cached by the files' hashes, size and crop.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        layout: str = "mendeley",
        class_map: Mapping[str, str] | None = None,
        image_size: tuple[int, int] = (96, 128),
        crop_header_footer: bool = False,
        cache_dir: str | os.PathLike | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        *,
        style: str = "mendeley",
        splits: Sequence[str] | None = None,
        classes: Sequence[str] = DATASET1_CLASSES,
        grayscale: bool = False,
        progress: bool = False,
    ) -> None:
        super().__init__(transform)
        self.root = Path(root)
        self.layout = layout
        self.classes = tuple(classes)
        self.size = (int(image_size[0]), int(image_size[1]))
        items, self.skipped = discover_images(self.root, layout, class_map, self.classes, splits)
        shas = [_sha256(p) for p, _, _ in tqdm(items, desc="hash files", disable=not progress, leave=False)]
        spec = {
            "kind": "image_folder",
            "version": DATA_VERSION,
            "files": hashlib.sha256("".join(shas).encode()).hexdigest(),
            "size": list(self.size),
            "crop": bool(crop_header_footer),
            "style": style,
            "grayscale": bool(grayscale),
        }
        cache = PageCache(cache_dir)
        self.cache = cache
        status: dict[str, Any] = {}

        def build() -> np.ndarray:
            ok = np.zeros(len(items), bool)
            out = np.zeros((len(items), *self.size, 3), np.uint8)
            reasons: dict[int, str] = {}
            modes: dict[str, int] = {}
            for i, (p, _, _) in enumerate(tqdm(items, desc="decode pages", disable=not progress, leave=False)):
                try:
                    arr, mode = load_image(p)
                except DataError as exc:
                    reasons[i] = str(exc).split(" [file:")[0]
                    continue
                if mode != "RGB":
                    modes[mode] = modes.get(mode, 0) + 1
                    log.info("converted %s from %s to RGB", p, mode)
                out[i] = prepare_page(arr, image_size=self.size, crop_header_footer=crop_header_footer,
                                      style=style, grayscale=grayscale)
                ok[i] = True
            status.update(ok=ok, reasons=reasons, modes=modes)
            return out[ok]

        key = cache_key(spec)
        arr, info = cache.get(key), cache.get_meta(key)
        if arr is None or info is None:
            cache.misses += 1
            arr = build()
            info = {"ok": status["ok"].tolist(), "reasons": {str(k): v for k, v in status["reasons"].items()},
                    "modes": status["modes"]}
            cache.put(key, arr)
            cache.put_meta(key, info)
        else:
            cache.hits += 1
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
        self.groups = _groups_from_keys(self.sha256)


# ------------------------------------------------------------------------------------------
# PTB-XL
# ------------------------------------------------------------------------------------------


class PTBXL(PageDataset):
    """PTB-XL records rendered as ``ptbxl``-style pages (diagnostic superclasses).

    ``single_label=True`` keeps the records with exactly one superclass (the usual 5-class
    setting); the others are counted in ``excluded`` (not data errors, so not in ``skipped``).
    ``split`` ("train" | "val" | "test") or ``folds`` selects ``strat_fold`` values (official
    split: 1-8 / 9 / 10). ``groups`` are patients: records of one patient stay together.
    ``highpass_hz`` (ours) removes baseline wander before drawing, as a printing ECG machine does.
    ``multilabel`` is the N x 5 superclass matrix (for macro AUC).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        sampling_rate: int = 100,
        single_label: bool = True,
        image_size: tuple[int, int] = (96, 128),
        folds: Sequence[int] | None = None,
        crop_header_footer: bool = False,
        cache_dir: str | os.PathLike | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        *,
        split: str | None = None,
        style: str = "ptbxl",
        highpass_hz: float | None = 0.5,
        max_records: int | None = None,
        grayscale: bool = False,
        progress: bool = False,
    ) -> None:
        from simcardionet_lite.data import ptbxl as P

        super().__init__(transform)
        if sampling_rate not in (100, 500):
            raise DataError(f"sampling_rate must be 100 or 500 (PTB-XL's two versions), got {sampling_rate}",
                            fix="use 100 (records100/, filename_lr) or 500 (records500/, filename_hr)")
        self.root = Path(root)
        self.classes = PTBXL_CLASSES
        self.size = (int(image_size[0]), int(image_size[1]))
        df = P.load_ptbxl_metadata(self.root)
        if split is not None:
            if split not in P.OFFICIAL_SPLIT:
                raise ValueError(f"split must be one of {sorted(P.OFFICIAL_SPLIT)}, got {split!r}")
            folds = P.OFFICIAL_SPLIT[split]
        if folds is not None:
            df = df[df["strat_fold"].isin(list(folds))]
        n_sup = df["superclasses"].apply(len)
        self.excluded: dict[str, int] = {"no diagnostic superclass": int((n_sup == 0).sum())}
        if single_label:
            self.excluded["more than one superclass"] = int((n_sup > 1).sum())
            df = df[n_sup == 1]
        else:
            df = df[n_sup >= 1]
        if max_records is not None:
            df = df.iloc[: int(max_records)]
        log.info("PTB-XL %s: %d records; excluded %s", self.root, len(df), self.excluded)
        col = "filename_lr" if sampling_rate == 100 else "filename_hr"
        files = df[col].tolist()
        stats = []
        for f in files:
            hea = self.root / f"{f}.hea"
            dat = self.root / f"{f}.dat"
            stats.append(f"{f}:{hea.stat().st_size if hea.is_file() else -1}:{dat.stat().st_size if dat.is_file() else -1}")
        spec = {
            "kind": "ptbxl",
            "versions": [R.RENDERER_VERSION, DATA_VERSION],
            "files": hashlib.sha256("|".join(stats).encode()).hexdigest(),
            "fs": sampling_rate,
            "highpass_hz": highpass_hz,
            "size": list(self.size),
            "style": style,
            "crop": bool(crop_header_footer),
            "grayscale": bool(grayscale),
        }
        cache = PageCache(cache_dir)
        self.cache = cache
        key = cache_key(spec)
        arr, info = cache.get(key), cache.get_meta(key)
        reasons: dict[int, str] = {}
        if arr is None or info is None:
            cache.misses += 1
            out = np.zeros((len(files), *self.size, 3), np.uint8)
            ok = np.zeros(len(files), bool)
            for i, f in enumerate(tqdm(files, desc="render PTB-XL", disable=not progress, leave=False)):
                try:
                    sig = P.read_record(self.root, f, sampling_rate)
                except FileNotFoundError as exc:
                    reasons[i] = f"{exc}"
                    continue
                if not np.isfinite(sig).all():
                    reasons[i] = "NaN or inf in the signal"
                    continue
                if float(np.nanmax(np.ptp(sig, axis=1))) < 1e-3:
                    reasons[i] = "flat-line signal (all leads constant)"
                    continue
                if highpass_hz:
                    sig = P.remove_baseline(sig, sampling_rate, highpass_hz)
                page = R.render(sig, sampling_rate, style, self.size)
                out[i] = prepare_page(page, image_size=self.size, crop_header_footer=crop_header_footer, style=style,
                                      grayscale=grayscale)
                ok[i] = True
            arr = out[ok]
            info = {"ok": ok.tolist(), "reasons": {str(k): v for k, v in reasons.items()}}
            if ok.any():  # an all-missing tree is an error below, not a cache entry
                cache.put(key, arr)
                cache.put_meta(key, info)
        else:
            cache.hits += 1
        ok = np.asarray(info["ok"], bool)
        reasons = {int(k): v for k, v in info["reasons"].items()}
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
        self.multilabel = P.multilabel_matrix(self.superclasses)
        self.labels = np.asarray([PTBXL_CLASSES.index(s[0]) for s in self.superclasses], dtype=np.int64)
        self.groups = _groups_from_keys([str(p) for p in kept["patient_id"]])
        self.patient_id = kept["patient_id"].to_numpy()


# ------------------------------------------------------------------------------------------
# Factory
# ------------------------------------------------------------------------------------------


def build_dataset(cfg: DataConfig, **kw: Any) -> PageDataset:
    """The dataset ``cfg.source`` describes; keyword arguments override or extend it.

    ``synthetic`` needs no files; ``dataset1`` / ``kaggle`` / ``ptbxl`` read ``cfg.root``.
    ``seed`` (synthetic only) defaults to 0.
    """
    src = kw.pop("source", cfg.source)
    root = kw.pop("root", cfg.root)
    common = {
        "image_size": tuple(kw.pop("image_size", cfg.image_size)),
        "crop_header_footer": kw.pop("crop_header_footer", cfg.crop_header_footer),
        "cache_dir": kw.pop("cache_dir", cfg.cache_dir),
        "grayscale": kw.pop("grayscale", cfg.grayscale),
    }
    if src == "synthetic":
        return SyntheticECG(
            style=kw.pop("style", cfg.style),
            label_set=kw.pop("label_set", cfg.label_set),
            n_per_class=kw.pop("n_per_class", cfg.n_per_class),
            seed=kw.pop("seed", 0),
            difficulty=kw.pop("difficulty", cfg.difficulty),
            duplicate_fraction=kw.pop("duplicate_fraction", getattr(cfg, "duplicate_fraction", 0.0)),
            **common,
            **kw,
        )
    if root is None:
        raise DataError(f"data.source={src!r} needs data.root (the dataset folder)",
                        fix="set data_root in the chapter's parameters, or data.source='synthetic'")
    if src in ("dataset1", "kaggle"):
        layout = kw.pop("layout", "mendeley" if src == "dataset1" else "kaggle")
        return ECGImageFolder(root, layout=layout, **common, **kw)
    if src == "ptbxl":
        return PTBXL(root, sampling_rate=kw.pop("sampling_rate", cfg.sampling_rate), **common, **kw)
    raise KeyError(f"unknown data.source {src!r}; choose synthetic, dataset1, kaggle or ptbxl")


__all__ = [
    "ECGImageFolder",
    "IMAGE_EXTENSIONS",
    "KAGGLE_FOLDERS",
    "MENDELEY_FOLDERS",
    "PTBXL",
    "PageDataset",
    "SyntheticECG",
    "build_dataset",
    "discover_images",
    "load_image",
    "prepare_page",
]
