"""The one checkpoint format: classifier and training round trips, weights_only loading, clear errors."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import simcardionet_lite
from simcardionet_lite.checkpoint import FORMAT, Checkpoint, load_checkpoint, preprocessing_of, save_checkpoint
from simcardionet_lite.config import DATASET1_CLASSES, ModelConfig, load_preset
from simcardionet_lite.errors import DataError
from simcardionet_lite.model.backbone import SimCardioNet

TINY = ModelConfig(stem_channels=8, stage_channels=(8, 16), blocks_per_stage=(1, 1), branch_kernels=(3, 5), attn_heads=2,
                   proj_hidden=32, proj_dim=16)


def tiny_cfg(**kw):
    c = load_preset("smoke", **{"data.image_size": (24, 32), **kw})
    c.model = TINY
    return c


def tiny_model(cfg, n: int = len(DATASET1_CLASSES), seed: int = 0) -> SimCardioNet:
    torch.manual_seed(seed)
    return SimCardioNet(cfg.model, n)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


class _Pickled:
    """A custom class: only a full (unsafe) unpickler can rebuild it."""

    def __init__(self) -> None:
        self.x = 1


def test_classifier_round_trip_builds_the_model_from_its_config(tmp_path: Path) -> None:
    cfg = tiny_cfg(**{"data.crop_header_footer": True, "data.grayscale": True})
    m = tiny_model(cfg)
    path = save_checkpoint(tmp_path / "sub" / "clf.pt", m, cfg, DATASET1_CLASSES, history={"loss": [1.0, 0.5]},
                           extra={"note": "x"})
    assert path == tmp_path / "sub" / "clf.pt"
    raw = torch.load(path, weights_only=True)  # the contract: no arbitrary unpickling
    assert raw["format"] == FORMAT and raw["classes"] == list(DATASET1_CLASSES) and raw["config"] == cfg.to_dict()
    assert raw["preprocessing"] == preprocessing_of(cfg) and "training" not in raw
    assert set(raw) >= {"format", "config", "classes", "preprocessing", "model", "history", "extra"}

    ck = load_checkpoint(path)  # no model given: built from the stored config
    assert isinstance(ck, Checkpoint) and isinstance(ck.model, SimCardioNet) and not ck.model.training
    assert ck.config == cfg and ck.classes == DATASET1_CLASSES and ck.epoch is None
    assert ck.history == {"loss": [1.0, 0.5]} and ck.extra == {"note": "x"}
    assert same_weights(ck.model, m)
    p = ck.preprocessing
    assert tuple(p["image_size"]) == (24, 32) and p["crop_header_footer"] is True and p["grayscale"] is True
    assert p["style"] == cfg.data.style and p["data_version"]
    x = torch.rand(2, 3, 24, 32)
    m.eval()
    with torch.no_grad():
        assert torch.equal(ck.model(x), m(x))
    # weights into a given model (DDP-style wrapper: the module inside receives them)
    wrapper = torch.nn.Module()
    wrapper.module = tiny_model(cfg, seed=1)
    ck2 = load_checkpoint(path, model=wrapper, expect=cfg)
    assert ck2.model is wrapper and same_weights(wrapper.module, m)


def test_training_state_round_trip_restores_every_random_state(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    m = tiny_model(cfg)
    opt = torch.optim.AdamW(m.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5**s)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    m.train()
    m.project(torch.rand(2, 3, 24, 32)).sum().backward()
    opt.step()
    sched.step()
    g = torch.Generator().manual_seed(7)
    torch.rand(3, generator=g)
    path = save_checkpoint(tmp_path / "c.pt", m, cfg, DATASET1_CLASSES, history={"loss": [1.0]}, optimizer=opt,
                           scheduler=sched, scaler=scaler, epoch=3, generators={"aug": g})
    raw = torch.load(path, weights_only=True)
    assert raw["epoch"] == 3 and raw["training"]["epoch"] == 3
    assert set(raw["training"]["rng"]) >= {"python", "numpy", "torch", "generators"}
    expect = (random.random(), float(np.random.rand()), torch.rand(2), torch.rand(2, generator=g))

    random.seed(99), np.random.seed(99), torch.manual_seed(99)  # move every global RNG away
    m2 = tiny_model(cfg, seed=5)
    opt2 = torch.optim.AdamW(m2.parameters(), lr=0.1)
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda s: 0.5**s)
    scaler2 = torch.amp.GradScaler("cuda", enabled=False)
    g2 = torch.Generator().manual_seed(0)
    ck = load_checkpoint(path, model=m2, expect=cfg, optimizer=opt2, scheduler=sched2, scaler=scaler2,
                         generators={"aug": g2}, restore_rng=True)
    got = (random.random(), float(np.random.rand()), torch.rand(2), torch.rand(2, generator=g2))
    assert got[0] == expect[0] and got[1] == expect[1] and torch.equal(got[2], expect[2]) and torch.equal(got[3], expect[3])
    assert ck.epoch == 3 and ck.history == {"loss": [1.0]} and ck.model is m2
    assert same_weights(m2, m) and sched2.get_last_lr() == sched.get_last_lr()
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    # without restore_rng the random states are left alone
    before = torch.get_rng_state()
    load_checkpoint(path, model=m2, optimizer=opt2)
    assert torch.equal(torch.get_rng_state(), before)


def test_refuses_a_file_that_needs_the_full_unpickler(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    m = tiny_model(cfg)
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "config": cfg.to_dict(), "classes": list(DATASET1_CLASSES),
                "preprocessing": preprocessing_of(cfg), "model": m.state_dict(), "history": {},
                "extra": {"payload": _Pickled()}}, path)
    with pytest.raises(DataError, match="cannot read the checkpoint") as err:
        load_checkpoint(path)
    assert str(path) in str(err.value) and "What to do" in str(err.value)


def _write(path: Path, **state) -> Path:
    torch.save(state, path)
    return path


@pytest.mark.parametrize("case, message", [
    ("missing", "checkpoint not found"),
    ("not_torch", "cannot read the checkpoint"),
    ("not_a_dict", "not a simcardionet-lite checkpoint"),
    ("missing_keys", "not a simcardionet-lite checkpoint"),
    ("old_format", "checkpoint format 'simcardionet-lite/classifier-v1'"),
    ("no_format", "checkpoint format None"),
    ("bad_config", "configuration is not one this version understands"),
    ("mismatched_weights", "its weights do not fit the model its config describes"),
    ("expect_mismatch", "checkpoint of another configuration"),
    ("resume_without_training", "holds no training state"),
    ("rng_without_training", "holds no training state"),
])
def test_errors_name_the_file_and_the_fix(tmp_path: Path, case: str, message: str) -> None:
    cfg = tiny_cfg()
    m = tiny_model(cfg)
    good = save_checkpoint(tmp_path / "good.pt", m, cfg, DATASET1_CLASSES)
    full = torch.load(good, weights_only=True)
    other = SimCardioNet(ModelConfig(stem_channels=8, stage_channels=(8, 16, 32)), 4)
    kwargs: dict = {}
    if case == "missing":
        path = tmp_path / "nope.pt"
    elif case == "not_torch":
        path = tmp_path / "text.pt"
        path.write_text("not a torch file")
    elif case == "not_a_dict":
        path = tmp_path / "list.pt"
        torch.save([torch.zeros(2)], path)
    elif case == "missing_keys":
        path = _write(tmp_path / "weights.pt", model=m.state_dict())
    elif case == "old_format":
        path = _write(tmp_path / "v1.pt", **{**full, "format": "simcardionet-lite/classifier-v1"})
    elif case == "no_format":
        path = _write(tmp_path / "noformat.pt", **{k: v for k, v in full.items() if k != "format"})
    elif case == "bad_config":
        path = _write(tmp_path / "cfg.pt", **{**full, "config": {**full["config"], "no_such_section": {}}})
    elif case == "mismatched_weights":
        path = _write(tmp_path / "mismatch.pt", **{**full, "model": other.state_dict()})
    elif case == "expect_mismatch":
        path, kwargs = good, {"expect": load_preset("paper")}
    elif case == "resume_without_training":
        path, kwargs = good, {"optimizer": torch.optim.SGD(m.parameters(), lr=0.1)}
    else:
        path, kwargs = good, {"restore_rng": True}
    with pytest.raises(DataError, match=re.escape(message)) as err:
        load_checkpoint(path, **kwargs)
    text = str(err.value)
    assert str(path) in text and "What to do" in text
    if case == "expect_mismatch":
        assert "model.stage_channels" in text and "data.image_size" in text


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny_cfg()
    m = tiny_model(cfg)
    path = save_checkpoint(tmp_path / "a.pt", m, cfg, DATASET1_CLASSES, extra={"v": 1})
    save_checkpoint(path, m, cfg, DATASET1_CLASSES, extra={"v": 2})  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt"]
    assert load_checkpoint(path).extra == {"v": 2}

    # a write that fails half way keeps the previous file intact and leaves no temp file
    def broken_save(obj, f, *a, **k):
        Path(f).write_bytes(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, m, cfg, DATASET1_CLASSES, extra={"v": 3})
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt"]
    assert load_checkpoint(path).extra == {"v": 2}


def test_training_objects_need_an_optimizer_to_be_saved(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    m = tiny_model(cfg)
    with pytest.raises(ValueError, match="optimizer"):
        save_checkpoint(tmp_path / "x.pt", m, cfg, DATASET1_CLASSES, generators={"g": torch.Generator()})
    assert not (tmp_path / "x.pt").exists()


def test_the_package_has_one_save_and_one_load() -> None:
    root = Path(simcardionet_lite.__file__).parent
    found: dict[str, list[str]] = {"save_checkpoint": [], "load_checkpoint": []}
    for f in sorted(root.rglob("*.py")):
        text = f.read_text(encoding="utf-8")
        for name in found:
            found[name] += [f"{f.relative_to(root)}:{text[: mt.start()].count(chr(10)) + 1}"
                            for mt in re.finditer(rf"^\s*(async\s+)?def {name}\b", text, flags=re.M)]
    for name, hits in found.items():
        assert [h.split(":")[0] for h in hits] == ["checkpoint.py"], (name, hits)
