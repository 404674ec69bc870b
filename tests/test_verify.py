"""``simcardionet-lite verify``: committed numbers come back from their own commit, or verify says why not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from simcardionet_lite import cli
from simcardionet_lite.config import load_preset
from simcardionet_lite.results import repo_root
from simcardionet_lite.verify import Refused, compare, failing_parts, plan

ROOT = Path(__file__).resolve().parents[1]

CANARY = repo_root() / "results" / "05_dataset1" / "synthetic-canary" / "metrics.json"
# how the canary was made (at the commit it records, on a clean tree, empty cache):
CANARY_COMMAND = ("simcardionet-lite run dataset1_cv --tag canary --threads 1 --set 'data.image_size=[32,48]' "
                  "--set data.n_per_class=8 --set pretrain.epochs=2 --set pretrain.batch_size=16 --set finetune.epochs=2 "
                  "--set eval.n_bootstrap=10 --set 'experiment.protocols=[\"grouped\"]' --set experiment.max_cv_folds=1")


def _has_commit(commit: str) -> bool:
    r = subprocess.run(["git", "-C", str(repo_root()), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True)
    return r.returncode == 0


@pytest.mark.slow
def test_the_committed_canary_comes_back_bit_for_bit(capsys: pytest.CaptureFixture[str]) -> None:
    record = json.loads(CANARY.read_text())
    if not _has_commit(record["metadata"]["git"]["commit"]):
        pytest.skip("this clone lacks the canary's commit (a shallow clone): fetch the history to verify it")
    assert cli.main(["verify", str(CANARY)]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "max |delta| 0" in out and "grouped.summary.accuracy.mean" in out


def test_refusals_say_why() -> None:
    base = json.loads(CANARY.read_text())
    with pytest.raises(Refused, match="no recipe is recorded"):
        plan({**base, "extra": {}})
    dirty = json.loads(json.dumps(base))
    dirty["metadata"]["git"].update(dirty=True, code_dirty=True, dirty_files=["simcardionet_lite/config.py"])
    with pytest.raises(Refused, match="dirty"):
        plan(dirty)
    moved = json.loads(json.dumps(base))
    moved["config"]["data"].update(source="dataset1", root="/nowhere/dataset1")
    with pytest.raises(Refused, match="--root-map"):
        plan(moved)
    here = repo_root() / "data"  # any existing folder stands in for the mapped one
    with pytest.raises(Refused, match="not on this machine"):
        plan(moved, {"/nowhere": "/also/nowhere"})
    spec = plan(moved, {"/nowhere/dataset1": str(here)})
    assert spec["config"]["data"]["root"] == str(here) and spec["config"]["data"]["cache_dir"] is None
    assert spec["recipe"] == "dataset1_cv" and spec["threads"] == 1


def test_compare_reports_every_difference_and_the_tolerance() -> None:
    a = {"grouped": {"summary": {"accuracy": {"mean": 0.5, "sd": 0.1}}, "folds": [{"metrics": {"accuracy": 0.5}}]}}
    b = json.loads(json.dumps(a))
    assert compare(a, b)["pass"] and compare(a, b)["max_delta"] == 0
    timed = {**a, "seconds": 1.0, "folds": [{"metrics": {"accuracy": 0.5}, "seconds": 3.0, "wall_s": 9.0}]}
    assert compare(timed, {**a, "seconds": 2.0, "folds": [{"metrics": {"accuracy": 0.5}, "seconds": 4.0}]})["pass"]
    b["grouped"]["folds"][0]["metrics"]["accuracy"] = 0.51
    res = compare(a, b)
    assert not res["pass"] and res["max_delta"] == pytest.approx(0.01) and res["n_compared"] == 3
    assert compare(a, b, tolerance=0.02)["pass"]
    assert compare(a, {"grouped": {}})["missing"]  # a number in one file only fails too
    # every differing number is listed, and counted by the part of the metrics it sits under
    assert res["failing"] == [{"metric": "grouped.folds[0].metrics.accuracy", "committed": 0.5, "rerun": 0.51,
                               "delta": pytest.approx(0.01)}]
    assert failing_parts(res) == {"grouped.folds.metrics": 1} and failing_parts(compare(a, a)) == {}


def test_a_failed_verify_writes_a_report_with_every_difference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from simcardionet_lite.verify import _print, _write_report

    a = {"curves": {"probe": {"0.01": {"values": [0.2, 0.3]}}, "scratch": {"0.01": {"values": [0.4, 0.5]}}}}
    b = json.loads(json.dumps(a))
    b["curves"]["probe"]["0.01"]["values"] = [0.25, 0.3]
    res = {"file": "results/09_x/synthetic-cpu/metrics.json", "recipe": "x", "commit": "abc" * 5,
           **compare(a, b), "rerun_record": {"metrics": b}}
    _print(res)
    out = capsys.readouterr().out
    assert "FAIL" in out and "1 of 4 numbers differ, under: curves.probe.0.01 (1)" in out
    report = json.loads(_write_report(res, tmp_path / "rep").read_text())
    assert (tmp_path / "rep" / "09_x__synthetic-cpu.json").exists()
    assert report["failing_parts"] == {"curves.probe.0.01": 1} and report["rerun_record"]["metrics"] == b
    assert report["failing"][0]["metric"] == "curves.probe.0.01.values[0]"


def test_old_results_without_a_recipe_are_refused_not_guessed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the format the pre-registry scripts wrote: metrics, config and metadata, but no recipe
    old = tmp_path / "results" / "05_dataset1" / "real-cpu" / "metrics.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"metrics": {"file": {"summary": {}}}, "config": load_preset("smoke").to_dict(),
                               "seeds": [0], "extra": {"data_root": "/data/mendeley"}}))
    assert cli.main(["verify", str(old)]) == 2
    assert "no recipe is recorded" in capsys.readouterr().out


def test_the_isa_plan_reruns_an_avx2_result_with_the_kernels_capped_and_says_what_it_knows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from simcardionet_lite.verify import isa_plan

    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("MKL_CBWR", raising=False)
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    avx512 = {"cpu_isa_flags": ["avx2", "avx512f"]}
    avx2 = {"cpu_isa_flags": ["avx2"]}
    assert isa_plan(avx512, avx512) == ({}, None)  # same kind of CPU: nothing to do, nothing to say
    env, note = isa_plan(avx2, avx512)
    assert env == {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "AVX2"} and "capped at AVX2" in note
    env, note = isa_plan(avx512, avx2)
    assert env == {} and "not expected" in note and "--tolerance" in note
    env, note = isa_plan({"onednn_max_cpu_isa": "AVX2", **avx512}, avx512)  # a run that capped oneDNN itself
    assert env == {"ONEDNN_MAX_CPU_ISA": "AVX2"} and "recorded kernel caps ONEDNN_MAX_CPU_ISA=AVX2" in note
    env, note = isa_plan({"cpu_count": 2}, avx512)  # an older file: no CPU recorded
    assert env == {} and "predates" in note and "ONEDNN_MAX_CPU_ISA=AVX2, MKL_CBWR=AVX2 and ATEN_CPU_CAPABILITY=AVX2" in note
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # the user's own cap is kept and named
    env, note = isa_plan(avx2, avx512)
    assert env == {"MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "AVX2"} and "set here: ONEDNN_MAX_CPU_ISA=AVX2" in note
    assert "set here: ONEDNN_MAX_CPU_ISA=AVX2" in isa_plan({}, avx512)[1]


def test_verdict_changes_read_the_chapters_verdicts_from_the_rerun_in_the_files_place() -> None:
    """Where the low bits cannot come back (another kind of CPU), verify still says whether the book's stated
    verdicts do: the chapter's first-screen lines read once from the committed file, once from the re-run."""
    import copy

    from simcardionet_lite.verify import verdict_changes

    path = ROOT / "results" / "05_dataset1" / "dataset1-panels-cpu" / "metrics.json"
    if not path.exists():
        pytest.skip("the committed Dataset I run is not in this checkout")
    rec = json.loads(path.read_text())
    same = verdict_changes(path, rec, copy.deepcopy(rec))
    assert same and all(v["committed"] == v["rerun"] for v in same)
    assert any(v["claim"] == "Dataset I F1 (macro) (duplicate-aware folds)" for v in same)
    better = copy.deepcopy(rec)  # a re-run 0.2 higher in every seed reaches the paper's F1 under duplicate-aware folds
    for r in better["metrics"]["grouped"]["per_seed"]:
        r["metrics"]["macro_f1"] += 0.2
        r["metrics"]["ci"]["macro_f1"] = [x + 0.2 for x in r["metrics"]["ci"]["macro_f1"]]
    changed = {v["claim"]: v for v in verdict_changes(path, rec, better) if v["committed"] != v["rerun"]}
    assert changed["Dataset I F1 (macro) (duplicate-aware folds)"]["rerun"] == "holds"
    synthetic = ROOT / "results" / "09_label_efficiency" / "synthetic-cpu" / "metrics.json"
    if synthetic.exists():  # synthetic pages state no verdict: nothing to compare
        rec = json.loads(synthetic.read_text())
        assert verdict_changes(synthetic, rec, rec) == []
