"""Each number of the paper beside ours, with protocol, seeds, interval and a reading composed from the numbers.

Why composed: the reading of a gap (duplicates crossing the folds, an overlapping "OOD" test, a
network below the pixel baseline) is computed from the committed results files, never typed
in, so it cannot drift from the numbers it reads. A chapter without a committed run gives a
"not yet run" row, so the page always renders.

Two views: :func:`paper_vs_ours`, one row per paper number and run with its reading; and
:func:`claim_rows`, chapter 11's compact table: every claim of the paper (its numbers per committed
non-synthetic run and protocol, then its claims that are not numbers), ours as mean ± SD over
seeds with the span of the seeds' intervals, a protocol tag (:class:`Protocol`, explained once) and
a verdict by the rules of :mod:`.verdicts`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simcardionet_lite.experiments.report.banner import committed_runs, data_kind, run_description
from simcardionet_lite.experiments.report.format import ci, fmt, fmt_ci, fmt_ms, runs_of, value
from simcardionet_lite.experiments.report.readings import paired_gap, per_seed
from simcardionet_lite.experiments.report.verdicts import (COMPARISON_RULE, Verdict, comparison_verdict, deletion_gap,
                                                          gradcam_verdicts, no_run_verdict, outside_ratios, print_cut_away,
                                                          scored_units, standin_verdict, unstated_verdict,
                                                          value_verdict)

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
            rows += [{"dataset": pr.dataset, "run": tag, **r, "seeds": d.get("seeds")} for r in ROWS[key](pr, tag, d)]
        if not found:
            rows += [{"dataset": pr.dataset, "metric": metric, "paper": fmt(pv), "ours": "not yet run",
                      "protocol": f"no committed run of {chapter}", "seeds": "", "interval": "", "reading": ""}
                     for metric, pv in pr.metrics.items()]
    return pd.DataFrame(rows)


# ---- the compact page: one row per claim and protocol, a verdict each, the protocols explained once ----

Loader = Callable[[str], Mapping[str, Mapping[str, Any]]]
SHORT = {"dataset1": "Dataset I", "dataset2": "Dataset II", "ptbxl": "PTB-XL"}
#: which of our metrics stands for each paper metric per dataset (P/R/F1 macro: see paper.RESULTS' inferences;
#: PTB-XL's F1 equals its accuracy, which fits a weighted F1)
PTBXL_KEY = {"accuracy": "accuracy", "f1": "weighted_f1"}


@dataclass
class Protocol:
    """A protocol tag of the claims table: one committed run and the protocol its numbers come from."""

    tag: str  # "A", "B", ...
    text: str  # what it is, said once (Markdown)
    run: tuple[str, str] = ("", "")  # (chapter, committed run) it reads
    short: str = ""  # a few words for a one-line summary: "duplicate-aware folds", "zero-shot", ...


@dataclass
class ClaimRow:
    """One row of the claims table: a paper claim (a number or not), ours, the protocol tag, the verdict."""

    group: str  # "Dataset I", "Dataset II", "PTB-XL" or "not a number"
    claim: str
    paper: float | None
    protocol: str  # a Protocol tag, or "" when no committed run speaks to the claim
    ours: str
    verdict: Verdict
    reason: str  # the verdict's short reason, for the table cell
    units: list[tuple[str, float, tuple[float, float] | None]] = field(default_factory=list)  # per seed: value, CI
    chapter: str = ""  # the chapter whose runs (or missing run) the row reads, e.g. "05_dataset1"
    metric: str = ""  # the paper's metric of a number row ("accuracy", "f1", ...); "" for a claim that is not a number


def _ours_cell(part: Mapping[str, Any], summary: Mapping[str, Any] | None, key: str) -> tuple[str, list[Any]]:
    """"mean ± SD [lowest, highest end of the per-seed intervals]" and the per-seed (label, value, interval)."""
    units = [(name, float(value(m, key)), tuple(ci(m, key)) if ci(m, key) else None)
             for name, m in scored_units(part, key).items()]
    cis = [u[2] for u in units if u[2]]
    span = f" [{min(c[0] for c in cis):.3f}, {max(c[1] for c in cis):.3f}]" if cis else ""
    return fmt_ms(summary, key) + span, units


def _value_reason(v: Verdict) -> str:
    if v.inner is not None:
        return f"a stand-in only (there: {v.inner.verdict})"
    if v.verdict == "does not hold":
        return "the paper's number is " + ("above" if "above every" in v.evidence else "below") + " every interval"
    return {"holds": "inside every interval", "inconclusive": "inside some intervals only"}[v.verdict]


def _value_rows(key: str, tag: str, d: Mapping[str, Any], part: Mapping[str, Any], summary: Mapping[str, Any] | None,
                letter: str, metric_keys: Mapping[str, str]) -> list[ClaimRow]:
    """The rows of one dataset's paper numbers against one committed run's per-seed scores."""
    from simcardionet_lite import paper

    rows = []
    for metric, ok in metric_keys.items():
        pv = paper.RESULTS[key].metrics.get(metric)
        if pv is None:
            continue
        cell, units = _ours_cell(part, summary, ok)
        v = value_verdict(pv, part, ok)
        if data_kind(d) == "constructed":
            v = standin_verdict(v, "the constructed stand-in")
        name = metric if ok == metric else f"{metric} ({ok.split('_')[0]})"
        rows.append(ClaimRow(SHORT[key], f"{SHORT[key]} {name.replace('f1', 'F1')}", pv, letter, cell, v,
                             _value_reason(v), units, CHAPTERS[key], metric))
    return rows


def _numeric(load: Loader, protocols: list[Protocol]) -> list[ClaimRow]:
    """Rows of the paper's numbers (Dataset I, II, PTB-XL), one per committed non-synthetic run and protocol."""
    rows: list[ClaimRow] = []

    def tag_for(text: str, chapter: str, run: str, short: str) -> str:
        protocols.append(Protocol(chr(ord("A") + len(protocols)), text, (chapter, run), short))
        return protocols[-1].tag

    for tag, d in load(CHAPTERS["dataset1"]).items():
        if data_kind(d) == "synthetic":
            continue
        for name, res in (d.get("metrics") or {}).items():
            if not isinstance(res, Mapping) or "summary" not in res:
                continue
            how = ("file-level folds (copies of a test page can sit in training)" if name == "file"
                   else "duplicate-aware folds (every copy of a page on one side)")
            old = "" if res.get("per_seed") else (" An older file without per-seed pooling: mean ± SD over its folds "
                                                  "and seeds, and each fold's own interval.")
            letter = tag_for(f"Dataset I, {len(res['folds']) // max(1, len(res.get('seeds') or [0]))}-fold CV over "
                             f"{how}; run `{tag}`: {run_description(d)}.{old}", CHAPTERS["dataset1"], tag,
                             "file-level folds" if name == "file" else "duplicate-aware folds")
            rows += _value_rows("dataset1", tag, d, res, res.get("seed_summary") or res["summary"], letter, OUR_KEY)
    for tag, d in load(CHAPTERS["dataset2"]).items():
        m = d.get("metrics") or {}
        if data_kind(d) == "synthetic" or not m.get("runs"):
            continue
        data = ("a stand-in built by this package from the real Dataset I, not the Kaggle set"
                if data_kind(d) == "constructed" else "the real Kaggle set")
        letter = tag_for(f"Dataset II ({data}), zero-shot: trained on Dataset I, tested without retraining; run "
                         f"`{tag}`: {run_description(d)}.", CHAPTERS["dataset2"], tag, "zero-shot, trained on Dataset I")
        rows += _value_rows("dataset2", tag, d, m, m.get("summary"), letter, OUR_KEY)
    for tag, d in load(CHAPTERS["ptbxl"]).items():
        m = d.get("metrics") or {}
        if data_kind(d) == "synthetic" or not m.get("runs"):
            continue
        letter = tag_for(f"PTB-XL, official folds (train 1-8, validation 9, test 10: {m.get('n_test', '?')} "
                         f"single-label records of the sample at hand); run `{tag}`: {run_description(d)}.",
                         CHAPTERS["ptbxl"], tag, "official test fold 10")
        rows += _value_rows("ptbxl", tag, d, m, m.get("summary"), letter, PTBXL_KEY)
    return rows


#: the claims that are not numbers: (chapter, recipe, arms compared: (ours, against) or None)
CLAIM_TESTS: dict[str, tuple[str, str, tuple[str, str] | None]] = {
    "pretraining": ("08_ablations", "ablations", ("full", "scratch")),
    "hybrid_loss": ("08_ablations", "ablations", ("full", "lam0")),
    "unfreezing": ("08_ablations", "ablations", ("full", "no_unfreeze")),
    "less_labels": ("09_label_efficiency", "label_efficiency", ("pretrained", "scratch")),
    "gradcam": ("10_gradcam", "gradcam", None),
}


def _gap_cell(runs_a: Sequence[Mapping[str, Any]], runs_b: Sequence[Mapping[str, Any]]) -> str | None:
    """``"+0.010 to +0.050, above in 3 of 3 seeds"``: macro-F1 of ``runs_a`` minus ``runs_b``, seed by seed."""
    gaps = paired_gap(per_seed(runs_a), per_seed(runs_b))
    return f"{gaps[2]:+.3f} to {gaps[3]:+.3f}, above in {gaps[0]} of {gaps[1]} seeds" if gaps else None


def _arms_verdict(claim: str, m: Mapping[str, Any], pair: tuple[str, str]) -> tuple[str, Verdict] | None:
    """(ours cell, verdict) of arm ``pair[0]`` against ``pair[1]`` in an ablation or label-efficiency result
    (label efficiency: chapter 9's verdict on the claim, the labels rule over every fraction below 100 %)."""
    from simcardionet_lite.experiments.report.findings import label_efficiency_verdicts

    a, b = pair
    if claim == "less_labels":
        rows = m.get("rows", [])
        cells = [f"{100 * frac:g} % labels {cell}" for frac in m.get("fractions") or []
                 if (cell := _gap_cell(*([r for r in rows if r["arm"] == arm and r["fraction"] == frac] for arm in pair)))]
        return f"{a} minus {b}, macro-F1: " + "; ".join(cells), label_efficiency_verdicts(m)["claim"]
    arms = m.get("arms") or {}
    if a not in arms or b not in arms:
        return None
    runs_a, runs_b = arms[a]["runs"], arms[b]["runs"]
    v = comparison_verdict({"per_seed": runs_a}, {"per_seed": runs_b}, (a, b))
    return f"{a} minus {b}: macro-F1 {_gap_cell(runs_a, runs_b) or 'no seeds in common'}", v


def _claims(load: Loader, protocols: list[Protocol]) -> list[ClaimRow]:
    """One row per claim of ``paper.CLAIMS``: its verdict from a committed real-data run, or inconclusive."""
    from simcardionet_lite import paper
    from simcardionet_lite.experiments.registry import get

    rows = []
    for key, (text, src) in paper.CLAIMS.items():
        if key == "sota_ptbxl":
            rows.append(_sota_row(load, text, protocols))
            continue
        chapter, recipe, pair = CLAIM_TESTS[key]
        found = load(chapter)
        real = {t: d for t, d in found.items() if data_kind(d) == "real"}
        claim = f"{text} [{src}]"
        if not real:
            have = "only synthetic results, never evidence" if found else "nothing committed"
            cmd = f"simcardionet-lite run {recipe} --preset cpu_pretrain --data-root {get(recipe).real_source.upper()}"
            v = no_run_verdict(cmd, have)
            rows.append(ClaimRow("not a number", claim, None, "", f"{chapter}: {have}", v,
                                 f"no committed real-data run; `{cmd}` would produce it", chapter=chapter))
            continue
        tag, d = max(real.items(), key=lambda kv: str((kv[1].get("metadata") or {}).get("timestamp_utc")))  # latest
        letter = chr(ord("A") + len(protocols))
        protocols.append(Protocol(letter, f"{chapter}, run `{tag}`: {run_description(d)}.", (chapter, tag),
                                  f"{pair[0]} against {pair[1]}" if pair else "maps of the run's seeds"))
        if pair is None:
            rows.append(_gradcam_row(claim, letter, runs_of(d.get("metrics") or {}), chapter))
            continue
        got = _arms_verdict(key, d.get("metrics") or {}, pair)
        if got is None:
            v = Verdict("inconclusive", COMPARISON_RULE.format(margin=0.0), f"run `{tag}` lacks the arms {pair}",
                        "comparison rule")
            rows.append(ClaimRow("not a number", claim, None, letter, "arms missing", v, "arms missing", chapter=chapter))
        else:
            v = got[1]
            reason = (v.evidence if key == "less_labels"
                      else f"{pair[0]} above {pair[1]} in " + v.evidence.rsplit("above in ", 1)[-1].rstrip(")"))
            rows.append(ClaimRow("not a number", claim, None, letter, got[0], v, reason, chapter=chapter))
    return rows


def _gradcam_row(claim: str, letter: str, studies: Sequence[Mapping[str, Any]], chapter: str) -> ClaimRow:
    """The Grad-CAM claim: deletion-AUC gap against random maps and the mass outside the lead panels, per seed."""
    v = gradcam_verdicts(studies)
    cells = []
    for s in studies:
        gap, ratios = deletion_gap(s), outside_ratios(s)
        cell = "no per-page deletion AUCs"
        if gap:
            cell = f"deletion AUC, random maps minus Grad-CAM {gap[0]:+.3f}"
            cell += " [{:+.3f}, {:+.3f}]".format(*gap[1]) if gap[1] else ""
        if ratios:
            cell += "; mass outside the lead panels over its page share: " + ", ".join(
                f"{c} {r:.2f}" for c, r in ratios.items())
        cells.append(cell)
    if studies and all(print_cut_away(s) for s in studies):
        cells[-1] += "; the input is the lead-panel mosaic, no print in it"
    return ClaimRow("not a number", claim, None, letter, " / ".join(cells), v["claim"],
                    f"faithful: {v['faithful'].verdict}; favours the traces: {v['traces'].verdict}", chapter=chapter)


def _sota_row(load: Loader, text: str, protocols: list[Protocol]) -> ClaimRow:
    """The PTB-XL comparison claim: the paper's compared numbers are not known, so only the benchmark context
    (our multi-label macro AUC per PTB-XL protocol tag beside the published benchmark's best)."""
    from simcardionet_lite import paper

    best, ref = max(paper.PTBXL_SUPERCLASS_AUC.items(), key=lambda kv: kv[1]["macro_auc"])
    found = load(CHAPTERS["ptbxl"])
    tags = [(p.tag, found[p.run[1]]) for p in protocols if p.run[0] == CHAPTERS["ptbxl"] and p.run[1] in found]
    cells = [f"{fmt_ms(d['metrics'].get('multilabel_summary'), 'macro_auc')} ({t})" for t, d in tags
             if (d.get("metrics") or {}).get("multilabel_summary")]
    v = unstated_verdict(f"the paper's compared models' numbers are not in the known text; published signal models "
                         f"reach macro AUC {ref['macro_auc']:.3f} ({best}, {paper.PTBXL_BENCHMARK_SOURCE})")
    return ClaimRow("not a number", f"{text} [ABS]", None, ", ".join(t for t, _ in tags),
                    ("multi-label macro AUC " + "; ".join(cells)) if cells else "no committed real-data run", v,
                    f"the compared numbers are not stated; the best published signal model: {ref['macro_auc']:.3f}",
                    chapter=CHAPTERS["ptbxl"])


def claim_rows(loader: Loader | None = None) -> tuple[list[ClaimRow], list[Protocol]]:
    """Every claim of the paper (its numbers per committed run and protocol, then its claims that are not
    numbers) with our result and a verdict, and the protocol tags they use (``loader(chapter) -> {tag: results}``)."""
    load = loader or committed_runs
    protocols: list[Protocol] = []
    rows = _numeric(load, protocols)
    rows += _claims(load, protocols)
    return rows, protocols


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def claims_markdown(rows: Sequence[ClaimRow]) -> str:
    """The claims table as Markdown: claim, the paper's number, ours, protocol tag, verdict."""
    out = ["| claim | paper | ours: mean ± SD over seeds [95 % intervals] | protocol | verdict |",
           "|---|---|---|---|---|"]
    for r in rows:
        out.append("| " + " | ".join(_cell(c) for c in (
            r.claim, fmt(r.paper) if r.paper is not None else "not a number", r.ours, r.protocol or "none",
            f"**{r.verdict.verdict}**: {r.reason}")) + " |")
    return "\n".join(out)


def protocols_markdown(protocols: Sequence[Protocol]) -> str:
    """Each protocol tag of the claims table, explained once."""
    return "\n".join(f"* **{p.tag}**: {p.text}" for p in protocols) or "*No committed real-data run yet.*"


__all__ = ["ClaimRow", "Protocol", "claim_rows", "claims_markdown", "paper_vs_ours", "protocols_markdown"]
