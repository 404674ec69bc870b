"""Each number of the paper beside ours, with protocol, seeds, interval and a reading composed from the numbers.

Why composed: the reading of a gap (duplicates crossing the folds, an overlapping "OOD" test, a
network below the pixel baseline) is computed from the committed results files, never typed
in, so it cannot drift from the numbers it reads. A chapter without a committed run gives a
"not yet run" row, so the page always renders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from simcardionet_lite.experiments.report.banner import committed_runs, run_description
from simcardionet_lite.experiments.report.format import ci, fmt, fmt_ci, fmt_ms, runs_of, value
from simcardionet_lite.experiments.report.readings import paired_gap, per_seed

CHAPTERS = {"dataset1": "05_dataset1", "dataset2": "06_dataset2", "ptbxl": "07_ptbxl"}
OUR_KEY = {"accuracy": "accuracy", "precision": "macro_precision", "recall": "macro_recall", "f1": "macro_f1"}


def _gap(gap: float | None, interval: Sequence[float] | None, paper_v: float | None) -> str:
    if gap is None or paper_v is None:
        return "no number to compare"
    inside = interval is not None and interval[0] <= paper_v <= interval[1]
    return f"gap {gap:+.3f}" + (" (the paper's number lies inside our interval)" if inside else "")


def _protocol_reading(fl: Mapping[str, Any], gr: Mapping[str, Any], ok: str) -> str:
    """What the grouped protocol does to the file-level number, and where the pixel baseline sits."""
    fv, gv = fl["summary"][ok]["mean"], gr["summary"][ok]["mean"]
    if fv is None or gv is None:
        return ""
    leaked = sum(f.get("test_groups_seen_in_train", 0) for f in fl["folds"])
    text = f"; the grouped protocol gives {gv:.3f} ({gv - fv:+.3f})"
    spread = max(fl["summary"][ok].get("sd") or 0.0, gr["summary"][ok].get("sd") or 0.0)
    if abs(fv - gv) < spread:
        text += (f": within the fold-to-fold spread (SD up to {spread:.3f}), so no clear protocol effect for this "
                 f"run's model ({leaked} test clusters had a copy in training under the file-level folds)")
    elif fv - gv >= 0.01:
        text += (f": that part of the file-level score is explained by duplicates crossing the folds ({leaked} test "
                 f"clusters with a copy in training, summed over folds)")
    elif gv - fv >= 0.01:
        text += (f": higher without the {leaked} cross-fold duplicate clusters, so this run's model did not profit "
                 f"from seen copies and duplicates do not explain its gap to the paper")
    else:
        text += (f": removing the {leaked} cross-fold duplicate clusters barely moves it, so duplicates do not "
                 f"explain this run's gap to the paper")
    bf = (fl.get("baseline") or {}).get("summary", {}).get(ok, {}).get("mean")
    bg = (gr.get("baseline") or {}).get("summary", {}).get(ok, {}).get("mean")
    if bf is not None and bg is not None:
        text += f"; the pixel baseline (PCA + logistic regression) gets {bf:.3f} file-level and {bg:.3f} grouped"
        if fv < bf:
            text += ("; this run's network is below that baseline, so its gap to the paper reflects our CPU-sized "
                     "training and cannot confirm or refute the paper's number")
    return text


def _seed_wins(res: Mapping[str, Any], ok: str) -> str:
    """"ahead of X in k of n seeds" for every baseline and arm run beside the method (per-seed pooled scores)."""
    mine = per_seed(res.get("per_seed", []), ok)
    others = [("the pixel baseline", res.get("baseline") or {})]
    others += [(arm.get("label", name).split(" (")[0], arm) for name, arm in (res.get("arms") or {}).items()]
    parts = []
    for who, part in others:
        theirs = per_seed(part.get("per_seed", []), ok)
        gap = paired_gap(mine, theirs)
        if gap:
            shared = set(mine) & set(theirs)
            mean = sum(theirs[s] for s in shared) / len(shared)
            parts.append(f"ahead of {who} ({mean:.3f}) in {gap[0]} of {gap[1]} seeds")
    return ("; " + ", ".join(parts)) if parts else ""


def _dataset1_rows(pr: Any, tag: str, d: Mapping[str, Any]) -> list[dict[str, Any]]:
    m = d.get("metrics") or {}
    fl, gr = m.get("file"), m.get("grouped")
    main = fl if fl is not None else gr
    if main is None:
        return []
    which = ("file-level and grouped" if fl is not None and gr is not None else "file-level only" if fl is not None
             else "grouped only (this result has no file-level run: the paper's likely protocol is in other results)")
    rows = []
    for metric, pv in pr.metrics.items():
        ok = OUR_KEY[metric]
        vals = main["summary"][ok]["values"]
        mv = main["summary"][ok]["mean"]
        reading = _gap(None if mv is None or pv is None else mv - pv, [min(vals), max(vals)] if vals else None, pv)
        if fl is not None and gr is not None:
            reading += _protocol_reading(fl, gr, ok)
        if gr is not None:
            reading += _seed_wins(gr, ok)
        ours = "; ".join(f"{fmt_ms(r['summary'], ok)} ({name})" for name, r in (("file", fl), ("grouped", gr)) if r is not None)
        rows.append({"metric": metric if metric == "accuracy" else f"{metric} (ours: macro)", "paper": fmt(pv),
                     "ours": ours, "protocol": f"`{tag}`: {len(main['folds'])} CV folds, {which}; {run_description(d)}",
                     "interval": "folds: " + ", ".join(f"{v:.3f}" for v in vals), "reading": reading})
    return rows


def _ours(m: Mapping[str, Any], key: str, part: str = "metrics", summary: str = "summary") -> tuple[float | None, list[float] | None, str, str]:
    """(value, interval, cell, interval label) of a per-seed result: the mean over seeds with the
    range of the seeds when there are several, else the one run's value and bootstrap interval."""
    runs = runs_of(m)
    summ = (m.get(summary) or {}).get(key) if len(runs) > 1 else None
    if summ and summ.get("values"):
        vals = summ["values"]
        return summ["mean"], [min(vals), max(vals)], fmt_ms(m[summary], key), "seeds: " + ", ".join(f"{v:.3f}" for v in vals)
    mm = runs[0].get(part) if runs else None
    return value(mm, key), ci(mm, key), fmt_ci(mm, key), "95 % bootstrap"


def _dataset2_rows(pr: Any, tag: str, d: Mapping[str, Any]) -> list[dict[str, Any]]:
    m = d.get("metrics") or {}
    ov = m.get("overlap") or {}
    run = runs_of(m)[0]
    rows = []
    for metric, pv in pr.metrics.items():
        ok = OUR_KEY[metric]
        v, interval, cell, label = _ours(m, ok)
        reading = _gap(None if v is None or pv is None else v - pv, interval, pv)
        reading += (f"; {ov.get('n_seen', '?')} of {ov.get('n_test', '?')} test pages "
                    f"({100 * ov.get('fraction_seen', float('nan')):.0f} %) are near-copies of training pages")
        bv = value(run.get("baseline"), ok)
        if bv is not None:
            reading += f"; the pixel baseline scores {bv:.3f} on the same pages"
        uv, _, ucell, _ = _ours(m, ok, "metrics_unseen", "summary_unseen")
        if uv is not None:
            reading += f"; on the unseen pages ours is {ucell}"
        else:
            reading += "; too few unseen pages to score them: the test measures memory, not OOD generalisation"
        if v is not None and ov.get("fraction_seen", 0) > 0.5 and v < 0.9:
            reading += (f"; this run's network scores {v:.3f} on pages it was trained on (undertrained on a CPU), so "
                        f"its gap to the paper's perfect score is about fitting, not about distribution shift")
        rows.append({"metric": metric if metric == "accuracy" else f"{metric} (ours: macro)", "paper": fmt(pv),
                     "ours": cell, "protocol": f"`{tag}`: zero-shot, trained on Dataset I; {run_description(d)}",
                     "interval": label, "reading": reading})
    return rows


def _ptbxl_rows(pr: Any, tag: str, d: Mapping[str, Any]) -> list[dict[str, Any]]:
    from simcardionet_lite import paper

    m = d.get("metrics") or {}
    run = runs_of(m)[0]
    n_test = m.get("n_test")
    rows = []
    for metric, ok in (("accuracy", "accuracy"), ("f1", "weighted_f1")):
        pv = pr.metrics.get(metric)
        v, interval, cell, label = _ours(m, ok)
        reading = _gap(None if v is None or pv is None else v - pv, interval, pv)
        if interval and label.startswith("95"):
            reading += f"; interval width {interval[1] - interval[0]:.3f} from {n_test} test records"
        bv = value(run.get("baseline"), ok)
        if bv is not None:
            reading += f"; the pixel baseline gets {bv:.3f}"
            if v is not None and v < bv:
                reading += (" and this run's network is below it, so the gap reflects our CPU-sized training on a "
                            "small sample, not a test of the paper's number")
        rows.append({"metric": metric if metric == "accuracy" else f"{metric} (ours: {ok.replace('_', ' ')})",
                     "paper": fmt(pv), "ours": cell, "interval": label,
                     "protocol": f"`{tag}`: official folds 1-8/9/10, single-label; {run_description(d)}", "reading": reading})
    ml = run.get("multilabel") or {}
    best = max(paper.PTBXL_SUPERCLASS_AUC.items(), key=lambda kv: kv[1]["macro_auc"])
    auc, _, auc_cell, _ = _ours(m, "macro_auc", "multilabel", "multilabel_summary")
    best_auc = best[1]["macro_auc"]
    rows.append({"metric": "multi-label macro AUC (benchmark metric)", "paper": "not reported", "ours": auc_cell,
                 "protocol": f"`{tag}`: fold 10, {ml.get('n_test', '?')} records; {run_description(d)}", "interval": "n/a",
                 "reading": (f"published signal models reach {best_auc:.3f} ({best[0]}) on the full fold 10; ours differs "
                             f"by {'n/a' if auc is None else f'{auc - best_auc:+.3f}'}, from page images of a small sample")})
    return rows


ROWS: dict[str, Callable[[Any, str, Mapping[str, Any]], list[dict[str, Any]]]] = {
    "dataset1": _dataset1_rows, "dataset2": _dataset2_rows, "ptbxl": _ptbxl_rows}


def paper_vs_ours(loader: Callable[[str], Mapping[str, Mapping[str, Any]]] | None = None) -> Any:
    """One row per paper number and committed run of chapters 05-07 (``loader(chapter) -> {tag: results}``)."""
    import pandas as pd

    from simcardionet_lite import paper

    load = loader or committed_runs
    rows: list[dict[str, Any]] = []
    for key, chapter in CHAPTERS.items():
        pr = paper.RESULTS[key]
        found = load(chapter)
        for tag, d in found.items():
            rows += [{"dataset": pr.dataset, **r, "seeds": d.get("seeds")} for r in ROWS[key](pr, tag, d)]
        if not found:
            rows += [{"dataset": pr.dataset, "metric": metric, "paper": fmt(pv), "ours": "not yet run",
                      "protocol": f"no committed run of {chapter}", "seeds": "", "interval": "", "reading": ""}
                     for metric, pv in pr.metrics.items()]
    return pd.DataFrame(rows)


__all__ = ["paper_vs_ours"]
