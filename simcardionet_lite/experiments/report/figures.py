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


def plot_arms(res: Mapping[str, Any], key: str = "macro_f1") -> Any:
    """Ablation arms: each seed's value (points) and its bootstrap interval (bars)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    arms = list(res["arms"])
    for i, a in enumerate(arms):
        vals = res["arms"][a]["summary"][key]["values"]
        ax.scatter(vals, [i] * len(vals), color="tab:blue", zorder=3)
        for r in res["arms"][a]["runs"]:
            c = ci(r["metrics"], key)
            if c:
                ax.plot(c, [i, i], color="tab:blue", alpha=0.3, lw=4)
    ax.set_yticks(range(len(arms)), arms)
    ax.invert_yaxis()
    ax.set_xlabel(f"{key.replace('_', ' ')} (points: seeds; bars: 95% bootstrap interval)")
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
                        keys: Sequence[str] = ("macro_f1", "accuracy")) -> Any:
    """Score against the number of training records: one dot per seed, the mean over seeds as a line."""
    from simcardionet_lite.evaluate import metric_value

    colors = dict(zip(keys, ("tab:blue", "tab:gray", "tab:green")))
    for key in keys:
        by_n: dict[int, list[float]] = {}
        for p in points:
            v = metric_value(p["metrics"], key)
            if v is not None:
                by_n.setdefault(int(p["n_train"]), []).append(float(v))
                ax.plot(p["n_train"], v, "o", color=colors.get(key), alpha=0.45, ms=4)
        ns = sorted(by_n)
        ax.plot(ns, [np.mean(by_n[n]) for n in ns], "-", color=colors.get(key), label=f"{key.replace('_', '-')} (mean)")
    ax.set_xscale("log")
    ax.set_xlabel("training records (log scale)")
    ax.set_ylabel("score on the test fold")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return ax


__all__ = ["plot_history", "plot_confusions", "plot_arms", "plot_label_efficiency", "plot_learning_curve"]
