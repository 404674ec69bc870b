"""The first screen of each results chapter: what was found and a verdict per claim (report/glance.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_report_verdicts import _loader, cv_part, record

from simcardionet_lite import experiments as ex
from simcardionet_lite.experiments.report import glance as gl

ROOT = Path(__file__).resolve().parents[1]
RESULTS_CHAPTERS = ["05_dataset1", "06_dataset2", "07_ptbxl", "08_ablations", "09_label_efficiency", "10_gradcam",
                    "11_paper_vs_ours"]
VERDICT = re.compile(r"\*\*(holds|does not hold|inconclusive)\*\*")


def _with_arms() -> dict:
    grouped = cv_part([0.85, 0.86, 0.84])
    grouped["baseline"] = cv_part([0.60, 0.62, 0.61])
    grouped["arms"] = {"resnet18": {"label": "ResNet-18 (torchvision, random init) on whole pages",
                                    **cv_part([0.88, 0.80, 0.86])}}
    return {"05_dataset1": {"dataset1-x": record("dataset1", {"file": cv_part([0.97, 0.97, 0.97]), "grouped": grouped}),
                            "dataset1-old": record("dataset1", {"grouped": cv_part([0.5, 0.5, 0.5])}),
                            "synthetic-y": record("synthetic", {"grouped": cv_part([0.97, 0.97, 0.97])})}}


def test_a_chapter_glance_is_the_claims_table_rows_of_its_runs_with_the_comparisons() -> None:
    g = gl.at_a_glance("05_dataset1", runs=["dataset1-x"], metrics=["f1"], loader=_loader(_with_arms()))
    assert len(g.lines) == 4  # F1 under both protocols, then the method against the pixel baseline and the ResNet-18
    assert g.lines[0].startswith("**holds**: *Dataset I F1 (macro)* (`dataset1-x`, file-level folds): paper 0.972, ours 0.970")
    assert g.lines[1].startswith("**does not hold**: *Dataset I F1 (macro)* (`dataset1-x`, duplicate-aware folds)")
    assert "the paper's number is above every interval" in g.lines[1]
    assert g.lines[2].startswith("**holds**: *SimCardioNet-lite is better than the pixel baseline*")
    assert "above in 3 of 3 seeds" in g.lines[2]
    assert g.lines[3].startswith("**inconclusive**: *SimCardioNet-lite is better than the ResNet-18*")
    assert "above in 1 of 3 seeds" in g.lines[3]
    text = str(g)
    assert text.startswith("> **Found, in short**") and all(line.startswith(">") for line in text.splitlines())
    assert g._repr_markdown_() == text and "smoke output" in text
    everything = gl.at_a_glance("05_dataset1", loader=_loader(_with_arms()))
    assert any("`dataset1-old`" in line for line in everything.lines)  # no run filter: every real run, 4 metrics each
    assert not any("synthetic-y" in line for line in everything.lines)  # synthetic pages are never evidence
    assert sum("accuracy" in line for line in everything.lines) == 3  # file and grouped of -x, grouped of -old


def test_a_chapter_without_a_real_run_says_its_claims_stay_inconclusive() -> None:
    g = gl.at_a_glance("09_label_efficiency", loader=_loader())
    assert len(g.lines) == 1 and g.lines[0].startswith("**inconclusive**")
    assert "`simcardionet-lite run label_efficiency --preset cpu_pretrain" in g.lines[0]  # the command that would settle it
    nothing = gl.at_a_glance("08_ablations", loader=lambda chapter: {})
    assert all(VERDICT.search(line) for line in nothing.lines)
    empty = gl.at_a_glance("04_pretraining", loader=_loader())
    assert empty.lines == (gl.NOTHING,)


def test_the_dataset2_glance_adds_the_overlap_audit_judged_on_the_stand_in() -> None:
    g = gl.at_a_glance("06_dataset2", metrics=["f1"], loader=_loader())
    assert len(g.lines) == 2 and "Dataset II F1" in g.lines[0]
    assert g.lines[1].startswith("**inconclusive**: *the Dataset II test is out of distribution*")
    assert "test pages have a copy of their picture in training" in g.lines[1]


def test_the_claims_glance_counts_the_verdicts_per_group() -> None:
    g = gl.claims_at_a_glance(_loader(_with_arms()))
    first = g.lines[0]
    assert first.startswith("*Dataset I*, 12 rows:") and "**4 hold**" in first and "**8 do not hold**" in first
    assert "Dataset I F1 (macro) (file-level folds)" in first
    assert g.tail == gl.CLAIMS_TAIL and "smoke" not in str(g)


@pytest.mark.parametrize("chapter", RESULTS_CHAPTERS)
def test_each_results_chapter_opens_with_its_glance_from_the_committed_runs(chapter: str) -> None:
    """Issue: each of chapters 05-11 states its measured finding and a verdict in its first screen. The glance cell
    comes right after the title (before any section, the parameters cell and the smoke run), and the committed
    results give it at least one verdict that a real-data run decided."""
    text = (ROOT / "book" / f"{chapter}.md").read_text()
    head = text.split("\n# ", 1)[1]
    first_cell = head.split("```{code-cell} ipython3", 1)
    assert len(first_cell) == 2 and "\n## " not in first_cell[0], f"{chapter}: the first code cell comes after a section"
    cell = first_cell[1].split("\n```", 1)[0]
    assert ":tags: [remove-input]" in cell and ("at_a_glance(" in cell), f"{chapter}: first cell is not the glance"
    assert len(first_cell[0].strip().splitlines()) == 1, f"{chapter}: text between the title and the glance"
    glance = ex.claims_at_a_glance() if chapter == "11_paper_vs_ours" else eval(  # noqa: S307 - the chapter's own call
        cell.split("\n")[-1], {"ex": ex})
    assert glance.lines != (gl.NOTHING,) and all(VERDICT.search(line) or "**" in line for line in glance.lines)
    if chapter != "11_paper_vs_ours":
        assert any("`" in line for line in glance.lines), f"{chapter}: no committed run named"


def test_a_run_without_arms_is_set_against_the_arms_of_a_run_on_the_same_folds() -> None:
    found = _with_arms()["05_dataset1"]
    pages = {"pages": {"source": "dataset1", "fingerprint": "abc"}}
    for tag in ("dataset1-x", "dataset1-old"):
        found[tag] = {**found[tag], "data": pages, "config": {"eval": {"folds": 3}}}
    g = gl.at_a_glance("05_dataset1", runs=["dataset1-old"], metrics=["f1"], loader=_loader({"05_dataset1": found}))
    cross = [line for line in g.lines if "against the arm of `dataset1-x`" in line]
    assert len(cross) == 1 and cross[0].startswith("**does not hold**: *SimCardioNet-lite is better than the ResNet-18*")
    assert "above in 0 of 3 seeds" in cross[0]  # 0.5 in every seed against 0.88, 0.80, 0.86
    assert not any("pixel baseline" in line and "dataset1-x" in line for line in g.lines)  # baselines are not arms
    found["dataset1-old"] = {**found["dataset1-old"], "data": {"pages": {"source": "dataset1", "fingerprint": "other"}}}
    g = gl.at_a_glance("05_dataset1", runs=["dataset1-old"], metrics=["f1"], loader=_loader({"05_dataset1": found}))
    assert not any("against the arm" in line for line in g.lines)  # other pages: no pairing
