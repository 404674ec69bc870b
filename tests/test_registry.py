"""The recipe registry: one entry per results experiment, config-driven data, results that say what they read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simcardionet_lite import experiments as ex
from simcardionet_lite.errors import DataError

TINY = {"data.image_size": (32, 48), "data.n_per_class": 4, "pretrain.epochs": 1, "pretrain.batch_size": 16,
        "finetune.epochs": 1, "eval.n_bootstrap": 10, "experiment.gradcam_per_class": 1, "experiment.deletion_steps": 2,
        "experiment.label_fractions": (1.0,)}

RESULTS_CHAPTERS = {"dataset1_cv": "05_dataset1", "dataset2_ood": "06_dataset2", "ptbxl_folds": "07_ptbxl",
                    "ablations": "08_ablations", "label_efficiency": "09_label_efficiency", "gradcam": "10_gradcam"}


def test_every_results_chapter_has_one_recipe_found_by_name_chapter_or_number() -> None:
    table = ex.all_recipes()
    assert {name: table[name].chapter for name in RESULTS_CHAPTERS} == RESULTS_CHAPTERS
    assert len({r.chapter for r in table.values()}) == len(table)  # one recipe per chapter
    assert ex.get("05") is ex.get("05_dataset1") is ex.get("dataset1_cv")
    assert ex.for_chapter("04_pretraining") is None
    with pytest.raises(KeyError, match="known: .*dataset1_cv"):
        ex.get("nope")
    with pytest.raises(ValueError, match="twice"):
        ex.register("dataset1_cv", chapter="x", title="x", real_source="dataset1", reads=())(lambda cfg: None)


def test_recipe_config_selects_the_data_and_overrides_win(tmp_path: Path) -> None:
    r = ex.get("ptbxl_folds")
    syn = r.config("smoke")
    assert (syn.data.source, syn.data.style, syn.data.label_set) == ("synthetic", "ptbxl", "ptbxl")
    real = r.config("paper", data_root=tmp_path)
    assert real.data.source == "ptbxl" and real.data.root == str(tmp_path.resolve()) and real.preset == "paper"
    assert ex.get("dataset1_cv").config("smoke").data.duplicate_fraction == pytest.approx(0.47)
    standin = ex.get("dataset2_ood").config("smoke", data_root=tmp_path, overrides={"data.source": "kaggle_standin"})
    assert standin.data.source == "kaggle_standin" and standin.data.root == str(tmp_path.resolve())
    with pytest.raises(DataError, match="does not exist"):
        r.config("smoke", data_root=tmp_path / "typo")
    assert ex.results_tag(real) == "ptbxl-paper" and ex.results_tag(syn, "cpu") == "synthetic-cpu"
    assert ex.results_dir_for("07_ptbxl", syn, root=tmp_path) == tmp_path / "07_ptbxl" / "synthetic-smoke"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ex.all_recipes()))  # a new recipe is tested with no edit here
def test_every_recipe_runs_and_publishes_what_it_read(name: str, tmp_path: Path) -> None:
    r = ex.get(name)
    cfg = r.config("smoke", overrides={**TINY, "data.cache_dir": str(tmp_path / "cache")})
    out = ex.results_dir_for(r.chapter, cfg, root=tmp_path / "results")
    result = ex.run_recipe(r, cfg, results_dir=out)
    d = json.loads((out / "metrics.json").read_text())
    assert result.path == out / "metrics.json" and d["chapter"] == r.chapter and out.name == "synthetic-smoke"
    assert d["seeds"] == list(cfg.eval.seeds) and d["config"]["data"]["source"] == "synthetic"
    assert d["extra"]["recipe"]["name"] == name and d["extra"]["recipe"]["reads_hash"] == cfg.hash(*r.reads)
    assert d["data"] and all(rec["source"] == "synthetic" and len(rec["fingerprint"]) == 64 and rec["n"] > 0
                             for rec in d["data"].values())
    assert d["metrics"] == result.metrics  # what the chapter shows is what was published


@pytest.mark.slow
def test_a_real_source_run_records_its_source_root_fingerprint_and_counts(tmp_path: Path) -> None:
    from simcardionet_lite.data import fixtures as F
    from simcardionet_lite.data.factory import build_dataset

    root = tmp_path / "mendeley"
    F.write_image_tree(root, "mendeley", 4, exact_copies=1, near_copies=0, corrupt=False, modes=False)
    r = ex.get("dataset1_cv")
    cfg = r.config("smoke", data_root=root, overrides={**TINY, "data.cache_dir": str(tmp_path / "cache"),
                                                         "experiment.protocols": ("grouped",),
                                                         "experiment.max_cv_folds": 1, "eval.folds": 2})
    out = ex.results_dir_for(r.chapter, cfg, root=tmp_path / "results")
    ex.run_recipe(r, cfg, results_dir=out)
    d = json.loads((out / "metrics.json").read_text())
    rec = d["data"]["pages"]
    assert out.name == "dataset1-smoke" and d["config"]["data"]["source"] == "dataset1"
    assert rec["source"] == "dataset1" and rec["root"] == str(root.resolve())
    assert rec["fingerprint"] == build_dataset(cfg.data).fingerprint and sum(rec["counts"].values()) == rec["n"] > 0


@pytest.mark.slow
def test_real_dataset1_run_records_the_real_source(realdata: Path, tmp_path: Path) -> None:
    r = ex.get("dataset1_cv")
    cfg = r.config("smoke", data_root=realdata / "dataset1_mendeley",
                   overrides={**TINY, "data.cache_dir": str(tmp_path / "cache"), "experiment.protocols": ("grouped",),
                              "experiment.max_cv_folds": 1, "finetune.init": "random"})  # no pretraining: the data path is the test
    result = ex.run_recipe(r, cfg, results_dir=tmp_path / "out")
    rec = json.loads((tmp_path / "out" / "metrics.json").read_text())["data"]["pages"]
    assert rec["source"] == "dataset1" and rec["n"] == 928 and len(rec["fingerprint"]) == 64
    assert rec["counts"] == {"MI": 239, "PMI": 172, "AHB": 233, "NORM": 284}
    assert result.metrics["grouped"]["folds"][0]["test_groups_seen_in_train"] == 0


def test_overrides_win_over_the_stand_in_defaults() -> None:
    r = ex.get("ptbxl_folds")
    assert r.config("smoke").data.n_per_class == 24  # the PTB-XL stand-in's size (ours)
    assert r.config("smoke", overrides={"data.n_per_class": 7}).data.n_per_class == 7
