"""``simcardionet-lite predict IMAGE --checkpoint CKPT [--cam OUT.png]``: classify one ECG page.

Why a command: a clinician-in-training or a researcher should be able to run a trained model on
one scanned page and see *what* it predicts and *where* it looked, without writing code. The
checkpoint carries the model configuration and the class names, so the command builds the
right network by itself, and a checkpoint that does not fit that configuration fails with a
message that says so instead of a tensor-shape traceback.

Checkpoints are the package's one format (:mod:`simcardionet_lite.checkpoint`: write one with
``simcardionet_lite.checkpoint.save_checkpoint(path, model, cfg, classes)``); it is loaded with
``weights_only=True``. The page is read and prepared by the data package's own functions
(``load_image``, ``prepare_page`` with the checkpoint's ``preprocessing``), so a page reaches the
model exactly as in training.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from simcardionet_lite.checkpoint import load_checkpoint, preprocessing_of
from simcardionet_lite.config import Config, load_preset
from simcardionet_lite.errors import DataError, check_writable

log = logging.getLogger(__name__)


def read_page(path: str | Path) -> np.ndarray:
    """Read an image file as uint8 ``H x W x 3`` RGB exactly as the training loaders do
    (:func:`simcardionet_lite.data.datasets.load_image`: transparency composited on white,
    grey/palette/CMYK converted); :class:`DataError` if missing or unreadable."""
    from simcardionet_lite.data.images import check_page_size, load_image

    path = Path(path)
    if not path.is_file():
        raise DataError("image not found", path=path, fix="check the path of the ECG image")
    try:
        page, _mode = load_image(path)
    except DataError as exc:
        cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else "DataError"
        raise DataError(
            f"cannot read the image ({cause})",
            path=path,
            fix="pass a JPEG or PNG scan/photo of an ECG page",
        ) from exc
    check_page_size(page.shape, path)
    return page


def preprocess(page: np.ndarray, preprocessing: Mapping[str, Any] | Config) -> torch.Tensor:
    """Page (uint8 H x W x 3) to the model's input ``1 x 3 x h x w`` in [0, 1].

    ``preprocessing`` is a checkpoint's :attr:`~simcardionet_lite.checkpoint.Checkpoint.preprocessing`
    (or a :class:`Config`, whose :func:`~simcardionet_lite.checkpoint.preprocessing_of` is used);
    the data package's page preparation does the work, so a page is prepared exactly as in training.
    """
    from simcardionet_lite.data.datasets import prepare_page

    spec = preprocessing_of(preprocessing) if isinstance(preprocessing, Config) else preprocessing
    img = prepare_page(page, spec)
    # a copy: the prepared page may be a read-only view, which torch.from_numpy warns about
    return torch.from_numpy(np.array(img, copy=True)).permute(2, 0, 1).float().div(255.0).unsqueeze(0)


def _warn_if_other_page_preparation(preprocessing: Mapping[str, Any], path: str | Path) -> None:
    from simcardionet_lite.data.datasets import DATA_VERSION

    if preprocessing.get("data_version") != DATA_VERSION:
        log.warning("%s was trained on pages prepared by %s; this version prepares them as %s: predictions may shift",
                    path, preprocessing.get("data_version"), DATA_VERSION)


def predict_page(
    page: np.ndarray,
    model: torch.nn.Module,
    preprocessing: Mapping[str, Any] | Config,
    classes: Sequence[str],
    cam: bool = False,
    *,
    shifts: Sequence[float] = (),
    tile_grid: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Class probabilities for one page, and optionally the Grad-CAM of the top class.

    ``preprocessing``: the checkpoint's (or a :class:`Config`), see :func:`preprocess`. ``shifts`` and
    ``tile_grid``: the test-time views the model is scored with (its config's ``eval.tta_shifts``,
    :func:`~simcardionet_lite.evaluate.view_probs`), so the page gets the probabilities ``evaluate``
    would give it; the CAM is of the page itself.
    """
    from simcardionet_lite.evaluate import view_probs

    x = preprocess(page, preprocessing)
    prob = view_probs(model, x, shifts=shifts, tile_grid=tile_grid)[0].numpy()
    top = int(prob.argmax())
    out: dict[str, Any] = {
        "top_class": classes[top],
        "top_probability": float(prob[top]),
        "probabilities": {c: float(p) for c, p in zip(classes, prob)},
        "input": x[0],
    }
    if cam:
        from simcardionet_lite.explain import gradcam

        out["cam"] = gradcam(model, x, [top])[0]
    return out


MAX_OVERLAY_SIDE = 2048  # ours: longest side of a written overlay (px); larger pages are shrunk first


def write_overlay(page: np.ndarray, cam: np.ndarray, path: str | Path) -> Path:
    """Overlay the CAM, upsampled to the page's size (at most ``MAX_OVERLAY_SIDE`` px a side), on
    the whole page and save it as PNG."""
    import cv2
    from PIL import Image

    from simcardionet_lite.explain import overlay

    h, w = page.shape[:2]
    scale = min(1.0, MAX_OVERLAY_SIDE / max(h, w))
    if scale < 1.0:  # a photo of 8000 x 6000 px: an overlay at screen size, not an 18 MB PNG
        h, w = max(1, round(h * scale)), max(1, round(w * scale))
        page = cv2.resize(page, (w, h), interpolation=cv2.INTER_AREA)
    big = cv2.resize(cam.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(overlay(page, np.clip(big, 0, 1))).save(path)
    return path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simcardionet-lite predict",
        description="Classify one ECG image with a trained SimCardioNet checkpoint.",
    )
    p.add_argument("image", help="ECG page image (JPEG/PNG)")
    p.add_argument("--checkpoint", required=True, help="classifier checkpoint (.pt) saved by training")
    p.add_argument("--cam", metavar="OUT.png", help="write a Grad-CAM overlay of the top class here")
    p.add_argument("--preset", help="check that the checkpoint matches this preset's model and input config")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI entry. Returns 0 on success, 2 on a data/checkpoint error (message on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        if args.cam:
            check_writable(args.cam, "--cam")
        expect = load_preset(args.preset) if args.preset else None
        ckpt = load_checkpoint(args.checkpoint, expect=expect)
        page = read_page(args.image)
        _warn_if_other_page_preparation(ckpt.preprocessing, args.checkpoint)
        from simcardionet_lite.evaluate import views_of

        views = views_of(ckpt.config)
        res = predict_page(page, ckpt.model, ckpt.preprocessing, ckpt.classes, cam=bool(args.cam), **views)
        res["test_time_shifts"] = list(views["shifts"])
        if args.cam:
            res["cam_path"] = str(write_overlay(page, res["cam"], args.cam))
    except DataError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    except KeyError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    report = {k: v for k, v in res.items() if k not in ("input", "cam")}
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(f"{report['top_class']}  (p = {report['top_probability']:.3f})\n")
        for c, p in sorted(report["probabilities"].items(), key=lambda kv: -kv[1]):
            sys.stdout.write(f"  {c:<6} {p:.3f}\n")
        if report["test_time_shifts"]:
            sys.stdout.write(f"  (averaged over the page and its {len(report['test_time_shifts'])} shifted views: "
                             "the checkpoint's eval.tta_shifts)\n")
        if "cam_path" in report:
            sys.stdout.write(f"Grad-CAM overlay: {report['cam_path']}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
