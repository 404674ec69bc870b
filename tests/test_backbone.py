"""SimCardioNet: shapes, groups, Grad-CAM hooks, attention switch, complexity."""

from __future__ import annotations

import pytest
import torch

from simcardionet_lite.config import ModelConfig, load_preset
from simcardionet_lite.model.backbone import MultiScaleBlock, SimCardioNet, sincos_2d

TINY = ModelConfig(stem_channels=8, stage_channels=(8, 16), blocks_per_stage=(1, 2), branch_kernels=(3, 5), attn_heads=2,
                   proj_hidden=32, proj_dim=16)


def test_shapes_and_paths() -> None:
    torch.manual_seed(0)
    m = SimCardioNet(TINY, 3).eval()
    x = torch.rand(2, 3, 32, 48)
    assert m(x).shape == (2, 3)
    assert m.features(x).shape == (2, m.feature_dim) == (2, 16)
    assert m.project(x).shape == (2, 16)
    assert m.feature_map(x).shape == (2, 16, 4, 6)  # stem /2, two stages /2 each
    assert torch.allclose(m.head(m.features(x)), m(x))


def test_layer_groups_cover_the_network_except_the_projector() -> None:
    m = SimCardioNet(TINY, 3)
    g = m.layer_groups()
    assert list(g) == ["stem", "stage1", "stage2", "attention", "head"]
    ids = {id(p) for mods in g.values() for mod in mods for p in mod.parameters()}
    proj = {id(p) for p in m.projector.parameters()}
    assert ids | proj == {id(p) for p in m.parameters()} and not ids & proj
    off = SimCardioNet(ModelConfig(**{**TINY.__dict__, "attention": False}), 3)
    assert off.layer_groups()["attention"] == [] and off.attention is None and off.cam_reshape_transform is None


def test_cam_target_layer_is_the_last_spatial_map_and_reshape_inverts_tokens() -> None:
    m = SimCardioNet(TINY, 3).eval()
    x = torch.rand(2, 3, 32, 48)
    seen = {}
    m.cam_target_layer.register_forward_hook(lambda mod, i, o: seen.setdefault("map", o))
    m.attention.register_forward_hook(lambda mod, i, o: seen.setdefault("tokens", o))
    m(x)
    assert seen["map"].shape == (2, 16, 4, 6)
    assert seen["tokens"].shape == (2, 24, 16)
    back = m.cam_reshape_transform(seen["tokens"])
    assert back.shape == (2, 16, 4, 6)
    assert torch.equal(back[:, :, 1, 2], seen["tokens"][:, 1 * 6 + 2])  # token order is row-major


def test_attention_weights_and_position_encoding() -> None:
    m = SimCardioNet(TINY, 3).eval()
    m.attention.keep_attention = True
    m(torch.rand(1, 3, 32, 48))
    a = m.attention.last_attention
    assert a.shape == (1, 24, 24) and torch.allclose(a.sum(-1), torch.ones(1, 24), atol=1e-5)
    pe = sincos_2d(4, 6, 16)
    assert pe.shape == (24, 16) and len({tuple(r.tolist()) for r in pe}) == 24  # every position distinct
    with pytest.raises(ValueError):
        sincos_2d(2, 2, 6)


def test_multiscale_block_branches_and_residual() -> None:
    b = MultiScaleBlock(8, 9, (3, 5, 7))
    assert [br[0].kernel_size[0] for br in b.branches] == [3, 5, 7]
    assert sum(br[0].out_channels for br in b.branches) == 9
    assert b(torch.rand(2, 8, 10, 10)).shape == (2, 9, 10, 10)
    rf = SimCardioNet(TINY, 3).branch_receptive_fields()
    assert rf[0]["rf"] == [7, 11] and rf[1]["rf"][0] > rf[0]["rf"][1]


def test_input_is_normalised_internally() -> None:
    m = SimCardioNet(TINY, 3).eval()
    # a white page must not saturate: the stem sees (1 - 0.5) / 0.25 = 2, not 255
    assert torch.isfinite(m(torch.ones(1, 3, 32, 48))).all()
    assert "mean" not in m.state_dict()  # fixed buffer, not a learnt weight


def test_complexity_counts_params_and_flops() -> None:
    m = SimCardioNet(TINY, 3)
    c = m.complexity((32, 48))
    assert c["params"] + c["params_projector"] == sum(p.numel() for p in m.parameters())
    c2 = m.complexity((64, 96))
    assert 3.5 < c2["flops"] / c["flops"] < 4.5  # four times the pixels, about four times the work
    paper = load_preset("paper")
    assert SimCardioNet(paper.model, 4).complexity((224, 224))["params"] > 1e6


@pytest.mark.parametrize("attention", [True, False])
def test_grid_pooling_keeps_where_on_the_page(attention: bool) -> None:
    """pool="grid": each cell's mean of the (attended) map, channel-major; "avg" is their mean."""
    torch.manual_seed(0)
    cfg = ModelConfig(**{**TINY.__dict__, "attention": attention, "pool": "grid", "pool_grid": (2, 3)})
    m = SimCardioNet(cfg, 3).eval()
    x = torch.rand(2, 3, 32, 48)
    f = m.features(x)
    assert m.feature_dim == 16 * 6 and f.shape == (2, 96) and m(x).shape == (2, 3) and m.project(x).shape == (2, 16)
    fmap = m.feature_map(x)  # 2 x 16 x 4 x 6: each grid cell is 2 x 2 positions
    if attention:
        fmap = m.cam_reshape_transform(m.attention(fmap))
    cell = fmap[:, :, 2:4, 2:4].mean(dim=(2, 3))  # row 1, column 1 of the 2 x 3 grid
    assert torch.allclose(f.view(2, 16, 2, 3)[:, :, 1, 1], cell, atol=1e-6)
    # the same weights with global average pooling give the mean of the cells
    avg = SimCardioNet(ModelConfig(**{**cfg.__dict__, "pool": "avg"}), 3).eval()
    avg.load_state_dict({k: v for k, v in m.state_dict().items() if not k.startswith(("projector", "head"))}, strict=False)
    assert torch.allclose(avg.features(x), f.view(2, 16, 6).mean(-1), atol=1e-6)
    # moving content to another page region changes the grid features
    shifted = torch.roll(x, shifts=24, dims=3)
    assert not torch.allclose(m.features(shifted), f, atol=1e-3)


def test_pool_option_is_validated() -> None:
    with pytest.raises(ValueError, match="model.pool"):
        SimCardioNet(ModelConfig(**{**TINY.__dict__, "pool": "max"}), 3)
    with pytest.raises(ValueError, match="pool_grid"):
        SimCardioNet(ModelConfig(**{**TINY.__dict__, "pool": "grid", "pool_grid": (0, 4)}), 3)


def test_stem_stride_one_keeps_full_resolution() -> None:
    """``stem_stride=1`` leaves the first stage at the input's resolution: twice the last map's
    side and half the receptive-field jump of the default stride 2; other strides are refused."""
    import dataclasses

    full = SimCardioNet(dataclasses.replace(TINY, stem_stride=1), 3).eval()
    half = SimCardioNet(TINY, 3).eval()
    x = torch.rand(1, 3, 32, 48)
    assert full.feature_map(x).shape[-2:] == tuple(2 * s for s in half.feature_map(x).shape[-2:])
    assert full(x).shape == (1, 3)
    assert full.branch_receptive_fields()[0]["rf"] == [5, 7]  # stem RF 3, jump 1: 3 + (k - 1)
    with pytest.raises(ValueError, match="stem_stride"):
        SimCardioNet(dataclasses.replace(TINY, stem_stride=3), 3)


def test_standard_attention_form_is_torchs_transformer_encoder_layer() -> None:
    """``attn_form="standard"`` computes exactly what ``nn.TransformerEncoderLayer`` (post-norm, torch's defaults) does."""
    from simcardionet_lite.model.backbone import STANDARD_FF, SpatialSelfAttention

    torch.manual_seed(0)
    ours = SpatialSelfAttention(16, 4, form="standard").eval()
    ref = torch.nn.TransformerEncoderLayer(16, 4, batch_first=True).eval()
    assert ref.linear1.out_features == STANDARD_FF and ref.norm_first is False
    mapping = {"self_attn.": "attn.", "linear1.": "mlp.0.", "linear2.": "mlp.3.", "norm1.": "norm1.", "norm2.": "norm2."}
    state = {}
    for k, v in ref.state_dict().items():
        new = next(k.replace(a, b, 1) for a, b in mapping.items() if k.startswith(a))
        state[new] = v
    ours.load_state_dict(state)
    t = torch.randn(3, 7, 16)
    assert torch.allclose(ours.block(t), ref(t), atol=1e-5)
    ours.keep_attention = True
    ours.block(t)
    assert ours.last_attention.shape == (3, 7, 7)
    with pytest.raises(ValueError, match="attn_form"):
        SpatialSelfAttention(16, 4, form="postnorm")


def test_plain_block_encoder_pools_to_the_same_map_and_counts_its_receptive_field() -> None:
    cfg = ModelConfig(**{**TINY.__dict__, "block": "plain", "attn_form": "standard"})
    m = SimCardioNet(cfg, 3).eval()
    x = torch.rand(2, 3, 32, 48)
    assert m.feature_map(x).shape == (2, 16, 4, 6)  # stem /2, two max-pooled stages /2 each
    assert m(x).shape == (2, 3)
    assert not any(isinstance(mod, MultiScaleBlock) for mod in m.modules())
    # stem RF 3, jump 2; stage1's 3x3 conv sees 3 + 2*2 = 7, its pooling adds a jump (9), jump 4; stage2's conv 9 + 2*4 = 17
    assert [r["rf"] for r in m.branch_receptive_fields()] == [[7], [17]]
    with pytest.raises(ValueError, match="model.block"):
        SimCardioNet(ModelConfig(**{**TINY.__dict__, "block": "dense"}), 3)
