"""The banner of a results chapter says which data its numbers come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from simcardionet_lite.errors import DataError
from simcardionet_lite.experiments import banner


def test_no_data_root_gives_synthetic_banner_and_says_no_committed_run() -> None:
    b = banner("05_dataset1", None, "smoke")
    assert b.kind == "synthetic"
    assert "SYNTHETIC DATA" in b.text and "mendeley" in b.text
    assert "No committed results" in b.text
    assert "Smoke preset" in b.text
    assert b._repr_markdown_() == b.text


def test_synthetic_banner_names_committed_runs() -> None:
    b = banner("07_ptbxl", None, "paper", committed={"paper": {"metrics": {}}, "real-cpu": {"metrics": {}}})
    assert b.kind == "synthetic" and b.committed == ("paper", "real-cpu")
    assert "`paper`" in b.text and "`real-cpu`" in b.text
    assert "No committed" not in b.text and "Smoke preset" not in b.text
    assert "ptbxl" in b.text


def test_real_data_root_gives_real_banner(tmp_path: Path) -> None:
    b = banner("05_dataset1", tmp_path, "paper")
    assert b.kind == "real" and "REAL DATA" in b.text and str(tmp_path) in b.text
    assert "SYNTHETIC" not in b.text and "No committed" not in b.text


def test_missing_data_root_is_an_error_not_a_silent_fallback(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist") as err:
        banner("06_dataset2", tmp_path / "nope", "smoke")
    assert err.value.fix and "None" in err.value.fix


def test_constructed_standin_is_labelled_as_constructed(tmp_path: Path) -> None:
    b = banner("06_dataset2", tmp_path, "smoke", constructed=True)
    assert b.kind == "constructed" and "CONSTRUCTED STAND-IN" in b.text
    assert "REAL DATA" not in b.text and "not the Kaggle dataset" in b.text
