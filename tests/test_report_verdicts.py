"""The report's verdict rules, the findings of chapters 6 and 10 and chapter 11's claims table, on made-up results."""

from __future__ import annotations

import numpy as np
import pytest

from simcardionet_lite import experiments as ex
from simcardionet_lite.evaluate import summarize
from simcardionet_lite.experiments.report import paper_vs_ours as pvo
from simcardionet_lite.experiments.report import verdicts as vd
from simcardionet_lite.experiments.report.banner import data_kind, run_caveats
from simcardionet_lite.verify import refusal


def m(v: float, half: float = 0.05) -> dict:
    """A metrics dict whose every metric is ``v`` with the interval ``v ± half``."""
    keys = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1")
    return {**{k: v for k in keys}, "ci": {k: [v - half, v + half] for k in keys}}


def cv_part(vals: list[float]) -> dict:
    return {"folds": [{"seed": s, "fold": f, "metrics": m(v)} for s, v in enumerate(vals) for f in range(3)],
            "seeds": list(range(len(vals))), "summary": summarize([m(v) for v in vals]),
            "per_seed": [{"seed": s, "metrics": m(v)} for s, v in enumerate(vals)],
            "seed_summary": summarize([m(v) for v in vals])}


GOOD_META = {"git": {"commit": "abc", "dirty": False, "code_dirty": False}, "timestamp_utc": "2026-12-01T00:00:00"}
RECIPE = {"recipe": {"name": "x"}}


def record(source: str, metrics: dict, seeds=(0, 1, 2), **kw) -> dict:
    return {"metrics": metrics, "seeds": list(seeds), "data": {"test": {"source": source}}, "metadata": GOOD_META,
            "extra": RECIPE, "config": {}, "preset": "cpu", **kw}


def study(outside_mass: float, cam: float = 0.2, rnd: float = 0.4, acc: float = 0.8, area: bool = True) -> dict:
    """A Grad-CAM study of two classes: class A puts ``outside_mass`` of its map outside the panels (area 0.25)."""
    s = {"chance_accuracy": 0.5, "accuracy_on_pages": acc, "probability_spread": 0.5, "n_pages": 4,
         "lead_mass_by_class": {"A": {"I": 1 - outside_mass, "outside": outside_mass}, "B": {"I": 0.9, "outside": 0.1}},
         "faithfulness": {"auc_cam": [cam, cam + 0.02, cam - 0.02, cam], "auc_random": [rnd] * 4,
                          "mean_auc_cam": cam, "mean_auc_random": rnd, "win_rate": 1.0},
         "holdout_metrics": m(acc)}
    if area:
        s["panel_area"] = {"I": 0.75, "outside": 0.25}
    return s


def test_scored_units_read_per_seed_runs_and_old_per_fold_results() -> None:
    assert list(vd.scored_units(cv_part([0.8, 0.9]), "accuracy")) == ["seed 0", "seed 1"]
    assert list(vd.scored_units({"runs": [{"seed": 4, "metrics": m(0.7)}]}, "accuracy")) == ["seed 4"]
    old = {"folds": [{"seed": s, "fold": f, "metrics": m(0.8)} for s in (0, 1) for f in (0, 1)]}
    assert list(vd.scored_units(old, "macro_f1")) == ["seed 0 fold 1", "seed 0 fold 2", "seed 1 fold 1", "seed 1 fold 2"]
    v = vd.value_verdict(0.97, old, "macro_f1")
    assert v.verdict == "does not hold" and "older result without per-seed pooling" in v.evidence
    assert v.name == "value rule" and "above every interval" in v.evidence


def test_standin_no_run_and_overlap_verdicts() -> None:
    inner = vd.value_verdict(1.0, cv_part([0.88, 0.89, 0.87]), "accuracy")
    v = vd.standin_verdict(inner, "the stand-in")
    assert (inner.verdict, v.verdict) == ("does not hold", "inconclusive")
    assert v.inner is inner and "*does not hold*" in v.short() and "the stand-in" in v.evidence
    assert list(v.rules()) == ["stand-in rule", "value rule"]
    text = vd.rules_markdown([v, inner, vd.no_run_verdict("cmd --x", "only synthetic")])
    assert text.count("*The value rule*") == 1 and text.count("\n") == 2  # three rules, each once
    nr = vd.no_run_verdict("simcardionet-lite run ablations", "only synthetic results")
    assert nr.verdict == "inconclusive" and "`simcardionet-lite run ablations` would produce one" in nr.evidence
    audit = {"n_test": 100, "max_distance": 32}
    assert [vd.ood_verdict({**audit, "n_seen": k}).verdict for k in (0, 5, 6, 50, 51, 100)] == [
        "holds", "holds", "inconclusive", "inconclusive", "does not hold", "does not hold"]
    assert "100 of 100 test pages (100%)" in vd.ood_verdict({**audit, "n_seen": 100}).evidence


def test_gradcam_verdicts_by_their_rules() -> None:
    gap = vd.deletion_gap(study(0.2))
    assert gap[0] == pytest.approx(0.2) and 0.18 <= gap[1][0] <= gap[1][1] <= 0.22
    assert vd.outside_ratios(study(0.5)) == pytest.approx({"A": 2.0, "B": 0.4})
    good = vd.gradcam_verdicts([study(0.2), {**study(0.1), "seed": 1}])
    assert [good[k].verdict for k in ("faithful", "traces", "claim")] == ["holds", "holds", "holds"]
    assert list(good["claim"].rules()) == ["faithfulness rule", "traces rule", "Grad-CAM rule"]
    assert "seed 1" in good["faithful"].evidence and "A 0.80, B 0.40" in good["traces"].evidence
    text = vd.gradcam_verdicts([study(0.5)])  # class A: twice its share outside the panels
    assert (text["faithful"].verdict, text["traces"].verdict, text["claim"].verdict) == (
        "holds", "does not hold", "does not hold")
    unfaithful = vd.gradcam_verdicts([study(0.1, cam=0.5, rnd=0.4)])
    assert unfaithful["faithful"].verdict == "does not hold" and unfaithful["claim"].verdict == "does not hold"
    mixed = vd.gradcam_verdicts([study(0.5), study(0.1)])  # a class favours the text in one seed only
    assert mixed["traces"].verdict == "inconclusive"
    weak = vd.gradcam_verdicts([study(0.5, acc=0.55)])  # near chance (0.5): nothing to read
    assert {v.verdict for v in weak.values()} == {"inconclusive"} and "near chance" in weak["traces"].evidence
    old = vd.gradcam_verdicts([study(0.5, area=False)])
    assert old["traces"].verdict == "inconclusive" and "no panel areas recorded" in old["traces"].evidence


def mosaic_study() -> dict:
    """A study of the lead-panel mosaic: the input has no region outside the panels (its share is 0)."""
    s = study(0.0)
    s["panel_area"] = {"I": 0.75, "II_rhythm": 0.25, "outside": 0.0}
    s["lead_mass_by_class"] = {"A": {"I": 0.5, "II_rhythm": 0.5, "outside": 0.0},
                               "B": {"I": 0.9, "II_rhythm": 0.1, "outside": 0.0}}
    return s


def test_gradcam_on_the_lead_panel_mosaic_says_the_print_is_not_in_the_input() -> None:
    mosaic = mosaic_study()
    assert vd.print_cut_away(mosaic) and not vd.print_cut_away(study(0.5)) and not vd.print_cut_away(study(0.5, area=False))
    assert vd.outside_ratios(mosaic) is None
    v = vd.gradcam_verdicts([mosaic, {**mosaic_study(), "seed": 1}])
    assert v["faithful"].verdict == "holds" and v["traces"].verdict == "inconclusive"
    assert "no print in it" in v["traces"].evidence and "no panel areas recorded" not in v["traces"].evidence
    text = ex.gradcam_findings({"dataset1-mosaic": record("dataset1", {"runs": [{**mosaic, "seed": 0}]}, seeds=[0])})
    assert "predates the recording" not in text and "the model's input is the lead-panel mosaic" in text
    assert "on the rhythm strip A 2.00, B 0.40" in text and "favour most: A II_rhythm, B I" in text


def test_record_caveats_and_data_kind() -> None:
    good = record("dataset1", {})
    assert refusal(good) is None and run_caveats(good) == [] and data_kind(good) == "real"
    old = {**good, "extra": {"data_root": "/x"}, "seeds": [0], "data": None}
    assert "no recipe is recorded" in refusal(old) and data_kind(old) == "real"
    assert run_caveats(old)[0] == "one seed only, so no spread over seeds" and "verify" in run_caveats(old)[1]
    assert data_kind(record("kaggle_standin", {})) == "constructed" and data_kind({"data": {}}) == "synthetic"
    dirty = {**good, "metadata": {"git": {"commit": "abc", "dirty": True, "code_dirty": True, "dirty_files": ["a.py"]}}}
    assert "dirty" in refusal(dirty)


def _ood(with_subsets: bool) -> dict:
    runs = []
    for s, v in enumerate((0.88, 0.89, 0.87)):
        r = {"seed": s, "metrics": m(v), "baseline": m(0.9), "metrics_unseen": None}
        if with_subsets:
            r.update({"metrics_fitted": m(v), "metrics_val_only": None, "subset_counts": {"fitted": 10}})
        runs.append(r)
    return {"overlap": {"n_test": 10, "n_seen": 10, "fraction_seen": 1.0, "max_distance": 32, "seen_with_same_label": 1.0},
            "runs": runs, "summary": summarize([r["metrics"] for r in runs]),
            "baseline_summary": summarize([r["baseline"] for r in runs])}


def test_dataset2_findings_say_what_the_data_is_and_keep_standin_verdicts_inconclusive() -> None:
    assert ex.dataset2_findings({}).startswith("*No committed real-data run")
    d = record("kaggle_standin", _ood(with_subsets=False))
    d["data"] = {"train": {"source": "dataset1", "n": 30}, "test": {"source": "kaggle_standin", "n": 10,
                                                                     "built_from": {"jpeg_quality": 75}}}
    text = ex.dataset2_findings({"kaggle_standin-x": d})
    assert "constructed stand-in, not the Kaggle Dataset II" in text and "JPEG (quality 75)" in text
    assert "10 of 10 test pages (100%)" in text and "accuracy **0.880 ± 0.010**" in text
    assert "pixel baseline on the same pages: macro-F1 0.900 (the same in every seed)" in text
    assert "no out-of-distribution score at all" in text and "This file predates the split" in text
    assert text.count("**inconclusive** by the stand-in rule") == 3  # accuracy, F1, out of distribution
    assert "where the value rule gives *does not hold*" in text and "where the overlap rule gives *does not hold*" in text
    assert "*The network is better than the pixel baseline on these pages (ours)*: **does not hold**" in text
    assert text.count("*The value rule*") == 1  # each rule stated once, below the verdicts
    new = ex.dataset2_findings({"kaggle_standin-y": record("kaggle_standin", _ood(with_subsets=True))})
    assert "predates" not in new
    real = ex.dataset2_findings({"kaggle-z": record("kaggle", _ood(with_subsets=True))})
    assert "stand-in rule" not in real and "reproduces*: **does not hold** by the value rule" in real


def test_gradcam_findings_read_old_and_new_files() -> None:
    assert ex.gradcam_findings({}).startswith("*No committed real-data run")
    old = {**record("dataset1", {**study(0.5, area=False)}, seeds=[0]), "extra": {"data_root": "/x"}, "data": None}
    text = ex.gradcam_findings({"real-old": old})
    assert "predates the recording of each region's share" in text and "one seed only" in text
    assert "no recipe is recorded" in text and "*The claim*: **inconclusive**" in text
    new = record("dataset1", {"runs": [{**study(0.5), "seed": 0}, {**study(0.4), "seed": 1}]}, seeds=[0, 1])
    text = ex.gradcam_findings({"dataset1-cpu": new})
    assert "Seed 1, the model explained" in text and "outside the lead panels (header, footer, margins) A 2.00, B 0.40" in text
    assert "favour the traces over the printed text around them*: **does not hold**" in text
    synthetic = ex.gradcam_findings({"synthetic-cpu": {**new, "data": {"pages": {"source": "synthetic"}}}})
    assert "never evidence" in synthetic and "Verdicts" not in synthetic


def _loader(extra: dict | None = None):
    ptbxl = {"runs": [{"seed": s, "metrics": m(v)} for s, v in enumerate((0.66, 0.68, 0.67))], "n_test": 100}
    ptbxl["summary"] = summarize([r["metrics"] for r in ptbxl["runs"]])
    ptbxl["multilabel_summary"] = summarize([{"macro_auc": a} for a in (0.79, 0.80, 0.81)])
    found = {"05_dataset1": {"dataset1-x": record("dataset1", {"grouped": cv_part([0.85, 0.86, 0.84])}),
                             "synthetic-y": record("synthetic", {"grouped": cv_part([0.97, 0.97, 0.97])})},
             "06_dataset2": {"kaggle_standin-x": record("kaggle_standin", _ood(True))},
             "07_ptbxl": {"ptbxl-x": record("ptbxl", ptbxl)},
             "08_ablations": {"synthetic-cpu": record("synthetic", {})}, **(extra or {})}
    return lambda chapter: found.get(chapter, {})


def test_claim_rows_one_per_number_and_protocol_then_the_claims_that_are_not_numbers() -> None:
    rows, protocols = pvo.claim_rows(_loader())
    assert [p.tag for p in protocols] == ["A", "B", "C"]  # Dataset I grouped, the stand-in, PTB-XL; no synthetic run
    assert protocols[0].run == ("05_dataset1", "dataset1-x") and "duplicate-aware" in protocols[0].text
    d1 = [r for r in rows if r.group == "Dataset I"]
    assert [r.claim for r in d1] == ["Dataset I accuracy", "Dataset I precision (macro)", "Dataset I recall (macro)",
                                     "Dataset I F1 (macro)"]
    assert d1[0].ours == "0.850 ± 0.010 [0.790, 0.910]" and d1[0].protocol == "A"
    assert d1[0].verdict.verdict == "does not hold" and d1[0].reason == "the paper's number is above every interval"
    assert [u[0] for u in d1[0].units] == ["seed 0", "seed 1", "seed 2"] and d1[0].units[0][2] == pytest.approx((0.8, 0.9))
    d2 = [r for r in rows if r.group == "Dataset II"]
    assert len(d2) == 4 and {r.verdict.verdict for r in d2} == {"inconclusive"}
    assert d2[0].reason == "a stand-in only (there: does not hold)"
    pt = [r for r in rows if r.group == "PTB-XL"]
    assert [r.claim for r in pt] == ["PTB-XL accuracy", "PTB-XL F1 (weighted)"]
    claims = {r.claim.split(" [")[0]: r for r in rows if r.group == "not a number"}
    assert len(claims) == len(pvo.CLAIM_TESTS) + 1
    pre = claims["self-supervised pretraining with a modified SimCLR helps"]
    assert pre.verdict.verdict == "inconclusive" and pre.ours == "08_ablations: only synthetic results, never evidence"
    assert "`simcardionet-lite run ablations --preset cpu_pretrain --data-root DATASET1` would produce it" in pre.reason
    assert "nothing committed" in claims["Grad-CAM maps focus on clinically relevant ECG regions"].ours
    sota = next(r for r in claims.values() if "PTB-XL" in r.claim)
    assert sota.protocol == "C" and sota.ours == "multi-label macro AUC 0.800 ± 0.010 (C)"
    assert sota.verdict.name == "unstated-numbers rule" and "0.930" in sota.reason


def test_claim_rows_judge_a_real_ablation_and_gradcam_run() -> None:
    def arm(vals):
        return {"label": "x", "runs": [{"seed": s, "metrics": m(v)} for s, v in enumerate(vals)]}

    abl = record("dataset1", {"arms": {"full": arm([0.8, 0.82, 0.81]), "scratch": arm([0.7, 0.71, 0.72]),
                                       "lam0": arm([0.85, 0.7, 0.8])}})
    cam = record("dataset1", {"runs": [{**study(0.1), "seed": 0}]}, seeds=[0])
    rows, protocols = pvo.claim_rows(_loader({"08_ablations": {"dataset1-cpu": abl}, "10_gradcam": {"dataset1-cpu": cam}}))
    claims = {r.claim.split(" [")[0]: r for r in rows if r.group == "not a number"}
    pre = claims["self-supervised pretraining with a modified SimCLR helps"]
    assert pre.verdict.verdict == "holds" and pre.protocol == "D" and pre.reason == "full above scratch in 3 of 3 seeds"
    assert pre.ours == "full minus scratch: macro-F1 +0.090 to +0.110, above in 3 of 3 seeds"
    assert claims["a hybrid loss combining InfoNCE with cosine similarity"].verdict.verdict == "inconclusive"  # 1 of 3
    unf = claims["progressive layer unfreezing reduces overfitting"]
    assert unf.verdict.verdict == "inconclusive" and unf.ours == "arms missing"
    assert "comparison rule" in vd.rules_markdown([unf.verdict]) and ": ." not in vd.rules_markdown([unf.verdict])
    cam_row = claims["Grad-CAM maps focus on clinically relevant ECG regions"]
    assert cam_row.verdict.verdict == "holds" and cam_row.reason == "faithful: holds; favours the traces: holds"
    assert cam_row.ours.startswith("deletion AUC, random maps minus Grad-CAM +0.200") and "A 0.40, B 0.40" in cam_row.ours
    assert [p.run[0] for p in protocols][3:] == ["08_ablations", "08_ablations", "08_ablations", "10_gradcam"]


def test_claims_markdown_and_figure() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simcardionet_lite.experiments.report.figures import plot_claims

    rows, protocols = pvo.claim_rows(_loader())
    table = pvo.claims_markdown(rows).splitlines()
    assert table[0].startswith("| claim | paper | ours") and len(table) == 2 + len(rows)
    assert table[2] == ("| Dataset I accuracy | 0.975 | 0.850 ± 0.010 [0.790, 0.910] | A | **does not hold**: the "
                        "paper's number is above every interval |")
    assert all(line.count(" | ") == 4 for line in table[2:])  # no stray pipe splits a cell
    assert pvo.protocols_markdown(protocols).splitlines()[0].startswith("* **A**: Dataset I, 3-fold CV")
    assert pvo.protocols_markdown([]) == "*No committed real-data run yet.*"
    fig = plot_claims(rows)
    ax = fig.axes[0]
    numeric = [r for r in rows if r.units and r.paper is not None]
    diamonds = [ln for ln in ax.lines if ln.get_marker() == "D"]
    assert len(diamonds) == len(numeric) == 10 and float(np.asarray(diamonds[0].get_xdata())[0]) == 0.975
    plt.close(fig)


def le_result(pre: dict[float, list[float]], scr: dict[float, list[float]]) -> dict:
    rows = [{"seed": s, "fraction": f, "arm": arm, "n_labels": 10, "metrics": m(v)}
            for arm, d in (("pretrained", pre), ("scratch", scr)) for f, vals in d.items() for s, v in enumerate(vals)]
    curves = {arm: {str(f): summarize([m(v) for v in vals]) for f, vals in d.items()}
              for arm, d in (("pretrained", pre), ("scratch", scr))}
    return {"fractions": sorted(pre), "seeds": [0, 1, 2], "rows": rows, "curves": curves}


def test_label_efficiency_verdicts_per_fraction_and_on_the_claim() -> None:
    from simcardionet_lite.experiments.report.findings import label_efficiency_findings, label_efficiency_verdicts

    helps = le_result({0.1: [0.6, 0.7, 0.65], 0.25: [0.8, 0.8, 0.8], 1.0: [0.85, 0.8, 0.9]},
                      {0.1: [0.4, 0.5, 0.45], 0.25: [0.7, 0.75, 0.7], 1.0: [0.86, 0.85, 0.85]})
    v = label_efficiency_verdicts(helps)
    assert [v[k].verdict for k in ("10 %", "25 %", "100 %", "claim")] == ["holds", "holds", "inconclusive", "holds"]
    assert "+0.200" in v["10 %"].evidence and "3 of 3" in v["10 %"].evidence
    mixed = le_result({0.1: [0.6, 0.4, 0.65], 0.25: [0.6, 0.6, 0.6]}, {0.1: [0.4, 0.5, 0.45], 0.25: [0.7, 0.75, 0.7]})
    v = label_efficiency_verdicts(mixed)
    assert (v["10 %"].verdict, v["25 %"].verdict, v["claim"].verdict) == ("inconclusive", "does not hold", "inconclusive")
    worse = le_result({0.1: [0.3, 0.3, 0.3]}, {0.1: [0.4, 0.5, 0.45]})
    assert label_efficiency_verdicts(worse)["claim"].verdict == "does not hold"
    assert label_efficiency_verdicts(le_result({1.0: [0.9] * 3}, {1.0: [0.8] * 3}))["claim"].verdict == "inconclusive"
    real = record("dataset1", helps, config={"pretrain": {"extra_corpus": ["synthetic:50", "ptbxl:/home/me/data/ptbxl_sample"]}})
    text = label_efficiency_findings({"le-cpu": real})
    assert "`le-cpu`" in text and "50 synthetic records per class" in text and "10 % of the training clusters" in text
    assert "folder `ptbxl_sample`" in text and "/home/me" not in text  # no machine path in the book
    assert "**holds** by the labels rule" in text and "*The labels rule*" in text
    assert label_efficiency_findings({"syn": record("synthetic", helps)}) == label_efficiency_findings({})



def abl_result(**arms: list[float]) -> dict:
    return {"variants": list(arms), "seeds": [0, 1, 2],
            "arms": {a: {"label": a, "overrides": {}, "runs": [{"seed": s, "metrics": m(v)} for s, v in enumerate(vals)],
                         "summary": summarize([m(v) for v in vals])} for a, vals in arms.items()}}


def test_ablation_findings_give_a_verdict_per_claim_from_real_runs_only() -> None:
    from simcardionet_lite.experiments.report.findings import NO_RUN, ablation_findings

    res = abl_result(full=[0.8, 0.82, 0.78], lam0=[0.7, 0.75, 0.7], scratch=[0.85, 0.8, 0.8],
                     no_unfreeze=[0.9, 0.9, 0.9], no_attention=[0.75, 0.8, 0.7])
    text = ablation_findings({"abl-cpu": record("dataset1", res)})
    assert "**`abl-cpu`**" in text and "**0.800 ± 0.020**" in text and "seed 1 0.820 [0.770, 0.870]" in text
    lines = {ln.split("*: ")[0]: ln for ln in text.splitlines() if ln.startswith("* *")}
    assert "**holds**" in lines["* *A hybrid loss combining InfoNCE with cosine similarity [ABS]"]
    assert "**inconclusive**" in lines["* *Self-supervised pretraining with a modified SimCLR helps [ABS]"]
    assert "**does not hold**" in lines["* *Progressive layer unfreezing reduces overfitting [ABS]"]
    assert "**holds**" in lines["* *The multi-head self-attention block helps [ABS]"] and text.count("by the comparison rule") == 4
    assert "full minus lam0, macro-f1: +0.100, +0.070, +0.080" in text and "*The comparison rule*" in text
    assert ablation_findings({"syn": record("synthetic", res)}) == NO_RUN == ablation_findings({})


def test_learning_curve_reading_fits_the_gain_per_doubling_and_says_it_extrapolates() -> None:
    from simcardionet_lite import paper
    from simcardionet_lite.experiments.report.findings import learning_curve_reading

    pts = [{"n_train": n, "seed": s, "metrics": {"macro_f1": f + 0.01 * (s - 1), "macro_auc": a},
            "multilabel": {"macro_auc": a + 0.05}}
           for n, f, a in ((100, 0.40, 0.70), (200, 0.45, 0.72), (400, 0.50, 0.74)) for s in range(3)]
    data = {"train": {"n": 400, "excluded": {"x": 100}}, "val": {"n": 50, "excluded": {}},
            "test": {"n": 40, "excluded": {"x": 10}}, "ml_train": {"n": 999}}  # sample: 600 records; ml_* not counted
    text = learning_curve_reading({"metrics": {"learning_curve": pts}, "data": data})
    scale = paper.PTBXL_RECORDS / 600
    assert "macro-f1 0.400 / 0.450 / 0.500 at 100 / 200 / 400" in text and "+0.050 per doubling" in text
    assert f"about {400 * scale:,.0f} such records" in text
    assert f"at {0.5 + 0.05 * np.log2(scale):.2f}" in text and "not a measurement" in text
    assert "single-label macro-AUC 0.700 / 0.720 / 0.740" in text and "+0.020 per doubling" in text
    assert "multi-label macro-AUC 0.750 / 0.770 / 0.790" in text
    older = [{k: v for k, v in p.items() if k != "multilabel"} for p in pts]  # runs before the curve had probes
    assert "multi-label" not in learning_curve_reading({"metrics": {"learning_curve": older}, "data": data})
    assert learning_curve_reading({"metrics": {"learning_curve": pts[:3]}, "data": data}) is None  # one size only


def test_multilabel_subset_draws_the_share_by_seed() -> None:
    from simcardionet_lite.experiments.recipes.ptbxl import multilabel_subset

    a = multilabel_subset(722, 0.25, 0)
    assert len(a) == 180 and len(set(a.tolist())) == 180 and list(a) == sorted(a) and a.max() < 722
    assert (a == multilabel_subset(722, 0.25, 0)).all() and not (a == multilabel_subset(722, 0.25, 1)).all()
    assert len(multilabel_subset(722, 1.0, 3)) == 722
    with pytest.raises(ValueError, match="fraction"):
        multilabel_subset(10, 0.0, 0)


def baselines(cam: float = 0.2, road_cam: float = 0.10, base: dict | None = None, n: int = 4,
              names=("random", "ink", "untrained", "other_seed")) -> dict:
    """A ``baselines`` record (``explain.baseline_study``'s shape): per baseline ``(deletion AUC, ROAD)``."""
    base = {b: (0.4, 0.0) for b in names} if base is None else base

    def maps(shift: float = 0.0) -> dict:
        out = {"cam": {"auc": [cam + shift] * n, "mean_auc": cam + shift, "road": {"combined": [road_cam] * n},
                       "mean_road": road_cam}}
        for b, (a, r) in base.items():
            out[b] = {"auc": [a] * n, "mean_auc": a, "road": {"combined": [r] * n}, "mean_road": r}
        return out

    def versus(mp: dict) -> dict:
        c = mp["cam"]
        return {b: {"mean_auc_cam": c["mean_auc"], "mean_auc_baseline": e["mean_auc"],
                    "share_cam_auc_below": float(c["mean_auc"] < e["mean_auc"]), "mean_road_cam": c["mean_road"],
                    "mean_road_baseline": e["mean_road"], "share_cam_road_above": float(c["mean_road"] > e["mean_road"])}
                for b, e in mp.items() if b != "cam"}

    by = {t: {"n_pages": n, "maps": maps(s), "versus": versus(maps(s))} for t, s in (("predicted", 0.0), ("true", 0.01))}
    return {"primary": "predicted", "baselines": list(base), "by_target": by, "road": {"percentiles_kept": [70, 80, 90]}}


def test_baseline_verdicts_need_every_seed_and_both_measures() -> None:
    seeds = [{**study(0.2), "seed": s, "baselines": baselines()} for s in (0, 1, 2)]
    v = vd.baseline_verdicts(seeds)
    assert list(v) == ["random", "ink", "untrained", "other_seed"]
    assert {x.verdict for x in v.values()} == {"holds"} and v["ink"].name == "baseline rule"
    assert "seed 2: deletion AUC 0.200 vs 0.400 (CAM lower on 100% of pages), ROAD +0.100 vs +0.000" in v["ink"].evidence
    assert "target: the predicted class" in v["ink"].evidence and "every seed" in v["ink"].rule
    # the ink map wins in one seed: inconclusive, not holds
    mixed = seeds[:2] + [{**study(0.2), "seed": 2, "baselines": baselines(base={"random": (0.4, 0.0),
                                                                                 "ink": (0.1, 0.0)})}]
    mv = vd.baseline_verdicts(mixed)
    assert mv["random"].verdict == "holds" and mv["ink"].verdict == "inconclusive"
    assert mv["other_seed"].verdict == "inconclusive" and "seed 2: not measured" in mv["other_seed"].evidence
    # deletion puts the CAM ahead in every seed, ROAD never: the measures disagree
    split = vd.baseline_verdicts([{**study(0.2), "seed": s, "baselines": baselines(road_cam=-0.1)} for s in (0, 1)])
    assert {x.verdict for x in split.values()} == {"inconclusive"}
    # neither measure puts the CAM ahead in any seed
    behind = vd.baseline_verdicts([{**study(0.2), "seed": s, "baselines": baselines(cam=0.5, road_cam=-0.1)}
                                   for s in (0, 1)])
    assert {x.verdict for x in behind.values()} == {"does not hold"}
    # the true-class variant is judged from its own numbers
    assert vd.baseline_verdicts(seeds, target="true")["ink"].evidence.count("0.210 vs 0.400") == 3
    # one seed: no other seed's model to compare with
    one = vd.baseline_verdicts([{**study(0.2), "baselines": baselines(names=("random", "ink", "untrained"))}])
    assert one["ink"].verdict == "holds" and one["other_seed"].verdict == "inconclusive"
    assert "needs two seeds" in one["other_seed"].evidence
    weak = vd.baseline_verdicts([{**study(0.2, acc=0.55), "baselines": baselines()}])
    assert {x.verdict for x in weak.values()} == {"inconclusive"} and "near chance" in weak["random"].evidence
    old = vd.baseline_verdicts([study(0.2)])
    assert {x.verdict for x in old.values()} == {"inconclusive"} and "predates the baselines" in old["ink"].evidence


def test_gradcam_findings_table_and_figure_with_and_without_baselines() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simcardionet_lite.experiments.report.figures import plot_baselines

    old = record("dataset1", {"runs": [{**study(0.2), "seed": 0}]}, seeds=[0])
    text = ex.gradcam_findings({"dataset1-old": old})
    assert "this run predates them" in text and "*The CAM is more faithful than the ink map*: **inconclusive**" in text
    assert "With the true class as the target instead" not in text
    assert ex.gradcam_baseline_table(ex.runs_of(old["metrics"])) is None
    runs = [{**study(0.2), "seed": s, "baselines": baselines()} for s in (0, 1)]
    new = record("dataset1", {"runs": runs}, seeds=[0, 1])
    text = ex.gradcam_findings({"dataset1-new": new})
    assert "**Against the baselines** (target: the predicted class" in text
    assert "ink map 0.400 (CAM lower on 100% of pages), ROAD +0.000 (CAM higher on 100%)" in text
    assert "*The CAM is more faithful than the other seed's CAM*: **holds** by the baseline rule" in text
    assert "With the true class as the target instead: random maps **holds**" in text
    assert text.count("*The baseline rule*:") == 1
    table = ex.gradcam_baseline_table(runs)
    assert table.shape == (10, 4) and table.loc[(1, "ink map"), "deletion AUC"] == pytest.approx(0.4)
    assert np.isnan(table.loc[(0, "Grad-CAM"), "CAM's AUC lower (pages)"])
    assert ex.gradcam_baseline_table(runs, target="true").loc[(0, "Grad-CAM"), "deletion AUC"] == pytest.approx(0.21)
    fig, axes = plt.subplots(1, 2)
    plot_baselines([study(0.2)] + runs, axes)  # a study without baselines is skipped
    assert len(axes[0].lines) == 4 and len(axes[1].lines) == 4
    plt.close(fig)


def test_committed_gradcam_files_render_whatever_they_record() -> None:
    committed = ex.committed_runs("10_gradcam")
    if not committed:
        pytest.skip("no committed Grad-CAM run")
    text = ex.gradcam_findings(committed)
    for d in committed.values():
        studies = ex.runs_of(d["metrics"])
        if not any(s.get("baselines") for s in studies):
            assert "this run predates them" in text and ex.gradcam_baseline_table(studies) is None
