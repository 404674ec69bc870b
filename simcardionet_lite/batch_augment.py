"""The ECG-safe augmentations as batched tensor ops, on any device (the ``device`` view pipeline).

Why: the per-image pipeline (:mod:`simcardionet_lite.augment`, torchvision v2 on the CPU) makes
about 71 views/s per CPU core at 224 x 224, while one GPU trains the network at thousands of
images/s; with it the data pipeline, not the GPU, sets the pace. Here a whole batch
(N x 3 x H x W, float in [0, 1], or the uint8 pages) is augmented in a handful of tensor ops
where it lives, the GPU included, and on the CPU with the same code.

What is drawn, and from where: :meth:`BatchAugment.draw` draws every per-sample parameter from a
``torch.Generator`` the caller owns (on the CPU, so a seed gives the same parameters on every
device), as one ``N x 17`` uniform matrix whose columns are mapped to the distributions of the
per-image pipeline for the same :class:`~simcardionet_lite.config.AugConfig`, so one config
drives both pipelines. A seed fixes the views (on one device; two devices differ by float
rounding). The steps, in the per-image pipeline's order:

* **geometry in one warp** (``affine_grid`` / ``grid_sample``, bilinear): crop-and-resize
  (``crop_scale_min``), axis scaling (``scale_jitter``), horizontal shift (``translate_frac``)
  and rotation (``rotation_deg``) composed into one matrix per sample, so the page is resampled
  once instead of four times. Pixels from outside are white paper. With a lead-panel mosaic
  (``tile_grid``) the warp acts inside each tile, the same draw for every tile of a page, as
  :class:`~simcardionet_lite.augment.PerTile` does: no trace crosses a tile border;
* **colour**: brightness, contrast and saturation factors in ``1 +- color_jitter`` and a hue
  shift in ``+- grid_jitter`` (the grid colour), each as torchvision's ``adjust_*`` computes it;
* **horizontal flip** with probability ``hflip_p`` (off by default: it reverses time);
* **Gaussian blur** (3 x 3, sigma in [0.1, 1], reflect padding) with probability ``blur_p``, as
  one depthwise convolution with a kernel per sample;
* **JPEG noise** with probability ``jpeg_p`` (quality 40-90): a stand-in, see :func:`jpeg_roundtrip`.

Where it departs from the per-image pipeline (each a documented choice, measured against it in
``tests/test_batch_augment.py``):

* one resample for the whole geometry, bilinear everywhere (torchvision's rotation uses nearest
  neighbours); out-of-page pixels are white also for axis scaling (per image: the border pixel);
* crop box, shift and angle are continuous (torchvision rounds the crop box and the shift to
  whole pixels); a crop box wider or taller than the input is clipped to it (torchvision draws
  again, up to ten times);
* the colour steps run in a fixed order (brightness, contrast, saturation, hue; torchvision
  shuffles the order per call);
* JPEG: torchvision's ``encode_jpeg`` / ``decode_jpeg`` do take batches and CUDA tensors, but
  they are deprecated since torchvision 0.29 (in favour of TorchCodec) and take one quality per
  call; the stand-in here is JPEG's lossy core in torch (:func:`jpeg_roundtrip`), which runs
  wherever the batch is and takes a quality per sample. (The per-image ``JpegNoise`` hands
  OpenCV the RGB array as if it were BGR, so its chroma loss falls on swapped channels; the
  stand-in converts RGB as JPEG defines it.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

from simcardionet_lite.config import AugConfig

#: columns of the uniform matrix :meth:`BatchAugment.draw` maps to parameters (fixed, so that turning
#: one step on or off never changes the draws of another)
SLOTS = ("crop_scale", "crop_ratio", "crop_x", "crop_y", "scale_x", "scale_y", "shift", "angle", "brightness",
         "contrast", "saturation", "hue", "flip", "blur", "sigma", "jpeg", "quality")
JPEG_QUALITY = (40, 90)  # ours: as augment.JpegNoise
BLUR_SIGMA = (0.1, 1.0)  # ours: as augment's GaussianBlur(3, sigma=(0.1, 1.0))


@dataclass
class ViewParams:
    """Per-sample parameters of one batch of views (CPU tensors of length N).

    Geometry in pixels of the warped unit (a tile of a mosaic, else the image): crop box size
    ``crop_w x crop_h`` and centre offset ``crop_cx, crop_cy`` from the unit's centre, axis factors
    ``scale_x, scale_y`` (> 1 stretches), horizontal shift ``shift`` (pixels, + moves right) and
    ``angle`` (degrees, counter-clockwise as in torchvision); colour factors; flags and values of
    flip, blur (``sigma``) and JPEG (``quality``).
    """

    crop_w: torch.Tensor
    crop_h: torch.Tensor
    crop_cx: torch.Tensor
    crop_cy: torch.Tensor
    scale_x: torch.Tensor
    scale_y: torch.Tensor
    shift: torch.Tensor
    angle: torch.Tensor
    brightness: torch.Tensor
    contrast: torch.Tensor
    saturation: torch.Tensor
    hue: torch.Tensor
    flip: torch.Tensor
    blur: torch.Tensor
    sigma: torch.Tensor
    jpeg: torch.Tensor
    quality: torch.Tensor

    def __len__(self) -> int:
        return len(self.angle)

    def select(self, idx: torch.Tensor | slice) -> ViewParams:
        """The parameters of the samples ``idx``."""
        return ViewParams(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 pages -> float in [0, 1] (``x / 255``, as ``evaluate.dataset_images``); float passes through."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images


class BatchAugment:
    """``aug(images, generator)``: one augmented view of each image of a batch, on the batch's device.

    ``image_size`` is the input's (H, W); ``tile_grid`` (rows, cols) makes the geometry act inside
    each tile of a lead-panel mosaic (:func:`simcardionet_lite.augment.mosaic_grid`).
    """

    def __init__(self, aug: AugConfig, image_size: tuple[int, int], tile_grid: tuple[int, int] | None = None) -> None:
        if aug.scale_jitter < 0:
            raise ValueError(f"scale_jitter must be >= 0, got {aug.scale_jitter}")
        self.aug = aug
        self.size = (int(image_size[0]), int(image_size[1]))
        self.grid = None if tile_grid is None else (int(tile_grid[0]), int(tile_grid[1]))
        h, w = self.size
        if self.grid is not None:
            if h % self.grid[0] or w % self.grid[1]:
                raise ValueError(f"a {h} x {w} mosaic does not split into {self.grid[0]} x {self.grid[1]} equal tiles")
            h, w = h // self.grid[0], w // self.grid[1]
        self.unit = (h, w)  # what one warp acts on: a tile or the whole image

    def __repr__(self) -> str:
        return f"BatchAugment({self.aug!r}, image_size={self.size}, tile_grid={self.grid})"

    def draw(self, n: int, generator: torch.Generator) -> ViewParams:
        """Parameters of ``n`` views from ``generator`` (one ``n x len(SLOTS)`` uniform draw)."""
        a, (h, w) = self.aug, self.unit
        u = dict(zip(SLOTS, torch.rand(n, len(SLOTS), generator=generator, dtype=torch.float64).unbind(1)))
        ones = torch.ones(n, dtype=torch.float64)
        cw, ch, cx, cy = ones * w, ones * h, ones * 0, ones * 0
        if a.crop_scale_min < 1.0:  # RandomResizedCrop: area share, log aspect ratio near the unit's, position
            area = (a.crop_scale_min + (1 - a.crop_scale_min) * u["crop_scale"]) * h * w
            lo, hi = math.log(0.9 * w / h), math.log(1.1 * w / h)
            ratio = torch.exp(lo + (hi - lo) * u["crop_ratio"])
            cw, ch = torch.sqrt(area * ratio).clamp(max=w), torch.sqrt(area / ratio).clamp(max=h)
            cx, cy = (u["crop_x"] - 0.5) * (w - cw), (u["crop_y"] - 0.5) * (h - ch)
        lim = math.log1p(a.scale_jitter)
        sx, sy = torch.exp(lim * (2 * u["scale_x"] - 1)), torch.exp(lim * (2 * u["scale_y"] - 1))
        cj, hue = a.color_jitter, min(0.5, a.grid_jitter)

        def factor(col: str) -> torch.Tensor:
            return (1 + cj * (2 * u[col] - 1)).clamp(min=0)

        lo_q, hi_q = JPEG_QUALITY
        return ViewParams(
            crop_w=cw.float(), crop_h=ch.float(), crop_cx=cx.float(), crop_cy=cy.float(), scale_x=sx.float(),
            scale_y=sy.float(), shift=(a.translate_frac * w * (2 * u["shift"] - 1)).float(),
            angle=(a.rotation_deg * (2 * u["angle"] - 1)).float(), brightness=factor("brightness").float(),
            contrast=factor("contrast").float(), saturation=factor("saturation").float(),
            hue=(hue * (2 * u["hue"] - 1)).float(), flip=u["flip"] < a.hflip_p, blur=u["blur"] < a.blur_p,
            sigma=(BLUR_SIGMA[0] + (BLUR_SIGMA[1] - BLUR_SIGMA[0]) * u["sigma"]).float(), jpeg=u["jpeg"] < a.jpeg_p,
            quality=(lo_q + (u["quality"] * (hi_q - lo_q + 1)).floor().clamp(max=hi_q - lo_q)).long(),
        )

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self.apply(images, self.draw(len(images), generator))

    def apply(self, images: torch.Tensor, p: ViewParams) -> torch.Tensor:
        """Augment ``images`` (N x 3 x H x W, uint8 or float in [0, 1], any device) with the parameters ``p``."""
        x = to_unit(images)
        if tuple(x.shape[-2:]) != self.size:
            raise ValueError(f"images are {tuple(x.shape[-2:])}, this pipeline was made for {self.size}")
        a = self.aug
        if a.crop_scale_min < 1.0 or a.scale_jitter > 0 or a.translate_frac > 0 or a.rotation_deg > 0:
            x = warp(x, affine_matrices(p, self.unit), self.grid)
        if a.color_jitter > 0 or a.grid_jitter > 0:
            x = color_jitter(x, p.brightness, p.contrast, p.saturation, p.hue)
        if a.hflip_p > 0:
            x = torch.where(p.flip.to(x.device)[:, None, None, None], x.flip(-1), x)
        x = _on_selected(x, p.blur, lambda xs, s: gaussian_blur(xs, p.sigma[s]))
        x = _on_selected(x, p.jpeg, lambda xs, s: jpeg_roundtrip(xs, p.quality[s]))
        return x.clamp(0.0, 1.0)


def _on_selected(x: torch.Tensor, mask: torch.Tensor, fn) -> torch.Tensor:
    """``fn`` applied to the samples where the CPU ``mask`` is true (the others untouched, no device sync)."""
    sel = torch.nonzero(mask).flatten()
    if len(sel) == 0:
        return x
    idx = sel.to(x.device)
    return x.index_copy(0, idx, fn(x[idx], sel))  # out of place: the caller's batch is never written


def affine_matrices(p: ViewParams, unit: tuple[int, int]) -> torch.Tensor:
    """N x 2 x 3 ``affine_grid`` matrices (normalised coordinates, ``align_corners=False``) of the
    composed geometry: rotation, then shift, then axis scaling, then crop, each inverted (an output
    pixel is looked up in the input), in pixel units about the unit's centre."""
    h, w = unit
    n = len(p)
    rad = torch.deg2rad(p.angle.double())
    cos, sin = torch.cos(rad), torch.sin(rad)

    def mat(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, d: torch.Tensor, e: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        m = torch.zeros(n, 3, 3, dtype=torch.float64)
        m[:, 0, 0], m[:, 0, 1], m[:, 0, 2], m[:, 1, 0], m[:, 1, 1], m[:, 1, 2] = a, b, c, d, e, f
        m[:, 2, 2] = 1.0
        return m

    zero, one = torch.zeros(n, dtype=torch.float64), torch.ones(n, dtype=torch.float64)
    rot_inv = mat(cos, -sin, zero, sin, cos, zero)  # y points down: this turns the content counter-clockwise
    shift_inv = mat(one, zero, -p.shift.double(), zero, one, zero)
    scale_inv = mat(1 / p.scale_x.double(), zero, zero, zero, 1 / p.scale_y.double(), zero)
    crop_inv = mat(p.crop_w.double() / w, zero, p.crop_cx.double(), zero, p.crop_h.double() / h, p.crop_cy.double())
    norm = torch.diag(torch.tensor([w / 2.0, h / 2.0, 1.0], dtype=torch.float64))
    m = torch.linalg.inv(norm) @ crop_inv @ scale_inv @ shift_inv @ rot_inv @ norm
    return m[:, :2, :].float()


def warp(x: torch.Tensor, theta: torch.Tensor, tile_grid: tuple[int, int] | None = None) -> torch.Tensor:
    """Resample each image of ``x`` by its matrix in ``theta`` (bilinear; pixels from outside are white).

    With ``tile_grid`` every tile of an image is warped by that image's matrix inside its own
    tile, so nothing moves from one tile into another.
    """
    n, c, h, w = x.shape
    theta = theta.to(device=x.device, dtype=x.dtype)
    if tile_grid is not None:
        rows, cols = tile_grid
        th, tw = h // rows, w // cols
        x = x.reshape(n, c, rows, th, cols, tw).permute(0, 2, 4, 1, 3, 5).reshape(n * rows * cols, c, th, tw)
        theta = theta.repeat_interleave(rows * cols, dim=0)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # white fill: warp the ink (1 - x) with zeros outside, then back to paper
    out = 1.0 - F.grid_sample(1.0 - x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if tile_grid is not None:
        out = out.reshape(n, rows, cols, c, th, tw).permute(0, 3, 1, 4, 2, 5).reshape(n, c, h, w)
    return out


def shift_pages(x: torch.Tensor, frac: float, tile_grid: tuple[int, int] | None = None) -> torch.Tensor:
    """``x`` (N x 3 x H x W, float in [0, 1]) shifted right by ``frac`` of its width (left when negative),
    inside each tile with ``tile_grid``; what enters is white paper.

    The deterministic counterpart of the ``translate_frac`` draw (same warp, same white fill), for
    test-time views (``eval.tta_shifts``): the beats move in time, no trace crosses a tile border.
    """
    if not -0.5 < frac < 0.5:
        raise ValueError(f"a shift must be a fraction of the width in (-0.5, 0.5), got {frac}")
    if frac == 0.0:
        return x
    theta = torch.tensor([[1.0, 0.0, -2.0 * frac], [0.0, 1.0, 0.0]]).expand(len(x), 2, 3)
    return warp(x, theta, tile_grid)


def _col(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)


def _gray(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.unbind(1)
    return (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(1)


def color_jitter(x: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor, saturation: torch.Tensor,
                 hue: torch.Tensor) -> torch.Tensor:
    """Brightness, contrast, saturation (factors) and hue (shift in [-0.5, 0.5]) per sample, in that
    order, each as torchvision's ``adjust_*`` on float images."""
    x = (x * _col(brightness, x)).clamp(0, 1)
    c = _col(contrast, x)
    x = (c * x + (1 - c) * _gray(x).mean(dim=(1, 2, 3), keepdim=True)).clamp(0, 1)
    s = _col(saturation, x)
    x = (s * x + (1 - s) * _gray(x)).clamp(0, 1)
    if bool((hue != 0).any()):
        x = adjust_hue(x, hue)
    return x


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """A hue shift per sample (fractions of a turn), as torchvision's ``adjust_hue`` computes it through HSV.

    Saturation and value stay, so the round trip needs only the hue: RGB -> H (torchvision's
    ``_rgb_to_hsv`` rule, ties to red, then green), then the closed form of HSV -> RGB,
    ``channel = max - (max - min) * clamp(min(k, 4 - k), 0, 1)`` with ``k = (n + 6 H) mod 6``
    and ``n = 5, 3, 1`` for R, G, B (a few elementwise passes; the sextant table costs 4x more).
    """
    r, g, b = x.unbind(1)
    maxc, minc = x.amax(1), x.amin(1)
    rng = maxc - minc
    safe = torch.where(rng > 0, rng, torch.ones_like(rng))
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h6 = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h6 = h6 + 6.0 * shift.to(device=x.device, dtype=x.dtype).view(-1, 1, 1)
    n = torch.tensor([5.0, 3.0, 1.0], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    k = torch.remainder(n + h6.unsqueeze(1), 6.0)
    return maxc.unsqueeze(1) - rng.unsqueeze(1) * torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """3 x 3 Gaussian blur with one sigma per sample (reflect padding), as one depthwise convolution."""
    n, c, h, w = x.shape
    s = sigma.to(device=x.device, dtype=x.dtype).view(-1, 1)
    k1 = torch.softmax(-(torch.tensor([-1.0, 0.0, 1.0], device=x.device, dtype=x.dtype) / math.sqrt(2.0) / s) ** 2, dim=1)
    k2 = (k1[:, :, None] * k1[:, None, :]).repeat_interleave(c, dim=0)[:, None]  # (N*C) x 1 x 3 x 3
    out = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect").reshape(1, n * c, h + 2, w + 2), k2, groups=n * c)
    return out.reshape(n, c, h, w)


# JPEG's standard quantisation tables (ITU-T T.81 Annex K), row-major 8 x 8
_Q_LUMA = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22,
           29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103,
           121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)
_Q_CHROMA = (17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99,
             99, 99, 99, 99, 99, *([99] * 32))


def _quant_tables(quality: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """N x 64 luma and chroma tables scaled to each quality (libjpeg's rule)."""
    q = quality.to(torch.float64).clamp(1, 100)
    scale = torch.where(q < 50, 5000.0 / q, 200.0 - 2.0 * q).view(-1, 1)
    out = []
    for base in (_Q_LUMA, _Q_CHROMA):
        t = torch.tensor(base, dtype=torch.float64).view(1, 64)
        out.append(torch.floor((t * scale + 50.0) / 100.0).clamp(1, 255).float().to(device))
    return out[0], out[1]


def _dct_basis(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The orthonormal 8 x 8 two-dimensional DCT-II as one 64 x 64 matrix (row-major blocks)."""
    k = torch.arange(8, dtype=torch.float64)
    d = torch.cos((2 * k[None, :] + 1) * k[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return torch.kron(d, d).to(device=device, dtype=dtype)


def _round(t: torch.Tensor) -> torch.Tensor:
    """Halves rounded up, as libjpeg's fixed-point descaling does (``torch.round`` rounds them to even: a
    flat white block at some qualities then decodes to 254 instead of 255)."""
    return torch.floor(t + 0.5)


def _blockwise(plane: torch.Tensor, table: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """DCT, quantise with ``table`` (N x 64), dequantise, inverse DCT, over the 8 x 8 blocks of N x H x W planes
    (one matrix product each way: every block is a 64-vector)."""
    n, h, w = plane.shape
    ph, pw = -h % 8, -w % 8
    if ph or pw:  # edge replication, as an encoder pads a partial block
        plane = F.pad(plane[:, None], (0, pw, 0, ph), mode="replicate")[:, 0]
    hh, ww = plane.shape[-2:]
    blocks = plane.reshape(n, hh // 8, 8, ww // 8, 8).permute(0, 1, 3, 2, 4).reshape(n, -1, 64)
    coef = (blocks - 128.0) @ basis.T
    q = coef / table[:, None]
    coef = torch.sign(q) * torch.floor(q.abs() + 0.5) * table[:, None]  # halves away from zero, as libjpeg
    back = _round(coef @ basis + 128.0).clamp(0, 255)  # the decoder's 8-bit samples
    return back.reshape(n, hh // 8, ww // 8, 8, 8).permute(0, 1, 3, 2, 4).reshape(n, hh, ww)[:, :h, :w]


def jpeg_roundtrip(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """A JPEG encode-decode round trip's loss, per sample at its ``quality``, in torch on ``x``'s device.

    JPEG's lossy core (baseline, as libjpeg/OpenCV write it by default): RGB -> YCbCr (JFIF),
    chroma averaged over 2 x 2 pixels (4:2:0), 8 x 8 block DCT, quantisation with the standard
    tables scaled to the quality (libjpeg's rule), then back, the chroma upsampled bilinearly
    (libjpeg's "fancy" triangle filter) and the result rounded to 8 bits, halves up as libjpeg's
    fixed-point arithmetic rounds them. Entropy coding is lossless and left out. Against OpenCV's
    encoder and decoder at the same quality on ECG-like pages (``tests/test_batch_augment.py``):
    0.1-1.1 grey levels mean absolute difference over qualities 40-90, where JPEG itself changes
    the page by 7-13 and the stand-in by as much within 10 % (libjpeg's integer DCT puts some
    coefficients on the other side of a quantisation step).
    """
    n, _, h, w = x.shape
    r, g, b = _round(x * 255.0).unbind(1)  # the encoder reads 8-bit samples and converts them to 8-bit YCbCr
    y = _round(0.299 * r + 0.587 * g + 0.114 * b)
    cb = _round(-0.168736 * r - 0.331264 * g + 0.5 * b + 128.0)
    cr = _round(0.5 * r - 0.418688 * g - 0.081312 * b + 128.0)
    tl, tc = _quant_tables(quality, x.device)
    basis = _dct_basis(x.device, x.dtype)
    y = _blockwise(y, tl, basis)
    hc, wc = (h + 1) // 2, (w + 1) // 2
    chroma = F.pad(torch.stack([cb, cr], 1), (0, w % 2, 0, h % 2), mode="replicate")
    chroma = _round(F.avg_pool2d(chroma, 2))  # N x 2 x hc x wc
    chroma = torch.stack([_blockwise(chroma[:, i], tc, basis) for i in range(2)], 1)
    chroma = _round(F.interpolate(chroma, size=(2 * hc, 2 * wc), mode="bilinear", align_corners=False)[..., :h, :w])
    cb, cr = chroma[:, 0] - 128.0, chroma[:, 1] - 128.0
    out = torch.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)
    return _round(out).clamp(0, 255) / 255.0


__all__ = ["BatchAugment", "ViewParams", "SLOTS", "to_unit", "affine_matrices", "warp", "color_jitter", "adjust_hue",
           "gaussian_blur", "jpeg_roundtrip"]
