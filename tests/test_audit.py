"""Audit: manifest, exact and near duplicates, cross-dataset copies, and CV leakage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simcardionet_lite.data import audit as A
from simcardionet_lite.data import fixtures as F
from simcardionet_lite.experiments import protocols as P


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("audit")
    pages = F.synthetic_pages(4, seed=0, size=(262, 368))
    m = F.write_image_tree(base / "d1", "mendeley", 4, pages=pages)
    # Dataset II stand-in: the same pictures re-encoded (JPEG q60), plus new ones, Kaggle layout
    more = F.synthetic_pages(2, seed=5, size=(262, 368))
    mixed = {c: pages[c][:2] + more[c] for c in pages}
    k = F.write_image_tree(base / "d2", "kaggle", 4, pages=mixed, exact_copies=0, near_copies=0, corrupt=False, modes=False,
                         quality=70)
    return base, m, k


def test_manifest_columns_and_errors(trees):
    base, m, _ = trees
    man = A.build_manifest(base / "d1")
    assert list(man.columns) == ["path", "class", "split", "bytes", "width", "height", "mode", "sha256", "page_hash", "phash", "error"]
    assert len(man) == m["files"] + len(m["truncated"]) + len(m["corrupt"])  # unreadable files stay, with their error
    bad = man[man["error"] != ""]
    assert len(bad) == 2 and bad["error"].str.contains("truncated").sum() == 1
    assert (man.loc[man["error"] == "", "page_hash"].str.len() == A.PAGE_HASH_BITS // 4).all()


def test_exact_and_near_duplicates(trees):
    base, m, _ = trees
    man = A.build_manifest(base / "d1")
    rep = A.audit_report(man)
    assert rep["exact"]["duplicates"] == m["exact_copies"]
    assert rep["exact"]["clusters_across_classes"] == 0
    # near copies (re-encoded) are merged too; distinct pages are not
    assert rep["near"]["duplicates"] == m["exact_copies"] + m["near_copies"]
    assert rep["near"]["clusters_across_classes"] == 0
    # distinct images by page hash: the nearest distinct one is beyond the threshold except near copies
    nd = rep["nearest_distinct"]["page_hash"]
    assert nd["n"] == man[man["error"] == ""]["sha256"].nunique() and nd["min"] <= nd["p5"] <= nd["median"] <= nd["max"] <= 1024
    assert any("nearest distinct image by page_hash" in line for line in A.summary_lines(rep))


def test_copy_across_classes_is_reported(trees, tmp_path):
    import shutil

    base, _, _ = trees
    root = tmp_path / "x"
    shutil.copytree(base / "d1", root)
    src = next((root / "Normal Person ECG Images (284x12=3408)").glob("*.jpg"))
    shutil.copy(src, root / "ECG Images of Patient that have History of MI (172x12=2064)" / "PMI(500).jpg")
    rep = A.audit_report(A.build_manifest(root, phash=False))
    assert rep["exact"]["clusters_across_classes"] == 1


def test_against_other_dataset(trees):
    base, _, _ = trees
    rep = A.audit_report(A.build_manifest(base / "d1"), A.build_manifest(base / "d2", "kaggle"))
    a = rep["against"]
    assert a["exact_matches"] == 0  # re-encoded: no byte is the same ...
    assert a["near_matches"] == 4 * 2 and a["near_matches_same_class"] == 8  # ... but the pictures are


def test_plain_phash_cannot_tell_pages_apart(trees):
    """Why the audit uses its own page hash: 64-bit pHash puts distinct pages within a few bits."""
    base, _, _ = trees
    man = A.build_manifest(base / "d1")
    man = man[man["error"] == ""].drop_duplicates("sha256")
    ph = A.hamming_matrix(man["phash"].tolist())
    pg = A.hamming_matrix(man["page_hash"].tolist())
    iu = np.triu_indices(len(man), 1)
    distinct = ph[iu] > -1
    assert np.median(ph[iu][distinct]) < 16  # of 64 bits
    assert np.sort(pg[iu])[len(man):].min() > A.DEFAULT_HAMMING  # beyond the planted near copies


def test_file_level_cv_leaks_grouped_does_not():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(60), rng.integers(1, 4, 60))  # planted copies: 1-3 files per image
    labels = groups % 4
    file_splits = P.cv_splits(labels, groups, 3, protocol="file", seed=0)
    grouped = P.cv_splits(labels, groups, 3, protocol="grouped", seed=0)
    assert sum(f["leaked"] for f in P.leakage(file_splits, groups)) > 0
    assert sum(f["leaked"] for f in P.leakage(grouped, groups)) == 0
    for tr, te in grouped:
        assert set(labels[te]) == set(range(4))  # still stratified
    with pytest.raises(ValueError):
        P.cv_splits(labels, None, 3, protocol="grouped")


def test_cli(trees, tmp_path, capsys):
    base, m, _ = trees
    out = tmp_path / "manifest.csv"
    rc = A.main([str(base / "d1"), "--layout", "mendeley", "--out", str(out), "--json", str(tmp_path / "r.json"),
                 "--against", str(base / "d2"), "--layout-against", "kaggle"])
    assert rc == 0
    text = capsys.readouterr().out
    assert f"{m['exact_copies']} byte-identical duplicates" in text and "against other dataset" in text
    assert len(pd.read_csv(out)) == m["files"] + 2
    assert json.loads((tmp_path / "r.json").read_text())["exact"]["duplicates"] == m["exact_copies"]
    assert A.main([str(tmp_path / "nowhere")]) == 2


def test_cli_refuses_an_output_it_cannot_write_before_the_work(trees, tmp_path, capsys, monkeypatch):
    base, _, _ = trees
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")  # no folder can be made under a file, even as root
    built = []
    monkeypatch.setattr(A, "build_manifest", lambda *a, **k: built.append(a))
    for option in ("--out", "--json"):
        assert A.main([str(base / "d1"), option, str(blocker / "x")]) == 2
        assert option in capsys.readouterr().err
    assert not built  # refused before any file was read


def test_top_level_alias():
    import simcardionet_lite.audit as top

    assert top.main is A.main and top.summary_lines is A.summary_lines
    assert set(top.__all__) <= set(dir(top))


@pytest.mark.realdata
def test_real_dataset1_duplicates(realdata):
    man = A.build_manifest(realdata / "dataset1_mendeley", phash=False)
    rep = A.audit_report(man)
    assert rep["n_files"] == 928
    assert rep["exact"]["unique"] == 491 and rep["exact"]["duplicates"] == 437
    assert rep["exact"]["clusters_across_classes"] == 0
    per = rep["exact"]["per_class"]
    assert {c: v["unique"] for c, v in per.items()} == {"MI": 30, "PMI": 86, "AHB": 233, "NORM": 142}
    # 3-fold CV over files puts copies of most test images into training; grouped CV none
    groups = A.duplicate_groups(man)
    labels = pd.factorize(man["class"])[0]
    leaked_file = sum(f["leaked"] for f in P.leakage(P.cv_splits(labels, groups, 3, "file", seed=0), groups))
    leaked_grouped = sum(f["leaked"] for f in P.leakage(P.cv_splits(labels, groups, 3, "grouped", seed=0), groups))
    assert leaked_file > 400 and leaked_grouped == 0
    # distinct Dataset I pages are 48 or more page-hash bits apart (threshold 32); a 64-bit pHash puts
    # some at 0 bits, so it cannot tell distinct report pages from copies
    full = A.audit_report(A.build_manifest(realdata / "dataset1_mendeley"))
    assert full["nearest_distinct"]["page_hash"]["min"] > A.DEFAULT_HAMMING
    assert full["nearest_distinct"]["phash"]["min"] == 0 and full["nearest_distinct"]["phash"]["max"] <= 8
    # and the shipped checksums agree with the files
    ref = pd.read_csv(realdata / "dataset1_mendeley" / "manifest.csv")
    assert dict(zip(ref["path"], ref["sha256"])) == dict(zip(man["path"], man["sha256"]))


def test_verify_against_published_checksums(trees):
    base, _, _ = trees
    man = A.build_manifest(base / "d1", phash=False)
    good = man[["path", "class", "sha256"]].copy()
    v = A.verify_manifest(man, good)
    assert v["identical_to_published"] == len(man) and v["duplicate_structure_as_published"] and not v["missing"]
    bad = good.iloc[1:].copy()
    bad["sha256"] = [f"{i:064x}" for i in range(len(bad))]  # every file distinct: structure differs
    v = A.verify_manifest(man, bad)
    assert v["missing"] == [] and v["extra"] == [good["path"].iloc[0]] and v["identical_to_published"] == 0
    assert not v["duplicate_structure_as_published"]


@pytest.mark.realdata
def test_real_pages_reencoded_are_found_across_datasets(realdata, tmp_path):
    """A Kaggle-style re-upload of real pages (JPEG q75, renamed, train/test) is found by the
    page hash although no byte is shared; other real pages are not matched."""
    from PIL import Image

    src = realdata / "dataset1_mendeley"
    sub = F.copy_subset(src, tmp_path / "d1", per_folder=6)
    names = {"MI": "Myocardial Infarction Patient", "PMI": "History Of MI", "AHB": "Abnormal Heartbeat", "NORM": "Normal"}
    man1 = A.build_manifest(sub)
    first = man1.groupby("class").head(3)  # three pages per class re-uploaded
    for k, (path, c) in enumerate(zip(first["path"], first["class"])):
        out = tmp_path / "d2" / ("train" if k % 2 else "test") / names[c] / f"img_{k}.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.open(sub / path).convert("RGB").save(out, quality=75)
    rep = A.audit_report(man1, A.build_manifest(tmp_path / "d2", "kaggle"))
    a = rep["against"]
    assert a["exact_matches"] == 0
    assert a["near_matches"] == a["near_matches_same_class"] == len(first)
    assert rep["near"]["clusters_across_classes"] == 0


@pytest.mark.realdata
def test_real_dataset1_matches_published_structure(realdata):
    """The shared copy is downscaled (no byte matches the 2213 x 1572 originals), but every
    published file is there, in its class, with the published duplicate structure."""
    ref = A.expected_manifest_path()
    assert ref is not None
    v = A.verify_manifest(A.build_manifest(realdata / "dataset1_mendeley", phash=False), ref)
    assert v["n_found"] == v["n_expected"] == 928 and not v["missing"] and not v["extra"] and not v["class_mismatch"]
    assert v["duplicate_structure_as_published"]


def test_page_hash_reads_full_size_pixels_upright(tmp_path):
    """The audit reads pixels through data.images.load_image: a full-size original sits a few
    bits from its own downscaled copy (a reduced JPEG draft decode put them 13-18 bits apart
    here, 25-58 on real pages), and a phone photo stored sideways with an EXIF turn is its page."""
    import cv2
    from PIL import Image

    page = F.synthetic_pages(1, seed=0, size=(262, 368))["MI"][0]
    big = cv2.resize(page, (2213, 1572), interpolation=cv2.INTER_CUBIC)  # Dataset I's original size
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=90)
    Image.fromarray(cv2.resize(big, (737, 524), interpolation=cv2.INTER_AREA)).save(tmp_path / "small.jpg", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(big).transpose(Image.Transpose.ROTATE_90).save(tmp_path / "turned.jpg", quality=90, exif=exif)
    rows = {n: A._hash_file(tmp_path / n) for n in ("big.jpg", "small.jpg", "turned.jpg")}
    assert rows["big.jpg"][2:4] == (2213, 1572) and rows["turned.jpg"][2:4] == (2213, 1572)  # full decode, upright
    with Image.open(tmp_path / "big.jpg") as im:
        full = A._to_hex(A.page_hash(np.asarray(im.convert("RGB"))))
    assert rows["big.jpg"][0] == full  # the hash of every pixel, not of a reduced draft
    d = A.hamming_matrix([rows["big.jpg"][0]], [rows["small.jpg"][0], rows["turned.jpg"][0]])[0]
    assert d[0] <= 12 and d[1] <= 12, d


# ------------------------------------------------------------------------------------------
# PTB-XL folders
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def damaged_ptbxl(tmp_path_factory, break_ptbxl):
    """The loader's NaN, flat and missing-file records plus a truncated .dat, a 500 Hz header, a
    short record, a malformed scp_codes row and one record whose .dat is a copy of another's."""
    root = tmp_path_factory.mktemp("ptbxl_audit") / "ptbxl"
    planted = F.write_mini_ptbxl(root, n_per_class=2, defects=True)  # rows 0-9: two per class, NORM first
    named = {kind: break_ptbxl(root, kind, row)  # the CD record of row 7 copied over the HYP record of row 8
             for kind, row in (("truncated .dat", 0), ("500 Hz header", 1), ("short record", 2),
                               ("malformed scp_codes", 3), ("copy of another .dat", 7))}
    return root, planted, named


def test_ptbxl_audit_names_what_the_loader_skips_without_drawing(damaged_ptbxl, monkeypatch):
    """The audit of a PTB-XL folder reports every record the dataset skips, with the dataset's
    reason, counts the readable ones per class, fold and patient, and finds the copied signal;
    it draws no page."""
    from simcardionet_lite.data import ptbxl_audit as PA
    from simcardionet_lite.data.datasets import PTBXL
    from simcardionet_lite.ecg import render

    root, planted, named = damaged_ptbxl
    monkeypatch.setattr(render, "render", lambda *a, **k: pytest.fail("the audit drew a page"))
    man = PA.ptbxl_manifest(root)
    monkeypatch.undo()
    rep = PA.ptbxl_report(man)
    assert rep["n_records"] == planted["n_records"] and rep["n_unreadable"] == 3 + 4
    errors = dict(zip(man["record"], man["error"]))
    assert "unreadable record" in errors[named["truncated .dat"]]
    assert "listed as the 100 Hz version" in errors[named["500 Hz header"]]
    assert "record too short" in errors[named["short record"]]
    assert errors[planted["missing"][0]].startswith("missing") and "NaN" in errors[planted["nan"][0]]
    assert "flat-line" in errors[planted["flat"][0]]
    row = next(r for r in errors if named["malformed scp_codes"] + "," in r)
    assert "malformed scp_codes" in errors[row]
    # the same records and reasons as the dataset's skip report (every unreadable one has a superclass)
    ds = PTBXL(root, single_label=False, image_size=(32, 48), cache_dir=root.parent / "cache")
    assert dict(ds.skipped.skipped) == {str(root / r): e for r, e in errors.items() if e}
    # counts over the readable records: NORM lost 3 planted + truncated + 500 Hz, MI short + malformed
    expected = dict(planted["single"], NORM=planted["single"]["NORM"] - 5, MI=planted["single"]["MI"] - 2)
    assert {c: v["single_label"] for c, v in rep["classes"].items()} == expected
    assert rep["no_superclass"] == planted["none"] and rep["more_than_one_superclass"] == planted["multi"]
    assert sum(v["readable"] for v in rep["folds"].values()) == rep["n_readable"] == len(ds) + planted["none"]
    assert rep["patients"]["n"] == man.loc[man["error"] == "", "patient_id"].nunique()
    ex = rep["exact"]
    source = pd.read_csv(root / "ptbxl_database.csv")["filename_lr"][7]
    assert ex["duplicates"] == ex["clusters_with_copies"] == 1
    assert ex["clusters"] == [[source, named["copy of another .dat"]]]
    assert ex["clusters_across_labels"] == ex["clusters_across_patients"] == ex["clusters_across_folds"] == 1
    assert any("exact duplicate signals" in line for line in PA.ptbxl_summary_lines(rep))


def test_ptbxl_audit_cli(clean_ptbxl_tree, tmp_path, capsys):
    out, rep_json = tmp_path / "records.csv", tmp_path / "r.json"
    assert A.main([str(clean_ptbxl_tree), "--out", str(out), "--json", str(rep_json)]) == 0
    assert "PTB-XL records: 7 listed, 7 readable, 0 unreadable" in capsys.readouterr().out
    rep = json.loads(rep_json.read_text())
    assert rep["source"] == "ptbxl" and rep["exact"]["duplicates"] == 0 and len(pd.read_csv(out)) == 7
    assert A.main([str(clean_ptbxl_tree), "--against", str(clean_ptbxl_tree)]) == 2
    assert "--against applies to image folders" in capsys.readouterr().err
    assert A.main([str(tmp_path), "--layout", "ptbxl"]) == 2  # a folder without the database
    assert "ptbxl_database.csv not found" in capsys.readouterr().err


@pytest.mark.realdata
def test_real_ptbxl_sample_audit(realdata):
    """The sample's README: 988 records (ecg_id 1-1000 in v1.0.3), single-superclass NORM 514,
    STTC 107, CD 73, MI 65, HYP 15, 12 without a diagnostic code; per strat_fold 1-10: 101, 92,
    77, 97, 85, 76, 109, 87, 136, 128. Every record readable, no two signal files alike."""
    import hashlib

    from simcardionet_lite.data import ptbxl_audit as PA

    root = realdata / "ptbxl_sample"
    man = PA.ptbxl_manifest(root)
    rep = PA.ptbxl_report(man)
    assert rep["n_records"] == rep["n_readable"] == 988 and rep["n_unreadable"] == 0
    assert {c: v["single_label"] for c, v in rep["classes"].items()} == {"NORM": 514, "MI": 65, "STTC": 107, "CD": 73,
                                                                          "HYP": 15}
    assert rep["no_superclass"] == 12
    assert [v["records"] for v in rep["folds"].values()] == [101, 92, 77, 97, 85, 76, 109, 87, 136, 128]
    db = pd.read_csv(root / "ptbxl_database.csv")
    assert rep["patients"]["n"] == db["patient_id"].nunique() and rep["patients"]["in_more_than_one_fold"] == 0
    shas = {hashlib.sha256((root / f"{f}.dat").read_bytes()).hexdigest() for f in db["filename_lr"]}
    assert rep["exact"]["duplicates"] == 988 - len(shas)
