"""The dependency files agree: pyproject.toml ranges, requirements/lock.txt pins, environment.yml.

Why: pyproject.toml states what the package works with (compatible ranges, so that a plain
``pip install`` keeps an environment's own torch, e.g. Colab's CUDA build); the lock pins the
whole tree for ``make``; environment.yml mirrors the lock for Binder; requirements/floor.txt
records the oldest versions the package was run with, which are the ranges' lower bounds. A
pin bumped in one place and not the others gives a book that builds here and breaks on Binder,
or a range that no longer admits the locked version; this test makes that a test failure.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

# What the issue fixes by name (torch/torchvision versions of the lock, Jupyter Book 1.x).
REQUIRED = {"torch": "2.14.1", "torchvision": "0.29.1"}
ALSO_REQUIRED = ("jupytext", "papermill", "nbval", "grad-cam", "seaborn", "scikit-learn", "jupyter-book")
# The Python versions the project supports (Makefile, README); the GPU machine runs 3.12.
PYTHONS = ("3.11", "3.12")


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


def ranges(specs: list[str], where: str) -> dict[str, SpecifierSet]:
    """``["torch>=2.4,<3", ...]`` -> ``{"torch": SpecifierSet(">=2.4,<3")}``.

    Each entry must be a range with a lower (``>=``) and an upper (``<``) bound; an exact pin is
    an error (exact pins belong in requirements/lock.txt only).
    """
    out: dict[str, SpecifierSet] = {}
    for spec in specs:
        req = Requirement(spec)
        ops = {s.operator for s in req.specifier}
        if ops & {"==", "==="}:
            raise AssertionError(f"{where}: {spec!r} is an exact pin; pyproject.toml takes ranges (pins go in lock.txt)")
        if ">=" not in ops or "<" not in ops:
            raise AssertionError(f"{where}: {spec!r} needs a lower '>=' and an upper '<' bound")
        out[canonicalize_name(req.name)] = req.specifier
    return out


def lower_bound(spec: SpecifierSet) -> Version:
    return Version(next(s.version for s in spec if s.operator == ">="))


def pyproject_ranges(text: str) -> tuple[dict[str, SpecifierSet], dict[str, SpecifierSet]]:
    """(runtime ranges, dev ranges) from pyproject.toml text."""
    d = tomllib.loads(text)
    runtime = ranges(d["project"]["dependencies"], "pyproject dependencies")
    dev = ranges(d["project"]["optional-dependencies"]["dev"], "pyproject [dev]")
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


def lock_pins(text: str, where: str = "requirements/lock.txt") -> dict[str, str]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return exact_pins(lines, where)


def disagreements(pyproject_text: str, env_text: str, lock_text: str) -> list[str]:
    """Every way the three files disagree, as readable lines (empty = they agree)."""
    runtime, dev = pyproject_ranges(pyproject_text)
    env, python = environment_pins(env_text)
    lock = lock_pins(lock_text)
    problems: list[str] = []
    for name, spec in {**runtime, **dev}.items():
        if name not in lock:
            problems.append(f"{name}: in pyproject but not pinned in lock.txt")
        elif lock[name] not in spec:
            problems.append(f"{name}: lock.txt {lock[name]} is outside pyproject's range {spec}")
    for name in runtime:
        if name not in env:
            problems.append(f"{name}: a runtime dependency missing from environment.yml")
    for name, version in env.items():
        if name not in lock:
            problems.append(f"{name}: in environment.yml but not in lock.txt")
        elif lock[name] != version:
            problems.append(f"{name}: lock.txt {lock[name]} but environment.yml {version}")
    requires = SpecifierSet(tomllib.loads(pyproject_text)["project"]["requires-python"])
    for py in PYTHONS:
        if Version(py) not in requires:
            problems.append(f"python: requires-python {str(requires)!r} excludes {py}")
    if python not in PYTHONS:
        problems.append(f"python: environment.yml {python!r}, expected one of {PYTHONS}")
    return problems


def floor_problems(pyproject_text: str, floor_text: str) -> list[str]:
    """requirements/floor.txt pins every runtime dependency at its pyproject lower bound's series."""
    runtime, _ = pyproject_ranges(pyproject_text)
    floor = lock_pins(floor_text, "requirements/floor.txt")
    problems = []
    for name, spec in runtime.items():
        low = lower_bound(spec)
        have = floor.get(name)
        if have is None:
            problems.append(f"{name}: missing from floor.txt")
        elif have not in spec or Version(have).release[: len(low.release)] != low.release:
            problems.append(f"{name}: floor.txt {have} is not the lower bound {low} of {spec}")
    problems += [f"{name}: in floor.txt but not a runtime dependency" for name in sorted(set(floor) - set(runtime))]
    return problems


def _read(rel: str) -> str:
    return (ROOT / rel).read_text()


def test_pins_agree() -> None:
    problems = disagreements(_read("pyproject.toml"), _read("environment.yml"), _read("requirements/lock.txt"))
    assert not problems, "dependency files disagree:\n" + "\n".join(problems)


def test_floor_is_the_lower_bounds() -> None:
    problems = floor_problems(_read("pyproject.toml"), _read("requirements/floor.txt"))
    assert not problems, "requirements/floor.txt and pyproject's lower bounds disagree:\n" + "\n".join(problems)


def test_required_versions() -> None:
    runtime, dev = pyproject_ranges(_read("pyproject.toml"))
    lock = lock_pins(_read("requirements/lock.txt"))
    for name, version in REQUIRED.items():
        assert lock[name] == version
    for name in ALSO_REQUIRED:
        assert name in runtime or name in dev, f"{name} must be a direct dependency"
    assert lock["jupyter-book"].startswith("1."), "Jupyter Book 1.x (2.x fetches its theme from the network)"
    assert "2.0" not in dev["jupyter-book"], "the jupyter-book range must exclude 2.x"
    # the GPU machine runs torch 2.11 on Python 3.12 with its own build; the range must keep it
    assert "2.11.0" in runtime["torch"] and "0.26.0" in runtime["torchvision"]


def test_disagreement_is_detected() -> None:
    """Break each file on purpose in memory: the comparison must notice."""
    py, env, lock = _read("pyproject.toml"), _read("environment.yml"), _read("requirements/lock.txt")
    assert disagreements(py, env.replace("torch==2.14.1", "torch==2.14.0"), lock) == [
        "torch: lock.txt 2.14.1 but environment.yml 2.14.0"
    ]
    assert disagreements(py, env.replace("numpy==2.4.6", "numpy==3.0.0"), lock.replace("numpy==2.4.6", "numpy==3.0.0")) == [
        "numpy: lock.txt 3.0.0 is outside pyproject's range <3,>=1.26.4"
    ]
    assert disagreements(py, env, lock.replace("wfdb==4.3.1", "wfdb==4.3.2")) == ["wfdb: lock.txt 4.3.2 but environment.yml 4.3.1"]
    assert any("missing from environment.yml" in p for p in disagreements(py, env.replace("      - seaborn==0.13.2\n", ""), lock))
    assert disagreements(py, env, lock.replace("check-jsonschema==0.39.0\n", "")) == [
        "check-jsonschema: in pyproject but not pinned in lock.txt"
    ]
    assert disagreements(py.replace('requires-python = ">=3.11"', 'requires-python = ">=3.11,<3.12"'), env, lock) == [
        "python: requires-python '<3.12,>=3.11' excludes 3.12"
    ]
    with pytest.raises(AssertionError, match="is an exact pin"):
        disagreements(py.replace('"seaborn>=0.13,<1"', '"seaborn==0.13.2"'), env, lock)
    with pytest.raises(AssertionError, match="needs a lower"):
        disagreements(py.replace('"seaborn>=0.13,<1"', '"seaborn<1"'), env, lock)
    floor = _read("requirements/floor.txt")
    assert floor_problems(py, floor.replace("numpy==1.26.4", "numpy==2.0.0")) == [
        "numpy: floor.txt 2.0.0 is not the lower bound 1.26.4 of <3,>=1.26.4"
    ]


def test_installed_environment_matches_lock() -> None:
    """The running environment is the locked one (catches a stale venv)."""
    lock = lock_pins(_read("requirements/lock.txt"))
    runtime, dev = pyproject_ranges(_read("pyproject.toml"))
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
