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
