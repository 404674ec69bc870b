"""Tests of inner-validation tuning (``experiments.tuning``) and of the tuning script's candidate grids."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from simcardionet_lite import experiments as ex
from simcardionet_lite.experiments.tuning import DIAGNOSTIC, inner_splits, inner_validation, select

ROOT = Path(__file__).resolve().parents[1]


def _scores(**means: float) -> dict[str, dict[str, float]]:
    return {name.replace("_", " "): {"mean_macro_f1": m} for name, m in means.items()}


def test_select_takes_the_best_mean_and_the_first_listed_on_a_tie() -> None:
    assert select(_scores(a=0.80, b=0.85, c=0.84)) == "b"
    assert select(_scores(a=0.85, b=0.85)) == "a"


def test_select_never_picks_a_diagnostic() -> None:
    scores = {"preset": {"mean_macro_f1": 0.80}, f"{DIAGNOSTIC} like scratch": {"mean_macro_f1": 0.95},
              "lower lr": {"mean_macro_f1": 0.82}}
    assert select(scores) == "lower lr"
    with pytest.raises(ValueError, match="diagnostics are never selected"):
        select({f"{DIAGNOSTIC} only": {"mean_macro_f1": 0.9}})
    with pytest.raises(ValueError, match="no candidates"):
        select({})


class _Pages:
    """Labels and duplicate groups only: what the splits read."""

    def __init__(self) -> None:
        self.labels = np.repeat([0, 1, 2], 20)
        self.groups = np.arange(60) // 2  # every page has one copy


def test_inner_splits_never_touch_the_outer_test_fold_and_keep_clusters_whole() -> None:
    ds = _Pages()
    cfg = ex.get("dataset1_cv").config("smoke")
    outer = list(ex.cv_splits(ds.labels, ds.groups, cfg.eval.folds, protocol="grouped", seed=0))
    splits = inner_splits(ds, cfg, seed=0)
    assert [k for k, _, _ in splits] == list(range(cfg.eval.folds))
    for (k, fit, val), (tr, te) in zip(splits, outer):
        assert set(fit) | set(val) <= set(tr) and not (set(fit) | set(val)) & set(te)
        assert not set(ds.groups[fit]) & set(ds.groups[val])  # no cluster on both sides
        assert len(set(ds.groups[val])) == len(val)  # one page per cluster in validation
        assert set(ds.labels[fit]) == {0, 1, 2}
    assert [k for k, _, _ in inner_splits(ds, cfg, seed=0, folds=(1,))] == [1]


def test_inner_splits_refuse_an_empty_validation_part() -> None:
    ds = _Pages()
    ds.groups = np.arange(60) // 8  # few clusters per class: a quarter of them rounds to none
    with pytest.raises(ValueError, match="inner validation part is empty.*val_fraction"):
        inner_splits(ds, ex.get("dataset1_cv").config("smoke"), seed=0)


def _rounds() -> dict[int, dict[str, dict]]:
    spec = importlib.util.spec_from_file_location("tune_dataset1", ROOT / "scripts" / "tune_dataset1.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.ROUNDS


@pytest.mark.parametrize("preset", ["cpu", "cpu_pretrain"])
def test_every_tuning_candidate_is_a_valid_config(preset: str) -> None:
    """A misspelt key would stop a round after its first candidates' hour of fitting: with_overrides refuses it here."""
    base = ex.get("dataset1_cv").config(preset).to_dict()
    for candidates in _rounds().values():
        for overrides in candidates.values():
            cfg = ex.get("dataset1_cv").config(preset, overrides=overrides).to_dict()
            for key, value in overrides.items():
                section, _, field = key.partition(".")
                if field:  # a dotted override lands where it says, lists read as the config's tuples
                    assert np.array_equal(np.asarray(cfg[section][field], dtype=object), np.asarray(value, dtype=object)) \
                        or cfg[section][field] == value, key
                else:  # a section's fields given as a mapping
                    assert {k: cfg[section][k] for k in value} == value and cfg[section] != base[section] or \
                        {k: base[section][k] for k in value} == value, key  # changed, or the preset holds it already


def test_round_11_tunes_the_pretrained_arm_and_its_diagnostic_is_never_selected() -> None:
    r11 = _rounds()[11]
    cfgs = {n: ex.get("dataset1_cv").config("cpu_pretrain", overrides=o) for n, o in r11.items()}
    diag = [n for n in r11 if n.startswith(DIAGNOSTIC)]
    assert len(diag) == 2 and [ex.uses_pretraining(cfgs[n]) for n in diag] == [True, False]
    assert all(ex.uses_pretraining(c) for n, c in cfgs.items() if n not in diag)  # every selectable one tunes the pretrained arm
    like_scratch, scratch = (cfgs[n] for n in diag)
    # the scratch diagnostic is the scratch arm, i.e. the cpu preset; the other differs from it in the start alone
    assert scratch.to_dict()["finetune"] == ex.arm_config(ex.get("dataset1_cv").config("cpu_pretrain"), "scratch").to_dict()["finetune"]
    unused = ("preset", "pretrain")  # a random start never reads the pretraining section
    assert {k: v for k, v in scratch.to_dict().items() if k not in unused} == \
        {k: v for k, v in ex.get("dataset1_cv").config("cpu").to_dict().items() if k not in unused}
    differ = {k for k, v in like_scratch.to_dict()["finetune"].items() if scratch.to_dict()["finetune"][k] != v}
    assert differ == {"init"}
    # every pretrained candidate pretrains the same encoder, so the cache shares it between them
    keys = {ex.encoder_key(c, _KeyPages(), 0) for n, c in cfgs.items() if ex.uses_pretraining(c)}
    assert len(keys) == 1


class _KeyPages:
    """What ``encoder_key`` reads of a dataset."""

    fingerprint = "f"
    classes = ("A", "B")
    ids = ["p0", "p1"]


@pytest.mark.slow
def test_inner_validation_records_each_folds_encoder_and_reuses_it_across_candidates(tmp_path) -> None:
    from simcardionet_lite.data.factory import build_dataset

    tiny = {"data.image_size": (32, 48), "data.n_per_class": 12, "data.cache_dir": str(tmp_path / "cache"),
            "pretrain.epochs": 1, "pretrain.batch_size": 16, "finetune.epochs": 1, "eval.n_bootstrap": 20}
    cfg = ex.get("dataset1_cv").config("smoke", overrides=tiny)
    assert ex.uses_pretraining(cfg)
    ds = build_dataset(cfg.data, seed=cfg.seed)
    first = inner_validation(cfg, ds, seed=0, folds=(0, 1))
    other = inner_validation(ex.get("dataset1_cv").config("smoke", overrides={**tiny, "finetune.lr_decay": 1.0}), ds, seed=0,
                             folds=(0, 1))
    assert [r["outer_fold"] for r in first["runs"]] == [0, 1]
    assert [r["pretrain"]["cached"] for r in first["runs"]] == [False, False]  # each outer fold's fit part: its own encoder
    assert [r["pretrain"]["cached"] for r in other["runs"]] == [True, True]  # the fine-tuning changed, the encoder did not
    assert [r["pretrain"]["key"] for r in other["runs"]] == [r["pretrain"]["key"] for r in first["runs"]]
    assert first["mean_macro_f1"] == pytest.approx(np.mean([r["macro_f1"] for r in first["runs"]]))
