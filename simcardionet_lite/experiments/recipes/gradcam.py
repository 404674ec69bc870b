"""Chapter 10's recipe: Grad-CAM of the full method on its grouped hold-out test pages.

Why measured rather than shown: a heat map is easy to over-read. The study records (i) where the
CAM mass falls, per lead panel and class, against each panel's share of the page (a map that
ignores the leads gets ratio 1; on synthetic pages the leads that define each class are known),
and (ii) faithfulness: the deletion AUC of the CAMs against random maps on the same pages and
targets, and (``baselines``) against maps that need no model or not this one (the ink map, an
untrained network's CAM, another seed's model's CAM) by the deletion AUC and by ROAD, with the
predicted class as the target and the true class as a second choice. The target layer is explicit
(``model.cam_target_layer``); the attention block's output is measured too, as a second, named
layer choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from simcardionet_lite.config import Config
from simcardionet_lite.data.factory import build_dataset
from simcardionet_lite.data.pages import subset
from simcardionet_lite.evaluate import infer
from simcardionet_lite.experiments.engine import build_model, fit_and_evaluate, pretraining_corpus
from simcardionet_lite.experiments.protocols import holdout_split, pick_per_class
from simcardionet_lite.experiments.registry import Outcome, register


def _defining_leads(by_class: Mapping[str, Mapping[str, float]], areas: Mapping[str, float],
                    label_set: str) -> dict[str, Any]:
    """Per class: CAM mass on the synthetic class's defining leads against their page-area share."""
    from simcardionet_lite.ecg.synth import CLASS_LEADS

    out: dict[str, Any] = {}
    for c, mass in by_class.items():
        leads = CLASS_LEADS.get(label_set, {}).get(c, ())
        if not leads:
            out[c] = {"leads": [], "mass": None, "area": None, "ratio": None}
            continue
        m = float(sum(mass[lead] for lead in leads))
        a = float(sum(areas[lead] for lead in leads))
        out[c] = {"leads": list(leads), "mass": m, "area": a, "ratio": m / a if a else None}
    return out


def _attention_study(model: torch.nn.Module, images: torch.Tensor, targets: list[int], classes: Any, boxes: Any,
                     cfg: Config, seed: int) -> dict[str, Any] | None:
    """The same measurement with the attention block's token output hooked (reshaped back to the grid)."""
    from simcardionet_lite import explain

    att = getattr(model, "attention", None)
    if att is None:
        return None
    names = {m: n for n, m in model.named_modules()}
    cams = explain.gradcam(model, images, targets, target_layer=att, reshape_transform=model.cam_reshape_transform)
    return {"target_layer": f"{names.get(att, '?')} ({type(att).__name__})",
            "lead_mass_by_class": explain.lead_mass_by_class(cams, targets, classes, boxes),
            "faithfulness": explain.faithfulness(model, images, cams, targets, np.random.default_rng(seed + 1),
                                                 steps=cfg.experiment.deletion_steps)}


def run_gradcam(model: torch.nn.Module, ds: Any, cfg: Config, *, seed: int = 0,
                other: torch.nn.Module | None = None, other_seed: int | None = None) -> dict[str, Any]:
    """Grad-CAM on ``experiment.gradcam_per_class`` pages per class of ``ds``.

    The lead-mass study and ``faithfulness`` (against random maps) use the CAM of the true class
    (``cam_target``); ``baselines`` (:func:`explain.baseline_study`) sets the CAM against the random,
    ink, untrained-network and, given ``other`` (the model of seed ``other_seed``), other-seed maps,
    with the predicted class as the target claims are judged on and the true class beside it.
    Returns JSON-ready results plus, under ``"_arrays"``, the pages, CAMs, targets and
    predictions for plotting.
    """
    from simcardionet_lite import explain
    from simcardionet_lite.ecg.render import lead_boxes

    pos = pick_per_class(np.asarray(ds.labels), cfg.experiment.gradcam_per_class, seed)
    images = torch.stack([ds[int(i)][0] for i in pos])
    targets = [int(ds.labels[i]) for i in pos]
    probs = infer(model.eval(), images).softmax(dim=1).numpy()
    cams = explain.gradcam(model, images, targets)
    size = tuple(images.shape[-2:])
    boxes = lead_boxes(cfg.data.style, size, panels=cfg.data.panels)
    by_class = explain.lead_mass_by_class(cams, targets, ds.classes, boxes)
    areas = explain.region_areas(boxes, size)
    layer = model.cam_target_layer
    names = {m: n for n, m in model.named_modules()}
    return {
        "target_layer": f"{names.get(layer, '?')} ({type(layer).__name__})",
        "reshape_transform": False,  # the main layer outputs a spatial map; only the attention hook reshapes
        "chance_accuracy": 1.0 / len(ds.classes),
        "probability_spread": float(np.ptp(probs, axis=0).mean()),
        "n_pages": int(len(pos)),
        "accuracy_on_pages": float((probs.argmax(1) == np.asarray(targets)).mean()),
        "lead_mass_by_class": by_class,
        "panel_area": areas,  # a uniform map's mass per region
        "defining_leads": _defining_leads(by_class, areas, cfg.data.label_set),
        "cam_target": "true class",
        "faithfulness": explain.faithfulness(model, images, cams, targets, np.random.default_rng(seed),
                                             steps=cfg.experiment.deletion_steps),
        "baselines": {**explain.baseline_study(
            model, images, {"predicted": [int(p) for p in probs.argmax(1)], "true": targets}, primary="predicted",
            untrained=lambda: build_model(cfg, len(ds.classes)), other=other, seed=seed,
            steps=cfg.experiment.deletion_steps), "other_seed": other_seed if other is not None else None,
            # fit_and_evaluate seeds torch with the run's seed right before it builds the network
            "untrained_init": f"build_model under torch seed {seed}: the weights this seed's model started from"},
        "attention_layer": _attention_study(model, images, targets, ds.classes, boxes, cfg, seed),
        "_arrays": {"images": images.numpy(), "cams": cams, "targets": np.asarray(targets),
                    "pred": probs.argmax(1), "ids": [ds.ids[int(i)] for i in pos]},
    }


@register("gradcam", chapter="10_gradcam", title="Dataset I (Mendeley, 4 classes)", real_source="dataset1",
          reads=("data", "model", "loss", "aug_pretrain", "aug_finetune", "pretrain", "finetune", "eval", "experiment"))
def gradcam_recipe(cfg: Config) -> Outcome:
    """Per seed: the full method on the grouped hold-out split, then the Grad-CAM study of its test pages.

    All seeds train first, so that seed ``seeds[i]``'s pages are also explained by the model of
    ``seeds[(i + 1) % n]`` (the other-seed baseline; none with a single seed).
    """
    ds = build_dataset(cfg.data, seed=cfg.seed)
    seeds = list(cfg.eval.seeds)
    runs, models, arrays, tests, fits = [], {}, {}, {}, {}
    for s in seeds:
        tr, te = holdout_split(ds.labels, ds.groups, cfg.eval.folds, s)
        train_ds, tests[s] = subset(ds, tr), subset(ds, te)
        fits[s] = fit_and_evaluate(cfg, train_ds, tests[s], seed=s, return_model=True,
                                   pretrain_ds=pretraining_corpus(cfg, ds, train_ds))
        models[s] = fits[s].pop("model")
    for i, s in enumerate(seeds):
        o = seeds[(i + 1) % len(seeds)] if len(seeds) > 1 else None
        study = run_gradcam(models[s], tests[s], cfg, seed=s, other=models[o] if o is not None else None, other_seed=o)
        arrays[s] = study.pop("_arrays")
        runs.append({"seed": s, "holdout_metrics": fits[s]["metrics"], "n_test": len(tests[s]),
                     "pretrain": fits[s]["pretrain"], **study})
    return Outcome({"seeds": seeds, "runs": runs}, {"pages": ds},
                   {"dataset": ds, "models": models, "arrays": arrays, "test_sets": tests},
                   models={f"seed{s}": (m, cfg, tuple(ds.classes)) for s, m in models.items()})


__all__ = ["run_gradcam", "gradcam_recipe"]
