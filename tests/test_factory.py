"""The dataset factory: every source from a DataConfig, records, content fingerprints, splits, stand-in."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from simcardionet_lite.config import DATASET1_CLASSES, PTBXL_CLASSES, DataConfig
from simcardionet_lite.data import fixtures as F
from simcardionet_lite.data import standin as ST
from simcardionet_lite.data.factory import SOURCES, STANDIN_DEFAULTS, build_dataset, dataset_record, synthetic_standin
from simcardionet_lite.data.images import ECGImageFolder
from simcardionet_lite.data.pages import SubsetView
from simcardionet_lite.data.ptbxl import PTBXL
from simcardionet_lite.data.synthetic import SyntheticECG
from simcardionet_lite.errors import DataError

HEX64 = re.compile(r"^[0-9a-f]{64}$")
SIZE = (48, 64)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMCARDIONET_CACHE", str(tmp_path / "env-cache"))  # nothing may land in ~/.cache


@pytest.fixture(scope="module")
def pages():
    return F.synthetic_pages(3, seed=0, size=(131, 184))


@pytest.fixture(scope="module")
def d1_tree(tmp_path_factory, pages):
    root = tmp_path_factory.mktemp("d1") / "dataset1"
    planted = F.write_image_tree(root, "mendeley", 3, pages=pages, exact_copies=1, near_copies=1)
    return root, planted


@pytest.fixture(scope="module")
def kaggle_tree(tmp_path_factory, pages):
    root = tmp_path_factory.mktemp("d2") / "kaggle"
    planted = F.write_image_tree(root, "kaggle", 3, pages=pages, exact_copies=1, near_copies=0, corrupt=False, modes=False)
    return root, planted


@pytest.fixture(scope="module")
def ptbxl_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("ptbxl") / "ptb-xl"
    return root, F.write_mini_ptbxl(root, n_per_class=2)


def _cfg(tmp_path, **kw) -> DataConfig:
    return DataConfig(image_size=SIZE, cache_dir=str(tmp_path / "cache"), **kw)


def _check_record(ds, source, root):
    rec = dataset_record(ds)
    json.dumps(rec)  # JSON-ready
    assert rec["source"] == source and ds.source == source
    assert rec["root"] == (None if root is None else str(root))
    assert HEX64.match(rec["fingerprint"]) and rec["fingerprint"] == ds.fingerprint
    assert rec["n"] == len(ds) == sum(rec["counts"].values())
    assert rec["counts"] == {c: int((np.asarray(ds.labels) == k).sum()) for k, c in enumerate(ds.classes)}
    return rec


# ------------------------------------------------------------------------------------------
# 1. every source builds from a DataConfig and says what it read
# ------------------------------------------------------------------------------------------


def test_sources_are_the_configs_contract():
    assert set(SOURCES) == {"synthetic", "dataset1", "kaggle", "kaggle_standin", "ptbxl"}
    assert STANDIN_DEFAULTS["dataset1"] == {"style": "mendeley", "label_set": "dataset1", "duplicate_fraction": 0.47}
    assert STANDIN_DEFAULTS["kaggle_standin"] == STANDIN_DEFAULTS["kaggle"] == {"style": "kaggle", "label_set": "dataset1"}
    assert STANDIN_DEFAULTS["ptbxl"] == {"style": "ptbxl", "label_set": "ptbxl", "n_per_class": 24}
    s = synthetic_standin(DataConfig(source="ptbxl", root="/x"))
    assert (s.source, s.root, s.style, s.label_set) == ("synthetic", None, "ptbxl", "ptbxl")


def test_synthetic_source(tmp_path):
    data = _cfg(tmp_path, n_per_class=3, duplicate_fraction=0.34)
    ds = build_dataset(data, seed=2)
    assert isinstance(ds, SyntheticECG) and ds.seed == 2 and ds.style == "mendeley"
    rec = _check_record(ds, "synthetic", None)
    assert rec["counts"] == {c: 3 for c in DATASET1_CLASSES} and rec["skipped"] == 0 and rec["split"] is None
    assert len(set(ds.groups)) == 4 * 2  # one copy per class (0.34 * 3 rounds to 1)
    again = build_dataset(data, seed=2)
    assert again.fingerprint == ds.fingerprint and again.cache.hits == 2  # pages and heart rates from the cache
    assert build_dataset(data, seed=3).fingerprint != ds.fingerprint
    assert build_dataset(replace(data, difficulty=0.1), seed=2).fingerprint != ds.fingerprint


def test_dataset1_source(tmp_path, d1_tree):
    root, planted = d1_tree
    ds = build_dataset(_cfg(tmp_path, source="dataset1", root=str(root)))
    assert isinstance(ds, ECGImageFolder) and ds.image_size == SIZE
    rec = _check_record(ds, "dataset1", root)
    assert rec["n"] == planted["files"]
    assert rec["counts"] == {c: 3 + 1 + 1 for c in DATASET1_CLASSES}
    assert rec["skipped"] == len(planted["truncated"]) + len(planted["corrupt"]) + len(planted["non_image"]) == 3


def test_kaggle_source_reads_one_split(tmp_path, kaggle_tree):
    root, planted = kaggle_tree
    data = _cfg(tmp_path, source="kaggle", root=str(root))
    test = build_dataset(data)  # default: the test split
    train = build_dataset(data, split="train")
    assert set(test.split) == {"test"} and set(train.split) == {"train"}
    assert len(test) + len(train) == planted["files"] and not set(test.ids) & set(train.ids)
    rec = _check_record(test, "kaggle", root)
    assert rec["split"] == "test" and rec["skipped"] == 0
    assert _check_record(train, "kaggle", root)["fingerprint"] != rec["fingerprint"]
    with pytest.raises(ValueError, match="split"):
        build_dataset(data, split="val")  # a Kaggle folder has train/ and test/ only


def test_ptbxl_source(tmp_path, ptbxl_tree):
    root, planted = ptbxl_tree
    data = _cfg(tmp_path, source="ptbxl", root=str(root))
    ds = build_dataset(data)
    assert isinstance(ds, PTBXL) and ds.classes == PTBXL_CLASSES
    rec = _check_record(ds, "ptbxl", root)
    expected = dict(planted["single"])
    expected["NORM"] -= 3  # the NaN, flat and missing records are skipped (and counted)
    assert rec["counts"] == expected and rec["skipped"] == 3
    assert rec["excluded"] == {"no diagnostic superclass": 1, "more than one superclass": 1}
    test = build_dataset(data, split="test")
    assert set(test.strat_fold) <= {10} and dataset_record(test)["split"] == "test"
    ml = build_dataset(data, single_label=False)
    assert (ml.multilabel.sum(1) == 2).sum() == planted["multi"] and ml.fingerprint != ds.fingerprint


def test_factory_errors_name_the_fix(tmp_path, d1_tree):
    with pytest.raises(DataError, match="data.root") as e:
        build_dataset(_cfg(tmp_path, source="dataset1"))
    assert "What to do" in str(e.value)
    with pytest.raises(KeyError) as e:
        build_dataset(_cfg(tmp_path, source="mendeley"))
    assert all(s in str(e.value) for s in SOURCES)
    with pytest.raises(TypeError, match="replace"):
        build_dataset(_cfg(tmp_path), image_size=(32, 32))
    with pytest.raises(DataError, match="reads no folder"):
        build_dataset(_cfg(tmp_path, root=str(d1_tree[0])))  # a root with source synthetic is a mistake, not ignored
    with pytest.raises(ValueError, match="no official split"):
        build_dataset(_cfg(tmp_path, source="dataset1", root=str(d1_tree[0])), split="test")
    with pytest.raises(TypeError, match="DataConfig"):
        build_dataset({"source": "synthetic"})  # type: ignore[arg-type]


def test_extra_constructor_options_and_transform(tmp_path):
    ds = build_dataset(_cfg(tmp_path, n_per_class=2), classes=("MI", "NORM"), transform=lambda x: 1.0 - x)
    assert ds.classes == ("MI", "NORM") and len(ds) == 4
    assert float(ds[0][0].mean()) < 0.5  # inverted page


# ------------------------------------------------------------------------------------------
# 2. the fingerprint (and the page cache) follow the bytes, not names and sizes
# ------------------------------------------------------------------------------------------


def test_ptbxl_swapped_dat_files_change_fingerprint_and_pages(tmp_path, ptbxl_tree):
    src, _ = ptbxl_tree
    a_root = tmp_path / "a"
    b_root = tmp_path / "b"
    shutil.copytree(src, a_root)
    shutil.copytree(src, b_root)
    cache = str(tmp_path / "shared-cache")  # one cache: tree b must not be served tree a's pages
    a = build_dataset(DataConfig(source="ptbxl", root=str(a_root), image_size=SIZE, cache_dir=cache))
    i = 0
    j = int(np.flatnonzero(a.labels != a.labels[i])[0])  # a record of another class
    fi = a_root / "records100" / "00000" / f"{int(a.ecg_id[i]):05d}_lr.dat"
    fj = a_root / "records100" / "00000" / f"{int(a.ecg_id[j]):05d}_lr.dat"
    assert fi.stat().st_size == fj.stat().st_size  # same names, same sizes ...
    bi, bj = (b_root / fi.relative_to(a_root)), (b_root / fj.relative_to(a_root))
    tmp = bi.with_suffix(".swap")
    os.replace(bi, tmp)
    os.replace(bj, bi)
    os.replace(tmp, bj)
    b = build_dataset(DataConfig(source="ptbxl", root=str(b_root), image_size=SIZE, cache_dir=cache))
    assert b.cache.misses == 1 and b.cache.hits == 0  # ... other bytes: a new cache entry
    assert b.fingerprint != a.fingerprint and HEX64.match(b.fingerprint)
    pa, pb = a.images_uint8(), b.images_uint8()
    assert np.array_equal(pb[i], pa[j]) and np.array_equal(pb[j], pa[i])  # the served pages swapped too
    assert all(np.array_equal(pb[k], pa[k]) for k in range(len(a)) if k not in (i, j))
    a2 = build_dataset(DataConfig(source="ptbxl", root=str(a_root), image_size=SIZE, cache_dir=cache))
    assert a2.fingerprint == a.fingerprint and a2.cache.hits == 1  # unchanged tree: cache hit


def _kaggle_copy(tmp_path, kaggle_tree):
    """A copy of the Kaggle fixture tree to edit, its config and the dataset it gives before the edit."""
    root = tmp_path / "k"
    shutil.copytree(kaggle_tree[0], root)
    data = _cfg(tmp_path, source="kaggle", root=str(root))
    return root, data, build_dataset(data)


def test_image_replaced_by_white_page_of_same_size_changes_fingerprint_and_page(tmp_path, kaggle_tree):
    root, data, before = _kaggle_copy(tmp_path, kaggle_tree)
    k = 0
    target = root / before.ids[k]
    old_size = target.stat().st_size
    white = tmp_path / "white.jpg"
    Image.new("RGB", (368, 262), (255, 255, 255)).save(white, quality=90)
    data_bytes = white.read_bytes()
    assert len(data_bytes) < old_size
    target.write_bytes(data_bytes + b"\0" * (old_size - len(data_bytes)))  # padded after the JPEG's end marker
    assert target.stat().st_size == old_size
    after = build_dataset(data)
    assert after.ids == before.ids and after.fingerprint != before.fingerprint
    assert after.cache.misses == 1
    assert before.images_uint8()[k].min() < 200 and after.images_uint8()[k].min() >= 250  # the page served is white now
    assert np.array_equal(after.images_uint8()[1:], before.images_uint8()[1:])
    assert after.groups[k] not in set(after.groups[1:])  # its copy cluster followed the bytes too


def test_renamed_file_changes_fingerprint(tmp_path, kaggle_tree):
    root, data, before = _kaggle_copy(tmp_path, kaggle_tree)
    p = root / before.ids[0]
    p.rename(p.with_name("zz_" + p.name))
    assert build_dataset(data).fingerprint != before.fingerprint


# ------------------------------------------------------------------------------------------
# 3. synthetic splits
# ------------------------------------------------------------------------------------------


def test_synthetic_split_disjoint_with_one_hot_multilabel(tmp_path):
    data = _cfg(tmp_path, n_per_class=20, style="ptbxl", label_set="ptbxl")
    full = build_dataset(data, seed=1)
    parts = {s: build_dataset(data, split=s, seed=1) for s in ("train", "val", "test")}
    ids = {s: set(p.ids) for s, p in parts.items()}
    assert not ids["train"] & ids["val"] and not ids["train"] & ids["test"] and not ids["val"] & ids["test"]
    assert ids["train"] | ids["val"] | ids["test"] == set(full.ids)
    for s, p in parts.items():
        assert isinstance(p, SubsetView) and p.split_name == s
        n_cls = len(p.classes)
        assert p.multilabel.shape == (len(p), n_cls) and (p.multilabel.sum(1) == 1).all()
        assert (p.multilabel.argmax(1) == p.labels).all()
        rec = _check_record(p, "synthetic", None)
        assert rec["split"] == s
    # per class 10 % test (fold 10), 10 % validation (fold 9), the rest training (fold 1)
    assert dataset_record(parts["test"])["counts"] == {c: 2 for c in PTBXL_CLASSES}
    assert dataset_record(parts["val"])["counts"] == {c: 2 for c in PTBXL_CLASSES}
    assert set(parts["train"].strat_fold) == {1} and set(parts["val"].strat_fold) == {9} and set(parts["test"].strat_fold) == {10}
    assert len({p.fingerprint for p in parts.values()} | {full.fingerprint}) == 4
    te = parts["test"]
    u8 = full.images_uint8()
    assert np.array_equal(te.images_uint8(), u8[[full.ids.index(i) for i in te.ids]])
    img, label, ident = te[0]
    assert img.shape == (3, *SIZE) and label == te.labels[0] and ident == te.ids[0]
    # the folds are drawn with the seed: the same seed, the same test set
    assert build_dataset(data, split="test", seed=1).ids == te.ids


# ------------------------------------------------------------------------------------------
# 4. the constructed Dataset II stand-in
# ------------------------------------------------------------------------------------------


def test_kaggle_standin_built_once_and_says_what_from(tmp_path, d1_tree, monkeypatch):
    root, planted = d1_tree
    data = _cfg(tmp_path, source="kaggle_standin", root=str(root), standin_jpeg_quality=70)
    test = build_dataset(data, seed=0)
    assert isinstance(test, ECGImageFolder) and set(test.split) == {"test"}
    rec = _check_record(test, "kaggle_standin", test.root)
    standin_root = test.root
    assert standin_root.parent == tmp_path / "cache" / "dataset2_standin"
    d1 = build_dataset(replace(data, source="dataset1"))
    assert rec["built_from"] == {"root": str(root), "fingerprint": d1.fingerprint, "jpeg_quality": 70, "seed": 0}
    assert rec["fingerprint"] != d1.fingerprint
    marker = json.loads((standin_root / ".complete").read_text())
    assert marker["quality"] == 70 and len(marker["skipped"]) == 2  # the truncated and the corrupt file
    train = build_dataset(data, split="train", seed=0)
    assert len(train) + len(test) == planted["files"]  # every readable Dataset I file, re-split at file level
    for c in DATASET1_CLASSES:  # stratified: each class on both sides
        assert test.class_counts()[c] >= 1 and train.class_counts()[c] >= 1
    # renamed, Kaggle-style class folders, re-encoded (no byte shared with Dataset I)
    files = sorted(standin_root.rglob("*.jpg"))
    assert {p.parent.name for p in files} == set(ST.KAGGLE_CLASS_FOLDERS.values())
    assert not {p.name for p in files} & {p.name for p in root.rglob("*.jpg")}
    assert not set(test.sha256) & set(d1.sha256)
    # the second call reuses the build: no image is read again, pages come from the cache
    monkeypatch.setattr(ST, "load_image", lambda p: pytest.fail(f"stand-in rebuilt ({p})"))
    again = build_dataset(data, seed=0)
    assert again.root == standin_root and again.fingerprint == test.fingerprint and again.cache.hits == 1
    assert json.loads((standin_root / ".complete").read_text()) == marker
    # another quality or seed is another stand-in
    monkeypatch.undo()
    other = build_dataset(replace(data, standin_jpeg_quality=50), seed=0)
    assert other.root != standin_root and dataset_record(other)["built_from"]["jpeg_quality"] == 50


def test_standin_pixels_come_from_load_image(tmp_path, pages):
    """An RGBA page of Dataset I becomes a white-paper JPEG in the stand-in, as load_image reads it."""
    root = tmp_path / "d1"
    F.write_image_tree(root, "mendeley", 3, pages=pages, exact_copies=0, near_copies=0, corrupt=False, modes=True)
    out = ST.build_kaggle_standin(root, tmp_path / "standin", quality=95)
    counts = json.loads((out / ".complete").read_text())["counts"]
    assert sum(counts.values()) == 12
    for p in out.rglob("*.jpg"):
        with Image.open(p) as im:
            assert im.mode == "RGB"
            assert np.asarray(im)[:5, :5].mean() > 200  # paper stays light (an RGBA page is not put on black)


@pytest.mark.realdata
def test_real_sources_record_what_they_read(realdata, tmp_path):
    d1 = build_dataset(_cfg(tmp_path, source="dataset1", root=str(realdata / "dataset1_mendeley")))
    rec = _check_record(d1, "dataset1", realdata / "dataset1_mendeley")
    assert rec["counts"] == {"MI": 239, "PMI": 172, "AHB": 233, "NORM": 284} and rec["skipped"] == 0
    assert len(set(d1.groups)) == 491  # exact copies found by content hash
    pt = build_dataset(_cfg(tmp_path, source="ptbxl", root=str(realdata / "ptbxl_sample")), split="test")
    rec = _check_record(pt, "ptbxl", realdata / "ptbxl_sample")
    assert rec["split"] == "test" and set(pt.strat_fold) == {10} and rec["n"] > 0
