"""Augmentation pipelines: ranges, ECG-safety defaults, seeded per-sample randomness."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2

from simcardionet_lite.augment import AxisScale, apply_batch, finetune_transform, ssl_views
from simcardionet_lite.config import AugConfig, load_preset


def test_views_shape_range_and_difference() -> None:
    cfg = load_preset("smoke")
    x = torch.rand(3, 32, 48)
    views = ssl_views(cfg.aug_pretrain, (32, 48))
    a, b = views(x)
    assert a.shape == b.shape == x.shape
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    assert not torch.equal(a, b)  # two random views of one page


def test_no_horizontal_flip_by_default_and_option_adds_it() -> None:
    cfg = load_preset("smoke")
    for aug in (cfg.aug_pretrain, cfg.aug_finetune):
        assert aug.hflip_p == 0.0
        assert not any(isinstance(t, v2.RandomHorizontalFlip) for t in ssl_views(aug, (32, 48)).transform.transforms)
    flip = AugConfig(hflip_p=1.0, rotation_deg=0, crop_scale_min=1.0, color_jitter=0, grid_jitter=0, blur_p=0, jpeg_p=0,
                    translate_frac=0)
    x = torch.rand(3, 8, 12)
    assert torch.allclose(finetune_transform(flip, (8, 12))(x), x.flip(-1))


def test_identity_when_everything_is_off() -> None:
    off = AugConfig(rotation_deg=0, crop_scale_min=1.0, color_jitter=0, grid_jitter=0, blur_p=0, jpeg_p=0, hflip_p=0,
                    translate_frac=0)
    x = torch.rand(3, 16, 24)
    assert torch.equal(finetune_transform(off, (16, 24))(x), x)


def test_finetune_is_milder_than_pretraining() -> None:
    cfg = load_preset("smoke")
    x = torch.rand(16, 3, 32, 48)
    d_pre = (apply_batch(ssl_views(cfg.aug_pretrain, (32, 48)).transform, x, torch.Generator().manual_seed(0)) - x).abs().mean()
    d_ft = (apply_batch(finetune_transform(cfg.aug_finetune, (32, 48)), x, torch.Generator().manual_seed(0)) - x).abs().mean()
    assert d_ft < d_pre


def test_apply_batch_is_seeded_per_sample_and_leaves_global_rng_alone() -> None:
    t = ssl_views(load_preset("smoke").aug_pretrain, (32, 48)).transform
    x = torch.rand(4, 3, 32, 48)
    state = torch.get_rng_state()
    a = apply_batch(t, x, torch.Generator().manual_seed(5))
    assert torch.equal(torch.get_rng_state(), state)
    b = apply_batch(t, x, torch.Generator().manual_seed(5))
    c = apply_batch(t, x, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    same = torch.stack([x[0]] * 4)
    d = apply_batch(t, same, torch.Generator().manual_seed(5))
    assert not torch.equal(d[0], d[1])  # each sample draws its own parameters


def test_horizontal_translation_moves_time_only() -> None:
    aug = AugConfig(rotation_deg=0, crop_scale_min=1.0, color_jitter=0, grid_jitter=0, blur_p=0, jpeg_p=0, hflip_p=0,
                    translate_frac=0.25)
    x = torch.ones(3, 8, 40)
    x[:, 3, 10] = 0.0  # one dark pixel on row 3
    ys = set()
    for s in range(6):
        y = apply_batch(finetune_transform(aug, (8, 40)), x[None], torch.Generator().manual_seed(s))[0]
        dark = (y[0] < 0.5).nonzero()
        ys |= {int(r) for r in dark[:, 0]}
    assert ys == {3}  # rows never move: the voltage axis is untouched


def test_axis_scale_stretches_time_and_voltage_within_bounds() -> None:
    x = torch.ones(3, 41, 81)
    x[:, 10:31, 20:61] = 0.0  # a dark box centred on the page (21 x 41 pixels)
    widths, heights = set(), set()
    for s in range(20):
        y = apply_batch(AxisScale(0.25), x[None], torch.Generator().manual_seed(s))[0]
        dark = y[0] < 0.5
        widths.add(int(dark.any(0).sum()))
        heights.add(int(dark.any(1).sum()))
        assert y.shape == x.shape
    assert min(widths) >= 41 / 1.25 - 2 and max(widths) <= 41 * 1.25 + 2
    assert min(heights) >= 21 / 1.25 - 2 and max(heights) <= 21 * 1.25 + 2
    assert len(widths) > 3 and len(heights) > 3  # both axes vary
    fx, fy = zip(*(AxisScale(0.25).factors() for _ in range(200)))
    assert min(fx) < 0.9 and max(fx) > 1.1 and all(1 / 1.25 <= f <= 1.25 for f in fx + fy)


def test_axis_scale_off_by_default_and_rejects_negative() -> None:
    assert load_preset("smoke").aug_pretrain.scale_jitter == 0.0
    assert not any(isinstance(t, AxisScale) for t in ssl_views(load_preset("smoke").aug_pretrain, (32, 48)).transform.transforms)
    with pytest.raises(ValueError, match="scale_jitter"):
        AxisScale(-0.1)


def test_per_tile_geometry_keeps_every_trace_in_its_own_tile():
    """On a lead-panel mosaic a shift moves each panel's trace inside its tile, the same for all tiles."""
    from torchvision.transforms.v2 import functional as F

    from simcardionet_lite.augment import PerTile, mosaic_grid
    from simcardionet_lite.config import DataConfig

    assert mosaic_grid(DataConfig(panels=False)) is None
    grid = mosaic_grid(DataConfig(panels=True))
    assert grid == (4, 4)
    img = torch.ones(3, 4 * 8, 4 * 20)
    for c in range(4):  # one dark vertical line 3 px from the right edge of every tile
        img[:, :, c * 20 + 17] = 0.0

    def shift(t: torch.Tensor) -> torch.Tensor:  # 5 px to the right, white fill
        return F.affine(t, angle=0.0, translate=[5, 0], scale=1.0, shear=[0.0, 0.0], fill=1.0)

    out = PerTile(shift, grid)(img)
    assert out.shape == img.shape
    assert torch.equal(out, torch.ones_like(img)), "each line left its own tile and entered no other"
    whole = shift(img)  # the same shift on the whole mosaic carries lines into the next tile
    assert sorted(set((whole[0] < 0.5).nonzero()[:, 1].tolist())) == [22, 42, 62]
    drawn = PerTile(v2.RandomAffine(degrees=0.0, translate=(0.1, 0.0), fill=1.0), grid)
    torch.manual_seed(3)
    out = drawn(img)
    cols = [sorted(set((out[0, r * 8:(r + 1) * 8, c * 20:(c + 1) * 20] < 0.5).nonzero()[:, 1].tolist()))
            for r in range(4) for c in range(4)]
    assert all(cc == cols[0] for cc in cols) and len(cols[0]) == 1, "one draw, the same in-tile shift for every tile"


def test_pipeline_with_tile_grid_wraps_geometry_only():
    from simcardionet_lite.augment import PerTile
    from simcardionet_lite.config import AugConfig

    aug = AugConfig(rotation_deg=2.0, crop_scale_min=0.9, translate_frac=0.1, scale_jitter=0.05)
    steps = finetune_transform(aug, (32, 80), (4, 4)).transforms
    assert isinstance(steps[0], PerTile) and len(steps[0].transform.transforms) == 4
    assert not any(isinstance(t, (v2.RandomAffine, v2.RandomRotation)) for t in steps[1:])
    x = torch.rand(3, 32, 80)
    torch.manual_seed(0)
    assert ssl_views(aug, (32, 80), (4, 4)).transform(x).shape == x.shape
    assert AxisScale(0.1)(torch.rand(5, 3, 8, 20)).shape == (5, 3, 8, 20)
