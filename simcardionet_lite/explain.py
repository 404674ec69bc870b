"""Grad-CAM maps, per-lead CAM mass and a faithfulness check.

Why a module: the paper says only that its Grad-CAM maps "focus on clinically relevant ECG
regions". That claim has two halves a reader can test: *where* the map puts its mass (which
lead panels of the printed page, against the leads that define each class), and *whether the
map is faithful* (deleting the pixels the map ranks highest should destroy the prediction faster
than deleting random pixels). This module computes both, with an explicit target layer (no
automatic layer guessing) and one target per image, so every number in the Grad-CAM chapter is
reproducible from the model, the images and the map.

Conventions: images are ``float32`` ``N x 3 x H x W`` in [0, 1] (the model normalises
internally); CAMs are ``float32`` ``N x H x W`` in [0, 1] (pytorch-grad-cam scales each map
to [0, 1]).
"""

from __future__ import annotations

import logging
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
    """Deletion AUC of the CAMs against random maps on the same images and targets.

    Returns the per-image AUCs, their means, the mean curves, and ``win_rate``: the fraction of
    images whose CAM deletion AUC is below the random maps' mean AUC (0.5 = no better than
    chance). ``n_random`` random maps are drawn per image and their AUCs averaged.
    """
    fr, s_cam = deletion_curve(model, images, cams, targets, steps=steps, fill=fill, score=score)
    auc_cam = curve_auc(fr, s_cam)
    rand_aucs, rand_curves = [], []
    for _ in range(n_random):
        rm = random_maps(len(images), tuple(images.shape[-2:]), rng, smooth=smooth)
        _, s_r = deletion_curve(model, images, rm, targets, steps=steps, fill=fill, score=score)
        rand_aucs.append(curve_auc(fr, s_r))
        rand_curves.append(s_r)
    auc_rand = np.mean(rand_aucs, axis=0)
    return {
        "fractions": fr.tolist(),
        "curve_cam": s_cam.mean(axis=0).tolist(),
        "curve_random": np.mean(rand_curves, axis=0).mean(axis=0).tolist(),
        "auc_cam": auc_cam.tolist(),
        "auc_random": auc_rand.tolist(),
        "mean_auc_cam": float(auc_cam.mean()),
        "mean_auc_random": float(auc_rand.mean()),
        "win_rate": float((auc_cam < auc_rand).mean()),
        "steps": steps,
        "fill": fill,
        "score": score,
    }


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
]
