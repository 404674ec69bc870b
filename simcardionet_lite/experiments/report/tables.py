"""The chapters' tables, as pandas DataFrames built from result dicts (fresh or committed).

Why functions: each table appears for the chapter's own run and again for every committed run,
so it is written once; cells come from the result dicts, never typed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simcardionet_lite.experiments.arms import LABEL_EFFICIENCY_ARMS
from simcardionet_lite.experiments.report.format import TABLE_KEYS, ci, fmt, fmt_ci, fmt_ms, value


def counts_table(named: Mapping[str, Any], duplicates: bool = False) -> Any:
    """Items per class of each named dataset (columns), with a total row; ``duplicates`` adds
    the number of distinct duplicate clusters per class of the first dataset."""
    import pandas as pd

    first = next(iter(named.values()))
    classes = list(first.classes)
    cols = {name: [ds.class_counts()[c] for c in classes] for name, ds in named.items()}
    if duplicates:
        g, y = np.asarray(first.groups), np.asarray(first.labels)
        cols["unique (duplicate clusters)"] = [len(np.unique(g[y == k])) for k in range(len(classes))]
    df = pd.DataFrame(cols, index=classes)
    df.loc["total"] = df.sum()
    return df


def cv_table(res: Mapping[str, Any]) -> Any:
    """Per-fold rows (with their seed) and the mean ± SD row of a CV result."""
    import pandas as pd

    rows = []
    for f in res["folds"]:
        name = f"fold {f['fold'] + 1}" if "seed" not in f else f"seed {f['seed']}, fold {f['fold'] + 1}"
        row = {"fold": name, "n test": f["n_test"], "test groups also in train": f["test_groups_seen_in_train"]}
        row.update({lab: fmt(value(f["metrics"], k)) for k, lab in TABLE_KEYS.items()})
        rows.append(row)
    mean = {"fold": "mean ± SD", "n test": "", "test groups also in train": ""}
    mean.update({lab: fmt_ms(res["summary"], k) for k, lab in TABLE_KEYS.items()})
    rows.append(mean)
    if "baseline" in res:
        b = {"fold": "pixel baseline, mean ± SD", "n test": "", "test groups also in train": ""}
        b.update({lab: fmt_ms(res["baseline"]["summary"], k) for k, lab in TABLE_KEYS.items()})
        rows.append(b)
    return pd.DataFrame(rows).set_index("fold")


def cv_models(res: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(name, part)`` of every model a CV result holds: the method, the pixel baseline, each arm."""
    out: list[tuple[str, Mapping[str, Any]]] = [("SimCardioNet (ours)", res)]
    if "baseline" in res:
        out.append(("pixel baseline", res["baseline"]))
    for name, arm in (res.get("arms") or {}).items():
        out.append((arm.get("label", name), arm))
    return out


def protocols_table(results: Mapping[str, Mapping[str, Any]]) -> Any:
    """Both protocols, the network beside the pixel baseline (and any arms), mean ± SD over folds and seeds."""
    import pandas as pd

    rows = []
    for protocol, res in results.items():
        for who, part in cv_models(res):
            rows.append({"protocol": protocol, "model": who,
                         **{lab: fmt_ms(part["summary"], k) for k, lab in TABLE_KEYS.items()}})
    return pd.DataFrame(rows).set_index(["protocol", "model"])


def seeds_table(results: Mapping[str, Mapping[str, Any]], key: str = "macro_f1") -> Any:
    """Per protocol and model: each seed's pooled held-out score with its cluster-bootstrap interval,
    then the mean ± SD over seeds (results written before per-seed pooling show n/a)."""
    import pandas as pd

    rows = []
    for protocol, res in results.items():
        for who, part in cv_models(res):
            row: dict[str, Any] = {"protocol": protocol, "model": who}
            for r in part.get("per_seed", []):
                row[f"seed {r['seed']}"] = fmt_ci(r["metrics"], key)
            row["mean ± SD over seeds"] = fmt_ms(part.get("seed_summary"), key)
            rows.append(row)
    return pd.DataFrame(rows).set_index(["protocol", "model"])


def metrics_table(named: Mapping[str, Mapping[str, Any] | None]) -> Any:
    """One row per named metrics dict, each metric with its bootstrap interval."""
    import pandas as pd

    rows = [{"": name, **{lab: fmt_ci(m, k) for k, lab in TABLE_KEYS.items()}} for name, m in named.items()]
    return pd.DataFrame(rows).set_index("")


def arms_table(res: Mapping[str, Any], keys: Sequence[str] = ("accuracy", "macro_f1", "weighted_f1")) -> Any:
    """Ablation arms: mean ± SD over seeds, with the per-seed bootstrap intervals."""
    import pandas as pd

    rows = []
    for v, arm in res["arms"].items():
        row = {"arm": v, "what": arm["label"], "seeds": len(arm["runs"])}
        for k in keys:
            row[TABLE_KEYS[k]] = fmt_ms(arm["summary"], k)
            cis = [ci(r["metrics"], k) for r in arm["runs"]]
            row[TABLE_KEYS[k] + " 95% CI per seed"] = "; ".join(f"[{c[0]:.2f}, {c[1]:.2f}]" for c in cis if c) or "n/a"
        rows.append(row)
    return pd.DataFrame(rows).set_index("arm")


def per_class_table(metrics: Mapping[str, Any]) -> Any:
    """Per-class precision, recall, F1 and support from a metrics dict's per-class report."""
    import pandas as pd

    rep = metrics.get("per_class") or metrics.get("report") or {}
    rows = [{"class": c, **{k: (round(float(v), 3) if isinstance(v, (int, float)) else v) for k, v in d.items()}}
            for c, d in rep.items() if isinstance(d, Mapping)]
    return pd.DataFrame(rows).set_index("class") if rows else pd.DataFrame()


def label_efficiency_table(res: Mapping[str, Any]) -> Any:
    """Macro F1 (mean ± SD over seeds) per labelled fraction and arm, with the label counts."""
    import pandas as pd

    rows = []
    for frac in res["fractions"]:
        n = sorted({r["n_labels"] for r in res["rows"] if r["fraction"] == frac})
        row = {"labels (%)": f"{100 * frac:g}", "labelled pages": ", ".join(map(str, n))}
        for arm, name in LABEL_EFFICIENCY_ARMS.items():
            if arm in res["curves"]:  # runs committed before an arm existed lack it
                row[f"{name}: macro F1"] = fmt_ms(res["curves"][arm].get(str(frac)), "macro_f1")
        rows.append(row)
    return pd.DataFrame(rows).set_index("labels (%)")


def gradcam_region_table(study: Mapping[str, Any]) -> Any:
    """CAM mass over area per class and region (1 = no preference; ``outside`` = header, footer, margins).

    Runs published before ``panel_area`` was recorded show the raw mass fractions instead.
    """
    import pandas as pd

    mass = pd.DataFrame(study["lead_mass_by_class"]).T
    area = study.get("panel_area")
    if not area:
        return mass
    return mass.div(pd.Series(area)[mass.columns], axis=1)


#: the maps of a Grad-CAM baseline study (``explain.baseline_study``) as tables and figures name them
MAP_NAMES = {"cam": "Grad-CAM", "random": "random maps", "ink": "ink map", "untrained": "untrained network's CAM",
             "other_seed": "other seed's CAM"}


def gradcam_baseline_table(studies: Sequence[Mapping[str, Any]], target: str = "predicted") -> Any:
    """The CAM against each baseline map, one row per seed and map: mean deletion AUC (lower = more
    faithful), mean ROAD score (higher = more faithful) and, for a baseline, the paired shares of pages
    where the CAM is ahead. None when no study records the baselines (a run that predates them)."""
    import pandas as pd

    rows = []
    for i, s in enumerate(studies):
        bt = ((s.get("baselines") or {}).get("by_target") or {}).get(target)
        if not bt:
            continue
        for name, m in bt["maps"].items():
            v = bt["versus"].get(name) or {}
            rows.append({"seed": s.get("seed", i), "map": MAP_NAMES.get(name, name),
                         "deletion AUC": m["mean_auc"],
                         "CAM's AUC lower (pages)": v.get("share_cam_auc_below", np.nan),
                         "ROAD": m.get("mean_road", np.nan),
                         "CAM's ROAD higher (pages)": v.get("share_cam_road_above", np.nan)})
    return pd.DataFrame(rows).set_index(["seed", "map"]) if rows else None


__all__ = ["counts_table", "cv_table", "protocols_table", "metrics_table", "arms_table", "per_class_table",
           "label_efficiency_table", "gradcam_region_table", "gradcam_baseline_table", "MAP_NAMES"]
