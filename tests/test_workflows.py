"""The GitHub Actions workflows are valid and do what the README says.

Why: a workflow error only shows on GitHub, after a push. check-jsonschema validates against
GitHub's workflow schema offline (vendored in the package), and the content checks tie each
workflow to the commands and chapters of this repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = ("book.yml", "tests.yml", "gpu-reproduce.yml", "colab.yml")


def check_jsonschema(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True, text=True, timeout=120,
    )


def load(name: str) -> dict:
    d = yaml.safe_load((WORKFLOWS / name).read_text())
    d["on"] = d.pop(True, d.get("on"))  # YAML 1.1 reads the key `on` as True
    return d


def toc_chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [Path(f).name for f in files]


def test_workflows_pass_the_github_schema() -> None:
    r = check_jsonschema(*(WORKFLOWS / n for n in NAMES))
    assert r.returncode == 0, r.stdout + r.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("name: bad\non: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: 3\n        run: echo\n")
    r = check_jsonschema(bad)
    assert r.returncode != 0


def test_tests_workflow_runs_the_readme_command() -> None:
    steps = load("tests.yml")["jobs"]["test"]["steps"]
    assert any(s.get("run") == "bash .ci/run" for s in steps)
    assert any(s.get("with", {}).get("python-version") == "3.11" for s in steps)
    ci = (ROOT / ".ci" / "run").read_text()
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[:4] == ["```bash", "make book", "make test", "```"], "README must open with the two commands"
    commands = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert commands[0] == "set -euo pipefail"
    assert commands[-1] == lines[2], ".ci/run must run exactly the README's test command"


def test_colab_workflow_runs_the_install_test_on_python_312() -> None:
    """The Colab job switches the opt-in install test on, with a Python 3.12 venv, and fails if it skipped."""
    wf = load("colab.yml")
    steps = wf["jobs"]["colab-install"]["steps"]
    versions = [s.get("with", {}).get("python-version") for s in steps if s.get("uses", "").startswith("actions/setup-python")]
    assert "3.12" in versions
    step = next(s for s in steps if "tests/test_install.py" in s.get("run", ""))
    assert step["env"]["SIMCARDIONET_INSTALL_TEST"] == "1"
    py312 = next(s for s in steps if s.get("with", {}).get("python-version") == "3.12")
    assert step["env"]["SIMCARDIONET_INSTALL_TEST_PYTHON"] == "${{ steps.%s.outputs.python-path }}" % py312["id"]
    assert "-k plain_install" in step["run"] and "SKIPPED" in step["run"]
    assert "schedule" in wf["on"] and "workflow_dispatch" in wf["on"]


def test_book_workflow_builds_and_deploys_pages() -> None:
    wf = load("book.yml")
    runs = [s.get("run") for s in wf["jobs"]["build"]["steps"]]
    uses = [s.get("uses", "") for job in wf["jobs"].values() for s in job["steps"]]
    assert "make book" in runs
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)
    assert wf["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_gpu_workflow_covers_every_chapter_on_a_self_hosted_gpu_runner() -> None:
    from simcardionet_lite.experiments import all_recipes
    from simcardionet_lite.notebooks import _registered_sources, chapter_matrix

    # the matrix reads the recipes' sources without importing them: it must agree with the registry
    assert _registered_sources() == {r.chapter: r.real_source for r in all_recipes().values()}

    wf = load("gpu-reproduce.yml")
    job = wf["jobs"]["reproduce"]
    assert "self-hosted" in job["runs-on"] and "gpu" in job["runs-on"]
    # the matrix comes from book/ and the recipes, made with a bare Python (no install)
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.chapters.outputs.matrix) }}"
    assert "python3 -m simcardionet_lite.notebooks --matrix" in wf["jobs"]["chapters"]["steps"][-1]["run"]
    r = subprocess.run([sys.executable, "-S", "-m", "simcardionet_lite.notebooks", "--matrix"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    matrix = json.loads(r.stdout)["include"]
    assert [m["chapter"] for m in matrix] == toc_chapters() and matrix == chapter_matrix()
    roots = {m["chapter"]: m["data_root"] for m in matrix}
    assert roots["05_dataset1"] == "DATA_ROOT_DATASET1" and roots["07_ptbxl"] == "DATA_ROOT_PTBXL"
    assert roots["06_dataset2"] == "DATA_ROOT_KAGGLE" and roots["02_backbone"] == ""
    text = (WORKFLOWS / "gpu-reproduce.yml").read_text()
    assert "simcardionet_lite reproduce" in text and "default: paper" in text
    upload = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload and upload[0]["with"]["path"].startswith("results/")


@pytest.mark.parametrize("name", NAMES)
def test_workflow_files_exist(name: str) -> None:
    assert (WORKFLOWS / name).is_file()


def test_readme_states_the_exact_pytest_command_of_make_test() -> None:
    r = subprocess.run(["make", "-n", "--no-print-directory", "test"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        pytest.skip(f"make not usable here: {r.stderr.strip()[:200]}")
    pytest_line = [ln for ln in r.stdout.splitlines() if "-m pytest" in ln][-1].strip()
    assert "--nbval-lax" in pytest_line and " notebooks" in pytest_line and " tests " in pytest_line
    assert pytest_line in (ROOT / "README.md").read_text(), f"README must state the test command: {pytest_line}"
