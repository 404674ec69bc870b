"""End-to-end test of ``simcardionet-lite reproduce`` on a tiny chapter made in a tmp dir.

Why a real papermill run: the command's job is the glue (MyST -> notebook, parameter
injection, results folder, metrics.json with metadata and wall time), and only a real kernel
shows that glue works. The tiny chapter takes a couple of seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from simcardionet_lite import cli

from _myst import MYST_HEADER

HEADER = MYST_HEADER

TINY = HEADER + """
# A tiny chapter

```{code-cell} ipython3
:tags: [parameters]

preset = "smoke"
data_root = None
results_dir = None
overrides = {}
scale = 1
```

```{code-cell} ipython3
from simcardionet_lite import load_preset
from simcardionet_lite.results import publish

cfg = load_preset(preset, **overrides)
value = scale * cfg.pretrain.epochs
publish({"value": value, "data_root": data_root}, cfg=cfg, results_dir=results_dir)
```
"""

FAILING = HEADER + """
```{code-cell} ipython3
:tags: [parameters]

preset = "smoke"
results_dir = None
fail = True
```

```{code-cell} ipython3
from simcardionet_lite import load_preset
from simcardionet_lite.results import publish

if fail:
    raise RuntimeError("this chapter is broken on purpose")
publish({"value": 1}, cfg=load_preset(preset), results_dir=results_dir)
```
"""


@pytest.fixture()
def tiny_chapter(tmp_path: Path) -> Path:
    book = tmp_path / "book"
    book.mkdir()
    md = book / "42_tiny.md"
    md.write_text(TINY)
    return md


@pytest.mark.slow
def test_reproduce_runs_chapter_and_writes_results(tiny_chapter: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results"
    (tmp_path / "where").mkdir()
    monkeypatch.chdir(tmp_path)
    rc = cli.main([
        "reproduce", "--preset", "paper", "--chapter", str(tiny_chapter), "--results-root", str(results),
        "-p", "scale=3", "-p", "data_root=where", "--set", "pretrain.epochs=2",
    ])
    assert rc == 0
    out = results / "42_tiny" / "real-paper"  # a data root: real; the preset names the run
    executed = out / "42_tiny.ipynb"
    assert executed.is_file()
    d = json.loads((out / "metrics.json").read_text())
    # the chapter computed with the injected parameters (the relative path resolved against the caller's
    # folder, not book/) and the preset's config + the --set override
    assert d["metrics"] == {"value": 6, "data_root": str(tmp_path / "where")}
    assert d["preset"] == "paper" and d["config"]["preset"] == "paper"
    assert d["config"]["pretrain"]["epochs"] == 2
    assert d["config"]["data"]["image_size"] == [224, 224]
    assert d["seeds"] == [0, 1, 2]
    md = d["metadata"]
    assert md["git"]["commit"] is None or len(md["git"]["commit"]) == 40
    assert md["packages"]["torch"] and md["packages"]["papermill"]
    assert md["hardware"]["cpu_count"] >= 1 and "platform" in md["hardware"]
    run = d["run"]
    assert run["completed"] is True and run["wall_time_s"] > 0
    assert run["parameters"]["scale"] == 3 and run["parameters"]["results_dir"] == str(out.resolve())
    # the executed notebook holds the injected parameters cell (papermill's record)
    nb = json.loads(executed.read_text())
    assert any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in nb["cells"])
    assert not [p for p in (results / "42_tiny").iterdir() if p.name.startswith(".")]  # no temp folder left


@pytest.mark.slow
def test_a_failed_rerun_keeps_the_earlier_result_and_records_itself(tmp_path: Path) -> None:
    md = tmp_path / "43_broken.md"
    md.write_text(FAILING)
    root = tmp_path / "r"
    assert cli.main(["reproduce", "--chapter", str(md), "--results-root", str(root), "-p", "fail=False"]) == 0
    good = root / "43_broken" / "synthetic-smoke" / "metrics.json"
    before = good.read_text()
    assert json.loads(before)["metrics"] == {"value": 1}
    assert cli.main(["reproduce", "--chapter", str(md), "--results-root", str(root)]) == 1
    assert good.read_text() == before  # the earlier result is untouched
    failed = json.loads((root / "43_broken" / "synthetic-smoke.failed" / "metrics.json").read_text())
    assert failed["run"]["completed"] is False and failed["metrics"] == {}


def test_reproduce_refuses_unknown_chapters_presets_and_parameters(tmp_path: Path, tiny_chapter: Path) -> None:
    assert cli.main(["reproduce", "--chapter", "99_nope", "--book-dir", str(tmp_path)]) == 2
    assert cli.main(["reproduce", "--chapter", "x", "--preset", "huge"]) == 2
    assert cli.main(["reproduce", "--chapter", "x", "-p", "preset=paper"]) == 2
    assert cli.main(["reproduce", "--chapter", str(tiny_chapter), "-p", "data_root"]) == 2  # no "="
    # papermill would only warn and run on synthetic data: refused, naming the known parameters
    assert cli.main(["reproduce", "--chapter", str(tiny_chapter), "-p", "data_rot=/x",
                     "--results-root", str(tmp_path / "r")]) == 2
    assert cli.main(["reproduce", "--chapter", str(tiny_chapter), "-p", "overrides=epochs",
                     "--results-root", str(tmp_path / "r")]) == 2
    assert cli.main(["reproduce", "--chapter", str(tiny_chapter), "-p", "data_root=123",
                     "--results-root", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()  # refused before any work


def test_run_lists_and_runs_a_registered_recipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "dataset1_cv" in listing and "10_gradcam" in listing
    assert cli.main(["run", "nope"]) == 2
    assert cli.main(["run", "05", "--set", "pretrain.epochs"]) == 2
    rc = cli.main(["run", "06", "--results-root", str(tmp_path), "--set", "data.image_size=[32,48]",
                   "--set", "data.n_per_class=4", "--set", f"data.cache_dir={tmp_path / 'cache'}",
                   "--set", "pretrain.epochs=1", "--set", "finetune.epochs=1", "--set", "eval.n_bootstrap=10",
                   "--tag", "tiny"])
    assert rc == 0
    d = json.loads((tmp_path / "06_dataset2" / "synthetic-tiny" / "metrics.json").read_text())
    assert d["extra"]["recipe"]["name"] == "dataset2_ood" and set(d["data"]) == {"train", "test"}
    assert str(tmp_path / "06_dataset2" / "synthetic-tiny" / "metrics.json") in capsys.readouterr().out


@pytest.mark.parametrize("command,module", [("audit", "simcardionet_lite.data.audit"),
                                            ("evaluate", "simcardionet_lite.scoring"),
                                            ("predict", "simcardionet_lite.predict")])
def test_subcommands_dispatch_lazily_with_remaining_argv(
    command: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType(module)
    fake.main = lambda argv: seen.append(list(argv)) or 7  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module, fake)
    assert cli.main([command, "a", "--b", "c"]) == 7
    assert seen == [["a", "--b", "c"]]


def test_help_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "reproduce" in capsys.readouterr().out
    assert cli.main([]) == 2
    assert cli.main(["frobnicate"]) == 2


def test_module_entry_point_runs() -> None:
    r = subprocess.run([sys.executable, "-m", "simcardionet_lite", "reproduce", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--preset" in r.stdout


def test_set_with_a_non_dict_overrides_parameter_is_refused(tmp_path: Path, tiny_chapter: Path) -> None:
    assert cli.main(["reproduce", "--chapter", str(tiny_chapter), "-p", "overrides=epochs", "--set", "pretrain.epochs=2",
                     "--results-root", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()
