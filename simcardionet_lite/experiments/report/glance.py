"""The first screen of a results chapter: what the committed runs found, and a verdict per claim.

Why a separate summary: a reader who opens chapter 5 should not have to scroll past the method
and a smoke demo to learn whether the paper's number came back. The lines are the same rows as
chapter 11's claims table (:func:`~simcardionet_lite.experiments.report.paper_vs_ours.claim_rows`),
filtered to the chapter, so the first screen, the chapter's findings section and chapter 11
cannot disagree; nothing here is typed in, everything is read from the committed results
files when the page is built.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simcardionet_lite.experiments.report.banner import data_kind
from simcardionet_lite.experiments.report.format import fmt
from simcardionet_lite.experiments.report.paper_vs_ours import ClaimRow, Loader, Protocol, claim_rows
from simcardionet_lite.experiments.report.tables import cv_models
from simcardionet_lite.experiments.report.verdicts import comparison_verdict, ood_verdict, standin_verdict

HEAD = "**Found, in short**"
TAIL = ("*Read from the committed real-data results when this page was built; smoke output further down only "
        "demonstrates the code. Each verdict follows a rule stated in code (chapter 11, \"How a verdict is given\"); "
        "the seeds and intervals behind every line are in the sections below.*")
CLAIMS_TAIL = ("*Counted from the claims table below, which is read from the committed real-data results when this page "
               "is built; each row gives the paper's number, ours over seeds with intervals, its protocol and the rule "
               "behind its verdict.*")
NOTHING = ("no committed real-data run speaks to this chapter's claims yet, so every claim it tests stays "
           "**inconclusive**; the smoke output below demonstrates the code and is not evidence")


@dataclass(frozen=True)
class Glance:
    """A few lines of Markdown (a block quote) that a notebook renders; ``lines`` are the bullet points and
    ``verdicts`` the ``(claim, verdict)`` each line states, for code that compares them (``verify``)."""

    lines: tuple[str, ...]
    tail: str = TAIL
    verdicts: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        body = [HEAD, ""] + [f"* {line}" for line in self.lines] + ["", self.tail]
        return "\n".join(f"> {line}" if line else ">" for line in body)

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def _row_protocols(row: ClaimRow, by_tag: Mapping[str, Protocol]) -> list[Protocol]:
    return [by_tag[t.strip()] for t in row.protocol.split(",") if t.strip() in by_tag]


Entry = tuple[str, tuple[str, str]]  # a bullet line and the (claim, verdict) it states


def _entry(verdict: str, claim: str, where: str, how: str, text: str) -> Entry:
    """``**verdict**: *claim* (where, how): text.`` and ``("claim (how)", verdict)``; ``where`` names the runs."""
    paren = ", ".join(x for x in (where, how) if x)
    return (f"**{verdict}**: *{claim}*" + (f" ({paren})" if paren else "") + f": {text}.",
            (claim + (f" ({how})" if how else ""), verdict))


def _row_entry(row: ClaimRow, protocols: Sequence[Protocol]) -> Entry:
    if len(protocols) == 1:
        where, how = f"`{protocols[0].run[1]}`", protocols[0].short
    else:  # several runs (or none): each named with its protocol
        where, how = "; ".join(f"`{p.run[1]}`, {p.short}" if p.short else f"`{p.run[1]}`" for p in protocols), ""
    paper = f"paper {fmt(row.paper)}, " if row.paper is not None else ""
    return _entry(row.verdict.verdict, row.claim, where, how, f"{paper}ours {row.ours}; {row.reason}")


def _same_folds(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two runs split the same pages the same way: same page fingerprint, seeds and number of folds (the folds are
    drawn from the labels, the duplicate clusters and the seed alone)."""
    def key(d: Mapping[str, Any]) -> tuple[Any, ...]:
        pages = (d.get("data") or {}).get("pages") or {}
        return pages.get("fingerprint"), tuple(d.get("seeds") or ()), ((d.get("config") or {}).get("eval") or {}).get("folds")
    return key(a)[0] is not None and key(a) == key(b)


def _comparison_lines(run: str, d: Mapping[str, Any], committed: Mapping[str, Mapping[str, Any]],
                      key: str = "macro_f1") -> list[Entry]:
    """Chapter 5: the method against every other model fitted on the same duplicate-aware folds and seeds of ``run``,
    then against the arms another committed run fitted on the same pages, seeds and folds (a run that adds no arm of
    its own is still set against the ResNet-18 of the run that did)."""
    part = (d.get("metrics") or {}).get("grouped") or {}
    if not part.get("per_seed"):
        return []
    def better(label: str, other: Mapping[str, Any], where: str) -> Entry:
        name = label.split(" (")[0]
        v = comparison_verdict(part, other, ("ours", name), key)
        return _entry(v.verdict, f"SimCardioNet-lite is better than the {name}", where,
                      "duplicate-aware folds, macro-F1, comparison rule", v.evidence)

    lines = [better(who, other, f"`{run}`") for who, other in cv_models(part)[1:] if other.get("per_seed")]
    own = set(part.get("arms") or {})
    for tag, o in committed.items():
        if tag == run or data_kind(o) != "real" or not _same_folds(d, o):
            continue
        for arm, other in (((o.get("metrics") or {}).get("grouped") or {}).get("arms") or {}).items():
            if arm in own or not other.get("per_seed"):
                continue
            own.add(arm)
            lines.append(better(str(other.get("label", arm)), other, f"`{run}` against the arm of `{tag}`, same pages, seeds"))
    return lines


def _overlap_lines(run: str, d: Mapping[str, Any], committed: Mapping[str, Mapping[str, Any]]) -> list[Entry]:
    """Chapter 6: is the test set out of distribution, by the page-hash audit of ``run``'s test pages?"""
    ov = (d.get("metrics") or {}).get("overlap") or {}
    if not ov:
        return []
    v = ood_verdict(ov)
    if data_kind(d) != "real":
        v = standin_verdict(v, "the constructed stand-in" if data_kind(d) == "constructed" else "synthetic pages")
    return [_entry(v.verdict, "the Dataset II test is out of distribution", f"`{run}`", "page-hash audit",
                   f"{ov.get('n_seen', '?')} of {ov.get('n_test', '?')} test pages have a copy of their picture in "
                   f"training; {v.evidence}")]


#: chapter -> lines beyond the claims table's rows, from one committed run: (tag, results, all the chapter's runs) -> lines
EXTRAS = {"05_dataset1": _comparison_lines, "06_dataset2": _overlap_lines}


def at_a_glance(chapter: str, runs: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
                loader: Loader | None = None) -> Glance:
    """The first-screen summary of ``chapter`` (e.g. ``"05_dataset1"``): one line per claim its committed
    real-data runs speak to, with the paper's number, ours (mean ± SD over seeds [span of the seeds'
    intervals]) and the verdict.

    ``runs`` keeps only those committed runs (tags; a chapter names its headline run), ``metrics`` only
    those paper metrics of the number rows (``"f1"``, ``"accuracy"``...). Chapters with a question beyond
    the paper's rows add lines (:data:`EXTRAS`): chapter 5 the method against each baseline and arm on the
    same duplicate-aware folds, chapter 6 the overlap audit. ``loader(chapter) -> {tag: results}``
    defaults to the committed results files.
    """
    from simcardionet_lite.experiments.report.banner import committed_runs

    load = loader or committed_runs
    rows, protocols = claim_rows(load)
    by_tag = {p.tag: p for p in protocols}
    entries: list[Entry] = []
    for row in rows:
        if row.chapter != chapter or (metrics is not None and row.metric and row.metric not in metrics):
            continue
        ps = _row_protocols(row, by_tag)
        if runs is not None and ps:
            ps = [p for p in ps if p.run[1] in runs]
            if not ps:
                continue
        entries.append(_row_entry(row, ps))
    if chapter in EXTRAS:
        committed = load(chapter)
        for tag, d in committed.items():
            if data_kind(d) != "synthetic" and (runs is None or tag in runs):
                entries += EXTRAS[chapter](tag, d, committed)
    if not entries:
        return Glance((NOTHING,))
    return Glance(tuple(line for line, _ in entries), verdicts=tuple(v for _, v in entries))


def claims_at_a_glance(loader: Loader | None = None) -> Glance:
    """Chapter 11's first screen: how many of the paper's claims hold, do not hold or stay inconclusive,
    per group (Dataset I, Dataset II, PTB-XL, claims that are not numbers), and which claims hold."""
    rows, protocols = claim_rows(loader)
    by_tag = {p.tag: p for p in protocols}
    plural = {"holds": "hold", "does not hold": "do not hold", "inconclusive": "inconclusive"}
    lines = []
    for group in dict.fromkeys(r.group for r in rows):
        mine = [r for r in rows if r.group == group]
        counts = Counter(r.verdict.verdict for r in mine)
        tally = ", ".join(f"**{counts[v]} {v if counts[v] == 1 else plural[v]}**" for v in plural if counts[v])
        held = dict.fromkeys(f"{r.claim} ({', '.join(p.short for p in _row_protocols(r, by_tag))})"
                             for r in mine if r.verdict.verdict == "holds")
        lines.append(f"*{group}*, {len(mine)} rows: {tally}" + (f"; the ones that hold: {'; '.join(held)}" if held else "")
                     + ".")
    return Glance(tuple(lines) or (NOTHING,), CLAIMS_TAIL)


__all__ = ["Glance", "at_a_glance", "claims_at_a_glance"]
