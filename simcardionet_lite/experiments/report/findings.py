"""What was found, stated from the committed results: the text that opens a results chapter.

Why generated: a finding typed into prose drifts when the results are re-run; read from the
committed JSON at build time, it cannot. Each function takes ``committed`` (tag -> results
dict, :func:`~simcardionet_lite.experiments.report.banner.committed_runs`) and returns markdown;
with nothing committed it says so instead of inventing a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simcardionet_lite.experiments.report.banner import run_description
from simcardionet_lite.experiments.report.format import fmt_ci, fmt_ms
from simcardionet_lite.experiments.report.tables import cv_models
from simcardionet_lite.experiments.report.verdicts import comparison_verdict, value_verdict


def _seed_cells(part: Mapping[str, Any], key: str) -> str:
    return "; ".join(f"seed {r['seed']} {fmt_ci(r['metrics'], key)}" for r in part.get("per_seed", []))


def dataset1_findings(committed: Mapping[str, Mapping[str, Any]], key: str = "macro_f1") -> str:
    """Chapter 5's findings: per committed run, every model's score over seeds and the verdicts."""
    from simcardionet_lite import paper

    paper_f1 = paper.RESULTS["dataset1"].metrics.get("f1")
    lines: list[str] = []
    for tag, d in committed.items():
        m = d.get("metrics") or {}
        gr, fl = m.get("grouped"), m.get("file")
        if gr and gr.get("per_seed"):
            lines.append(f"**`{tag}`** ({run_description(d)}), duplicate-aware 3-fold CV, macro-F1 of each seed's "
                         f"pooled held-out pages with 95 % cluster-bootstrap intervals:")
            for who, part in cv_models(gr):
                lines.append(f"* {who}: **{fmt_ms(part.get('seed_summary'), key)}** over seeds ({_seed_cells(part, key)})")
            lines.append("")
            lines.append("Verdicts:")
            lines.append(f"* *The paper's Dataset I F1 ({paper_f1:.3f}) is reached without duplicates crossing the "
                         f"folds*: {value_verdict(paper_f1, gr, key).markdown()}")
            names = [who for who, _ in cv_models(gr)]
            for (who, part) in cv_models(gr)[1:]:
                v = comparison_verdict(gr, part, (names[0], who), key)
                lines.append(f"* *{names[0]} is better than {who}*: {v.markdown()}")
            lines.append("")
        elif fl and gr:
            lines.append(f"**`{tag}`** ({run_description(d)}): macro-F1 {fmt_ms(fl['summary'], key)} under file-level "
                         f"folds against {fmt_ms(gr['summary'], key)} under duplicate-aware folds (mean ± SD over "
                         f"folds and seeds); the pixel baseline gets {fmt_ms(fl['baseline']['summary'], key)} and "
                         f"{fmt_ms(gr['baseline']['summary'], key)}. The gap between the protocols is what copies of "
                         f"test pages in training add.")
            lines.append("")
    if not lines:
        return "*No committed real-data run of this chapter yet: the numbers below are the smoke demo's only.*"
    return "\n".join(lines)


__all__ = ["dataset1_findings"]
