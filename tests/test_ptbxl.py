"""PTB-XL: superclass aggregation, official folds, wfdb records, bad input, the real sample."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from simcardionet_lite.config import PTBXL_CLASSES
from simcardionet_lite.data import fixtures as F
from simcardionet_lite.data import ptbxl as P
from simcardionet_lite.data.datasets import PTBXL
from simcardionet_lite.errors import DataError


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    root = tmp_path_factory.mktemp("ptbxl")
    planted = F.write_mini_ptbxl(root, n_per_class=2)
    return root, planted


def test_aggregation_counts_every_listed_code():
    mapping = {"IMI": "MI", "LVH": "HYP", "NORM": "NORM"}
    assert P.superclasses({"IMI": 0.0, "SR": 0.0}, mapping) == ["MI"]  # likelihood 0 still counts
    assert P.superclasses({"LVH": 50.0, "IMI": 100.0}, mapping) == ["MI", "HYP"]
    assert P.superclasses({"SR": 0.0}, mapping) == []
    assert P.multilabel_matrix([["MI", "HYP"], []]).tolist() == [[0, 1, 0, 0, 1], [0, 0, 0, 0, 0]]


def test_mini_tree_loads_with_skips_reported(mini, tmp_path):
    root, planted = mini
    ds = PTBXL(root, sampling_rate=100, image_size=(48, 64), cache_dir=tmp_path)
    assert ds.classes == PTBXL_CLASSES
    assert ds.excluded == {"no diagnostic superclass": planted["none"], "more than one superclass": planted["multi"]}
    reasons = {r for _, r in ds.skipped.skipped}
    assert any("NaN" in r for r in reasons) and any("flat" in r for r in reasons) and any(".dat" in r for r in reasons)
    assert len(ds.skipped) == 3
    expected = dict(planted["single"])
    expected["NORM"] -= 3  # the three defective records were NORM
    assert ds.class_counts() == expected
    img, label, id_ = ds[0]
    assert img.shape == (3, 48, 64) and id_.startswith("ptbxl-")
    assert ds.multilabel.shape == (len(ds), 5) and (ds.multilabel.sum(1) == 1).all()
    assert (ds.multilabel.argmax(1) == ds.labels).all()
    assert set(ds.strat_fold) <= set(range(1, 11))


def test_multilabel_mode_keeps_multi_superclass_records(mini, tmp_path):
    root, planted = mini
    ds = PTBXL(root, single_label=False, image_size=(48, 64), cache_dir=tmp_path)
    assert (ds.multilabel.sum(1) >= 1).all() and (ds.multilabel.sum(1) == 2).sum() == planted["multi"]


def test_official_split(mini, tmp_path):
    root, _ = mini
    tr = PTBXL(root, split="train", image_size=(32, 48), cache_dir=tmp_path)
    te = PTBXL(root, split="test", image_size=(32, 48), cache_dir=tmp_path)
    assert set(tr.strat_fold) <= set(range(1, 9)) and set(te.strat_fold) <= {10}
    assert not set(tr.ids) & set(te.ids)


def test_wrong_sampling_rate_is_a_clear_error(tmp_path):
    root = tmp_path / "p500"
    F.write_mini_ptbxl(root, n_per_class=1, sampling_rate=500, defects=False)
    # records500 exists but the 100 Hz files do not: every record missing -> one clear error
    with pytest.raises(DataError, match="records100"):
        PTBXL(root, sampling_rate=100, cache_dir=tmp_path / "c")
    # a 500 Hz record where a 100 Hz one is expected
    (root / "records100").symlink_to(root / "records500")
    import pandas as pd

    db = pd.read_csv(root / "ptbxl_database.csv")
    db["filename_lr"] = db["filename_hr"]
    db.to_csv(root / "ptbxl_database.csv", index=False)
    with pytest.raises(DataError, match="500 Hz"):
        PTBXL(root, sampling_rate=100, cache_dir=tmp_path / "c")
    with pytest.raises(DataError, match="100 or 500"):
        PTBXL(root, sampling_rate=250)


def test_missing_files_name_the_fix(tmp_path):
    with pytest.raises(DataError, match="not found"):
        PTBXL(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="ptbxl_database.csv"):
        PTBXL(tmp_path / "empty")


@pytest.mark.slow
@pytest.mark.realdata
def test_real_sample_counts(realdata, tmp_path):
    root = realdata / "ptbxl_sample"
    df = P.load_ptbxl_metadata(root)
    assert len(df) == 988
    assert df["strat_fold"].value_counts().sort_index().tolist() == [101, 92, 77, 97, 85, 76, 109, 87, 136, 128]
    ds = PTBXL(root, sampling_rate=100, image_size=(48, 64), cache_dir=tmp_path)
    assert ds.class_counts() == {"NORM": 514, "MI": 65, "STTC": 107, "CD": 73, "HYP": 15}
    assert ds.excluded["no diagnostic superclass"] == 12 and len(ds.skipped) == 0
    counts = collections.Counter(np.asarray(ds.classes)[ds.labels])
    assert sum(counts.values()) == 774


def test_baseline_removal_keeps_the_qrs_band():
    fs = 100
    t = np.arange(1000) / fs
    drift = 0.5 * np.sin(2 * np.pi * 0.1 * t)
    qrs_band = 0.3 * np.sin(2 * np.pi * 10 * t)
    out = P.remove_baseline(np.stack([drift + qrs_band] * 12), fs, 0.5)
    core = slice(200, 800)
    assert np.abs(out[0, core] - qrs_band[core]).max() < 0.05  # drift gone, 10 Hz kept


def test_fingerprint_follows_content_not_place(mini, tmp_path):
    """The PTB-XL fingerprint (and page-cache key) hashes the CSVs and record bytes: a copy of
    the tree elsewhere is the same data (cache hit), another split or a changed header is not."""
    import shutil

    root, _ = mini
    a = PTBXL(root, image_size=(32, 48), cache_dir=tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    b = PTBXL(copy, image_size=(32, 48), cache_dir=tmp_path)
    assert b.fingerprint == a.fingerprint and b.cache.hits == 1
    assert PTBXL(root, split="test", image_size=(32, 48), cache_dir=tmp_path).fingerprint != a.fingerprint
    assert P.records_fingerprint(root, ["records100/00000/00001_lr"], 100) != P.records_fingerprint(
        root, ["records100/00000/00001_lr"], 500)
    hea = copy / "records100" / "00000" / "00001_lr.hea"
    hea.write_text(hea.read_text() + "# a comment\n")  # same record, other header bytes
    assert PTBXL(copy, image_size=(32, 48), cache_dir=tmp_path).fingerprint != a.fingerprint


def test_broken_records_and_rows_are_named_and_skipped_not_fatal(tmp_path):
    """A truncated .dat, a 500 Hz header in records100/ and a malformed scp_codes row: each named in the
    skip report; the other records load (these aborted the whole load before)."""
    import pandas as pd

    root = tmp_path / "ptbxl"
    F.write_mini_ptbxl(root, n_per_class=2, defects=False)
    db = pd.read_csv(root / "ptbxl_database.csv")
    trunc, fs500, bad_row = db["filename_lr"][0], db["filename_lr"][2], int(db["ecg_id"][4])
    dat = root / f"{trunc}.dat"
    dat.write_bytes(dat.read_bytes()[:1001])  # an odd byte count: not a whole number of 12-lead samples
    hea = root / f"{fs500}.hea"
    first, *rest = hea.read_text().splitlines()
    parts = first.split()
    parts[2] = "500"  # the record line's sampling frequency
    hea.write_text("\n".join([" ".join(parts), *rest]) + "\n")
    db.loc[4, "scp_codes"] = "{'NORM': 100.0"  # unbalanced: not a dict literal
    db.to_csv(root / "ptbxl_database.csv", index=False)

    ds = PTBXL(root, sampling_rate=100, image_size=(48, 64), cache_dir=tmp_path / "cache")
    skipped = dict(ds.skipped.skipped)
    assert len(skipped) == 3
    assert any(trunc in path and "unreadable record" in why for path, why in skipped.items())
    assert any(fs500 in path and "500 Hz" in why for path, why in skipped.items())
    assert any(f"ecg_id {bad_row}" in path and "malformed scp_codes" in why for path, why in skipped.items())
    assert len(ds) == 2 * 5 - 3  # the ten single-label records minus the three broken ones
    with pytest.raises(DataError, match="unreadable record") as err:
        P.read_record(root, trunc, 100)
    assert err.value.path.endswith(".dat") and "re-download" in err.value.fix
    with pytest.raises(DataError, match="listed as the 100 Hz version") as err:
        P.read_record(root, fs500, 100)
    assert "sampling_rate=100" not in err.value.fix  # the old fix told the user to do what they had done
