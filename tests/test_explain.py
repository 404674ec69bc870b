"""Tests of the Grad-CAM wrapper, per-lead CAM mass and the deletion faithfulness metric.

The faithfulness metric is checked on a model with a known answer: its logit is the sum of a
known pixel region, so the true map (that region) must delete the logit exactly by the time the
region's area is deleted, while a random map deletes it only in proportion to the area.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from simcardionet_lite import explain


class RegionSum(nn.Module):
    """Logit 0 = sum of channel-mean pixels inside a fixed region; logit 1 = 0."""

    def __init__(self, region: tuple[slice, slice]) -> None:
        super().__init__()
        self.region = region
        self.dummy = nn.Parameter(torch.zeros(1))  # so the model has a device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ys, xs = self.region
        s = x.mean(dim=1)[:, ys, xs].sum(dim=(1, 2))
        return torch.stack([s, torch.zeros_like(s)], dim=1) + 0 * self.dummy


class TinyConv(nn.Module):
    """conv(1x1, weight 1) -> ReLU -> GAP -> linear [1, -1]: class 0 is driven by bright pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1, bias=False)
        nn.init.constant_(self.conv.weight, 1.0)
        self.fc = nn.Linear(1, 2, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[1.0], [-1.0]]))
        self.cam_target_layer = self.conv
        self.cam_reshape_transform = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


class TokenModel(nn.Module):
    """Like TinyConv but the hooked layer outputs tokens (N x L x C), as an attention block does."""

    def __init__(self, h: int, w: int) -> None:
        super().__init__()
        self.h, self.w = h, w
        self.conv = nn.Conv2d(3, 1, 1, bias=False)
        nn.init.constant_(self.conv.weight, 1.0)
        self.tokens = nn.Identity()
        self.fc = nn.Linear(1, 2, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[1.0], [-1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = torch.relu(self.conv(x))  # N x 1 x h x w
        t = self.tokens(f.flatten(2).transpose(1, 2))  # N x L x 1
        return self.fc(t.mean(dim=1))

    def reshape(self, t: torch.Tensor) -> torch.Tensor:
        return t.transpose(1, 2).reshape(t.shape[0], -1, self.h, self.w)


def _square_image(h: int = 16, w: int = 16) -> torch.Tensor:
    x = torch.zeros(1, 3, h, w)
    x[:, :, 2:6, 9:14] = 1.0
    return x


def test_deletion_known_answer_true_map_beats_random() -> None:
    h = w = 20
    region = (slice(0, 2), slice(0, 20))  # 40 of 400 pixels = 10 %
    model = RegionSum(region)
    images = torch.ones(3, 3, h, w)
    true_map = np.zeros((3, h, w), np.float32)
    true_map[:, 0:2, :] = 1.0
    fr, s_true = explain.deletion_curve(model, images, true_map, [0, 0, 0], steps=20, fill=0.0, score="logit")
    # The logit is 40 at the start, 20 after 5 % deleted, 0 from 10 % on: AUC = 0.05 * 40 = 2.
    assert s_true[0, 0] == pytest.approx(40.0)
    assert s_true[0, 1] == pytest.approx(20.0)
    assert np.allclose(s_true[:, 2:], 0.0)
    assert explain.curve_auc(fr, s_true) == pytest.approx([2.0, 2.0, 2.0])
    rng = np.random.default_rng(0)
    rmap = explain.random_maps(3, (h, w), rng)
    _, s_rand = explain.deletion_curve(model, images, rmap, [0, 0, 0], steps=20, fill=0.0, score="logit")
    # A random map deletes the region in proportion to the deleted area: AUC near 0.5 * 40 = 20.
    assert explain.curve_auc(fr, s_rand).mean() == pytest.approx(20.0, rel=0.15)
    res = explain.faithfulness(
        model, images, true_map, [0, 0, 0], np.random.default_rng(1), steps=20, fill=0.0, score="logit", smooth=0
    )
    assert res["mean_auc_cam"] == pytest.approx(2.0)
    assert res["mean_auc_random"] > 5 * res["mean_auc_cam"]
    assert res["win_rate"] == 1.0


def test_deletion_mean_fill_and_prob_score_are_bounded() -> None:
    model = RegionSum((slice(0, 4), slice(0, 4)))
    images = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    maps = np.random.default_rng(0).random((2, 8, 8))
    fr, s = explain.deletion_curve(model, images, maps, [0, 1], steps=4)
    assert fr.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert s.shape == (2, 5) and np.all((s >= 0) & (s <= 1))
    with pytest.raises(ValueError, match="maps must be"):
        explain.deletion_curve(model, images, maps[:1], [0, 1])


def test_gradcam_peaks_where_the_evidence_is_and_lead_mass_follows() -> None:
    model = TinyConv()
    x = _square_image()
    cam = explain.gradcam(model, x, [0])
    assert cam.shape == (1, 16, 16) and cam.dtype == np.float32
    assert cam[0, 2:6, 9:14].min() > 0.99 and cam[0].sum() == pytest.approx(cam[0, 2:6, 9:14].sum())
    boxes = {"I": (0, 8, 8, 16), "II": (8, 0, 16, 8)}
    mass = explain.lead_attribution(cam, boxes)
    assert mass["I"] == pytest.approx(1.0) and mass["II"] == 0.0 and mass["outside"] == 0.0
    by_class = explain.lead_mass_by_class(np.concatenate([cam, cam]), [0, 1], ("A", "B"), boxes)
    assert set(by_class) == {"A", "B"}
    ratio = explain.area_normalised(mass, boxes, (16, 16))
    assert ratio["I"] == pytest.approx(4.0)  # all the mass on a quarter of the page
    assert ratio["outside"] == 0.0  # nothing on the half of the page no panel covers
    areas = explain.region_areas(boxes, (16, 16))
    assert areas == {"I": 0.25, "II": 0.25, "outside": 0.5}
    # a uniform map puts exactly the area shares in each region: every ratio is 1
    flat = explain.lead_attribution(np.ones((16, 16)), boxes)
    assert all(v == pytest.approx(1.0) for v in explain.area_normalised(flat, boxes, (16, 16)).values())


def test_gradcam_with_token_output_needs_and_uses_reshape_transform() -> None:
    model = TokenModel(16, 16)
    x = _square_image()
    cam = explain.gradcam(model, x, [0], target_layer=model.tokens, reshape_transform=model.reshape)
    assert cam.shape == (1, 16, 16)
    assert cam[0, 2:6, 9:14].mean() > 0.99 and cam[0, 10:, :5].max() == 0.0


def test_gradcam_rejects_mismatched_targets() -> None:
    with pytest.raises(ValueError, match="one target per image"):
        explain.gradcam(TinyConv(), torch.zeros(2, 3, 8, 8), [0])


def test_overlay_shape_and_type() -> None:
    img = np.full((3, 10, 12), 0.5, np.float32)
    out = explain.overlay(img, np.zeros((10, 12), np.float32))
    assert out.shape == (10, 12, 3) and out.dtype == np.uint8
    with pytest.raises(ValueError, match="differ in size"):
        explain.overlay(img, np.zeros((5, 5), np.float32))


def test_gradcam_region_table_divides_mass_by_area() -> None:
    from simcardionet_lite import experiments as ex

    study = {"lead_mass_by_class": {"A": {"I": 0.5, "II": 0.0, "outside": 0.5}},
             "panel_area": {"I": 0.25, "II": 0.25, "outside": 0.5}}
    t = ex.gradcam_region_table(study)
    assert t.loc["A", "I"] == 2.0 and t.loc["A", "II"] == 0.0 and t.loc["A", "outside"] == 1.0
    old = {"lead_mass_by_class": study["lead_mass_by_class"]}  # published before panel_area existed
    assert ex.gradcam_region_table(old).loc["A", "I"] == 0.5


# --- baselines and ROAD --------------------------------------------------------------------------


class SmallCNN(nn.Module):
    """conv(3x3) -> ReLU -> GAP -> linear, three classes, with a CAM target layer (a stand-in network)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)
        self.cam_target_layer = self.conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def test_ink_map_ranks_the_darkest_pixels_first_and_deletes_them_first() -> None:
    x = torch.ones(1, 3, 6, 8)
    x[0, :, 1, 2] = 0.0  # black
    x[0, :, 4, 5] = 0.5  # grey
    x[0, 0, 3, 3] = 0.4  # dark in one channel only: grey level 0.8
    ink = explain.ink_maps(x)
    assert ink.shape == (1, 6, 8) and ink.dtype == np.float32
    assert ink[0, 1, 2] == pytest.approx(1.0) and ink[0, 4, 5] == pytest.approx(0.5)
    assert ink[0, 3, 3] == pytest.approx(0.2) and ink[0, 0, 0] == 0.0
    order = np.argsort(-ink[0].ravel(), kind="stable")[:3]
    assert [divmod(int(i), 8) for i in order] == [(1, 2), (4, 5), (3, 3)]
    # the deletion curve removes the black pixel first: a model reading that pixel drops to 0 at once
    model = RegionSum((slice(1, 2), slice(2, 3)))
    _, s = explain.deletion_curve(model, 1 - x, ink, [0], steps=48, fill=0.0, score="logit")
    assert s[0, 0] == pytest.approx(1.0) and s[0, 1] == 0.0
    with pytest.raises(ValueError, match="N x C x H x W"):
        explain.ink_maps(np.zeros((6, 8)))


def test_map_ranks_keep_the_order_and_break_ties_by_pixel_index() -> None:
    m = np.array([[[0.0, 0.5, 0.0], [1.0, 0.0, 0.5]]])
    r = explain.map_ranks(m)
    assert r.shape == m.shape and len(np.unique(r)) == 6 and r.max() == 1.0 and r.min() == 0.0
    assert r[0, 1, 0] == 1.0  # the top pixel
    assert r[0, 0, 1] > r[0, 1, 2] > r[0, 0, 0] > r[0, 0, 2] > r[0, 1, 1]  # ties: the earlier pixel ranks higher


def test_score_maps_pairs_the_reference_with_each_map_page_by_page() -> None:
    h = w = 10
    model = RegionSum((slice(0, 2), slice(0, 10)))  # the top two rows decide
    images = torch.ones(3, 3, h, w)
    top = np.zeros((h, w), np.float32)
    top[0:2] = 1.0
    bottom = top[::-1].copy()
    cam = np.stack([top, top, bottom])  # right on pages 0 and 1, wrong on page 2
    other = np.stack([bottom, bottom, top])  # the opposite
    res = explain.score_maps(model, images, {"cam": cam, "other": other}, [0, 0, 0], steps=10, fill=0.0,
                             score="logit", road=None)
    auc_cam, auc_other = res["maps"]["cam"]["auc"], res["maps"]["other"]["auc"]
    assert auc_cam[0] < auc_other[0] and auc_cam[2] > auc_other[2]
    v = res["versus"]["other"]
    assert v["share_cam_auc_below"] == pytest.approx(2 / 3)
    assert v["mean_auc_cam"] == pytest.approx(np.mean(auc_cam)) and v["mean_auc_baseline"] == pytest.approx(np.mean(auc_other))
    assert "road" not in res and "mean_road_cam" not in v
    with pytest.raises(ValueError, match="reference"):
        explain.score_maps(model, images, {"other": other}, [0, 0, 0], road=None)


@pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning")  # the library's own call
def test_road_wiring_gives_finite_scores_equal_to_roadcombined() -> None:
    from pytorch_grad_cam.metrics.road import ROADCombined
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    torch.manual_seed(0)
    model = SmallCNN()
    x = torch.rand(3, 3, 12, 16, generator=torch.Generator().manual_seed(1))
    maps = np.random.default_rng(0).random((3, 12, 16)).astype(np.float32)
    state = torch.random.get_rng_state()
    r = explain.road_scores(model, x, maps, [0, 1, 2], percentiles=(50, 80), seed=3)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is left alone
    assert set(r) == {"morf", "lerf", "combined"} and all(v.shape == (3,) and np.isfinite(v).all() for v in r.values())
    assert r["combined"] == pytest.approx((r["lerf"] - r["morf"]) / 2)
    torch.manual_seed(3)
    lib = ROADCombined(percentiles=[50, 80])(x, explain.map_ranks(maps), [ClassifierOutputSoftmaxTarget(t) for t in
                                                                         (0, 1, 2)], model.eval())
    assert r["combined"] == pytest.approx(lib, abs=1e-6)
    again = explain.road_scores(model, x, maps, [0, 1, 2], percentiles=(50, 80), seed=3)
    assert again["combined"] == pytest.approx(r["combined"])  # seeded imputation noise


def test_baseline_study_keys_each_target_and_scores_shared_pairs_once() -> None:
    torch.manual_seed(0)
    model, other = SmallCNN(), SmallCNN()
    x = torch.rand(4, 3, 12, 16, generator=torch.Generator().manual_seed(2))
    pred = [int(p) for p in model(x).argmax(1)]
    true = list(pred)
    true[1] = (pred[1] + 1) % 3  # one page misclassified
    res = explain.baseline_study(model, x, {"predicted": pred, "true": true}, untrained=SmallCNN, other=other,
                                 seed=0, steps=4, road=(80,))
    assert res["primary"] == "predicted" and res["targets"] == {"predicted": pred, "true": true}
    assert res["baselines"] == ["random", "ink", "untrained", "other_seed"]
    assert res["n_pairs_scored"] == 5 and res["road"]["percentiles_kept"] == [80]
    p, t = res["by_target"]["predicted"], res["by_target"]["true"]
    assert set(p["maps"]) == {"cam", "random", "ink", "untrained", "other_seed"} and set(p["versus"]) == set(p["maps"]) - {"cam"}
    for name in p["maps"]:
        a, b = np.asarray(p["maps"][name]["auc"]), np.asarray(t["maps"][name]["auc"])
        assert len(a) == 4 and np.isfinite(a).all()
        assert a[[0, 2, 3]] == pytest.approx(b[[0, 2, 3]])  # the same (page, target) pairs, the same numbers
        assert np.isfinite(p["maps"][name]["road"]["combined"]).all()
    assert p["versus"]["ink"]["mean_auc_cam"] == p["maps"]["cam"]["mean_auc"]
    assert 0.0 <= p["versus"]["ink"]["share_cam_road_above"] <= 1.0
    alone = explain.baseline_study(model, x, {"predicted": pred}, seed=0, steps=4, road=None)
    assert alone["baselines"] == ["random", "ink"] and "road" not in alone
    with pytest.raises(ValueError, match="primary"):
        explain.baseline_study(model, x, {"true": true}, road=None)


def test_untrained_cams_are_the_seeded_network_and_leave_the_rng_alone() -> None:
    x = torch.rand(2, 3, 12, 16, generator=torch.Generator().manual_seed(4))
    state = torch.random.get_rng_state()
    a = explain.untrained_cams(SmallCNN, x, [0, 1], seed=7)
    assert torch.equal(state, torch.random.get_rng_state())
    torch.manual_seed(7)
    assert a == pytest.approx(explain.gradcam(SmallCNN(), x, [0, 1]))
    assert explain.other_model_cams(SmallCNN(), x, [0, 1]).shape == (2, 12, 16)
