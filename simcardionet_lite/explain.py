"""Grad-CAM maps, per-lead CAM mass and a faithfulness check.

Why a module: the paper says only that its Grad-CAM maps "focus on clinically relevant ECG
regions". That claim has two halves a reader can test: *where* the map puts its mass (which
lead panels of the printed page, against the leads that define each class), and *whether the
map is faithful* (deleting the pixels the map ranks highest should destroy the prediction faster
than deleting the pixels another map ranks highest). This module computes both, with an explicit
target layer (no automatic layer guessing) and one target per image, so every number in the
Grad-CAM chapter is reproducible from the model, the images and the map.

Beating random maps is a weak test: on a printed ECG page deleting the ink destroys any
prediction. :func:`baseline_study` therefore scores the CAM against maps that need no (or not
this) model: random maps, the ink map (:func:`ink_maps`), an untrained network's CAM
(:func:`untrained_cams`) and another seed's trained model's CAM (:func:`other_model_cams`), by
the deletion AUC and by ROAD (pytorch-grad-cam's remove-and-debias metric, :func:`road_scores`),
all through one scorer of any set of maps (:func:`score_maps`).

Conventions: images are ``float32`` ``N x 3 x H x W`` in [0, 1] (the model normalises
internally); CAMs are ``float32`` ``N x H x W`` in [0, 1] (pytorch-grad-cam scales each map
to [0, 1]).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # (y0, x0, y1, x1), pixel coordinates, end exclusive


def gradcam(
    model: nn.Module,
    images: torch.Tensor,
    targets: Sequence[int],
    *,
    target_layer: nn.Module | None = None,
    reshape_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    batch_size: int = 16,
) -> np.ndarray:
    """Grad-CAM maps for ``images``, one class target per image.

    ``target_layer`` defaults to ``model.cam_target_layer`` (the module whose output is the last
    spatial feature map). ``reshape_transform`` is needed when the hooked output is a token
    sequence, e.g. an attention block (``model.cam_reshape_transform`` turns ``N x L x C`` back
    into ``N x C x h x w``). Both are explicit so the chapter can say which layer it explains.
    Returns ``N x H x W`` float32 maps in [0, 1].
    """
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    if images.ndim != 4:
        raise ValueError(f"images must be N x 3 x H x W, got shape {tuple(images.shape)}")
    if len(targets) != len(images):
        raise ValueError(f"one target per image: {len(targets)} targets for {len(images)} images")
    layer = target_layer if target_layer is not None else getattr(model, "cam_target_layer", None)
    if layer is None:
        raise ValueError("no target layer: pass target_layer= or give the model a cam_target_layer")
    # The default layer outputs a spatial map, so no reshape transform is needed for it; a
    # caller hooking a token-output layer (attention) passes the model's transform explicitly.
    was_training = model.training
    model.eval()
    out: list[np.ndarray] = []
    try:
        with GradCAM(model=model, target_layers=[layer], reshape_transform=reshape_transform) as cam:
            for start in range(0, len(images), batch_size):
                x = images[start : start + batch_size].detach().clone().float()
                # The hooked activation must require grad even when the backbone is frozen.
                x.requires_grad_(True)
                tg = [ClassifierOutputTarget(int(t)) for t in targets[start : start + batch_size]]
                out.append(np.asarray(cam(input_tensor=x, targets=tg), dtype=np.float32))
    finally:
        model.train(was_training)
    return np.concatenate(out, axis=0) if out else np.zeros((0, *images.shape[-2:]), np.float32)


def overlay(image: np.ndarray | torch.Tensor, cam: np.ndarray, image_weight: float = 0.55) -> np.ndarray:
    """Heat-map overlay of one CAM on one page, as uint8 ``H x W x 3`` RGB.

    ``image`` is ``3 x H x W`` or ``H x W x 3``, float in [0, 1] or uint8.
    """
    from pytorch_grad_cam.utils.image import show_cam_on_image

    img = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if img.ndim == 3 and img.shape[0] == 3 and img.shape[-1] != 3:
        img = img.transpose(1, 2, 0)
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255.0
    img = np.clip(img.astype(np.float32), 0.0, 1.0)
    if img.shape[:2] != cam.shape:
        raise ValueError(f"image {img.shape[:2]} and CAM {cam.shape} differ in size")
    return show_cam_on_image(img, cam.astype(np.float32), use_rgb=True, image_weight=image_weight)


def lead_attribution(cam: np.ndarray, boxes: Mapping[str, Box]) -> dict[str, float]:
    """Fraction of the CAM's total mass inside each lead panel (plus ``"outside"``).

    Why mass fractions, not peaks: a map can peak in one panel and still spread most of its mass
    over the header text; the fraction answers "which part of the page drives the decision".
    ``cam`` is ``H x W`` or ``N x H x W`` (then the fractions are averaged over images, each image
    weighted equally). Boxes are ``(y0, x0, y1, x1)`` pixel boxes; overlapping boxes (the long
    rhythm strip overlaps nothing on the standard layouts) would be counted in each.
    """
    maps = np.asarray(cam, dtype=np.float64)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3:
        raise ValueError(f"cam must be H x W or N x H x W, got shape {maps.shape}")
    h, w = maps.shape[1:]
    inside = np.zeros((h, w), dtype=bool)
    fracs: dict[str, list[float]] = {lead: [] for lead in boxes}
    fracs["outside"] = []
    for lead, (y0, x0, y1, x1) in boxes.items():
        inside[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)] = True
    for m in maps:
        total = float(m.sum())
        if total <= 0:
            # An all-zero map attributes nothing; spread evenly so the mean is not skewed to 0.
            m = np.ones_like(m)
            total = float(m.sum())
        for lead, (y0, x0, y1, x1) in boxes.items():
            fracs[lead].append(float(m[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)].sum()) / total)
        fracs["outside"].append(float(m[~inside].sum()) / total)
    return {k: float(np.mean(v)) for k, v in fracs.items()}


def lead_mass_by_class(
    cams: np.ndarray, labels: Sequence[int], classes: Sequence[str], boxes: Mapping[str, Box]
) -> dict[str, dict[str, float]]:
    """Mean CAM mass per lead panel for each class: ``{class: {lead: fraction}}``."""
    labels = np.asarray(labels)
    out: dict[str, dict[str, float]] = {}
    for k, name in enumerate(classes):
        sel = labels == k
        if sel.any():
            out[name] = lead_attribution(cams[sel], boxes)
    return out


def region_areas(boxes: Mapping[str, Box], size: tuple[int, int]) -> dict[str, float]:
    """Each lead panel's share of the page area, plus ``"outside"`` (header, footer, margins).

    A uniform map puts exactly these shares of its mass in each region, so they are the
    reference a CAM's mass fractions (:func:`lead_attribution`) are read against.
    """
    h, w = size
    inside = np.zeros((h, w), dtype=bool)
    out: dict[str, float] = {}
    for lead, (y0, x0, y1, x1) in boxes.items():
        out[lead] = max(0, min(h, y1) - max(0, y0)) * max(0, min(w, x1) - max(0, x0)) / float(h * w)
        inside[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)] = True
    out["outside"] = float((~inside).mean())
    return out


def area_normalised(mass: Mapping[str, float], boxes: Mapping[str, Box], size: tuple[int, int]) -> dict[str, float]:
    """Mass per region divided by the region's share of the page area (1.0 = no preference).

    Why: the rhythm strip is four panels wide, so its raw mass share is larger for a uniform map;
    the ratio says whether the model looks at a lead (or at the print outside the panels) *more
    than its area alone* would give. ``"outside"`` is included when ``mass`` has it.
    """
    areas = region_areas(boxes, size)
    return {k: (float(mass.get(k, 0.0)) / a if a > 0 else float("nan")) for k, a in areas.items()
            if k != "outside" or "outside" in mass}


def random_maps(n: int, size: tuple[int, int], rng: np.random.Generator, smooth: int = 0) -> np.ndarray:
    """The random-map baseline for the faithfulness check: ``n x H x W`` uniform maps.

    ``smooth > 0`` box-blurs them (blob-like noise with a CAM's spatial scale), so the baseline
    is not advantaged or penalised by being pixel-wise white noise.
    """
    maps = rng.random((n, *size), dtype=np.float32)
    if smooth > 0:
        import cv2

        k = 2 * smooth + 1
        maps = np.stack([cv2.blur(m, (k, k)) for m in maps]).astype(np.float32)
    return maps


@torch.no_grad()
def deletion_curve(
    model: nn.Module,
    images: torch.Tensor,
    maps: np.ndarray,
    targets: Sequence[int],
    *,
    steps: int = 10,
    fill: str | float = "mean",
    score: str = "prob",
    batch_size: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Deletion curve: the target's score as the top-ranked pixels of each map are removed.

    At step ``k`` of ``steps`` the ``k/steps`` fraction of pixels with the highest map values is
    replaced by ``fill`` (``"mean"``: each image's per-channel mean colour, i.e. blank paper of
    the page's average tint; or a constant in [0, 1]). ``score`` is ``"prob"`` (softmax of the
    target class) or ``"logit"``. Ties in a map are broken by pixel index, so the curve is
    deterministic. A faithful map makes the curve fall fast: a *lower* area under the curve
    (see :func:`curve_auc`) is better.

    Returns ``(fractions (steps+1,), scores N x (steps+1))``.
    """
    if score not in ("prob", "logit"):
        raise ValueError(f"score must be 'prob' or 'logit', got {score!r}")
    n, c, h, w = images.shape
    maps = np.asarray(maps, dtype=np.float64)
    if maps.shape != (n, h, w):
        raise ValueError(f"maps must be {(n, h, w)}, got {maps.shape}")
    from simcardionet_lite.evaluate import infer

    # Rank of every pixel in its map, descending, ties by index (stable sort of -map).
    order = np.argsort(-maps.reshape(n, -1), axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(n)[:, None], order] = np.arange(h * w)[None, :]
    rank_t = torch.from_numpy(rank.reshape(n, h, w))
    if fill == "mean":
        fill_v = images.mean(dim=(2, 3), keepdim=True)
    else:
        fill_v = torch.full((n, c, 1, 1), float(fill), dtype=images.dtype)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    tgt = torch.as_tensor(list(targets), dtype=torch.long)
    scores = np.zeros((n, steps + 1), dtype=np.float64)
    for j, frac in enumerate(fractions):
        k = int(round(frac * h * w))
        mask = (rank_t < k).unsqueeze(1).to(images.dtype)  # 1 where deleted
        logits = infer(model, images * (1 - mask) + fill_v * mask, batch_size=batch_size)
        vals = logits.softmax(dim=1) if score == "prob" else logits
        scores[:, j] = vals[torch.arange(n), tgt].numpy()
    return fractions, scores


def curve_auc(fractions: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Area under each deletion curve (trapezoid rule over the deleted fraction)."""
    scores = np.atleast_2d(scores)
    dx = np.diff(fractions)
    return (dx[None, :] * (scores[:, 1:] + scores[:, :-1]) / 2).sum(axis=1)


def ink_maps(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """The ink baseline: each pixel's darkness, ``1 - grey level`` (grey = mean of the channels), ``N x H x W``.

    No model is involved: deleting the darkest pixels first erases the printed traces (and text) of an
    ECG page, which destroys any classifier's evidence. A CAM that deletes no faster than this map
    has shown only that the model reads the ink, not *which* ink.
    """
    x = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if x.ndim != 4:
        raise ValueError(f"images must be N x C x H x W, got shape {x.shape}")
    return (1.0 - x.astype(np.float32).mean(axis=1)).astype(np.float32)


def untrained_cams(build: Callable[[], nn.Module], images: torch.Tensor, targets: Sequence[int], *,
                   seed: int) -> np.ndarray:
    """The untrained-network baseline: Grad-CAM of a freshly initialised network (``build()``, under
    ``torch.manual_seed(seed)``) for the same targets, at its ``cam_target_layer``.

    A map that depends on the image and the architecture but not on what was learned looks like
    this one (the model-randomisation sanity check); a trained CAM must delete faster to show that
    training, not the input's structure, shaped it. The global RNG state is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build()
    dev = next(iter(net.parameters())).device
    return gradcam(net.eval(), images.to(dev), targets)


def other_model_cams(other: nn.Module, images: torch.Tensor, targets: Sequence[int]) -> np.ndarray:
    """The other-seed baseline: Grad-CAM of another trained model (another seed's) for the same targets.

    It rules out a map that is generic to "a trained network on this task" rather than specific to
    the model being explained. A tie here is no sign of an unfaithful map when both models learned
    the same features; a CAM that loses to it explains its own model worse than another model's map does.
    """
    return gradcam(other, images, targets)


#: ROAD (pytorch-grad-cam, noisy linear imputation) keeps this percentage of pixels at each step, so it
#: removes 30, 20 and 10 % of them: the most relevant first (MoRF) and the least relevant first (LeRF).
#: Three steps, not the library's nine, to keep the study cheap on a CPU (the imputation solves a sparse
#: linear system per page and step, and its cost grows with the share removed).
ROAD_PERCENTILES: tuple[int, ...] = (70, 80, 90)

#: the baselines :func:`baseline_study` builds, with what each one is
BASELINES: dict[str, str] = {
    "random": "random maps (smoothed to a CAM's spatial scale)",
    "ink": "ink map (darkest pixels first, no model)",
    "untrained": "untrained network's CAM (same config, seeded)",
    "other_seed": "another seed's trained model's CAM",
}


def map_ranks(maps: np.ndarray) -> np.ndarray:
    """Each map replaced by its pixels' ranks scaled to [0, 1] (1 = the top pixel), ties broken by pixel
    index as in :func:`deletion_curve`. Same ordering, no ties: a percentile then removes exactly its
    share of pixels even where a CAM is flat (Grad-CAM is exactly 0 over much of a page)."""
    m = np.asarray(maps, dtype=np.float64)
    n, h, w = m.shape
    order = np.argsort(-m.reshape(n, -1), axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(n)[:, None], order] = np.arange(h * w)[None, :]
    return (1.0 - rank / max(1, h * w - 1)).reshape(n, h, w).astype(np.float32)


def road_scores(model: nn.Module, images: torch.Tensor, maps: np.ndarray, targets: Sequence[int], *,
                percentiles: Sequence[int] = ROAD_PERCENTILES, seed: int = 0,
                batch_size: int = 16) -> dict[str, np.ndarray]:
    """ROAD scores per page with pytorch-grad-cam's ``ROADMostRelevantFirstAverage`` and
    ``ROADLeastRelevantFirstAverage`` (noisy linear imputation, Rong et al. 2022).

    The score is the change in the target's softmax probability when a share of pixels is imputed
    from its neighbours, averaged over ``percentiles`` (the percentage *kept*): ``"morf"`` (most
    relevant removed first; more negative = more faithful), ``"lerf"`` (least relevant first; near 0
    = faithful) and ``"combined"`` = (LeRF - MoRF) / 2, the library's ``ROADCombined`` (higher = more
    faithful). Maps enter as their ranks (:func:`map_ranks`). The imputation noise is seeded; the
    global RNG state is left as it was. Returns ``{"morf", "lerf", "combined"}``, each ``(N,)``.
    """
    from pytorch_grad_cam.metrics.road import ROADLeastRelevantFirstAverage, ROADMostRelevantFirstAverage
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    n = len(images)
    maps = np.asarray(maps)
    if maps.shape != (n, *images.shape[-2:]):
        raise ValueError(f"maps must be {(n, *images.shape[-2:])}, got {maps.shape}")
    ranks = map_ranks(maps)
    pct = [int(p) for p in percentiles]
    lerf_m, morf_m = ROADLeastRelevantFirstAverage(pct), ROADMostRelevantFirstAverage(pct)
    dev = next(model.parameters()).device
    was = model.training
    model.eval()
    lerf, morf = [], []
    try:
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            # the library's imputer calls np.argwhere on a torch tensor (numpy 2 deprecation, harmless)
            warnings.filterwarnings("ignore", message="__array_wrap__ must accept context", category=DeprecationWarning)
            torch.manual_seed(seed)
            for start in range(0, n, batch_size):
                x = images[start : start + batch_size].detach().float().to(dev)
                tg = [ClassifierOutputSoftmaxTarget(int(t)) for t in targets[start : start + batch_size]]
                # the order of ROADCombined (LeRF, then MoRF), so the same seed gives its numbers
                lerf.append(np.asarray(lerf_m(x, ranks[start : start + batch_size], tg, model), np.float64))
                morf.append(np.asarray(morf_m(x, ranks[start : start + batch_size], tg, model), np.float64))
    finally:
        model.train(was)
    lo = np.concatenate(lerf) if lerf else np.zeros(0)
    mo = np.concatenate(morf) if morf else np.zeros(0)
    return {"morf": mo, "lerf": lo, "combined": (lo - mo) / 2}


def _score_raw(model: nn.Module, images: torch.Tensor, maps: Mapping[str, np.ndarray], targets: Sequence[int], *,
               steps: int, fill: str | float, score: str, road: Sequence[int] | None,
               seed: int) -> tuple[np.ndarray, dict[str, dict[str, Any]]]:
    """Per map, per page: deletion curve and its AUC, and the ROAD scores (``road`` not None)."""
    raw: dict[str, dict[str, Any]] = {}
    fr = np.linspace(0.0, 1.0, steps + 1)
    for name, m in maps.items():
        fr, s = deletion_curve(model, images, m, targets, steps=steps, fill=fill, score=score)
        raw[name] = {"curves": s, "auc": curve_auc(fr, s)}
        if road is not None:
            raw[name]["road"] = road_scores(model, images, m, targets, percentiles=road, seed=seed)
    return fr, raw


def _summarise(raw: Mapping[str, Mapping[str, Any]], reference: str, rows: np.ndarray | None = None) -> dict[str, Any]:
    """Per map the per-page values (``rows`` of them, all by default) and their means; per other map the
    paired comparison with ``reference``."""
    maps: dict[str, Any] = {}
    for name, e in raw.items():
        sel = slice(None) if rows is None else rows
        auc = np.asarray(e["auc"])[sel]
        m: dict[str, Any] = {"auc": auc.tolist(), "mean_auc": float(auc.mean()) if len(auc) else float("nan"),
                             "curve": np.asarray(e["curves"])[sel].mean(axis=0).tolist()}
        if "road" in e:
            r = {k: np.asarray(v)[sel] for k, v in e["road"].items()}
            m["road"] = {k: v.tolist() for k, v in r.items()}
            m["mean_road"] = float(r["combined"].mean()) if len(r["combined"]) else float("nan")
        maps[name] = m
    ref = maps[reference]
    versus: dict[str, Any] = {}
    for name, e in maps.items():
        if name == reference:
            continue
        v = {"mean_auc_cam": ref["mean_auc"], "mean_auc_baseline": e["mean_auc"],
             "share_cam_auc_below": float((np.asarray(ref["auc"]) < np.asarray(e["auc"])).mean())}
        if "road" in e:
            v.update({"mean_road_cam": ref["mean_road"], "mean_road_baseline": e["mean_road"],
                      "share_cam_road_above": float((np.asarray(ref["road"]["combined"])
                                                     > np.asarray(e["road"]["combined"])).mean())})
        versus[name] = v
    return {"maps": maps, "versus": versus}


def _road_record(road: Sequence[int]) -> dict[str, Any]:
    return {"percentiles_kept": [int(p) for p in road], "removed": [round(1 - int(p) / 100, 4) for p in road],
            "score": "change in the target's softmax probability", "imputer": "noisy linear (pytorch-grad-cam ROAD)",
            "combined": "(LeRF - MoRF) / 2 averaged over the percentiles (ROADCombined); higher = more faithful"}


def score_maps(
    model: nn.Module,
    images: torch.Tensor,
    maps: Mapping[str, np.ndarray],
    targets: Sequence[int],
    *,
    reference: str = "cam",
    steps: int = 10,
    fill: str | float = "mean",
    score: str = "prob",
    road: Sequence[int] | None = ROAD_PERCENTILES,
    seed: int = 0,
) -> dict[str, Any]:
    """The faithfulness of any set of maps for the same images and targets, each against ``reference``.

    Every map is scored on ``model`` (the model being explained, whoever made the map) by its
    deletion curve (:func:`deletion_curve`, area by :func:`curve_auc`; lower = more faithful) and,
    unless ``road`` is None, by ROAD at those percentiles (:func:`road_scores`; higher combined =
    more faithful). Returns, per map (``maps``), the per-page values, their means and the mean
    deletion curve; per other map (``versus``), the means side by side and the *paired* shares: the
    fraction of pages where the reference deletes faster (its AUC below the other's) and where its
    ROAD score is above the other's.
    """
    if reference not in maps:
        raise ValueError(f"reference {reference!r} is not among the maps {sorted(maps)}")
    fr, raw = _score_raw(model, images, maps, targets, steps=steps, fill=fill, score=score, road=road, seed=seed)
    out: dict[str, Any] = {"reference": reference, "n_pages": int(len(images)), "fractions": fr.tolist(),
                           "steps": steps, "fill": fill, "score": score, **_summarise(raw, reference)}
    if road is not None:
        out["road"] = _road_record(road)
    return out


def faithfulness(
    model: nn.Module,
    images: torch.Tensor,
    cams: np.ndarray,
    targets: Sequence[int],
    rng: np.random.Generator,
    *,
    steps: int = 10,
    n_random: int = 1,
    fill: str | float = "mean",
    score: str = "prob",
    smooth: int = 4,
) -> dict[str, Any]:
    """Deletion AUC of the CAMs against random maps on the same images and targets (no ROAD).

    The random-maps-only summary every Grad-CAM result carries (``"faithfulness"``), computed by
    :func:`score_maps`; :func:`baseline_study` sets the CAM against the stronger baselines.
    Returns the per-image AUCs, their means, the mean curves, and ``win_rate``: the fraction of
    images whose CAM deletion AUC is below the random maps' mean AUC (0.5 = no better than
    chance). ``n_random`` random maps are drawn per image and their AUCs averaged.
    """
    size = tuple(images.shape[-2:])
    maps = {"cam": cams, **{f"random{i}": random_maps(len(images), size, rng, smooth=smooth) for i in range(n_random)}}
    res = score_maps(model, images, maps, targets, steps=steps, fill=fill, score=score, road=None)
    cam = res["maps"]["cam"]
    rand = [res["maps"][f"random{i}"] for i in range(n_random)]
    auc_cam = np.asarray(cam["auc"])
    auc_rand = np.mean([r["auc"] for r in rand], axis=0)
    return {
        "fractions": res["fractions"],
        "curve_cam": cam["curve"],
        "curve_random": np.mean([r["curve"] for r in rand], axis=0).tolist(),
        "auc_cam": auc_cam.tolist(),
        "auc_random": auc_rand.tolist(),
        "mean_auc_cam": float(auc_cam.mean()),
        "mean_auc_random": float(auc_rand.mean()),
        "win_rate": float((auc_cam < auc_rand).mean()),
        "steps": steps,
        "fill": fill,
        "score": score,
    }


def baseline_study(
    model: nn.Module,
    images: torch.Tensor,
    targets: Mapping[str, Sequence[int]],
    *,
    primary: str = "predicted",
    untrained: Callable[[], nn.Module] | None = None,
    other: nn.Module | None = None,
    seed: int = 0,
    steps: int = 10,
    fill: str | float = "mean",
    road: Sequence[int] | None = ROAD_PERCENTILES,
    smooth: int = 4,
) -> dict[str, Any]:
    """The CAM of ``model`` against the baselines, for each way of choosing the target (``targets``,
    e.g. ``{"predicted": [...], "true": [...]}``; ``primary`` names the one claims are judged on).

    Baselines (:data:`BASELINES`): ``random`` (:func:`random_maps`, one per page, seeded by ``seed``),
    ``ink`` (:func:`ink_maps`), ``untrained`` (:func:`untrained_cams` of ``untrained()``, torch seed
    ``seed``; skipped when None) and ``other_seed`` (:func:`other_model_cams` of ``other``, skipped
    when None). Every map is scored on ``model`` for the same target by :func:`score_maps`.
    A (page, target) pair shared by two target choices (a correctly classified page) is scored once,
    so both choices see the very same numbers on it. Returns ``{"primary", "targets", "baselines",
    "by_target": {choice: {"n_pages", "maps", "versus"}}}`` (``maps`` and ``versus`` as in :func:`score_maps`,
    ``"cam"`` the reference), plus the deletion and ROAD settings.
    """
    if primary not in targets:
        raise ValueError(f"primary target {primary!r} is not among {sorted(targets)}")
    n = len(images)
    for k, t in targets.items():
        if len(t) != n:
            raise ValueError(f"targets {k!r}: {len(t)} for {n} images")
    pairs = sorted({(i, int(t[i])) for t in targets.values() for i in range(n)})
    page = np.asarray([p for p, _ in pairs], dtype=np.int64)
    tg = [t for _, t in pairs]
    x = images[torch.as_tensor(page)]
    size = tuple(images.shape[-2:])
    rnd = random_maps(n, size, np.random.default_rng(seed), smooth=smooth)
    maps = {"cam": gradcam(model, x, tg), "random": rnd[page], "ink": ink_maps(images)[page]}
    if untrained is not None:
        maps["untrained"] = untrained_cams(untrained, x, tg, seed=seed)
    if other is not None:
        maps["other_seed"] = other_model_cams(other, x, tg)
    fr, raw = _score_raw(model, x, maps, tg, steps=steps, fill=fill, score="prob", road=road, seed=seed)
    index = {p: j for j, p in enumerate(pairs)}
    by_target: dict[str, Any] = {}
    for k, t in targets.items():
        rows = np.asarray([index[(i, int(t[i]))] for i in range(n)], dtype=np.int64)
        by_target[k] = {"n_pages": n, **_summarise(raw, "cam", rows)}
    out: dict[str, Any] = {"primary": primary, "targets": {k: [int(v) for v in t] for k, t in targets.items()},
                           "baselines": [b for b in BASELINES if b in maps], "n_pairs_scored": len(pairs),
                           "fractions": fr.tolist(), "steps": steps, "fill": fill, "score": "prob", "smooth": smooth,
                           "seed": seed, "by_target": by_target}
    if road is not None:
        out["road"] = _road_record(road)
    return out


__all__ = [
    "gradcam",
    "overlay",
    "lead_attribution",
    "lead_mass_by_class",
    "area_normalised",
    "region_areas",
    "random_maps",
    "deletion_curve",
    "curve_auc",
    "faithfulness",
    "ink_maps",
    "untrained_cams",
    "other_model_cams",
    "map_ranks",
    "road_scores",
    "score_maps",
    "baseline_study",
    "ROAD_PERCENTILES",
    "BASELINES",
]
