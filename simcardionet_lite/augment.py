"""ECG-safe augmentation pipelines (torchvision transforms v2) for pretraining and fine-tuning.

The paper names "small rotations, colour shifts, cropping and flips". An ECG page is not a
natural photo: its x axis is time and its y axis is voltage, the grid is a calibrated ruler,
and the class evidence is in the shape of small waveforms. So (all ours):

* **rotation**: a few degrees only (a skewed scan or phone photo), never large;
* **colour jitter** (brightness/contrast/saturation) and **grid-colour jitter** (a hue shift:
  printers and scanners render the pink/red grid in different tones);
* **random resized crop** with a *high* minimum scale (``crop_scale_min``): SimCLR's aggressive
  crops (scale 0.08) would cut most leads out of the view and make the pair unmatchable;
* **Gaussian blur** and **JPEG re-encoding noise** (photographed and re-uploaded pages);
* **axis scaling** (``scale_jitter``, off by default): time and voltage rescaled independently,
  so heart rate and gain stop identifying a page; measured at 5 % on the smoke pages: pretraining
  trains but the linear probe on its features falls (``benchmarks/ssl_variants.py``);
* **per panel on a lead-panel mosaic** (``data.panels``): the geometric steps (crop, axis
  scaling, shift, rotation) move each panel's trace inside its own tile (:class:`PerTile`), the
  same draw for every tile of a page; applied to the whole mosaic they would slide one lead's
  trace into its neighbour's tile and break the lead identity the network's tokens rely on;
* **horizontal flip off by default** (``hflip_p = 0``): it reverses time, turning a normal
  P-QRS-T into a waveform no heart makes. Set ``hflip_p > 0`` to mimic the paper's "flips".

Pretraining uses the stronger :class:`~simcardionet_lite.config.AugConfig` ``aug_pretrain``,
fine-tuning the milder ``aug_finetune``. All transforms take and return float 3 x H x W in [0, 1].

Randomness: torchvision draws from torch's global generator. :func:`apply_batch` runs a
transform per sample inside ``torch.random.fork_rng`` seeded from a ``torch.Generator`` the
caller owns, so augmentations are per-sample random yet a fixed seed reproduces them exactly
and the global state is untouched.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torchvision.transforms import v2

from simcardionet_lite.config import AugConfig


class JpegNoise(torch.nn.Module):
    """Re-encode a float image as JPEG at a random quality (OpenCV; quality drawn from torch's RNG).

    Why OpenCV: torchvision's image codecs are deprecated (0.29) in favour of TorchCodec.
    """

    def __init__(self, quality: tuple[int, int] = (40, 90)) -> None:
        super().__init__()
        self.quality = (int(quality[0]), int(quality[1]))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        import cv2
        import numpy as np

        q = int(torch.randint(self.quality[0], self.quality[1] + 1, (1,)))
        u8 = (img.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(u8), [cv2.IMWRITE_JPEG_QUALITY, q])
        if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 array
            return img
        out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if out.ndim == 2:
            out = out[:, :, None]
        return torch.from_numpy(out).permute(2, 0, 1).float().div_(255.0)


class AxisScale(torch.nn.Module):
    """Rescale the time (x) and voltage (y) axes independently about the page centre.

    Each factor is drawn log-uniformly in ``[1 / (1 + s), 1 + s]`` from torch's RNG. Why: on an
    ECG page a horizontal stretch is a different heart rate (and wider waves) and a vertical one a
    different gain, two things that identify a recording without saying anything about its class;
    an augmentation that changes them asks the contrastive task to look past them. The page is
    resampled bilinearly; pixels that come in from outside repeat the border (paper colour).
    """

    def __init__(self, s: float) -> None:
        super().__init__()
        if s < 0:
            raise ValueError(f"scale_jitter must be >= 0, got {s}")
        self.s = float(s)

    def factors(self) -> tuple[float, float]:
        lim = math.log1p(self.s)
        fx, fy = (math.exp(float(torch.empty(1).uniform_(-lim, lim))) for _ in range(2))
        return fx, fy

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        fx, fy = self.factors()
        batch = img if img.dim() == 4 else img[None]  # a stack of tiles (PerTile) shares one draw
        theta = torch.tensor([[1.0 / fx, 0.0, 0.0], [0.0, 1.0 / fy, 0.0]], dtype=img.dtype)[None].expand(len(batch), 2, 3)
        grid = torch.nn.functional.affine_grid(theta, list(batch.shape), align_corners=False)
        out = torch.nn.functional.grid_sample(batch, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return out if img.dim() == 4 else out[0]


class PerTile(torch.nn.Module):
    """Apply ``transform`` inside each tile of a ``rows x cols`` mosaic, one random draw for all tiles.

    The tiles are stacked as a batch, which torchvision's v2 transforms treat as one image (the
    same parameters for every tile), then stitched back: every lead panel is shifted (cropped,
    rotated) by the same amount, and no trace crosses a tile border.
    """

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor], grid: tuple[int, int]) -> None:
        super().__init__()
        self.transform = transform
        self.grid = (int(grid[0]), int(grid[1]))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        rows, cols = self.grid
        c, h, w = img.shape
        if h % rows or w % cols:
            raise ValueError(f"a {h} x {w} mosaic does not split into {rows} x {cols} equal tiles")
        th, tw = h // rows, w // cols
        tiles = img.view(c, rows, th, cols, tw).permute(1, 3, 0, 2, 4).reshape(rows * cols, c, th, tw)
        out = self.transform(tiles)
        return out.view(rows, cols, c, th, tw).permute(2, 0, 3, 1, 4).reshape(c, h, w)


def _pipeline(aug: AugConfig, image_size: tuple[int, int], tile_grid: tuple[int, int] | None = None) -> v2.Compose:
    h, w = int(image_size[0]), int(image_size[1])
    if tile_grid is not None:
        h, w = h // int(tile_grid[0]), w // int(tile_grid[1])
    geo: list[torch.nn.Module] = []
    if aug.crop_scale_min < 1.0:
        # ratio kept near the page's own aspect ratio: stretching would change heart rate and voltage scales
        geo.append(v2.RandomResizedCrop((h, w), scale=(aug.crop_scale_min, 1.0), ratio=(0.9 * w / h, 1.1 * w / h), antialias=True))
    if aug.scale_jitter > 0:
        geo.append(AxisScale(aug.scale_jitter))
    if aug.translate_frac > 0:
        # a pure horizontal shift: beats move in time, waveform shapes and the mV scale stay intact
        geo.append(v2.RandomAffine(degrees=0.0, translate=(aug.translate_frac, 0.0), fill=1.0))
    if aug.rotation_deg > 0:
        geo.append(v2.RandomRotation(aug.rotation_deg, fill=1.0))  # white fill: the page background
    steps: list[torch.nn.Module] = []
    if geo and tile_grid is not None:
        steps.append(PerTile(v2.Compose(geo), tile_grid))
    else:
        steps += geo
    if aug.color_jitter > 0 or aug.grid_jitter > 0:
        cj = aug.color_jitter
        steps.append(v2.ColorJitter(brightness=cj, contrast=cj, saturation=cj, hue=min(0.5, aug.grid_jitter)))
    if aug.hflip_p > 0:
        steps.append(v2.RandomHorizontalFlip(aug.hflip_p))
    if aug.blur_p > 0:
        steps.append(v2.RandomApply([v2.GaussianBlur(3, sigma=(0.1, 1.0))], p=aug.blur_p))
    if aug.jpeg_p > 0:
        steps.append(v2.RandomApply([JpegNoise()], p=aug.jpeg_p))
    steps.append(v2.Lambda(lambda t: t.clamp(0.0, 1.0)))
    return v2.Compose(steps)


class TwoViews:
    """Calls one random pipeline twice: ``views(img) -> (view1, view2)`` (SimCLR's positive pair)."""

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.transform = transform

    def __call__(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(img), self.transform(img)

    def __repr__(self) -> str:
        return f"TwoViews({self.transform!r})"


def ssl_views(aug: AugConfig, image_size: tuple[int, int], tile_grid: tuple[int, int] | None = None) -> TwoViews:
    """The pretraining view generator (``aug_pretrain`` strength); ``tile_grid``: the geometry acts per tile (:class:`PerTile`)."""
    return TwoViews(_pipeline(aug, image_size, tile_grid))


def finetune_transform(aug: AugConfig, image_size: tuple[int, int], tile_grid: tuple[int, int] | None = None) -> v2.Compose:
    """The fine-tuning transform (``aug_finetune`` strength); ``tile_grid``: the geometry acts per tile (:class:`PerTile`)."""
    return _pipeline(aug, image_size, tile_grid)


def mosaic_grid(data: Any) -> tuple[int, int] | None:
    """The tile grid the augmentations respect: the lead-panel mosaic's with ``data.panels``, else None."""
    if not getattr(data, "panels", False):
        return None
    from simcardionet_lite.ecg.render import MOSAIC_GRID

    return MOSAIC_GRID


def apply_batch(transform: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Apply ``transform`` to each image of an N x 3 x H x W batch with seeded, per-sample randomness.

    One seed is drawn from ``generator`` for the batch; the global torch RNG is forked, so it is
    neither used nor changed.
    """
    return apply_seeded(transform, images, draw_seed(generator))


def draw_seed(generator: torch.Generator) -> int:
    """One augmentation seed from the caller's generator (the draw every batch of views starts with)."""
    return int(torch.randint(0, 2**62, (1,), generator=generator))


def apply_seeded(transform: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, seed: int) -> torch.Tensor:
    """Apply ``transform`` to each image in turn, torch's RNG seeded once with ``seed`` (forked)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # per-image ops are tiny: thread start-up costs more than it saves
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return torch.stack([transform(img) for img in images])
    finally:
        torch.set_num_threads(threads)


__all__ = ["ssl_views", "finetune_transform", "mosaic_grid", "PerTile", "apply_batch", "apply_seeded", "draw_seed", "TwoViews", "JpegNoise", "AxisScale"]
