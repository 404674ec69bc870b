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


@dataclass(frozen=True)
class Verdict:
    """A verdict, the rule that gave it and the numbers it read."""

    verdict: str  # "holds" | "does not hold" | "inconclusive"
    rule: str
    evidence: str

    def markdown(self) -> str:
        return f"**{self.verdict}** ({self.evidence}; rule: {self.rule})"


def _per_seed(part: Mapping[str, Any], key: str) -> dict[int, Mapping[str, Any]]:
    return {int(r["seed"]): r["metrics"] for r in part.get("per_seed", []) if value(r["metrics"], key) is not None}


def value_verdict(paper_value: float | None, part: Mapping[str, Any], key: str = "macro_f1") -> Verdict:
    """Does ``paper_value`` reproduce in ``part`` (a CV result with ``per_seed`` pooled metrics)?"""
    seeds = _per_seed(part, key)
    if paper_value is None or not seeds:
        return Verdict("inconclusive", VALUE_RULE, "no paper number or no per-seed result to compare")
    sides = []
    for m in seeds.values():
        lo, hi = ci(m, key) or (value(m, key), value(m, key))
        sides.append("inside" if lo <= paper_value <= hi else "above" if paper_value > hi else "below")
    ours = ", ".join(f"seed {s}: {value(m, key):.3f}" + (f" [{ci(m, key)[0]:.3f}, {ci(m, key)[1]:.3f}]" if ci(m, key) else "")
                     for s, m in seeds.items())
    evidence = f"paper {paper_value:.3f}; ours {ours}"
    if all(s == "inside" for s in sides):
        return Verdict("holds", VALUE_RULE, evidence)
    if len(set(sides)) == 1:
        return Verdict("does not hold", VALUE_RULE, evidence + f" (the paper's number is {sides[0]} every interval)")
    return Verdict("inconclusive", VALUE_RULE, evidence)


def comparison_verdict(a: Mapping[str, Any], b: Mapping[str, Any], names: Sequence[str], key: str = "macro_f1",
                       margin: float = 0.0) -> Verdict:
    """Is ``a`` better than ``b`` (two parts of one CV result, seed by seed)?"""
    sa, sb = per_seed(a.get("per_seed", []), key), per_seed(b.get("per_seed", []), key)
    seeds = sorted(set(sa) & set(sb))
    rule = COMPARISON_RULE.format(margin=margin)
    if not seeds:
        return Verdict("inconclusive", rule, "no seeds in common")
    diffs = [sa[s] - sb[s] for s in seeds]
    wins = sum(d > 0 for d in diffs)
    mean = sum(diffs) / len(diffs)
    evidence = (f"{names[0]} minus {names[1]}, {key.replace('_', '-')}: " + ", ".join(f"{d:+.3f}" for d in diffs)
                + f" (mean {mean:+.3f}; above in {wins} of {len(seeds)} seeds)")
    if wins == len(seeds) and mean >= margin:
        return Verdict("holds", rule, evidence)
    if wins == 0:
        return Verdict("does not hold", rule, evidence)
    return Verdict("inconclusive", rule, evidence)


__all__ = ["COMPARISON_RULE", "VALUE_RULE", "Verdict", "comparison_verdict", "value_verdict"]
