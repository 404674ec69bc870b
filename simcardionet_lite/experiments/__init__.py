"""The paper's experiments (and the ones its claims call for), as registered recipes.

Map (one concept per module):

* :mod:`.registry`: :class:`Recipe`, :func:`register`, :func:`run_recipe` (runs a recipe over
  ``eval.seeds`` and publishes ``results/<chapter>/<source>-<tag>/metrics.json``);
* :mod:`.recipes`: one module per results chapter (``dataset1`` 05, ``dataset2`` 06, ``ptbxl`` 07,
  ``ablations`` 08, ``label_efficiency`` 09, ``gradcam`` 10), each registering itself;
* :mod:`.protocols`: file-level and duplicate-cluster CV, hold-out, official PTB-XL folds,
  validation and label subsets;
* :mod:`.arms`: the compared variants as pure config overrides (``finetune.init`` and friends);
* :mod:`.engine`: build, pretrain (cached encoder), fine-tune, score, pixel baseline;
* :mod:`.report`: banners, tables, readings, figures and paper-vs-ours, read from result dicts.

A chapter does::

    from simcardionet_lite import experiments as ex
    recipe = ex.get("dataset1_cv")
    cfg = recipe.config(preset, data_root=data_root, overrides=overrides)
    result = ex.run_recipe(recipe, cfg, results_dir=results_dir)

and ``simcardionet-lite run dataset1_cv`` or ``reproduce --chapter 05`` run the same entry.
Choices that are ours (the paper does not state them) are config fields marked ``ours``.
"""

from __future__ import annotations

from simcardionet_lite.data.pages import SubsetView, subset
from simcardionet_lite.experiments.arms import ARMS, LABEL_EFFICIENCY_ARMS, Arm, arm_config, uses_pretraining
from simcardionet_lite.experiments.engine import (baseline_cv, baseline_metrics, build_model, data_identity, encoder_key,
                                                  fit_and_evaluate, fit_val_positions, pretrained_encoder,
                                                  pretraining_corpus, score, distinct_pages)
from simcardionet_lite.experiments.protocols import (cv_splits, first_per_group, holdout_split, label_subset, leakage,
                                                     official_fold_split, pick_per_class, train_val_split)
from simcardionet_lite.experiments.registry import (Outcome, Recipe, Result, all_recipes, for_chapter, get, register,
                                                    results_dir_for, results_tag, run_recipe)
from simcardionet_lite.experiments.report.banner import (Banner, banner, committed_notes, committed_runs,
                                                         corpus_note, data_kind, run_description)
from simcardionet_lite.experiments.report.committed import (committed_cv_table, committed_ood_table,
                                                            committed_ptbxl_table)
from simcardionet_lite.experiments.report.glance import Glance, at_a_glance, claims_at_a_glance
from simcardionet_lite.experiments.report.format import TABLE_KEYS, ci, fmt, fmt_ci, fmt_ms, fmt_runs, runs_of, value
from simcardionet_lite.experiments.report.findings import (ablation_findings, across_runs_reading, dataset1_findings,
                                                         dataset2_findings, gradcam_findings, label_efficiency_findings,
                                                         ptbxl_findings)
from simcardionet_lite.experiments.report.paper_vs_ours import paper_vs_ours
from simcardionet_lite.experiments.report.verdicts import Verdict, baseline_verdicts, comparison_verdict, value_verdict
from simcardionet_lite.experiments.report.readings import ablation_reading, label_efficiency_reading
from simcardionet_lite.experiments.report.tables import (arms_table, counts_table, cv_table, gradcam_baseline_table,
                                                         gradcam_region_table, label_efficiency_table, metrics_table,
                                                         per_class_table, protocols_table, seeds_table)

__all__ = [
    "SubsetView", "subset",
    "ARMS", "LABEL_EFFICIENCY_ARMS", "Arm", "arm_config", "uses_pretraining",
    "baseline_cv", "baseline_metrics", "build_model", "data_identity", "encoder_key", "fit_and_evaluate", "fit_val_positions", "pretrained_encoder",
    "pretraining_corpus", "score", "distinct_pages",
    "cv_splits", "holdout_split", "label_subset", "leakage", "official_fold_split", "pick_per_class", "train_val_split",
    "first_per_group",
    "Outcome", "Recipe", "Result", "all_recipes", "for_chapter", "get", "register", "results_dir_for", "results_tag",
    "run_recipe",
    "Glance", "at_a_glance", "claims_at_a_glance",
    "Banner", "banner", "committed_notes", "committed_runs", "corpus_note", "data_kind", "run_description",
    "committed_cv_table", "committed_ood_table", "committed_ptbxl_table",
    "TABLE_KEYS", "ci", "fmt", "fmt_ci", "fmt_ms", "fmt_runs", "runs_of", "value",
    "paper_vs_ours", "ablation_reading", "label_efficiency_reading", "ablation_findings", "across_runs_reading",
    "dataset1_findings", "dataset2_findings", "gradcam_findings", "label_efficiency_findings", "ptbxl_findings",
    "Verdict", "baseline_verdicts", "comparison_verdict", "value_verdict",
    "arms_table", "counts_table", "cv_table", "gradcam_baseline_table", "gradcam_region_table", "label_efficiency_table",
    "metrics_table", "per_class_table", "protocols_table", "seeds_table",
]
