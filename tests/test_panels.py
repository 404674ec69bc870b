"""The lead-panel mosaic, the tile-token network and the ResNet-18 baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simcardionet_lite.config import ModelConfig
from simcardionet_lite.data.pages import prepare_page
from simcardionet_lite.ecg import render as R
from simcardionet_lite.model import build_backbone
from simcardionet_lite.model.backbone import SimCardioNet, TileMosaic, split_tiles

TILES = ModelConfig(stem_channels=8, stage_channels=(8, 16), blocks_per_stage=(1, 1), branch_kernels=(3, 5), attn_heads=2,
                    proj_hidden=32, proj_dim=16, tokens="tiles", tile_grid=(4, 4))


def _page_with_marks(style: str, size: tuple[int, int]) -> tuple[np.ndarray, list[tuple[str, R.Box]]]:
    """A blank page whose every mosaic tile is filled with its own grey level (tile i: 10 * i + 20)."""
    page = np.full((*size, 3), 255, np.uint8)
    tiles = R.mosaic_tiles(style, size)
    for i, (_, (y0, x0, y1, x1)) in enumerate(tiles):
        page[y0:y1, x0:x1] = 10 * i + 20
    return page, tiles


@pytest.mark.parametrize("style", ["mendeley", "kaggle", "ptbxl"])
def test_mosaic_puts_each_lead_panel_in_its_tile(style: str) -> None:
    page, tiles = _page_with_marks(style, (524, 737))
    assert [n for n, _ in tiles][:4] == ["I", "aVR", "V1", "V4"] and tiles[-1][0] == "II_rhythm_4"
    assert len(tiles) == 16
    m = R.panel_mosaic(page, style, (96, 192))
    assert m.shape == (96, 192, 3)
    for i in range(16):
        r, c = divmod(i, 4)
        tile = m[r * 24:(r + 1) * 24, c * 48:(c + 1) * 48, 0]
        # the tile's centre holds its own panel (edges may blend a pixel of the neighbour when resizing)
        assert np.median(tile[4:-4, 4:-4]) == 10 * i + 20, (style, i)


def test_mosaic_excludes_header_and_footer_and_checks_its_size() -> None:
    page = np.full((524, 737, 3), 255, np.uint8)
    hf = R.header_footer_boxes("mendeley", page.shape[:2])
    page[: hf["header"][2]] = 0
    page[hf["footer"][0]:] = 0
    assert R.panel_mosaic(page, "mendeley", (96, 192)).min() == 255  # printed text is outside every tile
    with pytest.raises(ValueError, match="divisible"):
        R.panel_mosaic(page, "mendeley", (97, 192))
    prepared = prepare_page(page, image_size=(96, 192), panels=True, crop_header_footer=True)
    assert prepared.shape == (96, 192, 3) and prepared.min() == 255


def test_page_size_for_mosaic_gives_tiles_at_their_own_resolution() -> None:
    h, w = R.page_size_for_mosaic("ptbxl", (192, 384))
    spans = R.mosaic_tiles("ptbxl", (h, w))
    heights = [b[2] - b[0] for _, b in spans]
    widths = [b[3] - b[1] for _, b in spans]
    assert abs(np.mean(heights) - 48) <= 1 and abs(np.mean(widths) - 96) <= 1


def test_split_tiles_and_mosaic_are_inverse() -> None:
    x = torch.arange(2 * 3 * 8 * 12, dtype=torch.float32).view(2, 3, 8, 12)
    t = split_tiles(x, (4, 4))
    assert t.shape == (32, 3, 2, 3)
    assert torch.equal(t[5], x[0, :, 2:4, 3:6])  # tile 5 = row 1, column 1 of the first image
    assert torch.equal(TileMosaic((4, 4))(t), x)
    with pytest.raises(ValueError, match="tile_grid"):
        split_tiles(torch.zeros(1, 3, 9, 12), (4, 4))


def test_tile_network_shares_one_encoder_and_knows_positions() -> None:
    torch.manual_seed(0)
    m = SimCardioNet(TILES, 3).eval()
    x = torch.rand(2, 3, 64, 128)
    assert m(x).shape == (2, 3) and m.features(x).shape == (2, 16)
    assert m.feature_map(x).shape == (2, 16, 8, 16)  # 16 tiles of 16 x 32 -> 2 x 4 maps, reassembled
    assert m.cam_target_layer is m.mosaic
    tokens = torch.rand(2, 16, 16)  # the attention block's output: one token per tile
    lead_map = m.cam_reshape_transform(tokens)
    assert lead_map.shape == (2, 16, 4, 4) and torch.equal(lead_map[:, :, 1, 2], tokens[:, 6])  # tile 6 = row 1, col 2
    # the encoder is shared: a tile's map does not depend on where it sits ...
    tiles = split_tiles(x, (4, 4)).view(2, 16, 3, 16, 32)
    swapped = tiles.clone()
    swapped[:, [0, 5]] = tiles[:, [5, 0]]
    x2 = TileMosaic((4, 4))(swapped.view(32, 3, 16, 32))
    fm1, fm2 = split_tiles(m.feature_map(x), (4, 4)), split_tiles(m.feature_map(x2), (4, 4))
    assert torch.allclose(fm1.view(2, 16, -1)[:, 0], fm2.view(2, 16, -1)[:, 5], atol=1e-5)
    # ... but the position embedding makes the pooled features depend on it
    assert not torch.allclose(m.features(x), m.features(x2), atol=1e-4)
    assert list(m.layer_groups()) == ["stem", "stage1", "stage2", "attention", "head"]
    with pytest.raises(ValueError, match="pool"):
        SimCardioNet(ModelConfig(**{**TILES.__dict__, "pool": "grid"}), 3)
    with pytest.raises(ValueError, match="tokens"):
        SimCardioNet(ModelConfig(**{**TILES.__dict__, "tokens": "lead"}), 3)


def test_resnet18_baseline_has_the_backbone_interface() -> None:
    torch.manual_seed(0)
    m = build_backbone(ModelConfig(arch="resnet18", proj_hidden=32, proj_dim=16), 4).eval()
    x = torch.rand(2, 3, 64, 96)
    assert m(x).shape == (2, 4) and m.features(x).shape == (2, 512) and m.project(x).shape == (2, 16)
    assert list(m.layer_groups()) == ["stem", "stage1", "stage2", "stage3", "stage4", "attention", "head"]
    assert m.feature_map(x).shape == (2, 512, 2, 3)
    assert 11e6 < m.complexity((64, 96))["params"] < 12e6  # torchvision's ResNet-18: 11.2 M without its fc
    with pytest.raises(ValueError, match="arch"):
        build_backbone(ModelConfig(arch="vgg"), 4)


def test_lead_boxes_follow_the_input_layout() -> None:
    assert R.lead_boxes("mendeley", (96, 128)) == R.panel_boxes("mendeley", (96, 128))
    cells = R.lead_boxes("mendeley", (192, 384), panels=True)
    assert cells["I"] == (0, 0, 48, 96) and cells["aVL"] == (48, 96, 96, 192) and cells["V6"] == (96, 288, 144, 384)
    assert cells["II_rhythm"] == (144, 0, 192, 384) and len(cells) == 13
    # the cells tile the mosaic exactly: a uniform map's mass adds up to 1
    area = sum((y1 - y0) * (x1 - x0) for y0, x0, y1, x1 in cells.values())
    assert area == 192 * 384


def test_gradcam_of_the_tile_attention_block_is_a_lead_level_map() -> None:
    """Hooking the attention block of a tile network (chapter 10's second layer) gives one CAM value
    per lead panel, upsampled to the page; it used to fail inside pytorch-grad-cam (3-D gradients)."""
    from simcardionet_lite.explain import gradcam

    torch.manual_seed(0)
    m = SimCardioNet(TILES, 3).eval()
    x = torch.rand(2, 3, 64, 128)
    cams = gradcam(m, x, [0, 1], target_layer=m.attention, reshape_transform=m.cam_reshape_transform)
    assert cams.shape == (2, 64, 128) and np.isfinite(cams).all()
    tile = cams[0, :16, :32]  # the first lead panel's area: close to constant (one cell, upsampled)
    assert tile.std() < cams[0].std()
