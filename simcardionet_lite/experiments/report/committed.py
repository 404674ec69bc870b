"""The paper's row beside each committed run, per results chapter (Dataset I, Dataset II, PTB-XL).

Why: a chapter executed in the cheap ``smoke`` preset still shows the numbers of committed
larger runs next to the paper's own, with the protocol each row used; a chapter with no
committed run says so in a "not yet run" row instead of showing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simcardionet_lite.experiments.report.format import fmt, fmt_ms, fmt_runs, runs_of


def paper_row(key: str) -> dict[str, str]:
    """The paper's numbers for ``key`` ("dataset1", "dataset2", "ptbxl") as a table row."""
    from simcardionet_lite import paper

    r = paper.RESULTS[key]
    m = r.metrics
    return {"run": f"paper [{r.source}]", "protocol": r.protocol, "accuracy": fmt(m.get("accuracy")),
            "precision": fmt(m.get("precision")), "recall": fmt(m.get("recall")), "F1": fmt(m.get("f1"))}


def _table(rows: list[dict[str, Any]]) -> Any:
    """The paper's row plus ours as a table; a "not yet run" row when no committed run exists."""
    import pandas as pd

    if len(rows) == 1:
        rows = rows + [{"run": "ours", "protocol": "not yet run"}]
    return pd.DataFrame(rows).set_index("run").fillna("")


def committed_cv_table(committed: Mapping[str, Mapping[str, Any]]) -> Any:
    """The paper's Dataset I row beside each committed run's protocols (mean ± SD over folds and seeds)."""
    rows = [paper_row("dataset1")]
    for tag, d in committed.items():
        for protocol, res in (d.get("metrics") or {}).items():
            if not isinstance(res, Mapping) or "summary" not in res:
                continue
            summ = res["summary"]
            rows.append({"run": f"ours `{tag}`", "protocol": f"{protocol} {len(res['folds'])} folds, macro P/R/F1",
                         "accuracy": fmt_ms(summ, "accuracy"), "precision": fmt_ms(summ, "macro_precision"),
                         "recall": fmt_ms(summ, "macro_recall"), "F1": fmt_ms(summ, "macro_f1")})
    return _table(rows)


def committed_ood_table(committed: Mapping[str, Mapping[str, Any]]) -> Any:
    """The paper's Dataset II row beside each committed run: all pages, then the pages whose copy was
    fitted, only validated on, or absent from training (older results: all and unseen pages)."""
    rows = [paper_row("dataset2")]
    for tag, d in committed.items():
        m = d.get("metrics") or {}
        ov = m.get("overlap") or {}
        first = (runs_of(m) or [{}])[0]
        counts = first.get("subset_counts") or {}
        parts = [("metrics", "summary", "all test pages")]
        if "metrics_fitted" in first:  # results that split "seen" by where the copy sat
            parts += [(f"metrics_{p}", f"summary_{p}", f"{label} ({counts.get(p, '?')} pages, seed {first.get('seed')})")
                      for p, label in (("fitted", "copy fitted"), ("val_only", "copy only in the validation split"),
                                       ("unseen", "no copy in training"))]
        else:
            parts.append(("metrics_unseen", "summary_unseen", "pages not seen in training"))
        for part, summary, what in parts:
            rows.append({"run": f"ours `{tag}`",
                         "protocol": f"zero-shot, {what}; {ov.get('n_seen', '?')}/{ov.get('n_test', '?')} test pages seen",
                         **{col: fmt_runs(m, key, part, summary) for col, key in
                            (("accuracy", "accuracy"), ("precision", "macro_precision"), ("recall", "macro_recall"),
                             ("F1", "macro_f1"))}})
    return _table(rows)


def committed_ptbxl_table(committed: Mapping[str, Mapping[str, Any]]) -> Any:
    """The paper's PTB-XL row beside each committed run (fold 10)."""
    rows = [{**paper_row("ptbxl"), "weighted F1": "n/a", "multi-label macro AUC": "n/a"}]
    for tag, d in committed.items():
        m = d.get("metrics") or {}
        aucs = [(r.get("multilabel") or {}).get("macro_auc") for r in runs_of(m)]
        rows.append({"run": f"ours `{tag}`", "protocol": f"official folds, test fold 10 ({m.get('n_test', '?')} records), single label",
                     **{col: fmt_runs(m, key) for col, key in
                        (("accuracy", "accuracy"), ("precision", "macro_precision"), ("recall", "macro_recall"),
                         ("F1", "macro_f1"), ("weighted F1", "weighted_f1"))},
                     "multi-label macro AUC": ", ".join(fmt(a) for a in aucs)})
    return _table(rows)


__all__ = ["paper_row", "committed_cv_table", "committed_ood_table", "committed_ptbxl_table"]
