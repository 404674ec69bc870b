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
from simcardionet_lite.notebooks import parse_value

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
```

```{code-cell} ipython3
raise RuntimeError("this chapter is broken on purpose")
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
def test_reproduce_runs_chapter_and_writes_results(tiny_chapter: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    rc = cli.main([
        "reproduce", "--preset", "paper", "--chapter", str(tiny_chapter), "--results-root", str(results),
        "-p", "scale", "3", "-p", "data_root", "/some/where", "-p", "overrides", '{"pretrain.epochs": 2}',
    ])
    assert rc == 0
    out = results / "42_tiny" / "paper"
    executed = out / "42_tiny.ipynb"
    assert executed.is_file()
    d = json.loads((out / "metrics.json").read_text())
    # the chapter computed with the injected parameters and the preset's config + override
    assert d["metrics"] == {"value": 6, "data_root": "/some/where"}
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


@pytest.mark.slow
def test_reproduce_failing_chapter_exits_nonzero_and_records_the_run(tmp_path: Path) -> None:
    md = tmp_path / "43_broken.md"
    md.write_text(FAILING)
    rc = cli.main(["reproduce", "--chapter", str(md), "--results-root", str(tmp_path / "r")])
    assert rc == 1
    d = json.loads((tmp_path / "r" / "43_broken" / "smoke" / "metrics.json").read_text())
    assert d["run"]["completed"] is False
    assert d["metrics"] == {}


def test_reproduce_unknown_chapter_and_bad_parameters(tmp_path: Path) -> None:
    assert cli.main(["reproduce", "--chapter", "99_nope", "--book-dir", str(tmp_path)]) == 2
    assert cli.main(["reproduce", "--chapter", "x", "--preset", "huge"]) == 2
    assert cli.main(["reproduce", "--chapter", "x", "-p", "preset", "paper"]) == 2


def test_parse_value() -> None:
    assert parse_value("3") == 3
    assert parse_value("0.5") == 0.5
    assert parse_value('{"pretrain.epochs": 2}') == {"pretrain.epochs": 2}
    assert parse_value("None") is None and parse_value("null") is None
    assert parse_value("True") is True
    assert parse_value("/data/mendeley") == "/data/mendeley"
    assert parse_value("paper") == "paper"


@pytest.mark.parametrize("command,module", [("audit", "simcardionet_lite.data.audit"),
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
