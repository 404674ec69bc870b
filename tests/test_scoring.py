"""``simcardionet-lite evaluate``: a saved model scored on a dataset built through the factory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simcardionet_lite import cli
from simcardionet_lite.checkpoint import save_checkpoint
from simcardionet_lite.config import load_preset
from simcardionet_lite.data import fixtures as F
from simcardionet_lite.evaluate import predict
from simcardionet_lite.experiments import build_model
from simcardionet_lite.scoring import evaluate_checkpoint


@pytest.fixture()
def model_and_tree(tmp_path: Path) -> tuple[Path, Path]:
    cfg = load_preset("smoke", **{"data.image_size": (32, 48), "data.cache_dir": str(tmp_path / "cache")})
    ck = save_checkpoint(tmp_path / "m.pt", build_model(cfg, 4), cfg, ("MI", "PMI", "AHB", "NORM"))
    root = tmp_path / "d1"
    F.write_image_tree(root, "mendeley", 3, exact_copies=0, near_copies=0, corrupt=False, modes=False)
    return ck, root


def test_scores_a_checkpoint_on_another_folder_with_its_own_preprocessing(model_and_tree, tmp_path: Path) -> None:
    from dataclasses import replace

    from simcardionet_lite.checkpoint import load_checkpoint
    from simcardionet_lite.data.factory import build_dataset

    ck, root = model_and_tree
    res = evaluate_checkpoint(ck, root, source="dataset1", n_boot=20)
    rec = res["data"]["test"]
    assert rec["source"] == "dataset1" and rec["root"] == str(root.resolve()) and rec["n"] == 12
    # the same probabilities as the model on the same pages built from the checkpoint's own data config
    loaded = load_checkpoint(ck)
    ds = build_dataset(replace(loaded.config.data, source="dataset1", root=str(root)))
    probs, labels = predict(loaded.model, ds)
    assert res["metrics"]["accuracy"] == pytest.approx(float((probs.argmax(1) == labels).mean()))
    assert res["metrics"]["n"] == 12 and set(res["metrics"]["per_class"]) == {"MI", "PMI", "AHB", "NORM"}
    assert len(res["checkpoint"]["sha256"]) == 64


def test_command_writes_a_results_json_and_refuses_bad_input(model_and_tree, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    ck, root = model_and_tree
    out = tmp_path / "out"
    assert cli.main(["evaluate", "--checkpoint", str(ck), "--data-root", str(root), "--source", "dataset1",
                     "--out", str(out)]) == 0
    d = json.loads((out / "metrics.json").read_text())
    assert d["data"]["test"]["source"] == "dataset1" and 0.0 <= d["metrics"]["accuracy"] <= 1.0
    assert d["extra"]["checkpoint"]["sha256"] and "accuracy" in capsys.readouterr().out
    # a folder that is not there, a model of other classes, a file that is not a checkpoint: one line each
    assert cli.main(["evaluate", "--checkpoint", str(ck), "--data-root", str(tmp_path / "nope"), "--source", "dataset1"]) == 2
    F.write_mini_ptbxl(tmp_path / "ptbxl", n_per_class=1)
    assert cli.main(["evaluate", "--checkpoint", str(ck), "--data-root", str(tmp_path / "ptbxl"), "--source", "ptbxl"]) == 2
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert cli.main(["evaluate", "--checkpoint", str(tmp_path / "junk.pt"), "--data-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "classes" in err and "not the model's" in err and "checkpoint" in err
    assert np.isfinite(d["metrics"]["macro_f1"])
