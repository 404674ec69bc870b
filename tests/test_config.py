"""Tests of the config presets and of the provenance rule (every field says paper or ours)."""

from __future__ import annotations

import importlib
from pathlib import Path
from dataclasses import fields, is_dataclass

import pytest

from simcardionet_lite import config
from simcardionet_lite.config import PRESETS, Config, load_preset, with_overrides
from simcardionet_lite.provenance import field_provenance, provenance_table


def test_every_config_field_says_paper_or_ours() -> None:
    missing = [f"{fp.cls}.{fp.name} (config.py line {fp.lineno}): {fp.comment!r}"
               for fp in field_provenance() if fp.tag not in ("paper", "ours")]
    assert not missing, "config fields without a '# paper' or '# ours' comment:\n" + "\n".join(missing)


def test_provenance_covers_every_dataclass_field() -> None:
    """The source parser must see every field the dataclasses really have (no silent gaps)."""
    seen = {(fp.cls, fp.name) for fp in field_provenance()}
    for obj in vars(config).values():
        if isinstance(obj, type) and is_dataclass(obj) and obj.__module__ == config.__name__:
            for f in fields(obj):
                if obj is Config and is_dataclass(getattr(Config(), f.name)):
                    continue  # a section; its own fields are checked
                assert (obj.__name__, f.name) in seen, f"{obj.__name__}.{f.name} not found by the parser"


def test_provenance_check_catches_a_missing_comment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule is live: a field without a comment (or with another word) is reported."""
    src = """
from dataclasses import dataclass, field

@dataclass
class DataConfig:
    a: int = 1  # ours
    b: int = 2
    c: int = 3  # maybe
    # paper: stated
    d: tuple[int, ...] = (
        1,
    )

@dataclass
class Config:
    preset: str = "x"  # ours
    data: DataConfig = field(default_factory=DataConfig)
"""
    (tmp_path / "fake_config_mod.py").write_text(src)
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("fake_config_mod")
    tags = {fp.name: fp.tag for fp in field_provenance(mod)}
    assert tags == {"a": "ours", "b": None, "c": None, "d": "paper", "preset": "ours"}


def test_provenance_table_lists_both_presets() -> None:
    t = provenance_table()
    assert {"field", "provenance", "smoke", "cpu", "paper", "comment"} <= set(t.columns)
    assert set(t.provenance) <= {"paper", "ours"}
    row = t.set_index("field").loc["eval.folds"]
    assert row.provenance == "paper" and row.smoke == "3"
    assert t.set_index("field").loc["data.image_size", "paper"] == "(224, 224)"
    assert "aug_pretrain.rotation_deg" in set(t.field) and "aug_finetune.rotation_deg" in set(t.field)


@pytest.mark.parametrize("name", ["smoke", "cpu", "cpu_pretrain", "paper"])
def test_presets_round_trip(name: str) -> None:
    cfg = load_preset(name)
    assert cfg.preset == name
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert cfg.hash() == load_preset(name).hash()


def test_overrides_dotted_and_section_and_typos() -> None:
    cfg = load_preset("smoke", **{"pretrain.epochs": 2}, finetune={"lr": 0.5}, seed=4)
    assert (cfg.pretrain.epochs, cfg.finetune.lr, cfg.seed) == (2, 0.5, 4)
    assert cfg.finetune.epochs == load_preset("smoke").finetune.epochs  # section dict merges
    assert cfg.hash("model") == load_preset("smoke").hash("model")
    assert cfg.hash("pretrain") != load_preset("smoke").hash("pretrain")
    with pytest.raises(KeyError, match="unknown config key"):
        load_preset("smoke", **{"pretrain.epoch": 2})
    with pytest.raises(KeyError, match="unknown preset"):
        load_preset("fast")


def test_paper_preset_is_larger_than_smoke() -> None:
    s, p = load_preset("smoke"), load_preset("paper")
    assert p.data.image_size[0] * p.data.image_size[1] > s.data.image_size[0] * s.data.image_size[1]
    assert p.pretrain.epochs > s.pretrain.epochs and p.finetune.epochs > s.finetune.epochs
    assert s.eval.folds == p.eval.folds == 3  # paper: 3-fold CV in both presets


def test_one_settings_syntax_for_every_command() -> None:
    from simcardionet_lite.config import parse_assignments, parse_value

    assert parse_value("3") == 3 and parse_value("0.5") == 0.5
    assert parse_value('{"pretrain.epochs": 2}') == {"pretrain.epochs": 2}
    assert parse_value("None") is None and parse_value("null") is None and parse_value("True") is True
    assert parse_value("/data/mendeley") == "/data/mendeley" and parse_value("paper") == "paper"
    assert parse_value("[128, 176]") == [128, 176] and parse_value("(1, 2)") == (1, 2)
    got = parse_assignments(["pretrain.epochs=2", "data.image_size=[128,176]", "data.root=/a=b", "model.pool=grid"])
    assert got == {"pretrain.epochs": 2, "data.image_size": [128, 176], "data.root": "/a=b", "model.pool": "grid"}
    cfg = load_preset("smoke", **got)
    assert cfg.data.image_size == (128, 176) and cfg.model.pool == "grid"  # lists become the fields' tuples
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        parse_assignments(["pretrain.epochs"], option="-p")


def test_dead_config_is_gone_and_defaults_agree() -> None:
    from dataclasses import fields

    from simcardionet_lite.config import ExperimentConfig, FinetuneConfig, LossConfig
    from simcardionet_lite.losses import HybridContrastiveLoss

    assert "label_fraction" not in {f.name for f in fields(FinetuneConfig)}
    gone = {"pretrain_pool", "ablation_seeds", "synthetic_duplicate_fraction", "kaggle_jpeg_quality", "ptbxl_n_per_class"}
    assert not gone & {f.name for f in fields(ExperimentConfig)}
    loss = HybridContrastiveLoss()
    assert (loss.temperature, loss.lam) == (LossConfig().temperature, LossConfig().lam)
    assert load_preset("paper").pretrain.corpus == "train_pages"  # inductive at full size


def test_cpu_pretrain_is_cpu_with_the_two_stages_and_its_scratch_arm_is_cpu() -> None:
    """The pretraining questions compare against the tuned cpu preset, not a weakened copy."""
    from simcardionet_lite.experiments.arms import arm_config

    cpu, pre = load_preset("cpu"), load_preset("cpu_pretrain")
    assert pre.finetune.init == "pretrained" and pre.finetune.unfreeze_schedule[0] == (0, ("head",))
    assert pre.finetune.lr_decay == 0.5 and pre.pretrain.epochs == 15 and pre.pretrain.corpus == "train_pages"
    for section in ("data", "model", "loss", "aug_pretrain", "aug_finetune", "eval", "experiment"):
        assert getattr(pre, section) == getattr(cpu, section), section
    scratch = arm_config(pre, "scratch").to_dict()
    assert {k: v for k, v in scratch.items() if k not in ("preset", "pretrain")} == \
        {k: v for k, v in cpu.to_dict().items() if k not in ("preset", "pretrain")}


def test_cpu_preset_takes_round_6_time_shifts_and_the_resnet18_arm_does_not() -> None:
    """The tuned per-panel shift is the method's; the whole-page ResNet-18 keeps the recipe it was committed with."""
    from simcardionet_lite.config import CPU_TIME_SHIFT
    from simcardionet_lite.experiments.arms import arm_config

    cpu = load_preset("cpu")
    assert cpu.aug_finetune.translate_frac == CPU_TIME_SHIFT == 0.1
    assert cpu.experiment.protocols == ("grouped",) and cpu.experiment.cv_arms == ("resnet18",)  # the 2-hour budget
    for arm in ("resnet18", "resnet18_masked"):
        ref = arm_config(cpu, arm)
        assert ref.aug_finetune.translate_frac == 0.0 and not ref.data.panels
        assert ref.aug_finetune.color_jitter == cpu.aug_finetune.color_jitter  # only the shift differs


def test_test_time_shifts_are_the_cpu_presets_only_and_must_be_nonzero_fractions() -> None:
    from simcardionet_lite import experiments as ex

    for name in PRESETS:  # the cpu family takes round 10's views; their ResNet-18 arms do not (tuned for another network)
        want = config.CPU_TTA_SHIFTS if name in ("cpu", "cpu_pretrain", "gpu") else ()
        assert load_preset(name).eval.tta_shifts == want
        for arm in ("resnet18", "resnet18_masked"):
            assert ex.arm_config(load_preset(name), arm).eval.tta_shifts == ()
    assert config.CPU_TTA_SHIFTS == (-0.1, -0.05, 0.05, 0.1)
    cfg = with_overrides(load_preset("cpu"), {"eval.tta_shifts": [-0.05, 0.05]})
    assert cfg.eval.tta_shifts == (-0.05, 0.05) and Config.from_dict(cfg.to_dict()).eval.tta_shifts == (-0.05, 0.05)
    for bad in ([0.0], [0.5], [-0.7, 0.1]):
        with pytest.raises(ValueError, match="tta_shifts"):
            with_overrides(load_preset("cpu"), {"eval.tta_shifts": bad})
