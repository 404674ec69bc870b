"""Fuzz: seeded random image files and damaged PTB-XL trees (issue #16).

The contract of every loader, for any input: it loads the file correctly, or raises the package's
:class:`DataError` with the file's path in the message, or skips the file and names it in the
dataset's ``skipped`` report. Never another exception type, never a page of a silently wrong shape.
The seeds are fixed, so a failure reproduces; the cases per kind are few enough to keep the file
under ~40 s on two busy cores. The tests at the end pin the bugs these fuzzers found.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from simcardionet_lite.config import DATASET1_CLASSES
from simcardionet_lite.data import ptbxl as P
from simcardionet_lite.data.datasets import PTBXL, ECGImageFolder
from simcardionet_lite.data.images import MENDELEY_FOLDERS, load_image
from simcardionet_lite.errors import DataError

SEED = 16
N_IMAGES = 100  # random image files
N_PTBXL = 50  # damaged PTB-XL trees per kind of file

pytestmark = pytest.mark.filterwarnings("ignore")  # PIL and wfdb warn about the damage they read past

# ------------------------------------------------------------------------------------------
# Damage
# ------------------------------------------------------------------------------------------


def corrupt(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """One random damage: truncate at a random offset, flip 1-8 random bytes, insert 1-4 random
    bytes, or overwrite the first 16 bytes (the magic number and header)."""
    kind = ("truncate", "flip", "insert", "header")[int(rng.integers(4))]
    b = bytearray(data)
    if kind == "truncate":
        return kind, bytes(b[: int(rng.integers(0, len(b)))])
    if kind == "flip":
        for _ in range(int(rng.integers(1, 9))):
            b[int(rng.integers(len(b)))] = int(rng.integers(256))
    elif kind == "insert":
        i = int(rng.integers(len(b) + 1))
        b[i:i] = rng.integers(0, 256, int(rng.integers(1, 5)), dtype=np.uint8).tobytes()
    else:
        b[:16] = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
    return kind, bytes(b)


# ------------------------------------------------------------------------------------------
# Images
# ------------------------------------------------------------------------------------------

# EXIF orientation -> the numpy transform that shows the stored pixels upright (EXIF 2.3, tag 0x0112)
ORIENT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}
MODES = ("RGB", "L", "1", "RGBA", "LA", "P", "P+transparency", "I;16", "CMYK")


def random_image(rng: np.random.Generator) -> tuple[bytes, str, np.ndarray | None]:
    """A random image file: ``(bytes, extension, expected upright RGB pixels or None for a lossy JPEG)``.

    Sizes: half of them page-like (64-240 px a side, at most 4:1), half anything from 1 px; modes
    of :data:`MODES`; lossless formats where the mode allows (PNG, TIFF, BMP), JPEG for RGB/L/CMYK
    at random; an EXIF orientation on a third of the JPEG and PNG files. The expected pixels are
    computed here with numpy, independently of the package's reader.
    """
    if rng.random() < 0.5:
        h = int(rng.integers(64, 241))
        w = int(rng.integers(max(64, h // 4), min(240, 4 * h) + 1))
    else:
        h, w = int(rng.integers(1, 200)), int(rng.integers(1, 200))
    mode = MODES[int(rng.integers(len(MODES)))]
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    if mode == "RGB":
        im, expected = Image.fromarray(rgb), rgb
    elif mode in ("L", "1"):
        grey = rgb[..., 0] if mode == "L" else np.where(rgb[..., 0] > 127, 255, 0).astype(np.uint8)
        im, expected = Image.fromarray(grey).convert(mode), np.repeat(grey[..., None], 3, 2)
    elif mode in ("RGBA", "LA"):
        colour = rgb if mode == "RGBA" else np.repeat(rgb[..., :1], 3, 2)
        src = np.dstack([colour, alpha]) if mode == "RGBA" else np.dstack([rgb[..., 0], alpha])
        im = Image.fromarray(src, mode)
        a = alpha[..., None].astype(np.float64) / 255.0
        expected = np.rint(colour * a + 255.0 * (1 - a)).astype(np.uint8)  # on white paper
    elif mode in ("P", "P+transparency"):
        palette = rng.integers(0, 256, (256, 3), dtype=np.uint8)
        idx = rng.integers(0, 256, (h, w), dtype=np.uint8)
        im = Image.fromarray(idx, "P")
        im.putpalette(palette.ravel().tolist())
        expected = palette[idx]
        if mode == "P+transparency":
            im.info["transparency"] = 0
            expected = np.where((idx == 0)[..., None], 255, expected).astype(np.uint8)
    elif mode == "I;16":
        v = rng.integers(0, 65536, (h, w), dtype=np.uint16)
        im = Image.fromarray(v)
        expected = np.repeat(np.rint(v / 257.0).astype(np.uint8)[..., None], 3, 2)  # scaled, not clipped
    else:  # CMYK: JPEG only, expected from a plain decode below
        im, expected = Image.fromarray(rgb).convert("CMYK"), None
    fmt = {"RGB": "PNG", "L": "BMP", "1": "TIFF", "CMYK": "JPEG", "I;16": "TIFF"}.get(mode, "PNG")
    if mode in ("RGB", "L") and rng.random() < 0.4:
        fmt, expected = "JPEG", None  # lossy: compared with a plain full decode of the file
    kw: dict = {}
    orient = int(rng.integers(1, 9)) if fmt in ("JPEG", "PNG") and rng.random() < 0.33 else 1
    if orient != 1:
        exif = Image.Exif()
        exif[0x0112] = orient
        kw["exif"] = exif
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    data = buf.getvalue()
    if expected is None:
        with Image.open(io.BytesIO(data)) as dec:
            expected = np.asarray(dec.convert("RGB"))
    return data, fmt.lower().replace("jpeg", "jpg"), np.ascontiguousarray(ORIENT[orient](expected))


def _check_loaded_or_refused(path: Path, expected: np.ndarray | None, damage: str | None) -> str:
    """The contract for one file; returns ``"ok"`` or ``"refused"``."""
    try:
        arr, _ = load_image(path)
    except DataError as exc:
        assert str(path) in str(exc), exc
        return "refused"
    # any other exception propagates and fails the test
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
    if damage is None:
        assert arr.shape == expected.shape, (path, arr.shape, expected.shape)
        assert np.abs(arr.astype(int) - expected.astype(int)).max() <= 1, path  # alpha rounding
    elif damage == "truncate":  # only a cut after the last pixel may load, and then unchanged
        assert arr.shape == expected.shape and np.abs(arr.astype(int) - expected.astype(int)).max() <= 1, path
    else:  # the bytes changed, so may the pixels; the shape must be the one the file states
        with Image.open(path) as im:
            w, h = im.size
            try:
                turned = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)
            except Exception:  # noqa: BLE001 - the reader then keeps the stored orientation, as here
                turned = False
        assert arr.shape[:2] == ((w, h) if turned else (h, w)), path
    return "ok"


def test_random_image_files_load_exactly_or_are_refused_with_their_path(tmp_path):
    rng = np.random.default_rng(SEED)
    outcomes: dict[tuple[bool, str], int] = {}
    for i in range(N_IMAGES):
        data, ext, expected = random_image(rng)
        damage = None
        if rng.random() < 0.6:
            damage, data = corrupt(data, rng)
        path = tmp_path / f"page_{i}.{ext}"
        path.write_bytes(data)
        key = (damage is None, _check_loaded_or_refused(path, expected, damage))
        outcomes[key] = outcomes.get(key, 0) + 1
    assert outcomes.get((True, "refused"), 0) == 0  # every intact file loads
    assert outcomes.get((False, "refused"), 0) > 10 and outcomes.get((True, "ok"), 0) > 10  # both paths exercised


def test_image_folder_of_random_damaged_files_keeps_or_reports_every_file(tmp_path):
    """Through the dataset: each file is a page of the configured size or a named skip."""
    rng = np.random.default_rng(SEED + 1)
    folders = {c: next(k for k, v in MENDELEY_FOLDERS.items() if v == c) for c in DATASET1_CLASSES}
    written = []
    for i in range(48):
        data, ext, _ = random_image(rng)
        if rng.random() < 0.5:
            _, data = corrupt(data, rng)
        path = tmp_path / "tree" / folders[DATASET1_CLASSES[i % 4]] / f"p{i}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(str(path))
    ds = ECGImageFolder(tmp_path / "tree", image_size=(32, 48), cache_dir=tmp_path / "cache")
    skipped = [p for p, _ in ds.skipped.skipped]
    assert sorted(ds.paths + skipped) == sorted(written) and len(skipped) > 5 and len(ds) > 5
    assert all(ds[i][0].shape == (3, 32, 48) for i in range(len(ds)))


# ------------------------------------------------------------------------------------------
# PTB-XL trees
# ------------------------------------------------------------------------------------------


def _copy(tree: Path, dst: Path) -> Path:
    shutil.copytree(tree, dst)
    return dst


def _checked_render(sig, fs, style, size, *args, **kwargs):
    """Stand-in for the page renderer (the fuzz is about the loader, and drawing costs time): it
    checks that what the loader would draw is a whole 12-lead, 10 s, finite record."""
    assert sig.ndim == 2 and sig.shape[0] == 12 and sig.shape[1] >= 10 * fs and np.isfinite(sig).all(), sig.shape
    return np.full((*size, 3), 255, np.uint8)


CELL_VALUES = ("", "abc", "-1", "1.5", "nan", "0", "11", "1e300", "{'NORM': 100.0", "{}", "records100/x", '"', "\u00e9")


def _damage_csv(path: Path, rng: np.random.Generator) -> None:
    """Bytes damage (as :func:`corrupt`) or one cell of one row set to a random bad value."""
    if rng.random() < 0.5:
        path.write_bytes(corrupt(path.read_bytes(), rng)[1])
        return
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    value = CELL_VALUES[int(rng.integers(len(CELL_VALUES)))]
    df.iat[int(rng.integers(len(df))), int(rng.integers(df.shape[1]))] = value
    df.to_csv(path, index=False)


@pytest.mark.parametrize("target", ["hea", "dat", "ptbxl_database.csv", "scp_statements.csv"])
def test_damaged_ptbxl_trees_load_raise_data_error_or_report(target, clean_ptbxl_tree, tmp_path, monkeypatch):
    """Each case: one file of a copy of the mini tree damaged (and restored after), read as a dataset.
    Every CSV row is a page, an excluded record (no superclass) or a named skip; what is drawn is a
    whole record. A damaged record is read with row 5's (another fold), so a skip can be seen."""
    from simcardionet_lite.ecg import render

    monkeypatch.setattr(render, "render", _checked_render)
    rng = np.random.default_rng([SEED, ["hea", "dat", "ptbxl_database.csv", "scp_statements.csv"].index(target)])
    root = _copy(clean_ptbxl_tree, tmp_path / "tree")
    files = pd.read_csv(root / "ptbxl_database.csv")["filename_lr"].tolist()
    seen = {"loaded": 0, "DataError": 0}
    for _ in range(N_PTBXL):
        row = int(rng.integers(5))
        path = root / target if target.endswith(".csv") else root / f"{files[row]}.{target}"
        original = path.read_bytes()
        if target.endswith(".csv"):
            _damage_csv(path, rng)
        else:
            path.write_bytes(corrupt(original, rng)[1])
        folds = None if target.endswith(".csv") else [row + 1, 6]
        try:
            ds = PTBXL(root, folds=folds, single_label=False, image_size=(32, 48), cache_dir=tmp_path / "cache")
        except DataError as exc:
            assert str(root) in str(exc), exc
            seen["DataError"] += 1
        else:
            seen["loaded"] += 1
            # the loader parsed the CSV, so it parses here
            rows = 2 if folds else len(pd.read_csv(root / "ptbxl_database.csv"))
            assert len(ds) + len(ds.skipped) + ds.excluded["no diagnostic superclass"] == rows
            assert all(item.startswith(str(root)) for item, _ in ds.skipped.skipped)
            assert (ds.multilabel.sum(1) >= 1).all() and all(ds[k][0].shape == (3, 32, 48) for k in range(len(ds)))
        path.write_bytes(original)
    assert seen["loaded"] > 0


def test_a_damaged_header_with_the_real_renderer(clean_ptbxl_tree, tmp_path):
    """A few damaged headers drawn for real: the values the loader passes never break the renderer."""
    rng = np.random.default_rng(SEED + 2)
    files = pd.read_csv(clean_ptbxl_tree / "ptbxl_database.csv")["filename_lr"].tolist()
    for i in range(8):
        root = tmp_path / f"case{i}"
        shutil.copytree(clean_ptbxl_tree, root)
        hea = root / f"{files[i % 5]}.hea"
        hea.write_bytes(corrupt(hea.read_bytes(), rng)[1])
        try:
            ds = PTBXL(root, folds=[i % 5 + 1, 6], single_label=False, image_size=(32, 48),
                       cache_dir=tmp_path / "cache")  # the damaged record and row 5's
        except DataError as exc:
            assert str(root) in str(exc)
            continue
        assert len(ds) + len(ds.skipped) == 2


# ------------------------------------------------------------------------------------------
# The bugs the fuzzers found (each raised a foreign exception or returned a wrong page before)
# ------------------------------------------------------------------------------------------


def test_undecodable_or_unparsable_csv_files_are_a_data_error(clean_ptbxl_tree, tmp_path):
    """Before: UnicodeDecodeError / pandas ParserError from inside the loader."""
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        for k, damage in enumerate((b"\xff\xfe", b'\n9,"an unclosed quote')):  # not UTF-8; a last row never ends
            root = _copy(clean_ptbxl_tree, tmp_path / f"{name}{k}")
            data = (root / name).read_bytes()
            (root / name).write_bytes(damage + data if k == 0 else data.rstrip(b"\n") + damage)
            with pytest.raises(DataError, match="unreadable CSV") as err:
                PTBXL(root, cache_dir=tmp_path / "cache")
            assert err.value.path == str(root / name)


def test_damaged_scp_statements_are_refused_not_read_as_no_diagnosis(clean_ptbxl_tree, tmp_path):
    """Before: a non-numeric ``diagnostic`` made every code non-diagnostic (every record silently
    "no superclass"), an unknown ``diagnostic_class`` a ValueError from ``tuple.index``."""
    for col, value in (("diagnostic", "1x"), ("diagnostic_class", "NORX")):
        root = _copy(clean_ptbxl_tree, tmp_path / col)
        scp = pd.read_csv(root / "scp_statements.csv", dtype=str, keep_default_na=False)
        scp.loc[0, col] = value
        scp.to_csv(root / "scp_statements.csv", index=False)
        with pytest.raises(DataError, match="scp_statements.csv rows \\['NORM'\\]"):
            PTBXL(root, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("col,value,reason", [
    ("ecg_id", "abc", "ecg_id is not an integer"),  # before: ValueError from int()
    ("ecg_id", "1", "ecg_id listed twice"),
    ("strat_fold", "", "strat_fold is not a fold 1-10"),  # before: a garbage fold (NaN cast to int)
    ("strat_fold", "11", "strat_fold is not a fold 1-10"),  # before: in no split, silently
    ("patient_id", "", "patient_id missing"),  # before: all such records one patient "nan"
    ("filename_lr", "", "filename_lr missing"),  # before: TypeError in the fingerprint
])
def test_bad_csv_cells_name_the_row_and_skip_it(col, value, reason, clean_ptbxl_tree, tmp_path):
    root = _copy(clean_ptbxl_tree, tmp_path / "t")
    db = pd.read_csv(root / "ptbxl_database.csv", dtype=str, keep_default_na=False)
    db.loc[1, col] = value
    db.to_csv(root / "ptbxl_database.csv", index=False)
    ds = PTBXL(root, single_label=False, image_size=(32, 48), cache_dir=tmp_path / "cache")
    [(item, why)] = ds.skipped.skipped
    assert "ptbxl_database.csv (" in item and "line 3)" in item and why.startswith(reason)
    assert len(ds) == 6 - 1  # six records with a superclass, one row skipped


def test_a_record_shorter_than_a_page_is_skipped(clean_ptbxl_tree, tmp_path, break_ptbxl):
    """Before: a header stating 5 samples crashed the baseline filter (scipy ValueError, padlen);
    one stating 500 drew a page with empty panels."""
    for n in ("5", "500"):
        root = _copy(clean_ptbxl_tree, tmp_path / n)
        rel = break_ptbxl(root, "short record", 0)
        hea = root / f"{rel}.hea"
        first, *rest = hea.read_text().splitlines()
        hea.write_text(" ".join(first.split()[:3] + [n]) + "\n" + "\n".join(rest) + "\n")
        ds = PTBXL(root, image_size=(32, 48), cache_dir=tmp_path / "cache")
        assert dict(ds.skipped.skipped) == {str(root / rel): f"record too short ({n} samples = {int(n) / 100:g} s; "
                                            "a page draws 10 s)"}
    assert P.signal_problem(np.ones((12, 1000)) * np.arange(1000), 100) is None


def test_a_dot_in_a_record_name_is_not_an_extension(clean_ptbxl_tree, tmp_path):
    """Before: ``records100/00000/00001_lr.5`` was looked up as ``00001_lr.hea`` (``with_suffix``)."""
    with pytest.raises(FileNotFoundError, match=r"missing 00001_lr\.5\.hea"):
        P.read_record(clean_ptbxl_tree, "records100/00000/00001_lr.5", 100)


def test_a_float_image_with_nan_pixels_is_refused(tmp_path):
    """Before: NaN in a 32-bit float TIFF was cast to an arbitrary grey (a RuntimeWarning, a wrong page)."""
    a = np.linspace(0, 1, 64 * 80, dtype=np.float32).reshape(64, 80)
    a[10, 10] = np.nan
    Image.fromarray(a, "F").save(tmp_path / "nan.tif")
    with pytest.raises(DataError, match="NaN or infinite pixel values") as err:
        load_image(tmp_path / "nan.tif")
    assert err.value.path == str(tmp_path / "nan.tif")
