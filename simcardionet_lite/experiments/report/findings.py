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


def _per_class(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per class: recall, support and how often it was predicted (from the confusion matrix, so
    results written before ``predicted`` was recorded read the same)."""
    pc = metrics.get("per_class") or {}
    cm = metrics.get("confusion")
    out = {}
    for i, (c, v) in enumerate(pc.items()):
        predicted = v.get("predicted")
        if predicted is None and cm is not None:
            predicted = int(sum(row[i] for row in cm))
        out[c] = {"recall": float(v.get("recall", 0.0)), "support": int(v.get("support", 0)), "predicted": predicted}
    return out


def ptbxl_findings(committed: Mapping[str, Mapping[str, Any]]) -> str:
    """Chapter 7's findings: per committed run, scores over seeds, per-class recall and how often
    each class was predicted (a model that never predicts a class has collapsed), and the verdicts."""
    from simcardionet_lite import paper
    from simcardionet_lite.experiments.report.format import runs_of, value

    acc = paper.RESULTS["ptbxl"].metrics.get("accuracy")
    lines: list[str] = []
    for tag, d in committed.items():
        m = d.get("metrics") or {}
        runs = [r for r in runs_of(m) if isinstance(r.get("metrics"), Mapping)]
        if not runs:
            continue
        ml = m.get("multilabel_summary") or {}
        lines.append(f"**`{tag}`** ({run_description(d)}), official fold 10 ({m.get('n_test', '?')} single-label "
                     f"records; test class counts {m.get('test_class_counts', '?')}):")
        lines.append(f"* accuracy {fmt_ms(m.get('summary'), 'accuracy')}, macro-F1 {fmt_ms(m.get('summary'), 'macro_f1')} "
                     f"(over the classes present), multi-label macro AUC {fmt_ms(ml, 'macro_auc')}; the pixel baseline: "
                     f"accuracy {fmt_ms(m.get('baseline_summary'), 'accuracy')}, macro-F1 "
                     f"{fmt_ms(m.get('baseline_summary'), 'macro_f1')}")
        for r in runs:
            pc = _per_class(r["metrics"])
            cells = ", ".join(f"{c} {v['recall']:.2f} ({v['predicted']} predicted / {v['support']})"
                              for c, v in pc.items() if v["support"] > 0)
            never = [c for c, v in pc.items() if v["predicted"] == 0 and v["support"] > 0]
            lines.append(f"* seed {r['seed']}: recall per class {cells}"
                         + (f"; **never predicted: {', '.join(never)}**" if never else "; every class predicted"))
        if acc is not None:
            lines.append(f"* *The paper's PTB-XL accuracy ({acc:.3f}) is reached on this sample*: "
                         f"{value_verdict(acc, {'per_seed': [{'seed': r['seed'], 'metrics': r['metrics']} for r in runs]}, 'accuracy').markdown()}")
        collapsed = [r["seed"] for r in runs if any(v["predicted"] == 0 and v["support"] > 0
                                                    for v in _per_class(r["metrics"]).values())]
        lines.append(f"* *The model predicts every class present in the test fold*: **"
                     f"{'holds' if not collapsed else 'does not hold'}** (seeds where a present class is never predicted: "
                     f"{collapsed or 'none'}; rule: holds if no seed leaves a present class unpredicted)")
        base = {"per_seed": [{"seed": r["seed"], "metrics": r["baseline"]} for r in runs if r.get("baseline")]}
        mine = {"per_seed": [{"seed": r["seed"], "metrics": r["metrics"]} for r in runs]}
        if base["per_seed"] and value(runs[0]["metrics"], "macro_f1") is not None:
            lines.append(f"* *The network is better than the pixel baseline (macro-F1)*: "
                         f"{comparison_verdict(mine, base, ('the network', 'the pixel baseline')).markdown()}")
        lines.append("")
    if not lines:
        return "*No committed real-data run of this chapter yet: the numbers below are the smoke demo's only.*"
    return "\n".join(lines)


__all__ = ["dataset1_findings", "ptbxl_findings"]
