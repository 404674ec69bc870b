"""Number formatting and the reading of result dicts, fresh or committed, old format or new.

Why one place: tables, readings and the paper-vs-ours page all print "0.912 [0.871, 0.944]" or
"0.912 ± 0.013" from the same metrics dicts; and results committed before every recipe ran its
seed list (one seed, metrics at the top level) must still render beside new ones
(:func:`runs_of` reads both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simcardionet_lite.evaluate import metric_value

TABLE_KEYS: dict[str, str] = {
    "accuracy": "accuracy",
    "macro_precision": "macro P",
    "macro_recall": "macro R",
    "macro_f1": "macro F1",
    "weighted_f1": "weighted F1",
    "macro_auc": "macro AUC",
}


def value(metrics: Mapping[str, Any] | None, key: str) -> float | None:
    """A metric's point value from a metrics dict (float or ``{"value": ...}``), or None."""
    return metric_value(metrics, key)


def point_value(point: Mapping[str, Any], key: str) -> float | None:
    """A learning-curve point's score: ``key`` from its single-label ``metrics``, or, written
    ``"multilabel.macro_auc"``, from its ``multilabel`` probes (points of older runs have none: None)."""
    part, _, name = key.rpartition(".")
    return metric_value(point.get(part or "metrics"), name)


#: how a learning-curve key reads in the book
CURVE_NAMES = {"macro_auc": "single-label macro-AUC", "multilabel.macro_auc": "multi-label macro-AUC"}


def ci(metrics: Mapping[str, Any] | None, key: str) -> list[float] | None:
    """A metric's bootstrap interval ``[lo, hi]`` from a metrics dict, or None."""
    if metrics is None:
        return None
    v = metrics.get(key)
    if isinstance(v, Mapping) and "ci" in v:
        return list(v["ci"])
    intervals = metrics.get("ci", {})
    if isinstance(intervals, Mapping) and intervals.get(key):
        return list(intervals[key])
    return None


def fmt(v: float | None, nd: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{nd}f}"


def fmt_ci(metrics: Mapping[str, Any] | None, key: str, nd: int = 3) -> str:
    """``0.912 [0.871, 0.944]`` (point value and bootstrap interval)."""
    v, c = value(metrics, key), ci(metrics, key)
    if v is None:
        return "n/a"
    return f"{v:.{nd}f}" + (f" [{c[0]:.{nd}f}, {c[1]:.{nd}f}]" if c else "")


def fmt_ms(summary: Mapping[str, Any] | None, key: str, nd: int = 3) -> str:
    """``0.912 ± 0.013`` from an ``evaluate.summarize`` entry."""
    if not summary or key not in summary or summary[key]["mean"] is None:
        return "n/a"
    d = summary[key]
    if d.get("n", 2) == 1:
        return f"{d['mean']:.{nd}f} (1 run, no SD)"
    return f"{d['mean']:.{nd}f} ± {d['sd']:.{nd}f}"


def runs_of(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The per-seed runs of a recipe result: ``result["runs"]``, or ``[result]`` for a one-seed
    result committed before recipes repeated over ``eval.seeds``."""
    runs = result.get("runs")
    return list(runs) if isinstance(runs, list) else [result]


def fmt_runs(result: Mapping[str, Any], key: str, part: str = "metrics", summary: str = "summary") -> str:
    """One cell for a per-seed result: mean ± SD over seeds, or the one run's value and interval."""
    runs = runs_of(result)
    if len(runs) > 1 and result.get(summary):
        return fmt_ms(result[summary], key)
    return fmt_ci(runs[0].get(part), key) if runs else "n/a"


__all__ = ["TABLE_KEYS", "CURVE_NAMES", "value", "point_value", "ci", "fmt", "fmt_ci", "fmt_ms", "runs_of", "fmt_runs"]
