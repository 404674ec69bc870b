"""What was found, stated from the committed results: the text that opens a results chapter.

Why generated: a finding typed into prose drifts when the results are re-run; read from the
committed JSON at build time, it cannot. Each function takes ``committed`` (tag -> results
dict, :func:`~simcardionet_lite.experiments.report.banner.committed_runs`) and returns markdown;
with nothing committed it says so instead of inventing a number.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from simcardionet_lite.experiments.report.banner import data_kind, run_caveats, run_description
from simcardionet_lite.experiments.report.format import fmt, fmt_ci, fmt_ms, runs_of
from simcardionet_lite.experiments.report.readings import per_seed
from simcardionet_lite.experiments.report.tables import MAP_NAMES, cv_models
from simcardionet_lite.experiments.report.verdicts import (Verdict, baseline_verdicts, comparison_verdict,
                                                          gradcam_verdicts, ood_verdict, outside_ratios, print_cut_away,
                                                          rules_markdown, standin_verdict, value_verdict)

NO_RUN = "*No committed real-data run of this chapter yet: the numbers below are the smoke demo's only.*"


def _scored_runs(committed: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any],
                                                                         list[Mapping[str, Any]]]]:
    """``(tag, results, metrics, runs)`` of each committed run that holds per-seed runs with metrics."""
    for tag, d in committed.items():
        m = d.get("metrics") or {}
        runs = [r for r in runs_of(m) if isinstance(r.get("metrics"), Mapping)]
        if runs:
            yield tag, d, m, runs


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
            if fl and fl.get("per_seed"):
                lines.extend(_protocol_gap_lines(fl, gr, key, paper_f1))
        elif fl and gr:
            lines.append(f"**`{tag}`** ({run_description(d)}): macro-F1 {fmt_ms(fl['summary'], key)} under file-level "
                         f"folds against {fmt_ms(gr['summary'], key)} under duplicate-aware folds (mean ± SD over "
                         f"folds and seeds); the pixel baseline gets {fmt_ms(fl['baseline']['summary'], key)} and "
                         f"{fmt_ms(gr['baseline']['summary'], key)}. The gap between the protocols is what copies of "
                         f"test pages in training add.")
            lines.append("")
    if not lines:
        return NO_RUN
    return "\n".join(lines)


def _arm_part(d: Mapping[str, Any], arm: str | None, protocol: str) -> Mapping[str, Any] | None:
    """One model's part of a committed CV run: the method (``arm=None``) or an arm of ``experiment.cv_arms``."""
    res = (d.get("metrics") or {}).get(protocol) or {}
    return res if arm is None else (res.get("arms") or {}).get(arm)


def _fold_scores(part: Mapping[str, Any], key: str) -> dict[tuple[int, int], tuple[int, float]]:
    return {(int(f["seed"]), int(f["fold"])): (int(f.get("n_test", -1)), float(f["metrics"][key]))
            for f in part.get("folds", []) if isinstance(f.get("metrics"), Mapping) and key in f["metrics"]}


def across_runs_reading(committed: Mapping[str, Mapping[str, Any]], a: tuple[str, str], b: tuple[str, str],
                        key: str = "macro_f1", protocol: str = "grouped") -> str:
    """Two arms fitted in two committed runs, compared seed by seed, with the evidence that the comparison is fair.

    ``a`` and ``b`` are ``(tag, arm)``. Each run also fitted the method on its folds, so the method's
    per-fold scores say whether the two runs drew the same folds (same test-fold sizes) and computed
    alike (same scores: same code and arithmetic); only then is the difference between the arms theirs
    alone, and the text says which of the two holds. Why: a run that adds one arm to a committed one
    saves the time of re-fitting every other model, and the reader needs to see that it is paired.
    """
    da, db = committed.get(a[0]), committed.get(b[0])
    if da is None or db is None:
        missing = [t for t, d in ((a[0], da), (b[0], db)) if d is None]
        return f"*Not committed yet: {', '.join(f'`{t}`' for t in missing)}; nothing to compare.*"
    pa, pb = _arm_part(da, a[1], protocol), _arm_part(db, b[1], protocol)
    if not pa or not pb:
        return f"*`{a[0]}` has no arm `{a[1]}` or `{b[0]}` no arm `{b[1]}` under the {protocol} protocol.*"
    ma, mb = _fold_scores(_arm_part(da, None, protocol) or {}, key), _fold_scores(_arm_part(db, None, protocol) or {}, key)
    common = sorted(set(ma) & set(mb))
    same_folds = bool(common) and all(ma[k][0] == mb[k][0] for k in common)
    moved = max((abs(ma[k][1] - mb[k][1]) for k in common), default=float("nan"))
    if not same_folds:
        pairing = ("the two runs do not share their folds (test-fold sizes differ), so the difference below mixes "
                   "the arms with the draw of the folds")
    elif moved == 0.0:
        pairing = (f"both runs drew the same folds and the method scored the same on all {len(common)} of them, to the "
                   f"last digit, so the two arms saw the same splits and the same arithmetic")
    else:
        pairing = (f"both runs drew the same folds, but the method's fold scores differ by up to {moved:.3f} between "
                   f"them (another machine or code), which is the noise any difference below has to exceed")
    name_a, name_b = pa.get("label", a[1]), pb.get("label", b[1])
    v = comparison_verdict(pa, pb, (f"`{a[1]}`", f"`{b[1]}`"), key)
    return "\n".join([
        f"**`{a[1]}`** (`{a[0]}`: {name_a}) against **`{b[1]}`** (`{b[0]}`: {name_b}), {protocol} folds: {pairing}.",
        f"* `{a[1]}`: **{fmt_ms(pa.get('seed_summary'), key)}** over seeds ({_seed_cells(pa, key)})",
        f"* `{b[1]}`: **{fmt_ms(pb.get('seed_summary'), key)}** over seeds ({_seed_cells(pb, key)})",
        f"* *`{a[1]}` is better than `{b[1]}`*: {v.markdown()}", ""])


def _protocol_gap_lines(fl: Mapping[str, Any], gr: Mapping[str, Any], key: str, paper_value: float | None) -> list[str]:
    """The file-level protocol beside the grouped one, per model both ran: each model's score over seeds
    and the gap (file minus grouped) per seed, which is what copies of test pages in training add; then
    whether the paper's number is reached under the file-level folds (its likely protocol)."""
    grouped = dict(cv_models(gr))
    lines = ["Under **file-level** folds (the paper's likely protocol: copies of a test page may sit in training), "
             "same seeds; the gap is file-level minus duplicate-aware, per seed:"]
    for who, part in cv_models(fl):
        here, other = per_seed(part.get("per_seed", []), key), per_seed((grouped.get(who) or {}).get("per_seed", []), key)
        gaps = [f"{here[s] - other[s]:+.3f}" for s in here if s in other]
        gap = f"; gap {', '.join(gaps)}" if gaps else " (not run under the duplicate-aware protocol)"
        lines.append(f"* {who}: **{fmt_ms(part.get('seed_summary'), key)}** over seeds ({_seed_cells(part, key)}){gap}")
    if paper_value is not None:
        lines.append(f"* Verdict, *the paper's Dataset I F1 ({paper_value:.3f}) is reached under file-level folds*: "
                     f"{value_verdict(paper_value, fl, key).markdown()}")
    lines.append("")
    return lines


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


def learning_curve_reading(d: Mapping[str, Any],
                           keys: Sequence[str] = ("macro_f1", "macro_auc", "multilabel.macro_auc")) -> str | None:
    """What a committed PTB-XL run's learning curve says about scale: the mean score per training-set
    size, the gain per doubling of the records (least squares in log2 of the records), and where a
    straight line would put the full PTB-XL's training folds (an extrapolation, said so)."""
    import numpy as np

    from simcardionet_lite import paper
    from simcardionet_lite.experiments.report.format import CURVE_NAMES, point_value

    points = (d.get("metrics") or {}).get("learning_curve") or []
    by_n: dict[int, dict[str, list[float]]] = {}
    for p in points:
        for k in keys:
            v = point_value(p, k)
            if v is not None:
                by_n.setdefault(int(p["n_train"]), {}).setdefault(k, []).append(float(v))
    ns = sorted(by_n)
    if len(ns) < 2:
        return None
    data = d.get("data") or {}  # the single-label splits, each with the records it left out: the whole sample once
    parts = [data[s] for s in ("train", "val", "test") if isinstance(data.get(s), Mapping)]
    sample = sum(int(x.get("n", 0)) + sum((x.get("excluded") or {}).values()) for x in parts)
    scale = paper.PTBXL_RECORDS / sample if sample else None
    cells = []
    for k in keys:
        have = [n for n in ns if k in by_n[n]]
        if len(have) < 2:
            continue
        means = [float(np.mean(by_n[n][k])) for n in have]
        slope, icpt = np.polyfit(np.log2(have), means, 1)
        name = CURVE_NAMES.get(k, k.replace("_", "-"))
        line = (f"{name} " + " / ".join(f"{v:.3f}" for v in means)
                + f" at {' / '.join(str(n) for n in have)} training records: {slope:+.3f} per doubling")
        if scale:
            line += (f"; a straight line in log(records) would put the full dataset's training folds (about "
                     f"{have[-1] * scale:,.0f} such records, {np.log2(scale):.1f} doublings on) at "
                     f"{icpt + slope * np.log2(have[-1] * scale):.2f}")
        cells.append(line)
    if not cells:
        return None
    return ("* *Learning curve* (mean over seeds; the extrapolation is a straight line drawn past the measurements, "
            "not a measurement, and such curves usually bend down): " + "; ".join(cells))


def ptbxl_findings(committed: Mapping[str, Mapping[str, Any]]) -> str:
    """Chapter 7's findings: per committed run, scores over seeds, per-class recall and how often
    each class was predicted (a model that never predicts a class has collapsed), and the verdicts."""
    from simcardionet_lite import paper
    from simcardionet_lite.experiments.report.format import value

    acc = paper.RESULTS["ptbxl"].metrics.get("accuracy")
    lines: list[str] = []
    for tag, d, m, runs in _scored_runs(committed):
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
        curve = learning_curve_reading(d)
        if curve:
            lines.append(curve)
        lines.append("")
    if not lines:
        return NO_RUN
    return "\n".join(lines)


def _caveats(d: Mapping[str, Any]) -> list[str]:
    return [f"* Limits of this file: {'; '.join(c)}." for c in [run_caveats(d)] if c]


def _verdict_lines(title: str, claims: list[tuple[str, Verdict]]) -> list[str]:
    """A verdict per claim (evidence, rule named), then each rule used, stated once."""
    return ([title] + [f"* *{claim}*: {v.short()}" for claim, v in claims]
            + ["", "Rules:", rules_markdown([v for _, v in claims]), ""])


def _standin_data(d: Mapping[str, Any]) -> str:
    """What the constructed Dataset II stand-in of a committed run is, from its data record."""
    data = d.get("data") or {}
    train, test = data.get("train") or {}, data.get("test") or {}
    built = test.get("built_from") or {}
    return (f"a **constructed stand-in, not the Kaggle Dataset II** (which this project has not run). This package "
            f"re-encoded the real Dataset I's pages as JPEG (quality {built.get('jpeg_quality', '?')}), renamed them "
            f"and re-split them at file level into `train/` and `test/` folders, the way the Kaggle re-upload appears "
            f"to have been made; the model trained on the real Dataset I ({train.get('n', '?')} pages) and was scored, "
            f"without retraining, on the {test.get('n', '?')} stand-in test pages")


def _ms_seeds(summary: Mapping[str, Any] | None, key: str) -> str:
    """Mean ± SD over seeds, or the one value when every seed gave the same (a deterministic baseline)."""
    d = (summary or {}).get(key) or {}
    if d.get("sd") is not None and d["sd"] < 5e-4 and d.get("n", 0) > 1:
        return f"{d['mean']:.3f} (the same in every seed)"
    return fmt_ms(summary, key)


def dataset2_findings(committed: Mapping[str, Mapping[str, Any]]) -> str:
    """Chapter 6's findings: per committed run, what the data is, the overlap audit, scores over seeds
    and the verdicts (a claim about the real Dataset II judged on a stand-in stays inconclusive)."""
    from simcardionet_lite import paper

    pr = paper.RESULTS["dataset2"].metrics
    lines: list[str] = []
    for tag, d, m, runs in _scored_runs(committed):
        ov, kind = m.get("overlap") or {}, data_kind(d)
        what = {"constructed": _standin_data(d), "real": "real Kaggle-layout pages",
                "synthetic": "synthetic pages: a test of the code, never evidence"}[kind]
        lines += [f"**`{tag}`** is {what}.", "", f"* Run: {run_description(d)}."]
        seen = ov.get("fraction_seen")
        same = ov.get("seen_with_same_label")
        lines.append(f"* **Overlap:** {ov.get('n_seen', '?')} of {ov.get('n_test', '?')} test pages "
                     f"({'?' if seen is None else f'{seen:.0%}'}) have a training page within "
                     f"{ov.get('max_distance', '?')} of 1024 page-hash bits: a copy of their picture was in training"
                     + (f" (the nearest has the same label for {same:.0%} of them)" if same is not None else "") + ".")
        base = [{"seed": r["seed"], "metrics": r["baseline"]} for r in runs if r.get("baseline")]
        summ = m.get("summary")
        lines.append(f"* **Scores on all test pages** (mean ± SD over seeds): accuracy "
                     f"**{fmt_ms(summ, 'accuracy')}**, macro-F1 **{fmt_ms(summ, 'macro_f1')}**; "
                     "per seed with its 95 % cluster-bootstrap interval: "
                     + "; ".join(f"seed {r['seed']} {fmt_ci(r['metrics'], 'macro_f1')}" for r in runs)
                     + (f". The pixel baseline on the same pages: macro-F1 "
                        f"{_ms_seeds(m.get('baseline_summary'), 'macro_f1')}" if base else "") + ".")
        unseen = [r for r in runs if r.get("metrics_unseen")]
        lines.append("* **Pages with no copy in training:** " + (
            "; ".join(f"seed {r['seed']} macro-F1 {fmt_ci(r['metrics_unseen'], 'macro_f1')}" for r in unseen)
            if unseen else "none to score, so this run has no out-of-distribution score at all") + ".")
        if "metrics_fitted" not in runs[0]:
            lines.append("* This file predates the split of the seen pages by where their copy sat (fitted, or only "
                         "in the early-stopping split), so its seen pages are scored together.")
        lines += _caveats(d) + [""]
        on = "the constructed stand-in" if kind == "constructed" else "synthetic pages"
        claims = []
        for metric, key in (("accuracy", "accuracy"), ("f1", "macro_f1")):
            v = value_verdict(pr.get(metric), {"per_seed": runs}, key)
            claims.append((f"The paper's Dataset II {metric.replace('f1', 'F1')} ({fmt(pr.get(metric))}) reproduces",
                           v if kind == "real" else standin_verdict(v, on)))
        ood = ood_verdict(ov)
        claims.append(("The Dataset II test is out of distribution (the premise of the paper's OOD validation)",
                       ood if kind == "real" else standin_verdict(ood, on)))
        if base:
            claims.append(("The network is better than the pixel baseline on these pages (ours)",
                           comparison_verdict({"per_seed": runs}, {"per_seed": base}, ("the network", "the baseline"))))
        lines += _verdict_lines("Verdicts:", claims)
    return "\n".join(lines) if lines else NO_RUN


def _faithfulness_line(study: Mapping[str, Any], name: str) -> str:
    f = study.get("faithfulness") or {}
    if "mean_auc_cam" not in f:
        return f"{name}: not recorded"
    return (f"{name}: deletion AUC {f['mean_auc_cam']:.3f} against {f['mean_auc_random']:.3f} for random maps, "
            f"the CAM ahead on {f['win_rate']:.0%} of the pages")


def _baselines_line(s: Mapping[str, Any]) -> str:
    """One study's CAM against the baseline maps (predicted-class target), or that the file predates them."""
    b = s.get("baselines")
    if not b:
        return ("* **Against stronger baselines:** this run predates them (the ink map, an untrained network's CAM, "
                "another seed's CAM, and ROAD beside the deletion AUC); only random maps were measured, by the "
                "deletion AUC, with the true class as the target.")
    bt = b["by_target"][b.get("primary", "predicted")]
    cam = bt["maps"]["cam"]
    parts = [f"{MAP_NAMES.get(k, k)} {v['mean_auc_baseline']:.3f} (CAM lower on {v['share_cam_auc_below']:.0%} of "
             f"pages), ROAD {v['mean_road_baseline']:+.3f} (CAM higher on {v['share_cam_road_above']:.0%})"
             if v.get("mean_road_baseline") is not None else
             f"{MAP_NAMES.get(k, k)} {v['mean_auc_baseline']:.3f} (CAM lower on {v['share_cam_auc_below']:.0%})"
             for k, v in bt["versus"].items()]
    road = f", ROAD {cam['mean_road']:+.3f}" if cam.get("mean_road") is not None else ""
    return (f"* **Against the baselines** (target: the {b.get('primary', 'predicted')} class; mean deletion AUC, lower "
            f"= more faithful; ROAD, higher = more faithful): Grad-CAM {cam['mean_auc']:.3f}{road}; "
            + "; ".join(parts) + ".")


def _mass_line(s: Mapping[str, Any]) -> str:
    """Where one study's CAM mass falls, per class, against each region's share of the page."""
    ratios = outside_ratios(s)
    mosaic = print_cut_away(s)
    if ratios is None and not mosaic:
        return ("* **Where the mass goes:** this file predates the recording of each region's share of the page, so "
                "mass cannot be set against area.")
    area, by_class = s["panel_area"], s["lead_mass_by_class"]
    rhythm = {c: m.get("II_rhythm", 0.0) / area["II_rhythm"] for c, m in by_class.items() if area.get("II_rhythm")}
    top = {c: max((k for k in m if area.get(k)), key=lambda k: m[k] / area[k]) for c, m in by_class.items()}
    where = ("the model's input is the lead-panel mosaic, so the header, footer and margins are not in it and the "
             "maps cannot rest on the print there" if mosaic else
             "outside the lead panels (header, footer, margins) " + ", ".join(f"{c} {r:.2f}" for c, r in ratios.items()))
    return (f"* **Where the mass goes** (a class's CAM mass on a region over the region's share of the "
            f"{'input' if mosaic else 'page'}; 1 = a uniform map): " + where
            + ("; on the rhythm strip " + ", ".join(f"{c} {r:.2f}" for c, r in rhythm.items()) if rhythm else "")
            + "; the region each class's maps favour most: " + ", ".join(f"{c} {k}" for c, k in top.items()) + ".")


def gradcam_findings(committed: Mapping[str, Mapping[str, Any]]) -> str:
    """Chapter 10's findings: per committed run, the model explained, faithfulness (against random maps, and
    against the baseline maps with ROAD where the run records them), where the CAM mass falls against each
    region's share of the page, the verdicts on the paper's Grad-CAM claim and on the CAM against each baseline."""
    lines: list[str] = []
    for tag, d in committed.items():
        studies = [s for s in runs_of(d.get("metrics") or {}) if "lead_mass_by_class" in s]
        if not studies:
            continue
        kind = data_kind(d)
        what = {"real": "the real Dataset I", "constructed": "a constructed stand-in",
                "synthetic": "synthetic pages (a test of the code, never evidence)"}[kind]
        lines += [f"**`{tag}`**: Grad-CAM of a model trained and mapped on {what}.", "",
                  f"* Run: {run_description(d)}."]
        for i, s in enumerate(studies):
            seed = s.get("seed", (d.get("seeds") or [i])[0] if len(studies) == 1 else i)
            h = s.get("holdout_metrics") or {}
            att = s.get("attention_layer") or {}
            lines += [(f"* **Seed {seed}, the model explained:** hold-out accuracy {fmt_ci(h, 'accuracy')}, macro-F1 "
                       f"{fmt_ci(h, 'macro_f1')} on {h.get('n', '?')} test pages of the grouped hold-out split (chance "
                       f"{fmt(s.get('chance_accuracy'), 2)}); accuracy {fmt(s.get('accuracy_on_pages'), 2)} on the "
                       f"{s.get('n_pages', '?')} pages mapped."),
                      "* **Faithfulness against random maps** (the CAM of the true class; a lower deletion AUC: the "
                      "prediction falls faster as the top-ranked pixels go): " + _faithfulness_line(s, f"layer {s.get('target_layer', '?')}")
                      + ("; " + _faithfulness_line(att, f"attention output {att.get('target_layer', '?')}")
                         if att else "") + ".",
                      _baselines_line(s),
                      _mass_line(s)]
        lines += _caveats(d) + [""]
        if kind == "synthetic":
            continue
        v = gradcam_verdicts(studies)
        lines += _verdict_lines("Verdicts on the paper's claim that Grad-CAM maps focus on clinically relevant ECG "
                                "regions:",
                                [("The maps are faithful to the model", v["faithful"]),
                                 ("The maps favour the traces over the printed text around them", v["traces"]),
                                 ("The claim", v["claim"])])
        bv, bt = baseline_verdicts(studies), baseline_verdicts(studies, target="true")
        lines += _verdict_lines("Verdicts on the CAM against each baseline (target: the predicted class; a claim holds "
                                "only if it holds in every seed and ROAD agrees with the deletion AUC):",
                                [(f"The CAM is more faithful than the {MAP_NAMES[b]}", bv[b]) for b in bv])
        if any(s.get("baselines") for s in studies):
            lines += ["With the true class as the target instead: "
                      + "; ".join(f"{MAP_NAMES[b]} **{v.verdict}**" for b, v in bt.items()) + ".", ""]
    return "\n".join(lines) if lines else NO_RUN


LABELS_RULE = ("holds if the pretrained and fine-tuned network beats the same network from scratch by the comparison "
               "rule at every fraction of labels below 100 %; does not hold if it is above scratch in no seed at any "
               "of those fractions; inconclusive otherwise")


def _arm_seeds(rows: Sequence[Mapping[str, Any]], arm: str, frac: float) -> dict[str, Any]:
    """``{"per_seed": [...]}`` of one label-efficiency arm at one fraction (the shape the verdicts read)."""
    return {"per_seed": [r for r in rows if r["arm"] == arm and float(r["fraction"]) == float(frac)]}


def label_efficiency_verdicts(res: Mapping[str, Any]) -> dict[str, Verdict]:
    """Per fraction, pretrained vs scratch (comparison rule), and the claim over the fractions below 100 %."""
    rows = res.get("rows") or []
    out: dict[str, Verdict] = {}
    for frac in res.get("fractions") or []:
        out[f"{100 * float(frac):g} %"] = comparison_verdict(_arm_seeds(rows, "pretrained", frac),
                                                             _arm_seeds(rows, "scratch", frac),
                                                             ("pretrained + fine-tuned", "scratch"))
    few = [v for k, v in out.items() if k != "100 %"]
    if not few:
        claim = Verdict("inconclusive", LABELS_RULE, "no fraction below 100 % was run", "labels rule")
    else:
        kinds = {v.verdict for v in few}
        verdict = ("holds" if kinds == {"holds"} else "does not hold" if kinds == {"does not hold"} else "inconclusive")
        claim = Verdict(verdict, LABELS_RULE, "; ".join(f"{k} labels: {v.verdict}" for k, v in out.items() if k != "100 %"),
                        "labels rule", parts=tuple(few[:1]))
    out["claim"] = claim
    return out


def _corpus_entry(entry: str) -> str:
    """An ``extra_corpus`` entry as a reader should see it: a folder by its name, not the machine's path."""
    kind, _, arg = str(entry).partition(":")
    if kind == "ptbxl":
        return f"the PTB-XL records of the folder `{PurePath(arg).name}`"
    if kind == "synthetic":
        return f"{arg} synthetic records per class"
    return f"`{entry}`"


def label_efficiency_findings(committed: Mapping[str, Mapping[str, Any]]) -> str:
    """Chapter 9's findings: per committed real-data run, macro-F1 of each arm at each fraction over
    seeds, what the pretraining corpus held, and the verdicts (per fraction and on the claim)."""
    lines: list[str] = []
    for tag, d in committed.items():
        res = d.get("metrics") or {}
        if not res.get("rows") or data_kind(d) != "real":
            continue
        pre = (d.get("config") or {}).get("pretrain") or {}
        extra = ", ".join(_corpus_entry(e) for e in pre.get("extra_corpus") or []) or "none"
        lines += [f"**`{tag}`** ({run_description(d)}): the grouped hold-out split of each seed; the encoder was "
                  f"pretrained on that split's distinct training pages plus extra unlabelled pages ({extra}), never "
                  f"on a test page. Macro-F1, mean ± SD over seeds:", ""]
        arms = [a for a in ("pretrained", "scratch", "linear_probe", "random_probe") if a in (res.get("curves") or {})]
        for frac in res.get("fractions") or []:
            cells = "; ".join(f"{a.replace('_', ' ')} {fmt_ms(res['curves'][a].get(str(frac)), 'macro_f1')}" for a in arms)
            lines.append(f"* **{100 * float(frac):g} % of the training clusters**: {cells}")
        v = label_efficiency_verdicts(res)
        lines += [""] + _caveats(d)
        lines += _verdict_lines("Verdicts (pretrained + fine-tuned against the same network from scratch):",
                                [(f"Pretraining helps at {k} labels", v[k]) for k in v if k != "claim"]
                                + [("Contrastive pretraining reduces the need for labelled data [CSS]", v["claim"])])
    return "\n".join(lines) if lines else NO_RUN


#: what the ablation arms whose part the paper does not name a claim for test, read as ``full`` against the arm:
#: (claim, source); the arms of the paper's claims (``scratch``, ``lam0``, ``no_unfreeze``) take theirs from
#: ``paper.CLAIMS`` through chapter 11's ``CLAIM_TESTS``, so both chapters state one claim per arm
ABLATION_CLAIMS: dict[str, tuple[str, str]] = {
    "no_attention": ("the multi-head self-attention block helps", "ABS"),
    "no_domain_aug": ("print and scan augmentations help", "CSS"),
    "crop": ("(ours) the model reads the traces, not the printed header and footer", "ours"),
}


def _ablation_claim(arm: str) -> str | None:
    """The claim ``full`` against ``arm`` tests, as the book states it; None for an arm that tests none."""
    from simcardionet_lite import paper
    from simcardionet_lite.experiments.report.paper_vs_ours import CLAIM_TESTS

    for key, (_, recipe, pair) in CLAIM_TESTS.items():
        if recipe == "ablations" and pair == ("full", arm):
            text, src = paper.CLAIMS[key]
            break
    else:
        if arm not in ABLATION_CLAIMS:
            return None
        text, src = ABLATION_CLAIMS[arm]
    return f"{text[:1].upper()}{text[1:]} [{src}]"


def ablation_findings(committed: Mapping[str, Mapping[str, Any]], key: str = "macro_f1") -> str:
    """Chapter 8's findings: per committed real-data run, each arm's macro-F1 over seeds (with each seed's
    cluster-bootstrap interval) and a verdict per claim (``full`` against the arm that removes the part,
    seed by seed on shared splits)."""
    lines: list[str] = []
    for tag, d in committed.items():
        arms = (d.get("metrics") or {}).get("arms") or {}
        if "full" not in arms or data_kind(d) != "real":
            continue
        lines += [f"**`{tag}`** ({run_description(d)}): the grouped hold-out split of each seed (fold 0 of grouped "
                  f"3-fold CV), the same for every arm; macro-F1 of the test pages, mean ± SD over seeds, and each "
                  f"seed's value with its 95 % cluster-bootstrap interval:", ""]
        for arm, a in arms.items():
            lines.append(f"* **{arm}** ({a.get('label', arm)}): **{fmt_ms(a.get('summary'), key)}** "
                         f"({_seed_cells({'per_seed': a.get('runs', [])}, key)})")
        lines += [""] + _caveats(d)
        claims = [(claim, comparison_verdict({"per_seed": arms["full"]["runs"]}, {"per_seed": arms[arm]["runs"]},
                                             ("full", arm), key))
                  for arm in arms if (claim := _ablation_claim(arm))]
        if claims:
            lines += _verdict_lines("Verdicts (`full` against the arm that removes the part):", claims)
    return "\n".join(lines) if lines else NO_RUN


__all__ = ["ABLATION_CLAIMS", "NO_RUN", "LABELS_RULE", "ablation_findings", "across_runs_reading", "dataset1_findings",
           "dataset2_findings", "gradcam_findings", "label_efficiency_findings", "label_efficiency_verdicts", "learning_curve_reading", "ptbxl_findings"]
