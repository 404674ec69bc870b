"""Datasets: the shared interface, synthetic pages, image folders in both layouts, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from simcardionet_lite.config import DATASET1_CLASSES, load_preset
from simcardionet_lite.data import fixtures as F
from simcardionet_lite.data.datasets import ECGImageFolder, SyntheticECG, build_dataset, prepare_page
from simcardionet_lite.ecg import render as R
from simcardionet_lite.errors import DataError


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SIMCARDIONET_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def pages():
    return F.synthetic_pages(4, seed=0, size=(262, 368))


@pytest.fixture(scope="module")
def mendeley_tree(tmp_path_factory, pages):
    root = tmp_path_factory.mktemp("mendeley")
    planted = F.write_image_tree(root, "mendeley", 4, pages=pages)
    return root, planted


def _check_interface(ds, size):
    img, label, id_ = ds[0]
    assert isinstance(img, torch.Tensor) and img.dtype == torch.float32 and img.shape == (3, *size)
    assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0
    assert isinstance(label, int) and isinstance(id_, str)
    n = len(ds)
    assert ds.labels.shape == (n,) and ds.groups.shape == (n,) and len(ds.ids) == n
    assert len(set(ds.ids)) == n
    u8 = ds.images_uint8()
    assert u8.shape == (n, *size, 3) and u8.dtype == np.uint8
    assert np.allclose(u8[0].transpose(2, 0, 1) / 255.0, img.numpy(), atol=1e-6)


def test_synthetic_interface_and_determinism(tmp_path):
    ds = SyntheticECG("mendeley", "dataset1", n_per_class=3, seed=1, image_size=(64, 96), cache_dir=tmp_path)
    _check_interface(ds, (64, 96))
    assert ds.classes == DATASET1_CLASSES and ds.class_counts() == {c: 3 for c in DATASET1_CLASSES}
    assert len(set(ds.groups)) == len(ds)
    other = SyntheticECG("mendeley", "dataset1", n_per_class=3, seed=1, image_size=(64, 96), cache_dir=tmp_path / "b")
    assert np.array_equal(ds.images_uint8(), other.images_uint8())  # same seed, fresh render: same pixels
    seed2 = SyntheticECG("mendeley", "dataset1", n_per_class=3, seed=2, image_size=(64, 96), cache_dir=tmp_path)
    assert not np.array_equal(ds.images_uint8(), seed2.images_uint8())
    sig, meta = ds.signal(4)
    assert sig.shape[0] == 12 and meta["cls"] == ds.classes[ds.labels[4]] and meta["hr"] == pytest.approx(ds.hr[4])


def test_synthetic_transform_and_subset_of_classes(tmp_path):
    ds = SyntheticECG("ptbxl", "ptbxl", n_per_class=2, classes=("NORM", "MI"), image_size=(48, 64), cache_dir=tmp_path)
    assert ds.classes == ("NORM", "MI") and len(ds) == 4
    ds.transform = lambda x: 1.0 - x
    assert float(ds[0][0].max()) <= 1.0 and ds[0][0].mean() < 0.5  # inverted page: mostly dark


def test_synthetic_planted_duplicates_form_groups(tmp_path):
    ds = SyntheticECG("mendeley", "dataset1", n_per_class=10, duplicate_fraction=0.5, image_size=(48, 64), cache_dir=tmp_path)
    u8 = ds.images_uint8()
    assert len(set(ds.groups)) == 4 * 5
    for g in np.unique(ds.groups):
        members = np.flatnonzero(ds.groups == g)
        assert len(set(ds.labels[members])) == 1
        assert all(np.array_equal(u8[members[0]], u8[m]) for m in members)


def test_build_dataset_from_config(tmp_path):
    cfg = load_preset("smoke", **{"data.n_per_class": 2, "data.image_size": (48, 64), "data.cache_dir": str(tmp_path)})
    ds = build_dataset(cfg.data)
    assert isinstance(ds, SyntheticECG) and len(ds) == 8 and ds.images_uint8().shape[1:3] == (48, 64)
    with pytest.raises(DataError, match="data.root"):
        build_dataset(dataclasses.replace(cfg.data, source="ptbxl"))
    with pytest.raises(TypeError, match="DataConfig field"):  # data fields change only through the config
        build_dataset(cfg.data, n_per_class=3)


def test_crop_header_footer_removes_printed_heart_rate(tmp_path):
    a = SyntheticECG("mendeley", "dataset1", n_per_class=2, image_size=(96, 128), cache_dir=tmp_path)
    b = SyntheticECG("mendeley", "dataset1", n_per_class=2, image_size=(96, 128), crop_header_footer=True, cache_dir=tmp_path)
    hf = R.header_footer_boxes("mendeley", (96, 128))
    y1 = hf["header"][2]
    assert (b.images_uint8()[:, :y1] == R.STYLES["mendeley"].paper).all()
    assert not (a.images_uint8()[:, :y1] == R.STYLES["mendeley"].paper).all()
    y0 = hf["footer"][0]
    assert np.array_equal(a.images_uint8()[:, y1:y0], b.images_uint8()[:, y1:y0])


def test_prepare_page_gray_and_2d():
    page = np.full((100, 140), 200, np.uint8)
    out = prepare_page(page, image_size=(50, 70), grayscale=True)
    assert out.shape == (50, 70, 3) and out.dtype == np.uint8


def test_image_folder_mendeley(mendeley_tree):
    root, planted = mendeley_tree
    ds = ECGImageFolder(root, layout="mendeley", image_size=(96, 128))
    _check_interface(ds, (96, 128))
    assert len(ds) == planted["files"]
    # every skip is reported with its file and reason, none silent
    reasons = dict(ds.skipped.skipped)
    assert set(reasons) == set(planted["truncated"]) | set(planted["corrupt"]) | set(planted["non_image"])
    assert "truncated" in reasons[planted["truncated"][0]]
    assert "cannot decode" in reasons[planted["corrupt"][0]]
    # grayscale, CMYK and RGBA files are converted (and counted), not dropped
    assert ds.conversions == {"L": 1, "CMYK": 1, "RGBA": 1}
    # exact copies share a group; near (re-encoded) copies do not
    assert len(set(ds.groups)) == planted["distinct"] + planted["near_copies"]
    assert [ds.classes[k] for k in ds.labels].count("MI") == 4 + 2 + 1
    assert set(ds.split) == {"all"}


def test_image_folder_cache_hit(mendeley_tree):
    root, _ = mendeley_tree
    a = ECGImageFolder(root, image_size=(64, 64))
    b = ECGImageFolder(root, image_size=(64, 64))
    assert b.cache.hits == 1 and np.array_equal(a.images_uint8(), b.images_uint8())
    assert b.skipped.skipped == a.skipped.skipped and b.conversions == a.conversions


def test_image_folder_kaggle_layout(tmp_path, pages):
    planted = F.write_image_tree(tmp_path / "k", "kaggle", 4, pages=pages, corrupt=False, modes=False)
    ds = ECGImageFolder(tmp_path / "k", layout="kaggle", image_size=(48, 64))
    assert len(ds) == planted["files"] and set(ds.split) == {"train", "test"}
    test_only = ECGImageFolder(tmp_path / "k", layout="kaggle", splits=("test",), image_size=(48, 64))
    assert set(test_only.split) == {"test"} and len(test_only) < len(ds)
    assert all("test" in p for p in test_only.paths)


def test_wrong_layout_lists_expected_and_found(mendeley_tree, tmp_path):
    root, _ = mendeley_tree
    with pytest.raises(DataError) as e:
        ECGImageFolder(root, layout="kaggle")
    assert "train" in str(e.value) and "found" in str(e.value)
    odd = tmp_path / "odd"
    (odd / "cats").mkdir(parents=True)
    (odd / "dogs").mkdir()
    with pytest.raises(DataError) as e:
        ECGImageFolder(odd, layout="mendeley")
    msg = str(e.value)
    assert "cats" in msg and "Normal Person ECG Images (284x12=3408)" in msg and "class_map" in msg


def test_missing_root_and_empty_class(tmp_path, pages):
    with pytest.raises(DataError, match="not found"):
        ECGImageFolder(tmp_path / "nowhere")
    root = tmp_path / "m"
    F.write_image_tree(root, "mendeley", 2, pages=pages, exact_copies=0, near_copies=0, corrupt=False, modes=False)
    for f in (root / "Normal Person ECG Images (284x12=3408)").iterdir():
        f.unlink()
    with pytest.raises(DataError) as e:
        ECGImageFolder(root)
    assert "NORM" in str(e.value) and "Normal Person" in str(e.value)


def test_class_map_for_another_mirror(tmp_path, pages):
    root = tmp_path / "mirror"
    for c, name in zip(DATASET1_CLASSES, ("mi", "old_mi", "arrhythmia", "normal")):
        (root / name).mkdir(parents=True)
        from PIL import Image

        Image.fromarray(pages[c][0]).save(root / name / "a.jpg")
    cmap = {"mi": "MI", "old_mi": "PMI", "arrhythmia": "AHB", "normal": "NORM"}
    ds = ECGImageFolder(root, class_map=cmap, image_size=(32, 48))
    assert sorted(ds.classes[k] for k in ds.labels) == sorted(DATASET1_CLASSES)


@pytest.mark.realdata
def test_real_dataset1(realdata, tmp_path):
    ds = ECGImageFolder(realdata / "dataset1_mendeley", image_size=(64, 96), cache_dir=tmp_path)
    assert len(ds) == 928 and len(ds.skipped) == 0
    assert ds.class_counts() == {"MI": 239, "PMI": 172, "AHB": 233, "NORM": 284}
    assert len(set(ds.groups)) == 491


def test_datasets_module_is_a_facade():
    """data/datasets.py only re-exports: every name is defined in a one-concept module."""
    import ast
    import inspect

    import simcardionet_lite.data.datasets as D

    tree = ast.parse(inspect.getsource(D))
    assert not [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
    for name in D.__all__:
        obj = getattr(D, name)
        if callable(obj):
            assert obj.__module__ != D.__name__, name
    from simcardionet_lite.data import factory, images, pages, ptbxl, synthetic

    assert D.load_image is images.load_image and D.PTBXL is ptbxl.PTBXL and D.SyntheticECG is synthetic.SyntheticECG
    assert D.build_dataset is factory.build_dataset and D.prepare_page is pages.prepare_page


def test_an_image_that_cannot_be_a_page_is_skipped_and_reported(tmp_path, pages):
    from PIL import Image

    from simcardionet_lite.data.datasets import MENDELEY_FOLDERS

    root = tmp_path / "tree"
    F.write_image_tree(root, "mendeley", 2, pages=pages, exact_copies=0, near_copies=0, corrupt=False, modes=False)
    folder = root / next(iter(MENDELEY_FOLDERS))
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(folder / "dot.png")  # read as a blank page before
    Image.fromarray(np.full((70, 700, 3), 255, np.uint8)).save(folder / "strip.png")
    ds = ECGImageFolder(root, image_size=(48, 64), cache_dir=tmp_path / "cache")
    reasons = {path.rsplit("/", 1)[-1]: why for path, why in ds.skipped.skipped}
    assert set(reasons) == {"dot.png", "strip.png"} and all("cannot be a 12-lead ECG page" in r for r in reasons.values())
    assert len(ds) == 8
