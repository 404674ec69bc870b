"""Chapter 08's recipe: each ablation arm on the same grouped hold-out split, seed by seed.

Why paired: every arm sees the same split and seeds, so "below ``full`` in 3 of 3 seeds" is a
statement about the arm, not about which pages it drew. Each arm is a config of its own
(:mod:`~simcardionet_lite.experiments.arms`), recorded with its overrides and config hash; an arm
that changes the data (``crop``) builds its dataset from its own config through the factory.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from simcardionet_lite.config import Config
from simcardionet_lite.data.factory import build_dataset
from simcardionet_lite.data.pages import subset
from simcardionet_lite.evaluate import summarize
from simcardionet_lite.experiments.arms import ARMS, arm_config
from simcardionet_lite.experiments.engine import fit_and_evaluate, pretraining_corpus
from simcardionet_lite.experiments.protocols import holdout_split
from simcardionet_lite.experiments.registry import Outcome, register
from simcardionet_lite.results import to_jsonable

log = logging.getLogger(__name__)


def run_ablation(dataset: Any, cfg: Config, arms: Sequence[str] | None = None, seeds: Sequence[int] | None = None,
                 *, progress: bool = False) -> dict[str, Any]:
    """Each arm (``experiment.ablations``) on one grouped hold-out split per seed (``eval.seeds``)."""
    arms = list(cfg.experiment.ablations if arms is None else arms)
    seeds = list(cfg.eval.seeds if seeds is None else seeds)
    out: dict[str, Any] = {}
    for name in arms:
        acfg = arm_config(cfg, name)
        ds = dataset if acfg.data == cfg.data else build_dataset(acfg.data, seed=cfg.seed)
        runs = []
        for s in seeds:
            tr, te = holdout_split(ds.labels, ds.groups, cfg.eval.folds, s)
            train_ds, test_ds = subset(ds, tr), subset(ds, te)
            r = fit_and_evaluate(acfg, train_ds, test_ds, seed=s, progress=progress,
                                 pretrain_ds=pretraining_corpus(acfg, ds, train_ds))
            runs.append({"seed": s, "metrics": r["metrics"], "pretrain": r["pretrain"]})
            log.info("arm %s seed %d: macro F1 %.3f", name, s, r["metrics"]["macro_f1"])
        out[name] = {"label": ARMS[name].label, "overrides": to_jsonable(dict(ARMS[name].overrides)),
                     "config_hash": acfg.hash(), "runs": runs, "summary": summarize([r["metrics"] for r in runs])}
    return {"variants": arms, "seeds": seeds, "arms": out}


@register("ablations", chapter="08_ablations", title="Dataset I (Mendeley, 4 classes)", real_source="dataset1",
          reads=("data", "model", "loss", "aug_pretrain", "aug_finetune", "pretrain", "finetune", "eval", "experiment"))
def ablations(cfg: Config) -> Outcome:
    """The arms of ``experiment.ablations`` on the Dataset I that ``cfg.data`` selects."""
    ds = build_dataset(cfg.data, seed=cfg.seed)
    res = run_ablation(ds, cfg)
    return Outcome(res, {"pages": ds}, {"dataset": ds})


__all__ = ["run_ablation", "ablations"]
