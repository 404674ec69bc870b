"""Figures the chapters draw from result dicts (their own run and committed ones alike).

Why here: a figure drawn for the chapter's run and again for every committed run is written
once; curves, not logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simcardionet_lite.experiments.arms import LABEL_EFFICIENCY_ARMS
from simcardionet_lite.experiments.report.format import ci


def plot_history(hist: Mapping[str, Any], ax: Any = None) -> Any:
    """Fine-tuning: trainable parameters (bars) and each group's LR (lines, log scale) per epoch, stages marked."""
    import matplotlib.pyplot as plt

    from simcardionet_lite.train.finetune import group_order

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    ep = np.asarray(hist["epoch"])
    ax.bar(ep, hist["trainable_params"], color="0.8", label="trainable parameters")
    ax.set_yscale("log")  # the head alone is a few hundred parameters, the network 10^5 or more
    ax.set_xlabel("fine-tuning epoch")
    ax.set_ylabel("trainable parameters (log)")
    ax2 = ax.twinx()
    for g in group_order({g: None for d in hist["lr"] for g in d}):
        ax2.plot(ep, [d.get(g, np.nan) for d in hist["lr"]], marker="o", ms=3, label=f"LR {g}")
    ax2.set_yscale("log")
    ax2.set_ylabel("learning rate")
    for e, gs in hist["schedule"]:
        ax.axvline(e - 0.5, color="k", ls=":", lw=0.8)
        ax.text(e - 0.45, ax.get_ylim()[1] * 0.7, "+" + ",".join(gs), fontsize=7, va="top")
    ax2.legend(fontsize=7, loc="lower right")
    return ax


def plot_confusions(results: Mapping[str, Mapping[str, Any]], classes: Sequence[str]) -> Any:
    """One summed confusion matrix per protocol of a CV result, side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.6))
    for ax, (protocol, res) in zip(np.atleast_1d(axes), results.items()):
        cm = np.asarray(res["confusion"])
        ax.imshow(cm, cmap="Blues")
        ax.set_xticks(range(len(classes)), classes)
        ax.set_yticks(range(len(classes)), classes)
        for i, j in np.ndindex(cm.shape):
            ax.text(j, i, cm[i, j], ha="center", va="center", color="black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{protocol} protocol")
    fig.tight_layout()
    return fig


def plot_cv_protocols(metrics: Mapping[str, Any], paper_value: float | None = None, key: str = "macro_f1") -> Any:
    """A committed Dataset I run: one panel per protocol (file-level, grouped), one row per model (the method,
    the pixel baseline, each arm); each seed's pooled held-out score (dot) with its cluster-bootstrap interval
    (bar), the mean over seeds (black tick), and the paper's value (dashed). Models without per-seed pooling
    (older files) are left out of the panel."""
    import matplotlib.pyplot as plt

    from simcardionet_lite.experiments.report.tables import cv_models

    protocols = [p for p in ("file", "grouped") if isinstance(metrics.get(p), Mapping) and metrics[p].get("per_seed")]
    if not protocols:
        raise ValueError("no protocol of this result has per-seed scores (per_seed): nothing to plot")
    names = list(dict.fromkeys(who for p in protocols for who, _ in cv_models(metrics[p])))
    # at least two panels' width: the models' names (the y labels) need it when one protocol ran
    fig, axes = plt.subplots(1, len(protocols), figsize=(max(9.2, 4.6 * len(protocols)), 0.55 * len(names) + 1.4),
                             sharey=True, sharex=True, squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, p in zip(axes[0], protocols):
        parts = dict(cv_models(metrics[p]))
        for i, who in enumerate(names):
            runs = [r for r in (parts.get(who) or {}).get("per_seed", []) if key in (r.get("metrics") or {})]
            for j, r in enumerate(runs):
                y = i + (j - (len(runs) - 1) / 2) * 0.15
                c = ci(r["metrics"], key)
                if c:
                    ax.plot(c, [y, y], color=colors[i % len(colors)], alpha=0.35, lw=3)
                ax.plot(r["metrics"][key], y, "o", color=colors[i % len(colors)], ms=5)
            if runs:
                ax.plot([np.mean([r["metrics"][key] for r in runs])] * 2, [i - 0.3, i + 0.3], color="k", lw=1.5)
        if paper_value is not None:
            ax.axvline(paper_value, color="k", ls="--", lw=0.8)
            ax.text(paper_value, -0.6, " paper", fontsize=7, va="bottom", ha="right")
        ax.set_title({"file": "file-level folds", "grouped": "duplicate-aware (grouped) folds"}[p])
        ax.set_xlabel(f"{key.replace('_', '-').replace('-f1', '-F1')} per seed (bar: 95 % cluster bootstrap)")
    axes[0][0].set_yticks(range(len(names)), names)
    axes[0][0].set_ylim(len(names) - 0.5, -0.8)
    fig.tight_layout()
    return fig


def plot_arms(res: Mapping[str, Any], key: str = "macro_f1", ax: Any = None, title: str | None = None) -> Any:
    """Ablation arms, one row each: each seed's value (points) and its bootstrap interval (bars); the ``full``
    arm's mean over seeds as a dashed line, so every arm reads against it. Draws on ``ax`` (a new figure
    without one) and returns the figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 0.5 + 0.6 * len(res["arms"])))
    else:
        fig = ax.figure
    arms = list(res["arms"])
    for i, a in enumerate(arms):
        vals = res["arms"][a]["summary"][key]["values"]
        ax.scatter(vals, [i] * len(vals), color="tab:blue", zorder=3)
        for r in res["arms"][a]["runs"]:
            c = ci(r["metrics"], key)
            if c:
                ax.plot(c, [i, i], color="tab:blue", alpha=0.3, lw=4)
    full = (res["arms"].get("full") or {}).get("summary", {}).get(key, {}).get("mean")
    if full is not None:
        ax.axvline(full, color="grey", ls="--", lw=1, label="full, mean over seeds")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(range(len(arms)), arms)
    ax.invert_yaxis()
    ax.set_xlabel(f"{key.replace('_', ' ')} (points: seeds; bars: 95% bootstrap interval)")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_label_efficiency(res: Mapping[str, Any], ax: Any, title: str) -> Any:
    """Macro F1 against the labelled fraction per arm; band: the widest bootstrap interval over seeds."""
    colors = {"pretrained": "tab:blue", "linear_probe": "tab:green", "random_probe": "tab:olive", "scratch": "tab:red"}
    for arm, name in LABEL_EFFICIENCY_ARMS.items():
        if arm not in res["curves"]:
            continue
        xs, ms, lo, hi = [], [], [], []
        for frac in res["fractions"]:
            d = res["curves"][arm].get(str(frac))
            if not d or d["macro_f1"]["mean"] is None:
                continue
            cis = [c for c in d["ci"] if c]
            xs.append(100 * frac)
            ms.append(d["macro_f1"]["mean"])
            lo.append(min(c[0] for c in cis) if cis else ms[-1])
            hi.append(max(c[1] for c in cis) if cis else ms[-1])
        ax.plot(xs, ms, "o-", color=colors[arm], label=name)
        ax.fill_between(xs, lo, hi, color=colors[arm], alpha=0.15)
    ax.set_xscale("log")
    ax.set_xlabel("labelled training pages (%)")
    ax.set_ylabel("macro F1")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax


def plot_learning_curve(points: Sequence[Mapping[str, Any]], ax: Any, title: str = "",
                        keys: Sequence[str] = ("macro_f1", "accuracy", "multilabel.macro_auc")) -> Any:
    """Score against the number of training records: one dot per seed, the mean over seeds as a line
    (a key the points do not carry, e.g. the multi-label AUC of older runs, is left out)."""
    from simcardionet_lite.experiments.report.format import CURVE_NAMES, point_value

    colors = dict(zip(keys, ("tab:blue", "tab:gray", "tab:green")))
    for key in keys:
        by_n: dict[int, list[float]] = {}
        for p in points:
            v = point_value(p, key)
            if v is not None:
                by_n.setdefault(int(p["n_train"]), []).append(float(v))
                ax.plot(p["n_train"], v, "o", color=colors.get(key), alpha=0.45, ms=4)
        ns = sorted(by_n)
        if ns:
            ax.plot(ns, [np.mean(by_n[n]) for n in ns], "-", color=colors.get(key),
                    label=f"{CURVE_NAMES.get(key, key.replace('_', '-'))} (mean)")
    ax.set_xscale("log")
    ax.set_xlabel("training records (log scale)")
    ax.set_ylabel("score on the test fold")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return ax


def plot_overlap(overlap: Mapping[str, Any], ax: Any) -> Any:
    """Histogram of each test page's page-hash distance to its nearest training page, the 'seen' threshold marked."""
    hist = np.asarray(overlap["nearest_distance_hist"])
    ax.bar(np.arange(len(hist)), hist, color="tab:gray", width=1.0)
    ax.axvline(overlap["max_distance"] + 0.5, color="tab:red", ls="--", label="'seen' threshold")
    ax.set_xlabel("page-hash distance to the nearest\ntraining page (bits of 1024; 256 = 256 or more)")
    ax.set_ylabel("test pages")
    ax.legend(fontsize=7)
    return ax


def plot_ood_scores(result: Mapping[str, Any], paper_value: float | None, ax: Any,
                    keys: Sequence[str] = ("accuracy", "macro_f1")) -> Any:
    """Dataset II: each seed's score on all test pages with its 95 % interval, the pixel baseline and the paper."""
    from simcardionet_lite.experiments.report.format import runs_of, value

    runs = runs_of(result)
    for i, key in enumerate(keys):
        for j, r in enumerate(runs):
            for who, m, color, dy in (("network", r.get("metrics"), "tab:blue", -0.12),
                                      ("pixel baseline", r.get("baseline"), "tab:orange", 0.12)):
                v, c = value(m, key), ci(m, key)
                if v is None:
                    continue
                y = i + dy + 0.05 * (j - (len(runs) - 1) / 2)
                if c:
                    ax.plot(c, [y, y], color=color, alpha=0.35, lw=2)
                ax.plot(v, y, "o", color=color, ms=3.5, label=who if (i, j) == (0, 0) else None)
        if paper_value is not None:
            ax.plot(paper_value, i, "D", color="k", ms=5, label="paper" if i == 0 else None)
    ax.set_yticks(range(len(keys)), [k.replace("_", "-").replace("f1", "F1") for k in keys])
    ax.invert_yaxis()
    ax.set_xlabel("score on all test pages\n(each seed, 95 % cluster-bootstrap interval)")
    ax.legend(fontsize=7, loc="lower left")
    return ax


def plot_deletion(faithfulness: Mapping[str, Any], ax: Any) -> Any:
    """Deletion curves: the target's probability as the top-ranked pixels go, Grad-CAM against random maps."""
    f = faithfulness
    ax.plot(f["fractions"], f["curve_cam"], "o-", ms=3, label=f"Grad-CAM (AUC {f['mean_auc_cam']:.3f})")
    ax.plot(f["fractions"], f["curve_random"], "s--", ms=3, label=f"random maps (AUC {f['mean_auc_random']:.3f})")
    ax.set_xlabel("fraction of pixels deleted (highest-ranked first)")
    ax.set_ylabel("probability of the target class")
    ax.legend(fontsize=7)
    return ax


def plot_baselines(studies: Sequence[Mapping[str, Any]], axes: Sequence[Any], target: str = "predicted") -> Any:
    """Grad-CAM against the baseline maps, one marker per seed and map: mean deletion AUC (``axes[0]``,
    lower = more faithful) and mean ROAD score (``axes[1]``, higher = more faithful); a seed's maps are
    joined by a faint line. Studies without baselines are skipped."""
    from simcardionet_lite.experiments.report.tables import MAP_NAMES

    names = list(MAP_NAMES)
    for i, s in enumerate(studies):
        bt = ((s.get("baselines") or {}).get("by_target") or {}).get(target)
        if not bt:
            continue
        have = [k for k in names if k in bt["maps"]]
        xs = [names.index(k) + (i - (len(studies) - 1) / 2) * 0.08 for k in have]
        for ax, key in zip(axes, ("mean_auc", "mean_road"), strict=False):
            ys = [bt["maps"][k].get(key, np.nan) for k in have]
            ax.plot(xs, ys, "-", color=f"C{i}", alpha=0.3, lw=1)
            ax.plot(xs, ys, "o", color=f"C{i}", ms=4, label=f"seed {s.get('seed', i)}")
    for ax, label in zip(axes, ("mean deletion AUC\n(lower = more faithful)", "mean ROAD score\n(higher = more faithful)"),
                         strict=False):
        ax.set_xticks(range(len(names)), [MAP_NAMES[k].replace("'s CAM", "\nCAM") for k in names], fontsize=7)
        ax.set_ylabel(label, fontsize=8)
    axes[0].legend(fontsize=7)
    return axes


def plot_region_ratios(table: Any, ax: Any) -> Any:
    """CAM mass over area per class (rows) and page region (columns), 1 = a uniform map; a diverging map around 1."""
    from matplotlib.colors import TwoSlopeNorm

    vals = np.asarray(table.values, float)
    im = ax.imshow(vals, cmap="RdBu_r", norm=TwoSlopeNorm(vcenter=1.0, vmin=0.0, vmax=max(2.0, float(np.nanmax(vals)))),
                   aspect="auto")
    ax.set_xticks(range(vals.shape[1]), [str(c).replace("II_rhythm", "rhythm") for c in table.columns], rotation=90,
                  fontsize=7)
    ax.set_yticks(range(vals.shape[0]), list(table.index), fontsize=8)
    for i, j in np.ndindex(vals.shape):
        ax.text(j, i, f"{vals[i, j]:.1f}", ha="center", va="center", fontsize=6)
    ax.figure.colorbar(im, ax=ax, fraction=0.04, label="mass / area (1 = uniform)")
    return ax


VERDICT_COLORS = {"holds": "tab:green", "does not hold": "tab:red", "inconclusive": "tab:gray"}


def plot_claims(rows: Sequence[Any]) -> Any:
    """Paper vs ours: per claim row with numbers (``paper_vs_ours.ClaimRow``), the paper's value (black
    diamond) and each seed's score with its 95 % interval (dot and bar, coloured by the row's verdict)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    rows = [r for r in rows if r.units and r.paper is not None]
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(rows) + 1.4))
    for i, r in enumerate(rows):
        color = VERDICT_COLORS.get(r.verdict.verdict, "k")
        offsets = np.linspace(-0.25, 0.25, len(r.units)) if len(r.units) > 1 else [0.0]
        for dy, (_, v, c) in zip(offsets, r.units, strict=True):
            if c:
                ax.plot(c, [i + dy, i + dy], color=color, alpha=0.35, lw=2)
            ax.plot(v, i + dy, "o", color=color, ms=3.5)
        ax.plot(r.paper, i, "D", color="k", ms=5, zorder=4)
        if i and rows[i - 1].group != r.group:
            ax.axhline(i - 0.5, color="0.6", lw=0.6)
    ax.set_yticks(range(len(rows)), [f"{r.claim} · {r.protocol}" for r in rows], fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlabel("score (ours: each seed with its 95 % bootstrap interval)")
    handles = [Line2D([], [], marker="D", color="k", ls="", label="paper")]
    handles += [Line2D([], [], marker="o", color=c, label=f"ours, verdict {v}") for v, c in VERDICT_COLORS.items()]
    ax.legend(handles=handles, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False)
    ax.grid(axis="x", color="0.9")
    fig.tight_layout()
    return fig


__all__ = ["plot_history", "plot_confusions", "plot_arms", "plot_label_efficiency", "plot_learning_curve",
           "plot_claims", "plot_overlap", "plot_ood_scores", "plot_deletion", "plot_baselines", "plot_region_ratios",
           "VERDICT_COLORS"]
