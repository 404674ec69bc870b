"""Readings: one Markdown line per comparison, composed from the numbers, seed by seed.

Why seed by seed: with three seeds a mean difference says little; "ahead in 3 of 3 seeds, by
+0.02 to +0.09" is what a reader can weigh, and because arms share their splits and seeds the
comparison is paired.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from simcardionet_lite.experiments.arms import LABEL_EFFICIENCY_ARMS
from simcardionet_lite.experiments.report.format import value


def per_seed(runs: Iterable[Mapping[str, Any]], key: str = "macro_f1") -> dict[int, float]:
    """``{seed: metric}`` of runs that carry a ``seed`` and ``metrics`` (missing values left out)."""
    out = {}
    for r in runs:
        v = value(r["metrics"], key)
        if v is not None:
            out[int(r["seed"])] = float(v)
    return out


def paired_gap(a: Mapping[int, float], b: Mapping[int, float]) -> tuple[int, int, float, float] | None:
    """(seeds where a > b, seeds compared, smallest a - b, largest a - b) over the shared seeds."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    d = [a[s] - b[s] for s in seeds]
    return sum(x > 0 for x in d), len(seeds), min(d), max(d)


def ablation_reading(res: Mapping[str, Any], key: str = "macro_f1") -> str:
    """One Markdown line per ablation arm against ``full``, seed by seed (same seeds, same splits)."""
    arms = res.get("arms", {})
    if "full" not in arms:
        return "_no `full` arm to compare against_"
    full = per_seed(arms["full"]["runs"], key)
    name = key.replace("_", "-").replace("f1", "F1")
    lines = []
    for arm, d in arms.items():
        g = None if arm == "full" else paired_gap(per_seed(d["runs"], key), full)
        if g:
            ahead, n, lo, hi = g
            verdict = ("above `full` in every seed" if ahead == n else "below `full` in every seed" if ahead == 0
                       else f"above `full` in {ahead} of {n} seeds")
            lines.append(f"* **{arm}** ({d.get('label', arm)}): {verdict}; {name} difference {lo:+.3f} to {hi:+.3f}.")
    return "\n".join(lines) if lines else "_no comparable runs_"


def label_efficiency_reading(res: Mapping[str, Any]) -> str:
    """One Markdown line per labelled fraction: pretrained vs scratch, and the two probes, seed by seed."""
    def compare(a: str, b: str, frac: float) -> str | None:
        rows = res["rows"]
        g = paired_gap(per_seed(r for r in rows if r["arm"] == a and r["fraction"] == frac),
                       per_seed(r for r in rows if r["arm"] == b and r["fraction"] == frac))
        if g is None:
            return None
        ahead, n, lo, hi = g
        return (f"{LABEL_EFFICIENCY_ARMS[a]} ahead of {LABEL_EFFICIENCY_ARMS[b]} in {ahead} of {n} seeds "
                f"(macro-F1 difference {lo:+.3f} to {hi:+.3f})")

    lines = []
    for frac in res["fractions"]:
        probes = compare("linear_probe", "random_probe", frac) if "random_probe" in res["curves"] else None
        parts = [c for c in (compare("pretrained", "scratch", frac), probes) if c]
        if parts:
            lines.append(f"* **{100 * frac:g} % labels**: " + "; ".join(parts) + ".")
    return "\n".join(lines) if lines else "_no comparable runs_"


__all__ = ["per_seed", "paired_gap", "ablation_reading", "label_efficiency_reading"]
