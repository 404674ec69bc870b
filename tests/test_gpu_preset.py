"""The ``gpu`` preset, its time estimate, and the tools that carry a run to a GPU machine and back.

The preset must be ``cpu_pretrain``'s method (the same network, pages, losses and fine-tuning) run
with device views and GPU sizes; its chapters must fit the estimate's budget; the data pack must
unpack to the same bytes; a tree copy without ``.git`` must still name its commit in the results.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simcardionet_lite.config import CPU_PRETRAIN_UNFREEZE, GPU_ABLATIONS, PRESETS, Config, load_preset
from simcardionet_lite.experiments.arms import ARMS, arm_config

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_gpu_preset_is_cpu_pretrains_method_with_device_views() -> None:
    gpu, ref = load_preset("gpu"), load_preset("cpu_pretrain")
    assert "gpu" in PRESETS and gpu.preset == "gpu" and Config.from_dict(gpu.to_dict()) == gpu
    assert gpu.model == ref.model == load_preset("cpu").model and gpu.model.tokens == "tiles"
    assert gpu.data.image_size == (192, 384) and gpu.data.panels
    assert (gpu.pretrain.augment_on, gpu.finetune.augment_on) == ("device", "device")
    assert gpu.pretrain.amp and gpu.pretrain.channels_last and not gpu.pretrain.compile
    assert gpu.finetune.init == "pretrained" and gpu.finetune.unfreeze_schedule == CPU_PRETRAIN_UNFREEZE
    assert len(gpu.eval.seeds) >= 3
    changed = {k for k, v in _flat(gpu.to_dict()).items() if _flat(ref.to_dict())[k] != v}
    assert changed == {"preset", "pretrain.epochs", "pretrain.batch_size", "pretrain.warmup_epochs", "pretrain.amp",
                       "pretrain.channels_last", "pretrain.augment_on", "finetune.augment_on",
                       "experiment.ablations", "experiment.learning_curve"}
    assert gpu.experiment.protocols == ("grouped",)  # as cpu's (stated in the gpu preset too)
    assert set(GPU_ABLATIONS) <= set(ARMS) and "crop" not in GPU_ABLATIONS
    for arm in GPU_ABLATIONS:
        assert arm_config(gpu, arm).pretrain.augment_on == "device"
    # the other presets keep the per-image pipeline: committed results are untouched
    for name in ("smoke", "cpu", "cpu_pretrain", "paper"):
        p = load_preset(name)
        assert (p.pretrain.augment_on, p.finetune.augment_on, p.pretrain.compile) == ("workers", "workers", False)
    with pytest.raises(ValueError, match="augment_on"):
        load_preset("gpu", **{"pretrain.augment_on": "cuda"})


def test_estimate_keeps_every_target_chapter_within_ten_minutes() -> None:
    est = _script("gpu_estimate")
    rows, rates, _ = est.estimate("gpu")
    minutes = {ch: m for ch, _, _, _, m in rows}
    assert {"05_dataset1", "06_dataset2", "07_ptbxl", "08_ablations", "10_gradcam"} <= set(minutes)
    for ch in ("05_dataset1", "06_dataset2", "07_ptbxl", "08_ablations", "10_gradcam"):
        assert 0.5 < minutes[ch] <= 7.0, (ch, minutes[ch])  # 10 minutes with a margin for the assumed rates
    assert all(p == 0 for _, _, _, p, _ in rows)  # no CPU views: the GPU is the bottleneck
    paper, _, _ = est.estimate("paper")
    assert sum(r[4] for r in paper) > 5 * sum(r[4] for r in rows)  # the paper preset waits for its CPU workers
    assert all(r[3] > r[2] for r in paper)


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


def test_tree_record_names_the_commit_of_a_copy_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from simcardionet_lite.results import git_info

    prep = _script("prepare_device_data")
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "a.py").write_text("x = 1\n")
    (repo / "results").mkdir()
    (repo / "results" / "r.json").write_text("{}\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "c")
    monkeypatch.chdir(repo)
    rec = prep.tree(tmp_path / "pack")
    assert rec["commit"] == _git(repo, "rev-parse", "HEAD").strip() and set(rec["files"]) == {"pkg/a.py", "results/r.json"}
    copy = tmp_path / "copy"  # the device's copy: the files, no .git
    subprocess.run(["cp", "-r", str(repo), str(copy)], check=True)
    subprocess.run(["rm", "-rf", str(copy / ".git")], check=True)
    monkeypatch.chdir(copy)
    res = prep.check_tree(tmp_path / "pack", tmp_path / "git.json")
    assert res["dirty_files"] == []
    monkeypatch.setenv("SIMCARDIONET_TREE_CHECK", str(tmp_path / "git.json"))
    info = git_info(copy)
    assert info["commit"] == rec["commit"] and info["dirty"] is False and info["code_dirty"] is False
    (copy / "pkg" / "a.py").write_text("x = 2\n")
    prep.check_tree(tmp_path / "pack", tmp_path / "git.json")
    info = git_info(copy)
    assert info["dirty"] is True and info["code_dirty"] is True and info["dirty_files"] == ["pkg/a.py"]
    monkeypatch.delenv("SIMCARDIONET_TREE_CHECK")
    assert git_info(copy)["commit"] is None  # without the record, a copy names no commit


def test_pack_keeps_copies_as_links_and_unpacks_the_same_bytes(tmp_path: Path) -> None:
    prep = _script("prepare_device_data")
    src = tmp_path / "realdata"
    for folder in prep.FOLDERS:
        (src / folder / "sub").mkdir(parents=True)
    (src / "dataset1_mendeley" / "sub" / "a.jpg").write_bytes(b"A" * 5000)
    (src / "dataset1_mendeley" / "sub" / "a_copy.jpg").write_bytes(b"A" * 5000)
    (src / "ptbxl_sample" / "sub" / "r.dat").write_bytes(bytes(range(256)) * 40)
    m = prep.pack(src, tmp_path / "pack", max_mib=1.0)
    assert m["distinct"] == 2 and len(m["files"]) == 3
    prep.unpack(tmp_path / "pack", tmp_path / "out")
    for rel in m["files"]:
        assert (tmp_path / "out" / rel).read_bytes() == (src / rel).read_bytes()
    with pytest.raises(SystemExit, match="over --max-mib"):
        prep.pack(src, tmp_path / "pack2", max_mib=1e-4)


def test_gpu_run_script_parses_and_names_registered_recipes() -> None:
    from simcardionet_lite.experiments import all_recipes

    text = (ROOT / "scripts" / "gpu_run.sh").read_text()
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "gpu_run.sh")], check=True)
    names = {r.name for r in all_recipes().values()}
    for recipe in ("dataset1_cv", "dataset2_ood", "ptbxl_folds", "ablations", "gradcam"):
        assert f'"${{run[@]}}" {recipe} ' in text and recipe in names
    assert "--preset gpu" in text and "check-tree" in text
    assert json.loads(json.dumps({"ok": True}))  # the provenance writer's only dependency
