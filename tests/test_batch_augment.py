"""The batched augmentations (device pipeline) against the per-image reference, step by step.

Each test draws parameters with :meth:`BatchAugment.draw`, applies the batched op, and applies
torchvision's functional op (or the package's per-image module) to each image with the same
parameters. Tolerances, stated per step:

* rotation, shift: 1e-5 on every pixel the reference does not blend with the white fill (the
  one-pixel rim where the page leaves the frame: torchvision weights the fill there by the
  coverage twice, we once);
* crop-and-resize: 1e-5 away from a 2-pixel rim of the unit (there the batched warp reads one
  pixel beyond the crop box where torchvision clamps to it);
* axis scaling (stretching), colour, blur: 1e-5 everywhere;
* composed geometry (one warp) against the four per-image steps in turn: the ink's centroid within
  0.5 px;
* JPEG: the torch stand-in against OpenCV's encoder and decoder at the same quality, mean
  absolute difference under 1.5 grey levels (measured 0.1-1.1 over qualities 40-90, where JPEG
  itself changes a page by 7-13; the rest is libjpeg's integer DCT deciding other coefficients at
  a quantisation boundary) and under 15 % of JPEG's own change, which it matches within 10 %.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from simcardionet_lite.augment import AxisScale, PerTile
from simcardionet_lite.batch_augment import SLOTS, BatchAugment, ViewParams, jpeg_roundtrip
from simcardionet_lite.config import AugConfig

OFF = dict(rotation_deg=0.0, crop_scale_min=1.0, color_jitter=0.0, grid_jitter=0.0, blur_p=0.0, jpeg_p=0.0,
           hflip_p=0.0, scale_jitter=0.0, translate_frac=0.0)
BIL = InterpolationMode.BILINEAR


def only(**kw: float) -> AugConfig:
    return AugConfig(**{**OFF, **kw})


def pages(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """ECG-like pages: white paper, a pink grid every 8 px, one dark trace per page (1-2 px, like the panels)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.ones(n, 3, h, w)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    grid = ((xx % 8 == 0) | (yy % 8 == 0)).float()
    x[:, 1] -= 0.35 * grid
    x[:, 2] -= 0.3 * grid
    cols = torch.arange(w)
    for i in range(n):
        f = 3.0 + 4 * float(torch.rand(1, generator=g))
        row = (h / 2 + h / 4 * torch.sin(cols / f)).round().long().clamp(0, h - 1)
        x[i, :, row, cols] = 0.05
        x[i, :, (row + 1).clamp(max=h - 1), cols] = 0.2
    return (x * 255).round() / 255  # 8-bit levels, as pages from the cache


def draw(aug: AugConfig, size: tuple[int, int], n: int = 6, seed: int = 1, grid=None) -> tuple[BatchAugment, ViewParams]:
    ba = BatchAugment(aug, size, grid)
    return ba, ba.draw(n, torch.Generator().manual_seed(seed))


def test_rotation_matches_torchvision_rotate() -> None:
    x = pages(6, 48, 96)
    ba, p = draw(only(rotation_deg=8.0), (48, 96))
    out = ba.apply(x, p)
    for i in range(len(x)):
        a = float(p.angle[i])
        ref = TF.rotate(x[i], a, interpolation=BIL, fill=1.0)
        covered = TF.rotate(torch.ones(1, 48, 96), a, interpolation=BIL, fill=0.0)[0] > 1 - 1e-6
        assert covered.float().mean() > 0.85
        assert float((out[i] - ref).abs().amax(0)[covered].max()) < 1e-5, a


def test_shift_matches_torchvision_affine() -> None:
    x = pages(6, 48, 96)
    ba, p = draw(only(translate_frac=0.2), (48, 96))
    p.shift = p.shift.round()  # torchvision shifts by whole pixels
    out = ba.apply(x, p)
    assert p.shift.abs().max() <= 0.2 * 96 and len(set(p.shift.tolist())) > 3
    for i in range(len(x)):
        ref = TF.affine(x[i], angle=0.0, translate=[float(p.shift[i]), 0.0], scale=1.0, shear=[0.0, 0.0],
                        interpolation=BIL, fill=1.0)
        assert float((out[i] - ref).abs().max()) < 1e-5


def test_crop_matches_torchvision_resized_crop() -> None:
    h, w = 48, 96
    x = pages(6, h, w)
    ba, p = draw(only(crop_scale_min=0.6), (h, w))
    assert bool(((p.crop_w * p.crop_h) >= 0.6 * h * w - 1e-3).all()) and bool((p.crop_w <= w).all())
    # whole-pixel boxes, as torchvision's; the same box given to both
    cw, ch = p.crop_w.round(), p.crop_h.round()
    left = ((w - cw) * torch.rand(6, generator=torch.Generator().manual_seed(3))).floor()
    top = ((h - ch) * torch.rand(6, generator=torch.Generator().manual_seed(4))).floor()
    p.crop_w, p.crop_h, p.crop_cx, p.crop_cy = cw, ch, left + cw / 2 - w / 2, top + ch / 2 - h / 2
    out = ba.apply(x, p)
    for i in range(len(x)):
        ref = TF.resized_crop(x[i], int(top[i]), int(left[i]), int(ch[i]), int(cw[i]), [h, w], interpolation=BIL,
                              antialias=True)
        assert float((out[i] - ref)[:, 2:-2, 2:-2].abs().max()) < 1e-5


def test_axis_scaling_matches_axisscale() -> None:
    x = pages(6, 48, 96)
    ba, p = draw(only(scale_jitter=0.2), (48, 96))
    p.scale_x, p.scale_y = p.scale_x.clamp(min=1.0), p.scale_y.clamp(min=1.0)  # stretching: no pixel from outside
    out = ba.apply(x, p)
    for i in range(len(x)):
        ref_op = AxisScale(0.2)
        ref_op.factors = lambda i=i: (float(p.scale_x[i]), float(p.scale_y[i]))
        assert float((out[i] - ref_op(x[i])).abs().max()) < 1e-5


def _ink_centroid(img: torch.Tensor) -> tuple[float, float]:
    """Ink centroid (x, y) away from a 10-pixel frame (where torchvision's fill rim of a rotation lies)."""
    ink = (1 - img.mean(0)).clamp(min=0)
    ink[:10], ink[-10:], ink[:, :10], ink[:, -10:] = 0, 0, 0, 0
    yy, xx = torch.meshgrid(torch.arange(img.shape[1], dtype=torch.float32), torch.arange(img.shape[2], dtype=torch.float32),
                            indexing="ij")
    return float((ink * xx).sum() / ink.sum()), float((ink * yy).sum() / ink.sum())


def test_composed_warp_equals_the_four_steps_in_the_per_image_order() -> None:
    """Crop, then axis scaling, then shift, then rotation (augment._pipeline's order) in one warp."""
    h, w = 64, 128
    ba, p = draw(only(crop_scale_min=0.7, scale_jitter=0.15, translate_frac=0.1, rotation_deg=6.0), (h, w), n=5)
    p.shift = p.shift.round()
    cw, ch = p.crop_w.round(), p.crop_h.round()
    left, top = ((w - cw) / 2).floor(), ((h - ch) / 2).floor()
    p.crop_w, p.crop_h, p.crop_cx, p.crop_cy = cw, ch, left + cw / 2 - w / 2, top + ch / 2 - h / 2
    p.scale_x, p.scale_y = p.scale_x.clamp(min=1.0), p.scale_y.clamp(min=1.0)
    x = torch.ones(5, 3, h, w)
    x[:, :, 26:30, 70:74] = 0.0  # one dark dot off-centre
    out = ba.apply(x, p)
    for i in range(5):
        ref = TF.resized_crop(x[i], int(top[i]), int(left[i]), int(ch[i]), int(cw[i]), [h, w], interpolation=BIL, antialias=True)
        axis = AxisScale(0.15)
        axis.factors = lambda i=i: (float(p.scale_x[i]), float(p.scale_y[i]))
        ref = axis(ref)
        ref = TF.affine(ref, angle=0.0, translate=[float(p.shift[i]), 0.0], scale=1.0, shear=[0.0, 0.0], interpolation=BIL, fill=1.0)
        ref = TF.rotate(ref, float(p.angle[i]), interpolation=BIL, fill=1.0)
        (cx, cy), (rx, ry) = _ink_centroid(out[i]), _ink_centroid(ref)
        assert math.hypot(cx - rx, cy - ry) < 0.5, (i, (cx, cy), (rx, ry))


def test_per_tile_warp_matches_pertile_and_never_moves_ink_across_tiles() -> None:
    rows, cols, th, tw = 4, 4, 24, 48
    h, w = rows * th, cols * tw
    # every tile holds the same trace: one draw per page moves every tile alike
    tile = pages(1, th, tw)[0]
    x = tile.repeat(1, rows, cols).unsqueeze(0).repeat(3, 1, 1, 1)
    ba, p = draw(only(translate_frac=0.2), (h, w), n=3, grid=(rows, cols))
    p.shift = p.shift.round()
    out = ba.apply(x, p)
    for i in range(3):
        ref = PerTile(lambda t, i=i: TF.affine(t, angle=0.0, translate=[float(p.shift[i]), 0.0], scale=1.0, shear=[0.0, 0.0],
                                               interpolation=BIL, fill=1.0), (rows, cols))(x[i])
        assert float((out[i] - ref).abs().max()) < 1e-5
        tiles = out[i].reshape(3, rows, th, cols, tw).permute(1, 3, 0, 2, 4).reshape(-1, 3, th, tw)
        assert all(torch.equal(tiles[0], t) for t in tiles[1:])  # the same draw for every tile of a page
    assert not torch.equal(out[0], out[1])  # and another for another page
    # ink in one tile only, strong geometry of every kind: every other tile stays blank paper
    ink = torch.ones(4, 3, h, w)
    ink[:, :, 1 * th : 2 * th, 2 * tw : 3 * tw] = pages(1, th, tw)[0]
    ink[:, :, 1 * th : 2 * th, 2 * tw : 3 * tw][:, :, 2:-2, 2:-2] = 0.0  # solid ink up to the tile's edge
    strong = only(rotation_deg=20.0, crop_scale_min=0.5, scale_jitter=0.3, translate_frac=0.3)
    ba, p = draw(strong, (h, w), n=4, grid=(rows, cols))
    out = ba.apply(ink, p)
    outside = torch.ones(h, w, dtype=torch.bool)
    outside[1 * th : 2 * th, 2 * tw : 3 * tw] = False
    assert bool((out[:, :, outside] == 1.0).all())
    assert float(out[:, :, ~outside].min()) < 0.1  # the ink moved but stayed in its tile


def test_colour_matches_torchvision_adjust_functions() -> None:
    x = torch.rand(6, 3, 40, 56, generator=torch.Generator().manual_seed(0))
    ba, p = draw(only(color_jitter=0.4, grid_jitter=0.3), (40, 56))
    out = ba.apply(x, p)
    for name, lim in (("brightness", 0.4), ("contrast", 0.4), ("saturation", 0.4), ("hue", 0.3)):
        v = getattr(p, name) - (0 if name == "hue" else 1)
        assert float(v.abs().max()) <= lim + 1e-6 and len(set(v.tolist())) == 6  # in range, one per sample
    for i in range(len(x)):
        ref = TF.adjust_brightness(x[i], float(p.brightness[i]))
        ref = TF.adjust_contrast(ref, float(p.contrast[i]))
        ref = TF.adjust_saturation(ref, float(p.saturation[i]))
        ref = TF.adjust_hue(ref, float(p.hue[i]))
        assert float((out[i] - ref).abs().max()) < 1e-5


def test_blur_matches_torchvision_gaussian_blur_with_each_sigma() -> None:
    x = pages(8, 32, 48)
    ba, p = draw(only(blur_p=0.5), (32, 48), n=8)
    out = ba.apply(x, p)
    assert 0 < int(p.blur.sum()) < 8 and float(p.sigma.min()) >= 0.1 and float(p.sigma.max()) <= 1.0
    for i in range(len(x)):
        ref = TF.gaussian_blur(x[i], [3, 3], [float(p.sigma[i])] * 2) if p.blur[i] else x[i]
        assert float((out[i] - ref).abs().max()) < 1e-5


def _opencv_jpeg(img: torch.Tensor, quality: int) -> torch.Tensor:
    bgr = (img * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()[:, :, ::-1]
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(bgr), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return torch.from_numpy(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].copy()).permute(2, 0, 1).float() / 255


@pytest.mark.parametrize("size", [(48, 96), (50, 99)])  # a tile; sizes that are not whole 8 x 8 blocks
def test_jpeg_standin_is_close_to_opencv_jpeg(size: tuple[int, int]) -> None:
    x = pages(3, *size)
    for q in (40, 65, 90):
        ours = jpeg_roundtrip(x, torch.full((3,), q))
        ref = torch.stack([_opencv_jpeg(xi, q) for xi in x])
        gap, change = float((ours - ref).abs().mean()), float((ref - x).abs().mean())
        assert gap < 1.5 / 255 and gap < 0.15 * change, (q, gap * 255, change * 255)
        assert abs(float((ours - x).abs().mean()) - change) < 0.1 * change  # as much loss as JPEG's
    low, high = (float((jpeg_roundtrip(x, torch.full((3,), q)) - x).abs().mean()) for q in (40, 90))
    assert low > high > 0


def test_a_seed_fixes_the_views_and_samples_differ() -> None:
    x = pages(6, 48, 96)
    ba = BatchAugment(AugConfig(rotation_deg=3.0, crop_scale_min=0.8), (48, 96))
    a = ba(x, torch.Generator().manual_seed(5))
    b = ba(x, torch.Generator().manual_seed(5))
    c = ba(x, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    same = x[:1].repeat(6, 1, 1, 1)  # one page six times: six different views
    v = ba(same, torch.Generator().manual_seed(5))
    assert all(not torch.equal(v[0], v[i]) for i in range(1, 6))
    p = ba.draw(6, torch.Generator().manual_seed(5))
    assert len(set(p.angle.tolist())) == 6 and len(set(p.crop_w.tolist())) == 6
    # the draw is one fixed-width uniform matrix: switching a step off leaves the other steps' draws
    q = BatchAugment(AugConfig(rotation_deg=3.0, crop_scale_min=0.8, jpeg_p=0.0), (48, 96)).draw(6, torch.Generator().manual_seed(5))
    assert torch.equal(p.angle, q.angle) and torch.equal(p.crop_w, q.crop_w) and not q.jpeg.any()
    assert len(SLOTS) == len(set(SLOTS))


def test_off_is_identity_uint8_equals_float_and_input_is_left_alone() -> None:
    x = pages(4, 48, 96)
    assert torch.equal(BatchAugment(AugConfig(**OFF), (48, 96))(x, torch.Generator().manual_seed(0)), x)
    u8 = (x * 255).round().to(torch.uint8)
    ba = BatchAugment(AugConfig(rotation_deg=2.0, blur_p=0.5, jpeg_p=0.5), (48, 96), (2, 2))
    before = x.clone()
    assert torch.equal(ba(u8, torch.Generator().manual_seed(1)), ba(x, torch.Generator().manual_seed(1)))
    assert torch.equal(x, before)
    p = ba.draw(4, torch.Generator().manual_seed(1))
    assert not p.flip.any()  # hflip_p = 0 by default: time is never reversed
    flipped = BatchAugment(only(hflip_p=1.0), (48, 96))(x, torch.Generator().manual_seed(1))
    assert torch.equal(flipped, x.flip(-1))
    with pytest.raises(ValueError, match="equal tiles"):
        BatchAugment(AugConfig(), (50, 96), (4, 4))
    with pytest.raises(ValueError, match="made for"):
        ba(torch.rand(2, 3, 40, 96), torch.Generator())


def test_runs_on_cuda_when_present() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here: the batched ops are the same code on every device")
    x = pages(8, 96, 192)
    ba = BatchAugment(AugConfig(rotation_deg=3.0, crop_scale_min=0.8, blur_p=0.5, jpeg_p=0.5), (96, 192), (4, 4))
    cpu = ba(x, torch.Generator().manual_seed(0))
    gpu = ba(x.cuda(), torch.Generator().manual_seed(0)).cpu()
    assert float((cpu - gpu).abs().mean()) < 2e-3  # same parameters; float rounding (and JPEG's rounding steps) differ
