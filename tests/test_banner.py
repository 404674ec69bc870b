"""The banner of a results chapter says which data its numbers come from (read from the config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simcardionet_lite import experiments as ex
from simcardionet_lite.errors import DataError


def test_no_data_root_gives_synthetic_banner_and_says_no_committed_run() -> None:
    r = ex.get("05_dataset1")
    b = ex.banner(r.title, r.config("smoke"))
    assert b.kind == "synthetic"
    assert "SYNTHETIC DATA" in b.text and "mendeley" in b.text
    assert "No committed results" in b.text
    assert "Smoke preset" in b.text
    assert b._repr_markdown_() == b.text


def test_synthetic_banner_names_committed_runs() -> None:
    r = ex.get("07_ptbxl")
    b = ex.banner(r.title, r.config("paper"), committed={"ptbxl-paper": {"metrics": {}}, "real-cpu": {"metrics": {}}})
    assert b.kind == "synthetic" and b.committed == ("ptbxl-paper", "real-cpu")
    assert "`ptbxl-paper`" in b.text and "`real-cpu`" in b.text
    assert "No committed" not in b.text and "Smoke preset" not in b.text
    assert "ptbxl" in b.text


def test_real_data_root_gives_real_banner(tmp_path: Path) -> None:
    r = ex.get("05_dataset1")
    b = ex.banner(r.title, r.config("paper", data_root=tmp_path))
    assert b.kind == "real" and "REAL DATA" in b.text and str(tmp_path.resolve()) in b.text
    assert "data.source = dataset1" in b.text
    assert "SYNTHETIC" not in b.text and "No committed" not in b.text
    assert "Time on real data" not in b.text  # the paper preset is not sold as a minutes-long run
    smoke = ex.banner(r.title, r.config("smoke", data_root=tmp_path))
    assert "Time on real data" in smoke.text and "12 minutes on 2 CPU cores" in smoke.text
    assert "Time on real data" not in ex.banner(r.title, r.config("smoke")).text  # synthetic pages: minutes


def test_missing_data_root_is_an_error_not_a_silent_fallback(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist") as err:
        ex.get("06_dataset2").config("smoke", data_root=tmp_path / "nope")
    assert err.value.fix and "None" in err.value.fix


def test_constructed_standin_is_labelled_as_constructed(tmp_path: Path) -> None:
    r = ex.get("06_dataset2")
    b = ex.banner(r.title, r.config("smoke", data_root=tmp_path, overrides={"data.source": "kaggle_standin"}))
    assert b.kind == "constructed" and "CONSTRUCTED STAND-IN" in b.text
    assert "REAL DATA" not in b.text and "not the Kaggle dataset" in b.text


def test_corpus_note_says_whether_test_pages_were_pretrained_on() -> None:
    from simcardionet_lite.config import load_preset

    assert "transductive" in ex.corpus_note(load_preset("smoke"))
    assert "inductive" in ex.corpus_note(load_preset("paper")) and "no test page" in ex.corpus_note(load_preset("paper"))


def test_run_description_reads_old_and_new_results_files() -> None:
    old = {"config": {"experiment": {"pretrain_pool": "fold"}, "data": {"image_size": [128, 176]}},
           "extra": {"data_root": "/x"}, "preset": "smoke", "seeds": [0]}
    new = {"config": {"pretrain": {"corpus": "all_pages"}}, "data": {"pages": {"source": "synthetic"}}, "preset": "smoke"}
    assert ex.run_description(old).startswith("real data") and "`train_pages`" in ex.run_description(old)
    assert ex.run_description(new).startswith("synthetic data") and "`all_pages`" in ex.run_description(new)
    standin = {"data": {"train": {"source": "dataset1"}, "test": {"source": "kaggle_standin"}}}
    assert ex.run_description(standin).startswith("CONSTRUCTED")


def test_run_description_says_how_long_a_committed_run_took() -> None:
    from simcardionet_lite.experiments.report.banner import duration

    d = {"config": {"data": {"image_size": [192, 384], "panels": True}}, "extra": {"wall_s": 4850.2},
         "metadata": {"hardware": {"cpu_usable": 2}}, "data": {"pages": {"source": "dataset1"}}, "seeds": [0, 1, 2]}
    assert "CPU (2 cores), took 1 h 21 min" in ex.run_description(d)
    assert (duration(45), duration(2221), duration(3600)) == ("45 s", "37 min", "1 h 0 min")
    assert "took" not in ex.run_description({"config": {}})  # older files recorded no time


def test_run_description_names_an_encoder_that_is_not_the_papers() -> None:
    d = {"config": {"data": {"image_size": [192, 384], "panels": True}}}
    assert "not the paper's" not in ex.run_description(d)  # older files and the default: the paper's block
    d["config"]["model"] = {"block": "plain", "attn_form": "standard"}
    text = ex.run_description(d)
    assert "plain panel encoder (not the paper's multi-scale residual block), standard transformer layer" in text


def test_run_description_names_fine_tuning_time_shifts() -> None:
    d = {"config": {"data": {"image_size": [192, 384], "panels": True}, "aug_finetune": {"translate_frac": 0.0}}}
    assert "time shifts" not in ex.run_description(d)
    d["config"]["aug_finetune"]["translate_frac"] = 0.1
    assert "fine-tuned with time shifts of up to 10 % inside each lead panel" in ex.run_description(d)
    d["config"]["data"]["panels"] = False
    assert ex.run_description(d).count("time shifts of up to 10 %,") == 1 and "inside each" not in ex.run_description(d)


def test_run_description_names_test_time_views() -> None:
    d = {"config": {"data": {"image_size": [192, 384], "panels": True}, "eval": {"seeds": [0]}}}
    assert "test page scored" not in ex.run_description(d)  # older files recorded no views
    d["config"]["eval"]["tta_shifts"] = [-0.1, -0.05, 0.05, 0.1]
    assert ("each test page scored with its panels also shifted by -10 %, -5 %, +5 %, +10 % (probabilities averaged)"
            in ex.run_description(d))
