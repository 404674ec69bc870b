"""``simcardionet-lite verify RESULTS_JSON...``: re-run a committed result from its own commit and compare.

Why: a reproducibility package is worth what its own numbers are worth, and a number can only
be trusted if it comes back from the commit it records, on an empty cache, with the config and
seeds it records. For each results file this command:

1. refuses, saying why, what cannot be re-run honestly: no recipe recorded (a file written before
   the recipe registry, or by a notebook or benchmark), no commit, code that was dirty, a GPU
   result on a machine without a GPU, a data folder that is not here (``--root-map OLD=NEW``
   points a recorded folder at its copy on this machine);
2. checks out the recorded commit into a temporary git worktree and runs the recorded recipe
   there, in a fresh process, with the recorded config, seeds and torch thread count and an
   empty cache;
3. compares every number of the new metrics with the committed ones (wall-clock times aside)
   and prints, per headline
   metric, committed / re-run / |delta| / pass. The tolerance is stated: 0 by default, since a CPU
   run with the same thread count is bit for bit deterministic on CPUs whose convolutions run the
   same kernels (:func:`isa_plan`: an AVX-512 host caps oneDNN, MKL and ATen at AVX2 to re-run a result
   recorded without AVX-512, and says so; a file from before the CPU was recorded gets a note).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from simcardionet_lite.results import CPU_CAPS

#: What the worktree process runs: the recorded recipe with the recorded config (read from a file).
_RUNNER = """
import json, sys
import torch
from simcardionet_lite import experiments as ex
from simcardionet_lite.config import Config
spec = json.load(open(sys.argv[1]))
if spec["threads"]:
    torch.set_num_threads(spec["threads"])
ex.run_recipe(spec["recipe"], Config.from_dict(spec["config"]), results_dir=spec["out"])
"""


class Refused(Exception):
    """A results file that verify cannot re-run honestly; the message says why."""


def refusal(record: Mapping[str, Any]) -> str | None:
    """Why the file itself cannot be re-run honestly, on any machine (no recipe, no commit, dirty code), or None.

    The book prints it beside a committed result that ``verify`` would refuse.
    """
    if not ((record.get("extra") or {}).get("recipe") or {}).get("name"):
        return ("no recipe is recorded (a file written before the recipe registry, or by a notebook or "
                "benchmark): re-run it with `simcardionet-lite run` to make a verifiable one")
    git = (record.get("metadata") or {}).get("git") or {}
    if not git.get("commit"):
        return "no git commit is recorded"
    if git.get("code_dirty") or (git.get("dirty") and git.get("code_dirty") is None):
        return f"the code was dirty when it ran (files: {git.get('dirty_files')}): re-run it from a clean tree"
    return None


def isa_plan(recorded: Mapping[str, Any], here: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
    """The environment that makes this CPU run the kernels the recorded one ran, and a note on what is known.

    Why: oneDNN (torch's CPU convolutions) and MKL (its matrix products) pick AVX2 or AVX-512 kernels by
    what the CPU offers, and they round differently; over a training run the low bits grow into different
    numbers. Measured on 2026-12-02: one committed recipe, re-run with the same packages and threads on
    another host, differed in 2,240 of 4,328 numbers, while two runs on one host agree bit for bit and
    capping oneDNN (``ONEDNN_MAX_CPU_ISA=AVX2``) or MKL (``MKL_CBWR=AVX2``) on that host changes the bits.
    Torch's own vectorised kernels pick their level too (``ATEN_CPU_CAPABILITY``; measured on 2026-12-03:
    on an AVX2 host, ``default`` instead of ``avx2`` changes the weights after 20 optimiser steps), and the
    first caps left it at AVX-512. All three caps (:data:`~simcardionet_lite.results.CPU_CAPS`) are applied
    when a result was recorded on a CPU without AVX-512 and this one has it; caps the user set in the
    environment are kept as they are. They are a best effort, not a proof: the host of that file recorded no
    CPU, and neither of the first two caps, alone or together, brought its numbers back; whether the three
    together make an AVX-512 host repeat an AVX2 one bit for bit needs both kinds of host in one session.
    The printed verdict comparison (:func:`verdict_changes`) is what any cross-host re-run can check.
    """
    user = {k: os.environ[k] for k in CPU_CAPS if os.environ.get(k)}
    flags, mine = recorded.get("cpu_isa_flags"), set(here.get("cpu_isa_flags") or [])
    said = (f" (set here: {', '.join(f'{k}={v}' for k, v in user.items())})" if user else "")
    recorded_caps = {k: str(recorded[f]) for k, f in CPU_CAPS.items() if recorded.get(f)}
    if recorded_caps:
        env = {k: v for k, v in recorded_caps.items() if k not in user}
        return env, "re-run with the recorded kernel caps " + ", ".join(f"{k}={v}" for k, v in recorded_caps.items()) + said
    if flags is None:
        return {}, ("the file predates the recording of the CPU's instruction sets: CPU results match exactly only "
                    "where oneDNN and MKL run the same kernels (AVX2 and AVX-512 round differently), so numbers "
                    "that differ here may come from another kind of CPU; ONEDNN_MAX_CPU_ISA=AVX2, MKL_CBWR=AVX2 and "
                    "ATEN_CPU_CAPABILITY=AVX2 emulate an AVX2 host" + said)
    if "avx512f" not in flags and "avx512f" in mine:
        env = {k: "AVX2" for k in CPU_CAPS if k not in user}
        return env, "recorded on a CPU without AVX-512; re-run with oneDNN, MKL and torch's kernels capped at AVX2" + said
    if "avx512f" in flags and "avx512f" not in mine:
        return {}, ("recorded on an AVX-512 CPU and this one has none: the kernels differ, so an exact match is "
                    "not expected (state a --tolerance, or verify on an AVX-512 machine)")
    return {}, None


def plan(record: Mapping[str, Any], root_map: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What to re-run: recipe, commit, config (data folders mapped, cache cleared) and threads; or :class:`Refused`."""
    why = refusal(record)
    if why:
        raise Refused(why)
    recipe = record["extra"]["recipe"]["name"]
    git = record["metadata"]["git"]
    hw = (record.get("metadata") or {}).get("hardware") or {}
    if hw.get("gpu"):
        import torch

        if not torch.cuda.is_available():
            raise Refused(f"it ran on a GPU ({hw['gpu']}); verify it on a machine with one")
    cfg = json.loads(json.dumps(record["config"]))
    for key in ("root", "train_root"):
        path = cfg["data"].get(key)
        if path is None:
            continue
        for old, new in (root_map or {}).items():
            if path == old or path.startswith(old.rstrip("/") + "/"):
                path = new + path[len(old.rstrip("/")):]
        if not Path(path).exists():
            raise Refused(f"its data.{key} {path} is not on this machine (map it with --root-map {path}=HERE)")
        cfg["data"][key] = path
    cfg["data"]["cache_dir"] = None  # the empty cache given through SIMCARDIONET_CACHE
    from simcardionet_lite.results import cpu_info

    env, note = isa_plan(hw, cpu_info())
    return {"recipe": recipe, "commit": git["commit"], "config": cfg, "threads": hw.get("torch_threads"),
            "env": env, "isa_note": note}


def rerun(spec: Mapping[str, Any], workdir: Path, repo: Path) -> dict[str, Any]:
    """Run ``spec`` at its commit in a worktree under ``workdir``; the new results JSON."""
    tree, cache, out = workdir / "tree", workdir / "cache", workdir / "out"
    git = ["git", "-C", str(repo)]
    r = subprocess.run([*git, "worktree", "add", "--detach", str(tree), spec["commit"]], capture_output=True, text=True)
    if r.returncode != 0:
        raise Refused(f"cannot check out commit {spec['commit'][:12]} here ({r.stderr.strip()[:200]}); "
                      "a shallow clone lacks it: fetch the history")
    try:
        (workdir / "spec.json").write_text(json.dumps({**spec, "out": str(out)}))
        env = {**os.environ, **(spec.get("env") or {}), "PYTHONPATH": str(tree), "SIMCARDIONET_CACHE": str(cache)}
        run = subprocess.run([sys.executable, "-c", _RUNNER, str(workdir / "spec.json")], cwd=tree, env=env,
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"the re-run failed:\n{run.stderr[-2000:]}")
        return json.loads((out / "metrics.json").read_text())
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(tree)], capture_output=True)


def _is_timing(key: str) -> bool:
    """Wall-clock fields (``seconds``, ``wall_s``): measurements of the machine, not results."""
    return "seconds" in key or key.startswith("wall")


def _leaves(d: Any, path: str = "") -> Iterator[tuple[str, float]]:
    """Every number in a metrics dict, by its dotted path (wall-clock times left out)."""
    if isinstance(d, Mapping):
        for k, v in d.items():
            if not _is_timing(str(k)):
                yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from _leaves(v, f"{path}[{i}]")
    elif isinstance(d, (int, float)) and not isinstance(d, bool):
        yield path, float(d)


def compare(committed: Mapping[str, Any], rerun_metrics: Mapping[str, Any], tolerance: float = 0.0) -> dict[str, Any]:
    """Every number of both metrics dicts compared; rows for the headline ones (``summary`` means)."""
    a, b = dict(_leaves(committed)), dict(_leaves(rerun_metrics))
    missing = sorted(set(a) ^ set(b))
    deltas = {k: abs(a[k] - b[k]) if math.isfinite(a[k]) and math.isfinite(b[k]) else (0.0 if a[k] == b[k] else math.inf)
              for k in set(a) & set(b)}
    worst = max(deltas.values(), default=0.0)
    heads = sorted(k for k in deltas if "summary" in k and k.endswith(".mean")) or sorted(deltas)[:12]
    failing = sorted(k for k, v in deltas.items() if v > tolerance)
    rows = [{"metric": k, "committed": a[k], "rerun": b[k], "delta": deltas[k], "pass": deltas[k] <= tolerance}
            for k in heads]
    return {"rows": rows, "n_compared": len(deltas), "max_delta": worst, "missing": missing,
            "pass": worst <= tolerance and not missing, "tolerance": tolerance,
            "failing": [{"metric": k, "committed": a[k], "rerun": b[k], "delta": deltas[k]} for k in failing]}


def failing_parts(res: Mapping[str, Any], depth: int = 3) -> dict[str, int]:
    """How many numbers differ under each part of the metrics (the first ``depth`` parts of their dotted path,
    list indices dropped), so a failure says where the re-run parted from the committed file."""
    out: dict[str, int] = {}
    for row in res.get("failing", []):
        path = re.sub(r"\[\d+\]", "", row["metric"])  # list indices dropped
        part = ".".join(re.split(r"(?<![0-9])\.|\.(?![0-9])", path)[:depth])  # a key such as 0.01 stays whole
        out[part] = out.get(part, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def verdict_changes(path: str | Path, record: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, str]]:
    """The first-screen verdicts of the file's chapter (``report.glance``) read from the committed file and from the
    re-run in its place, line by line: whether the conclusions the book states come back, even where the low bits of
    the numbers do not (another kind of CPU)."""
    from simcardionet_lite.experiments.report.banner import committed_runs
    from simcardionet_lite.experiments.report.glance import at_a_glance

    src = Path(path)
    chapter, tag = src.parent.parent.name, src.parent.name

    def reading(result: Mapping[str, Any]) -> Any:
        """The committed runs, with ``result`` as the file's run."""
        def load(ch: str) -> dict[str, Any]:
            return {**committed_runs(ch), **({tag: result} if ch == chapter else {})}
        return load

    before = at_a_glance(chapter, runs=[tag], loader=reading(record)).verdicts
    after = at_a_glance(chapter, runs=[tag], loader=reading({**record, "metrics": new["metrics"]})).verdicts
    return [{"claim": claim, "committed": was, "rerun": now} for (claim, was), (_, now) in zip(before, after)]


def verify_file(path: str | Path, *, tolerance: float = 0.0, root_map: Mapping[str, str] | None = None,
                repo: Path | None = None) -> dict[str, Any]:
    """Re-run one results file from its commit and compare (see the module docstring)."""
    from simcardionet_lite.results import repo_root

    record = json.loads(Path(path).read_text())
    spec = plan(record, root_map)
    with tempfile.TemporaryDirectory(prefix="simcardionet-verify-") as tmp:
        new = rerun(spec, Path(tmp), repo or repo_root())
    return {"file": str(path), "recipe": spec["recipe"], "commit": spec["commit"], "isa_note": spec.get("isa_note"),
            **compare(record["metrics"], new["metrics"], tolerance), "verdicts": verdict_changes(path, record, new),
            "rerun_record": new}


def _print(res: Mapping[str, Any]) -> None:
    w = sys.stdout.write
    w(f"{res['file']}: recipe {res['recipe']} at {res['commit'][:12]}; {res['n_compared']} numbers compared, "
      f"max |delta| {res['max_delta']:.3g} (tolerance {res['tolerance']:g}): {'PASS' if res['pass'] else 'FAIL'}\n")
    if res.get("isa_note"):
        w(f"  CPU: {res['isa_note']}\n")
    w(f"  {'metric':<60} {'committed':>10} {'re-run':>10} {'|delta|':>9}  pass\n")
    for r in res["rows"]:
        w(f"  {r['metric'][:60]:<60} {r['committed']:>10.4f} {r['rerun']:>10.4f} {r['delta']:>9.2g}  {r['pass']}\n")
    if res["missing"]:
        w(f"  in one file only: {res['missing'][:10]}\n")
    if res.get("failing"):
        parts = ", ".join(f"{k} ({n})" for k, n in failing_parts(res).items())
        w(f"  {len(res['failing'])} of {res['n_compared']} numbers differ, under: {parts}\n")
    verdicts = res.get("verdicts") or []
    if verdicts:
        same = sum(v["committed"] == v["rerun"] for v in verdicts)
        w(f"  the chapter's first-screen verdicts on this run: {same} of {len(verdicts)} the same\n")
        for v in verdicts:
            w(f"    {v['claim'][:70]:<70} {v['committed']} -> {v['rerun']}\n")


def _write_report(res: Mapping[str, Any], folder: Path) -> Path:
    """``folder/<chapter>__<tag>.json``: the verdict, every differing number and the re-run's results."""
    src = Path(res["file"])
    out = folder / f"{src.parent.parent.name}__{src.parent.name}.json"
    folder.mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in res.items() if k != "rows"}
    out.write_text(json.dumps({**keep, "failing_parts": failing_parts(res)}, indent=1, default=str) + "\n")
    sys.stdout.write(f"  report: {out}\n")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: 0 when every file passes, 1 when a number differs, 2 when a file is refused or fails."""
    p = argparse.ArgumentParser(prog="simcardionet-lite verify", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", help="committed results JSON files (results/<chapter>/<tag>/metrics.json)")
    p.add_argument("--tolerance", type=float, default=0.0, help="largest |delta| that passes (default 0: CPU, same threads)")
    p.add_argument("--root-map", action="append", default=[], metavar="OLD=NEW",
                   help="a recorded data folder and where it is on this machine; repeatable")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="also write, per file, DIR/<chapter>__<tag>.json: every number that differs and the re-run's "
                        "whole results JSON (the re-run's folder is temporary)")
    args = p.parse_args(argv)
    from simcardionet_lite.config import parse_assignments

    roots = {k: str(v) for k, v in parse_assignments(args.root_map, option="--root-map").items()}
    status = 0
    for f in args.files:
        try:
            res = verify_file(f, tolerance=args.tolerance, root_map=roots)
        except (Refused, RuntimeError, OSError, KeyError, json.JSONDecodeError) as exc:
            sys.stdout.write(f"{f}: not verified: {exc}\n")
            status = 2
            continue
        _print(res)
        if args.report:
            _write_report(res, Path(args.report))
        status = max(status, 0 if res["pass"] else 1)
    return status


__all__ = ["Refused", "refusal", "isa_plan", "plan", "rerun", "compare", "failing_parts", "verdict_changes", "verify_file", "main"]
