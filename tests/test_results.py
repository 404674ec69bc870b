"""Tests of simcardionet_lite.results: the results JSON every chapter run writes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from simcardionet_lite import load_preset
from simcardionet_lite.results import (
    ISA_FLAGS,
    SCHEMA,
    load_committed,
    publish,
    repo_root,
    results_path,
    run_metadata,
    to_jsonable,
)


def test_publish_is_noop_without_results_dir(tmp_path: Path) -> None:
    assert publish({"acc": 1.0}, cfg=load_preset("smoke"), results_dir=None) is None
    assert list(tmp_path.iterdir()) == []


def test_publish_writes_metrics_config_seeds_and_metadata(tmp_path: Path) -> None:
    cfg = load_preset("smoke", seed=3, **{"eval.seeds": (3, 4)})
    metrics = {
        "accuracy": np.float32(0.75),
        "n": np.int64(12),
        "confusion": np.array([[3, 1], [0, 8]]),
        "loss_curve": torch.tensor([1.0, 0.5]),
        "auc": float("nan"),
        "per_class": {"MI": {"f1": np.float64(0.5)}},
    }
    path = publish(metrics, cfg=cfg, results_dir=tmp_path / "05_dataset1" / "smoke", extra={"note": "x"})
    assert path == tmp_path / "05_dataset1" / "smoke" / "metrics.json"
    d = json.loads(path.read_text())
    assert d["schema"] == SCHEMA
    assert d["chapter"] == "05_dataset1"
    assert d["preset"] == "smoke"
    assert d["metrics"]["accuracy"] == pytest.approx(0.75)
    assert d["metrics"]["n"] == 12 and isinstance(d["metrics"]["n"], int)
    assert d["metrics"]["confusion"] == [[3, 1], [0, 8]]
    assert d["metrics"]["loss_curve"] == [1.0, 0.5]
    assert d["metrics"]["auc"] is None  # strict JSON: no NaN
    assert d["metrics"]["per_class"]["MI"]["f1"] == 0.5
    assert d["config"] == cfg.to_dict()
    assert d["config_hash"] == cfg.hash()
    assert d["seeds"] == [3, 4]  # default: the config's eval seeds
    assert d["extra"] == {"note": "x"}
    for key in ("git", "packages", "hardware", "python", "timestamp_utc"):
        assert key in d["metadata"]
    # strict JSON: the file parses without Python's NaN extension
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))


def test_publish_explicit_seed_int(tmp_path: Path) -> None:
    d = json.loads(publish({}, cfg=load_preset("smoke"), results_dir=tmp_path, seeds=7).read_text())
    assert d["seeds"] == [7]


def test_run_metadata_records_commit_versions_hardware() -> None:
    md = run_metadata()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True, text=True)
    if head.returncode == 0:
        assert md["git"]["commit"] == head.stdout.strip()
        assert isinstance(md["git"]["dirty"], bool)
    assert md["packages"]["torch"] == torch.__version__.split("+")[0] or md["packages"]["torch"] == torch.__version__
    assert md["packages"]["numpy"] == np.__version__
    assert md["packages"]["simcardionet-lite"] is not None
    assert md["hardware"]["cpu_count"] >= 1
    # the instruction sets that pick oneDNN's kernels: an AVX2 and an AVX-512 host give different low bits
    assert set(md["hardware"]["cpu_isa_flags"]) <= set(ISA_FLAGS)
    assert md["hardware"]["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert "onednn_max_cpu_isa" in md["hardware"]
    if Path("/proc/cpuinfo").exists():
        assert md["hardware"]["cpu_model"]
    assert md["python"]["version"].startswith("3.")
    assert md["timestamp_utc"].endswith("+00:00")


def test_to_jsonable_rejects_unknown_objects() -> None:
    with pytest.raises(TypeError, match="object"):
        to_jsonable(object())
    assert to_jsonable({1: (np.bool_(True), Path("/a"))}) == {"1": [True, "/a"]}


def test_load_committed_reads_relative_to_repo_not_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    publish({"accuracy": 0.9}, cfg=load_preset("paper"), results_dir=root / "results" / "05_dataset1" / "paper")
    monkeypatch.chdir(tmp_path)  # cwd must not matter
    d = load_committed("05_dataset1", "paper", root=root)
    assert d is not None and d["metrics"] == {"accuracy": 0.9} and d["preset"] == "paper"
    assert load_committed("book/05_dataset1.md", "paper", root=root) == d  # path-like chapter names work
    assert load_committed("05_dataset1", "real-cpu", root=root) is None
    assert load_committed("no_such_chapter") is None
    assert results_path("x", "paper") == repo_root() / "results" / "x" / "paper" / "metrics.json"


def test_load_committed_corrupt_file_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "results" / "ch" / "paper" / "metrics.json"
    p.parent.mkdir(parents=True)
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_committed("ch", "paper", root=tmp_path)


def test_git_info_tells_results_only_changes_from_code_changes(tmp_path: Path) -> None:
    from simcardionet_lite.results import git_info

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.invalid")
    git("config", "user.name", "t")
    (tmp_path / "results" / "x").mkdir(parents=True)
    (tmp_path / "results" / "x" / "metrics.json").write_text("{}")
    (tmp_path / "code.py").write_text("a = 1\n")
    git("add", "-A")
    git("commit", "-qm", "init")
    clean = git_info(tmp_path)
    assert clean["dirty"] is False and clean["dirty_files"] == [] and clean["code_dirty"] is False
    (tmp_path / "results" / "x" / "metrics.json").write_text('{"a": 1}')
    res_only = git_info(tmp_path)
    assert res_only["dirty"] is True and res_only["dirty_files"] == ["results/x/metrics.json"]
    assert res_only["code_dirty"] is False
    (tmp_path / "code.py").write_text("a = 2\n")
    both = git_info(tmp_path)
    assert both["code_dirty"] is True and sorted(both["dirty_files"]) == ["code.py", "results/x/metrics.json"]


def test_write_check_records_the_runs_provenance(tmp_path) -> None:
    """Model checks and benchmarks (results/model_checks/) carry commit, dirty flag and machine, like results."""
    import json

    from simcardionet_lite.results import write_check

    out = write_check(tmp_path / "sub" / "check.json", {"meta": {"threads": 1}, "rows": [{"x": float("nan")}]})
    d = json.loads(out.read_text())
    assert d["meta"] == {"threads": 1} and d["rows"] == [{"x": None}]  # strict JSON: NaN written as null
    assert {"git", "packages", "hardware"} <= set(d["metadata"]) and "dirty" in d["metadata"]["git"]
