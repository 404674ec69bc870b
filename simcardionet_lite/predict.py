"""``simcardionet-lite predict IMAGE --checkpoint CKPT [--cam OUT.png]``: classify one ECG page.

Why a command: a clinician-in-training or a researcher should be able to run a trained model on
one scanned page and see *what* it predicts and *where* it looked, without writing code. The
checkpoint carries the model configuration and the class names, so the command builds the
right network by itself, and a checkpoint that does not fit that configuration fails with a
message that says so instead of a tensor-shape traceback.

Checkpoint format (``save_checkpoint``): a ``torch.save`` dict with ``format``, ``config``
(``Config.to_dict()``), ``classes`` and ``model`` (state dict); it is loaded with
``weights_only=True``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simcardionet_lite.config import Config, load_preset
from simcardionet_lite.errors import DataError

log = logging.getLogger(__name__)

FORMAT = "simcardionet-lite/classifier-v1"


def save_checkpoint(path: str | Path, model: torch.nn.Module, cfg: Config, classes: tuple[str, ...] | list[str]) -> Path:
    """Write a classifier checkpoint that :func:`load_checkpoint` and the CLI understand."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"format": FORMAT, "config": cfg.to_dict(), "classes": list(classes), "model": model.state_dict()}, path
    )
    return path


def load_checkpoint(path: str | Path, expect: Config | None = None) -> tuple[torch.nn.Module, Config, tuple[str, ...]]:
    """Build the model a checkpoint describes and load its weights.

    Raises :class:`DataError` for a missing file, a file that is not a simcardionet-lite
    classifier checkpoint, a checkpoint whose weights do not fit its stored configuration, or
    (when ``expect`` is given) a checkpoint trained with another model or input configuration.
    """
    from simcardionet_lite.model.backbone import SimCardioNet

    path = Path(path)
    if not path.is_file():
        raise DataError("checkpoint not found", path=path, fix="pass the path of a .pt file written by training")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not our checkpoint"
        raise DataError(
            f"cannot read the checkpoint ({type(exc).__name__}: {exc})",
            path=path,
            fix="pass a checkpoint saved by simcardionet-lite (torch.save of a dict of tensors)",
        ) from exc
    if not isinstance(state, dict) or "config" not in state or "classes" not in state or "model" not in state:
        raise DataError(
            "not a simcardionet-lite classifier checkpoint (it lacks config, classes or model)",
            path=path,
            fix="save checkpoints with simcardionet_lite.predict.save_checkpoint",
        )
    try:
        cfg = Config.from_dict(state["config"])
    except (KeyError, TypeError) as exc:
        raise DataError(
            f"the checkpoint's configuration is not one this version understands: {exc}",
            path=path,
            fix="re-export the checkpoint with this version of simcardionet-lite",
        ) from exc
    classes = tuple(state["classes"])
    if expect is not None:
        diffs = config_differences(expect, cfg)
        if diffs:
            raise DataError(
                "checkpoint of another configuration: " + "; ".join(diffs),
                path=path,
                fix="use the preset/overrides the checkpoint was trained with, or omit --preset",
            )
    model = SimCardioNet(cfg.model, len(classes))
    try:
        model.load_state_dict(state["model"], strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0:3]
        raise DataError(
            "checkpoint of another configuration: its weights do not fit the model its config describes ("
            + " ".join(first)
            + ")",
            path=path,
            fix="the file was edited or saved with another model config; retrain or re-export it",
        ) from exc
    model.eval()
    return model, cfg, classes


def config_differences(expect: Config, got: Config) -> list[str]:
    """Human-readable differences in the model section and the input geometry."""
    diffs: list[str] = []
    e, g = expect.to_dict(), got.to_dict()
    for k in e["model"]:
        if e["model"][k] != g["model"].get(k):
            diffs.append(f"model.{k} is {g['model'].get(k)} in the checkpoint, {e['model'][k]} requested")
    for k in ("image_size", "crop_header_footer", "grayscale", "label_set"):
        if e["data"][k] != g["data"].get(k):
            diffs.append(f"data.{k} is {g['data'].get(k)} in the checkpoint, {e['data'][k]} requested")
    return diffs


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as uint8 ``H x W x 3`` RGB; :class:`DataError` if missing or unreadable."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataError("image not found", path=path, fix="check the path of the ECG image")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(
            f"cannot read the image ({type(exc).__name__})",
            path=path,
            fix="pass a JPEG or PNG scan/photo of an ECG page",
        ) from exc


def preprocess(page: np.ndarray, cfg: Config) -> torch.Tensor:
    """Page (uint8 H x W x 3) to the model's input ``1 x 3 x h x w`` in [0, 1].

    Uses the data package's page preparation (header/footer crop and resize), so a page is
    prepared exactly as in training.
    """
    from simcardionet_lite.data.datasets import prepare_page

    img = prepare_page(page, cfg.data)
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float().div(255.0).unsqueeze(0)


def predict_page(
    page: np.ndarray, model: torch.nn.Module, cfg: Config, classes: tuple[str, ...], cam: bool = False
) -> dict[str, Any]:
    """Class probabilities for one page, and optionally the Grad-CAM of the top class."""
    x = preprocess(page, cfg)
    with torch.no_grad():
        prob = model(x).softmax(dim=1)[0].numpy()
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


def write_overlay(page: np.ndarray, cam: np.ndarray, path: str | Path) -> Path:
    """Overlay the CAM, upsampled to the page's size, on the whole page and save it as PNG."""
    import cv2
    from PIL import Image

    from simcardionet_lite.explain import overlay

    h, w = page.shape[:2]
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
        expect = load_preset(args.preset) if args.preset else None
        model, cfg, classes = load_checkpoint(args.checkpoint, expect=expect)
        page = load_image(args.image)
        res = predict_page(page, model, cfg, classes, cam=bool(args.cam))
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
        if "cam_path" in report:
            sys.stdout.write(f"Grad-CAM overlay: {report['cam_path']}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
