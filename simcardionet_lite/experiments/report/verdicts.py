"""Verdicts on claims, by stated rules, from committed results: holds / does not hold / inconclusive.

Why rules in code: a verdict typed into prose drifts from the numbers and can be bent after the
fact; here the rule is a function, written down before the numbers it judges, and the chapter
prints the rule beside the verdict.

* :func:`value_verdict`: does a paper's number reproduce? Each seed gives a 95 % cluster-bootstrap
  interval of our score. **holds** if the paper's number lies inside the interval of every seed;
  **does not hold** if it lies outside the interval of every seed (on the same side); otherwise
  **inconclusive**.
* :func:`comparison_verdict`: is model A better than model B in the same protocol? **holds** if A
  scores above B in every seed and the mean paired difference is at least ``margin``; **does not
  hold** if A is not above B in any seed; otherwise **inconclusive**.
* :func:`standin_verdict`: a claim about a dataset this project did not run, judged on a stand-in
  built from another one, is **inconclusive**; the verdict the rule gives on the stand-in is shown.
* :func:`no_run_verdict`: a claim with no committed real-data run is **inconclusive**, and says
  which command would produce the run (synthetic results are never evidence).
* :func:`gradcam_verdicts`: Grad-CAM maps are faithful (deletion, against random maps) and put
  no more mass on the printed text around the traces than its share of the page.
* :func:`baseline_verdicts`: the CAM is more faithful than a baseline map (random, ink, an untrained
  network's CAM, another seed's CAM) only if the deletion AUC *and* ROAD both say so in every seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simcardionet_lite.experiments.report.format import ci, value
from simcardionet_lite.experiments.report.readings import per_seed

VALUE_RULE = ("holds if the paper's number lies inside the 95 % bootstrap interval of every seed (clusters resampled "
              "where the result records them); does not hold if it lies outside every seed's interval on the same "
              "side; inconclusive otherwise")
COMPARISON_RULE = ("holds if the first model scores above the second in every seed, by {margin:.2f} or more on "
                   "average; does not hold if it is above in no seed; inconclusive otherwise")
STANDIN_RULE = ("a claim about a dataset this project has not run stays inconclusive when it is judged on a stand-in "
                "built from another dataset; the verdict its own rule gives on the stand-in is shown beside it")
OOD_RULE = ("holds if at most 5 % of the test pages have a copy in training (a training page within the page-hash "
            "threshold); does not hold if more than half do; inconclusive in between")
UNSTATED_RULE = "inconclusive while the paper does not state the numbers the claim rests on"
NO_RUN_RULE = ("inconclusive while no committed run on real data exists; results on synthetic pages test the code "
               "and are never evidence")
FAITHFUL_RULE = ("holds if, in every seed, the 95 % bootstrap interval (pages resampled) of the mean deletion-AUC gap, "
                 "random maps minus Grad-CAM, lies above 0; does not hold if it lies at or below 0 in every seed; "
                 "inconclusive otherwise, or when the model is near chance on the mapped pages")
TRACES_RULE = ("holds if, in every seed, every class's maps put less of their mass outside the lead panels (header, "
               "footer, margins) than that region's share of the page (ratio below 1); does not hold if, in every "
               "seed, some class's ratio is above 1; inconclusive otherwise, when the model is near chance, or when "
               "the input holds no print (the lead-panel mosaic cuts the header, footer and margins away: the "
               "question is then settled by construction, not by the maps)")
BASELINE_RULE = ("for each baseline map: holds if, in every seed, the CAM's mean deletion AUC is below the baseline's "
                 "and its mean ROAD score above the baseline's (both measures put the CAM ahead; the target is the "
                 "class named); does not hold if, in every seed, neither measure puts the CAM ahead; inconclusive "
                 "otherwise (the measures or the seeds disagree), when a seed lacks the baseline or ROAD, when the "
                 "model is near chance on the mapped pages, or when the run predates the baselines")
GRADCAM_RULE = ("holds if the maps are faithful and favour the traces (both rules above hold); does not hold if "
                "either does not hold; inconclusive otherwise")


@dataclass(frozen=True)
class Verdict:
    """A verdict, the rule that gave it (and that rule's name) and the numbers it read.

    ``inner``: the verdict a claim's own rule gives on data that cannot settle the claim (a stand-in);
    ``parts``: the verdicts a combined verdict is made of (their rules are part of its rule).
    """

    verdict: str  # "holds" | "does not hold" | "inconclusive"
    rule: str
    evidence: str
    name: str = "rule"
    inner: Verdict | None = None
    parts: tuple[Verdict, ...] = ()

    def markdown(self) -> str:
        """The verdict, its evidence and its rule in full (one claim on its own)."""
        return f"**{self.verdict}** ({self.evidence}; rule: {self.rule})"

    def short(self) -> str:
        """The verdict and its evidence, naming its rule (for lists stating each rule once: :func:`rules_markdown`)."""
        return f"**{self.verdict}** by the {self.name} ({self.evidence})"

    def rules(self) -> dict[str, str]:
        """``{name: rule}`` of this verdict, the ones it is made of (first) and the one it wraps."""
        out: dict[str, str] = {}
        for part in self.parts:
            out.update(part.rules())
        return {**out, self.name: self.rule, **(self.inner.rules() if self.inner else {})}


def rules_markdown(verdicts: Sequence[Verdict]) -> str:
    """Each rule the ``verdicts`` used, once, as a Markdown list (in order of first use)."""
    named: dict[str, str] = {}
    for v in verdicts:
        for name, rule in v.rules().items():
            named.setdefault(name, rule)
    return "\n".join(f"* *The {name}*: {rule}." for name, rule in named.items())


def scored_units(part: Mapping[str, Any], key: str) -> dict[str, Mapping[str, Any]]:
    """``{"seed 0": metrics, ...}``: the per-seed pooled scores of ``part`` (``per_seed``, or the
    ``runs`` of a per-seed recipe result); for an older CV result without per-seed pooling, each
    fold's score (``"seed 0 fold 1"``), with that fold's own bootstrap interval."""
    rows = part.get("per_seed") or part.get("runs") or []
    out = {f"seed {r['seed']}": r["metrics"] for r in rows
           if isinstance(r.get("metrics"), Mapping) and value(r["metrics"], key) is not None}
    if not out:
        out = {f"seed {f.get('seed', 0)} fold {f['fold'] + 1}": f["metrics"] for f in part.get("folds", [])
               if value(f.get("metrics"), key) is not None}
    return out


def value_verdict(paper_value: float | None, part: Mapping[str, Any], key: str = "macro_f1") -> Verdict:
    """Does ``paper_value`` reproduce in ``part`` (per-seed scores, see :func:`scored_units`)?"""
    seeds = scored_units(part, key)
    if paper_value is None or not seeds:
        return Verdict("inconclusive", VALUE_RULE, "no paper number or no per-seed result to compare", "value rule")
    sides = []
    for m in seeds.values():
        lo, hi = ci(m, key) or (value(m, key), value(m, key))
        sides.append("inside" if lo <= paper_value <= hi else "above" if paper_value > hi else "below")
    ours = ", ".join(f"{s}: {value(m, key):.3f}" + (" [{:.3f}, {:.3f}]".format(*ci(m, key)) if ci(m, key) else "")
                     for s, m in seeds.items())
    evidence = f"paper {paper_value:.3f}; ours {ours}"
    if "fold" in next(iter(seeds)):
        evidence += " (an older result without per-seed pooling: each fold's interval stands for a seed's)"
    if all(s == "inside" for s in sides):
        return Verdict("holds", VALUE_RULE, evidence, "value rule")
    if len(set(sides)) == 1:
        return Verdict("does not hold", VALUE_RULE, evidence + f" (the paper's number is {sides[0]} every interval)",
                       "value rule")
    return Verdict("inconclusive", VALUE_RULE, evidence, "value rule")


def comparison_verdict(a: Mapping[str, Any], b: Mapping[str, Any], names: Sequence[str], key: str = "macro_f1",
                       margin: float = 0.0) -> Verdict:
    """Is ``a`` better than ``b`` (two parts of one CV result, seed by seed)?"""
    sa, sb = per_seed(a.get("per_seed", []), key), per_seed(b.get("per_seed", []), key)
    seeds = sorted(set(sa) & set(sb))
    rule = COMPARISON_RULE.format(margin=margin)
    if not seeds:
        return Verdict("inconclusive", rule, "no seeds in common", "comparison rule")
    diffs = [sa[s] - sb[s] for s in seeds]
    wins = sum(d > 0 for d in diffs)
    mean = sum(diffs) / len(diffs)
    evidence = (f"{names[0]} minus {names[1]}, {key.replace('_', '-')}: " + ", ".join(f"{d:+.3f}" for d in diffs)
                + f" (mean {mean:+.3f}; above in {wins} of {len(seeds)} seeds)")
    if wins == len(seeds) and mean >= margin:
        return Verdict("holds", rule, evidence, "comparison rule")
    if wins == 0:
        return Verdict("does not hold", rule, evidence, "comparison rule")
    return Verdict("inconclusive", rule, evidence, "comparison rule")


def standin_verdict(on_standin: Verdict, what: str) -> Verdict:
    """The verdict on a claim about a dataset not run, from ``on_standin`` (the rule's verdict on a
    stand-in built from another dataset, ``what`` names it): always inconclusive, the stand-in's shown."""
    return Verdict("inconclusive", STANDIN_RULE,
                   f"judged on {what} only, where the {on_standin.name} gives *{on_standin.verdict}*: "
                   f"{on_standin.evidence}", "stand-in rule", on_standin)


def ood_verdict(overlap: Mapping[str, Any]) -> Verdict:
    """Is a test set out of distribution for the training set (an overlap audit, chapter 6)?"""
    n, seen = int(overlap.get("n_test") or 0), int(overlap.get("n_seen") or 0)
    if not n:
        return Verdict("inconclusive", OOD_RULE, "no test pages audited", "overlap rule")
    frac = seen / n
    evidence = (f"{seen} of {n} test pages ({frac:.0%}) have a training page within {overlap.get('max_distance', '?')} "
                f"page-hash bits")
    return Verdict("holds" if frac <= 0.05 else "does not hold" if frac > 0.5 else "inconclusive", OOD_RULE, evidence,
                   "overlap rule")


def no_run_verdict(command: str, have: str = "") -> Verdict:
    """Inconclusive: no committed real-data run; ``command`` would produce one (``have``: what exists instead)."""
    return Verdict("inconclusive", NO_RUN_RULE,
                   f"no committed real-data run{f' ({have})' if have else ''}; `{command}` would produce one",
                   "no-run rule")


def unstated_verdict(evidence: str) -> Verdict:
    """Inconclusive: the claim rests on numbers the paper does not state (``evidence``: what is known instead)."""
    return Verdict("inconclusive", UNSTATED_RULE, evidence, "unstated-numbers rule")


def near_chance(study: Mapping[str, Any]) -> bool:
    """A Grad-CAM study of a model at or near chance on its mapped pages (or with near-constant outputs):
    its maps explain little (the criterion chapter 10 prints its caution by)."""
    return (study.get("accuracy_on_pages", 0.0) <= study.get("chance_accuracy", 1.0) + 0.1
            or study.get("probability_spread", 0.0) < 0.05)


def print_cut_away(study: Mapping[str, Any]) -> bool:
    """Whether the model's input held no region outside the lead panels: a study of the lead-panel mosaic
    (``data.panels``) records the outside's share of the input as 0, since the header, footer and margins are
    cut away before the model sees the page; a study written before the areas were recorded is not one."""
    area = study.get("panel_area") or {}
    return "outside" in area and not area["outside"]


def outside_ratios(study: Mapping[str, Any]) -> dict[str, float] | None:
    """Per class, the CAM mass outside every lead panel over that region's share of the page (None
    for a study written before ``panel_area`` was recorded)."""
    area = (study.get("panel_area") or {}).get("outside")
    if not area:
        return None
    return {c: float(m["outside"]) / float(area) for c, m in (study.get("lead_mass_by_class") or {}).items()}


def deletion_gap(study: Mapping[str, Any]) -> tuple[float, tuple[float, float] | None] | None:
    """Mean deletion-AUC gap, random maps minus Grad-CAM (above 0: the CAM is more faithful), and its 95 %
    bootstrap interval over the mapped pages (``evaluate.bootstrap_ci``, seeded); None without per-page AUCs."""
    import numpy as np

    from simcardionet_lite.evaluate import bootstrap_ci

    f = study.get("faithfulness") or {}
    cam, rnd = np.asarray(f.get("auc_cam") or [], float), np.asarray(f.get("auc_random") or [], float)
    if not len(cam) or len(cam) != len(rnd):
        return None
    gap = bootstrap_ci(rnd, cam, lambda r, c: float(np.mean(r - c)), n_boot=1000, seed=0)
    return float(np.mean(rnd - cam)), (None if gap is None else (float(gap[0]), float(gap[1])))


def gradcam_verdicts(studies: Sequence[Mapping[str, Any]]) -> dict[str, Verdict]:
    """The Grad-CAM claim, one study per seed: ``faithful``, ``traces`` and the ``claim`` from both (rules above)."""
    seeds = [(f"seed {s.get('seed', i)}", s) for i, s in enumerate(studies)]
    weak = [name for name, s in seeds if near_chance(s)]
    gaps = {name: deletion_gap(s) for name, s in seeds}
    ratios = {name: outside_ratios(s) for name, s in seeds}
    ev_f = "; ".join(f"{n}: gap {g[0]:+.3f}" + (f" [{g[1][0]:+.3f}, {g[1][1]:+.3f}]" if g[1] else "")
                     if g else f"{n}: no per-page deletion AUCs" for n, g in gaps.items())
    ev_t = "; ".join(f"{n}: " + (", ".join(f"{c} {r:.2f}" for c, r in ratios[n].items()) if ratios[n]
                                 else "not testable, the input is the lead-panel mosaic (no print in it)"
                                 if print_cut_away(s) else "no panel areas recorded")
                     for n, s in seeds)
    if weak:
        ev_f += f" (model near chance in {', '.join(weak)})"
        ev_t += f" (model near chance in {', '.join(weak)})"
    if not seeds or weak or any(g is None or g[1] is None for g in gaps.values()):
        faithful = Verdict("inconclusive", FAITHFUL_RULE, ev_f or "no study", "faithfulness rule")
    elif all(g[1][0] > 0 for g in gaps.values()):
        faithful = Verdict("holds", FAITHFUL_RULE, ev_f, "faithfulness rule")
    elif all(g[1][1] <= 0 for g in gaps.values()):
        faithful = Verdict("does not hold", FAITHFUL_RULE, ev_f, "faithfulness rule")
    else:
        faithful = Verdict("inconclusive", FAITHFUL_RULE, ev_f, "faithfulness rule")
    if not seeds or weak or any(not r for r in ratios.values()):
        traces = Verdict("inconclusive", TRACES_RULE, ev_t or "no study", "traces rule")
    elif all(max(r.values()) < 1 for r in ratios.values()):
        traces = Verdict("holds", TRACES_RULE, ev_t, "traces rule")
    elif all(max(r.values()) > 1 for r in ratios.values()):
        traces = Verdict("does not hold", TRACES_RULE, ev_t, "traces rule")
    else:
        traces = Verdict("inconclusive", TRACES_RULE, ev_t, "traces rule")
    both = {faithful.verdict, traces.verdict}
    claim = ("holds" if both == {"holds"} else "does not hold" if "does not hold" in both else "inconclusive")
    return {"faithful": faithful, "traces": traces,
            "claim": Verdict(claim, GRADCAM_RULE, f"faithful: {faithful.verdict}; favours the traces: {traces.verdict}",
                             "Grad-CAM rule", parts=(faithful, traces))}


def baseline_comparison(study: Mapping[str, Any], baseline: str, target: str = "predicted") -> Mapping[str, Any] | None:
    """One seed's CAM-against-``baseline`` numbers for ``target`` (``explain.baseline_study``'s ``versus``
    entry), or None: a run that predates the baselines, or a baseline not measured (``other_seed`` needs
    two seeds)."""
    by_target = (study.get("baselines") or {}).get("by_target") or {}
    return ((by_target.get(target) or {}).get("versus") or {}).get(baseline)


def _baseline_seed(name: str, v: Mapping[str, Any] | None) -> tuple[str, str]:
    """``(state, evidence)`` of one seed against one baseline: ``"ahead"`` (both measures put the CAM
    ahead), ``"behind"`` (neither does), ``"split"`` (they disagree) or ``"missing"``."""
    if v is None:
        return "missing", f"{name}: not measured"
    dele = v["mean_auc_cam"] < v["mean_auc_baseline"]
    ev = (f"{name}: deletion AUC {v['mean_auc_cam']:.3f} vs {v['mean_auc_baseline']:.3f} (CAM lower on "
          f"{v['share_cam_auc_below']:.0%} of pages)")
    if v.get("mean_road_cam") is None:
        return "missing", ev + ", no ROAD"
    road = v["mean_road_cam"] > v["mean_road_baseline"]
    ev += (f", ROAD {v['mean_road_cam']:+.3f} vs {v['mean_road_baseline']:+.3f} (CAM higher on "
           f"{v['share_cam_road_above']:.0%})")
    return ("ahead" if dele and road else "behind" if not (dele or road) else "split"), ev


def baseline_verdicts(studies: Sequence[Mapping[str, Any]], target: str = "predicted") -> dict[str, Verdict]:
    """Per baseline map (``explain.BASELINES``), "the CAM is more faithful than it", one study per seed,
    with the CAM of ``target`` (``"predicted"``: the class claims are judged on; ``"true"``: the variant)."""
    from simcardionet_lite.explain import BASELINES

    seeds = [(f"seed {s.get('seed', i)}", s) for i, s in enumerate(studies)]
    weak = [name for name, s in seeds if near_chance(s)]
    out: dict[str, Verdict] = {}
    for b in BASELINES:
        if not seeds or not any(s.get("baselines") for _, s in seeds):
            out[b] = Verdict("inconclusive", BASELINE_RULE, "the run predates the baselines: only random maps were "
                             "measured, by the deletion AUC, with the true class as the target", "baseline rule")
            continue
        states = [(name, *_baseline_seed(name, baseline_comparison(s, b, target))) for name, s in seeds]
        ev = f"target: the {target} class; " + "; ".join(e for _, _, e in states)
        kinds = {st for _, st, _ in states}
        if weak:
            ev += f" (model near chance in {', '.join(weak)})"
        if b == "other_seed" and len(seeds) < 2:
            ev += " (another seed's model needs two seeds or more)"
        verdict = ("inconclusive" if weak or "missing" in kinds else "holds" if kinds == {"ahead"}
                   else "does not hold" if kinds == {"behind"} else "inconclusive")
        out[b] = Verdict(verdict, BASELINE_RULE, ev, "baseline rule")
    return out


__all__ = ["BASELINE_RULE", "COMPARISON_RULE", "FAITHFUL_RULE", "GRADCAM_RULE", "NO_RUN_RULE", "OOD_RULE", "STANDIN_RULE",
           "TRACES_RULE", "UNSTATED_RULE", "VALUE_RULE", "Verdict", "baseline_comparison", "baseline_verdicts",
           "comparison_verdict", "deletion_gap", "gradcam_verdicts", "near_chance", "no_run_verdict", "ood_verdict",
           "outside_ratios", "print_cut_away", "rules_markdown", "scored_units", "standin_verdict", "unstated_verdict", "value_verdict"]
