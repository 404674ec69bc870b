"""The dependency pins agree everywhere: pyproject.toml, requirements/lock.txt, environment.yml.

Why: pyproject.toml is the one place where the direct dependencies are pinned; the lock file
pins the whole tree for `make`, and environment.yml mirrors the pins for Binder. A pin bumped
in one place and not the others gives a book that builds here and breaks on Binder; this test
makes that a test failure instead.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

# What the issue fixes by name (torch/torchvision versions, Jupyter Book 1.x).
REQUIRED = {"torch": "2.14.1", "torchvision": "0.29.1"}
ALSO_REQUIRED = ("jupytext", "papermill", "nbval", "grad-cam", "seaborn", "scikit-learn", "jupyter-book")


def exact_pins(specs: list[str], where: str) -> dict[str, str]:
    """``["torch==2.14.1", ...]`` -> ``{"torch": "2.14.1"}``; anything but ``==`` is an error."""
    out: dict[str, str] = {}
    for spec in specs:
        req = Requirement(spec)
        ops = [(s.operator, s.version) for s in req.specifier]
        if len(ops) != 1 or ops[0][0] != "==":
            raise AssertionError(f"{where}: {spec!r} is not an exact '==' pin")
        out[canonicalize_name(req.name)] = ops[0][1]
    return out


def pyproject_pins(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(runtime pins, dev pins) from pyproject.toml text."""
    d = tomllib.loads(text)
    runtime = exact_pins(d["project"]["dependencies"], "pyproject dependencies")
    dev = exact_pins(d["project"]["optional-dependencies"]["dev"], "pyproject [dev]")
    return runtime, dev


def environment_pins(text: str) -> tuple[dict[str, str], str | None]:
    """(pip pins, python version) from environment.yml text; pip option lines are skipped."""
    d = yaml.safe_load(text)
    pins: dict[str, str] = {}
    python = None
    for dep in d["dependencies"]:
        if isinstance(dep, dict) and "pip" in dep:
            pins = exact_pins([x for x in dep["pip"] if not x.startswith("-")], "environment.yml pip")
        elif isinstance(dep, str) and dep.split("=")[0] == "python":
            python = dep.split("=", 1)[1].lstrip("=")
    return pins, python


def lock_pins(text: str) -> dict[str, str]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return exact_pins(lines, "requirements/lock.txt")


def disagreements(pyproject_text: str, env_text: str, lock_text: str) -> list[str]:
    """Every way the three files disagree, as readable lines (empty = they agree)."""
    runtime, dev = pyproject_pins(pyproject_text)
    env, python = environment_pins(env_text)
    lock = lock_pins(lock_text)
    problems: list[str] = []
    for name, version in {**runtime, **dev}.items():
        if lock.get(name) != version:
            problems.append(f"{name}: pyproject {version} but lock.txt {lock.get(name)}")
    for name, version in runtime.items():
        if name not in env:
            problems.append(f"{name}: pinned in pyproject but missing from environment.yml")
    for name, version in env.items():
        expected = runtime.get(name, dev.get(name))
        if expected is None:
            problems.append(f"{name}: in environment.yml but not pinned in pyproject")
        elif expected != version:
            problems.append(f"{name}: pyproject {expected} but environment.yml {version}")
    requires = tomllib.loads(pyproject_text)["project"]["requires-python"]
    if python is None or not any(python == f"3.{m}" for m in range(11, 12)) or ">=3.11" not in requires:
        problems.append(f"python: environment.yml {python!r} vs requires-python {requires!r}")
    return problems


def _read(rel: str) -> str:
    return (ROOT / rel).read_text()


def test_pins_agree() -> None:
    problems = disagreements(_read("pyproject.toml"), _read("environment.yml"), _read("requirements/lock.txt"))
    assert not problems, "dependency pins disagree:\n" + "\n".join(problems)


def test_required_versions() -> None:
    runtime, dev = pyproject_pins(_read("pyproject.toml"))
    pins = {**runtime, **dev}
    for name, version in REQUIRED.items():
        assert pins[name] == version
    for name in ALSO_REQUIRED:
        assert name in pins, f"{name} must be a pinned dependency"
    assert pins["jupyter-book"].startswith("1."), "Jupyter Book 1.x (2.x fetches its theme from the network)"


def test_disagreement_is_detected() -> None:
    """Break each file on purpose in memory: the comparison must notice."""
    py, env, lock = _read("pyproject.toml"), _read("environment.yml"), _read("requirements/lock.txt")
    assert disagreements(py, env.replace("torch==2.14.1", "torch==2.14.0"), lock) == [
        "torch: pyproject 2.14.1 but environment.yml 2.14.0"
    ]
    assert disagreements(py, env, lock.replace("numpy==2.4.6", "numpy==2.4.5")) == [
        "numpy: pyproject 2.4.6 but lock.txt 2.4.5"
    ]
    assert any("missing from environment.yml" in p for p in disagreements(py, env.replace("      - seaborn==0.13.2\n", ""), lock))
    with pytest.raises(AssertionError, match="not an exact"):
        disagreements(py.replace('"seaborn==0.13.2"', '"seaborn>=0.13"'), env, lock)


def test_installed_environment_matches_lock() -> None:
    """The running environment is the locked one (catches a stale venv)."""
    lock = lock_pins(_read("requirements/lock.txt"))
    runtime, dev = pyproject_pins(_read("pyproject.toml"))
    wrong = []
    for name in {**runtime, **dev}:
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}: not installed")
            continue
        if have.split("+")[0] != lock[name]:
            wrong.append(f"{name}: installed {have}, lock {lock[name]}")
    assert not wrong, "environment differs from requirements/lock.txt (run `make setup`):\n" + "\n".join(wrong)
