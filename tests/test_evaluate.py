"""Metrics against scikit-learn, absent classes, seeded bootstrap, summaries, probes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from simcardionet_lite.evaluate import (
    bootstrap_ci,
    classification_metrics,
    extract_features,
    knn_accuracy,
    linear_probe,
    predict,
    summarize,
)
from test_pretrain import TINY, Toy


def test_metrics_match_sklearn_with_an_absent_class() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 50)  # class 3 never occurs
    p = rng.dirichlet(np.ones(4), 50)
    m = classification_metrics(y, p, ("a", "b", "c", "d"), n_boot=50, seed=1)
    pred = p.argmax(1)
    lab = [0, 1, 2]  # macro averages run over the classes present in y; "d" is predicted but absent
    assert (pred == 3).any()
    assert m["accuracy"] == pytest.approx((pred == y).mean())
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, labels=lab, average="macro", zero_division=0))
    assert m["weighted_f1"] == pytest.approx(f1_score(y, pred, labels=[0, 1, 2, 3], average="weighted", zero_division=0))
    assert m["macro_classes"] == ["a", "b", "c"]
    assert m["per_class"]["d"]["absent"] and not m["per_class"]["a"]["absent"]
    assert m["per_class"]["d"]["predicted"] == int((pred == 3).sum())
    assert m["macro_precision"] == pytest.approx(precision_score(y, pred, labels=lab, average="macro", zero_division=0))
    assert m["macro_recall"] == pytest.approx(recall_score(y, pred, labels=lab, average="macro", zero_division=0))
    assert m["macro_auc"] == pytest.approx(np.mean([roc_auc_score(y == c, p[:, c]) for c in range(3)]))
    assert m["auc_classes"] == ["a", "b", "c"] and "d" in m["auc_note"]
    assert np.asarray(m["confusion"]).sum() == 50 and m["per_class"]["d"]["support"] == 0
    lo, hi = m["ci"]["accuracy"]
    assert lo <= m["accuracy"] <= hi
    assert classification_metrics(y, p, ("a", "b", "c", "d"), n_boot=50, seed=1)["ci"] == m["ci"]  # seeded
    with pytest.raises(ValueError):
        classification_metrics(y, p[:, :3], ("a", "b", "c", "d"))


def test_single_class_fold_has_no_auc_and_perfect_predictions_score_one() -> None:
    y = np.zeros(5, dtype=int)
    p = np.tile([0.9, 0.1], (5, 1))
    m = classification_metrics(y, p, ("x", "y"), n_boot=10)
    assert m["macro_auc"] is None and m["accuracy"] == 1.0
    assert bootstrap_ci(y, p, lambda a, b: float((b.argmax(1) == a).mean()), n_boot=20) == (1.0, 1.0)


def test_summarize_mean_sd() -> None:
    s = summarize([{"accuracy": 0.8, "macro_auc": None}, {"accuracy": 0.6, "macro_auc": 0.7}], ["accuracy", "macro_auc"])
    assert s["accuracy"]["mean"] == pytest.approx(0.7) and s["accuracy"]["sd"] == pytest.approx(np.std([0.8, 0.6], ddof=1))
    assert s["macro_auc"] == {"mean": 0.7, "sd": 0.0, "n": 1, "values": [0.7]}
    # metrics dicts that hold {"value": ...} summarise like flat floats; keys=None takes the numeric ones
    assert summarize([{"accuracy": {"value": 0.5}}, {"accuracy": 0.7}], ["accuracy"])["accuracy"]["mean"] == pytest.approx(0.6)
    assert list(summarize([{"a": 1.0, "b": "x", "c": True}], None)) == ["a"]


def test_knn_and_linear_probe_on_separable_features() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(3, 5) * 5
    ytr, yte = rng.integers(0, 3, 30), rng.integers(0, 3, 20)
    ftr, fte = centres[ytr] + rng.normal(size=(30, 5)), centres[yte] + rng.normal(size=(20, 5))
    assert knn_accuracy(ftr, ytr, fte, yte, k=5) > 0.9
    probs = linear_probe(ftr, ytr, fte, n_classes=4)
    assert (probs.argmax(1) == yte).mean() > 0.9 and probs.shape == (20, 4) and np.allclose(probs[:, 3], 0)
    one = linear_probe(ftr[ytr == 1], ytr[ytr == 1], fte, n_classes=3)  # one training class: nothing to fit
    assert np.all(one[:, 1] == 1.0)


def test_infer_matches_a_plain_forward_and_restores_train_mode() -> None:
    from simcardionet_lite.evaluate import infer
    from simcardionet_lite.model.backbone import SimCardioNet

    torch.manual_seed(0)
    m = SimCardioNet(TINY, 3).train()
    x = torch.rand(5, 3, 32, 32)
    out = infer(m, x, batch_size=2)
    assert m.training  # restored
    m.eval()
    with torch.no_grad():
        assert torch.allclose(out, m(x), atol=1e-6)
        assert torch.allclose(infer(m, x, output="features", batch_size=3), m.features(x), atol=1e-6)
    with pytest.raises(ValueError, match="logits"):
        infer(m, x, output="probs")


def test_predict_and_features_on_a_subset() -> None:
    from simcardionet_lite.model.backbone import SimCardioNet

    ds = Toy(3)
    sub = torch.utils.data.Subset(ds, [0, 4, 8])
    m = SimCardioNet(TINY, 3)
    probs, labels = predict(m, sub, batch_size=2)
    assert probs.shape == (3, 3) and np.allclose(probs.sum(1), 1) and labels.tolist() == [0, 1, 2]
    assert extract_features(m, sub).shape == (3, 16)



class _InkColumn(torch.nn.Module):
    """Logits from where the ink is: class 0 scores ink in the left half of each image, class 1 in the right half."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ink = (1.0 - x).mean(dim=(1, 2))  # N x W
        half = ink.shape[1] // 2
        return 10.0 * torch.stack([ink[:, :half].sum(1), ink[:, half:].sum(1)], dim=1) + 0 * self.w


class _Pages(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor) -> None:
        self.x, self.labels = x, np.zeros(len(x), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], 0


def test_test_time_shifts_average_the_probabilities_of_the_page_and_its_shifted_views() -> None:
    from simcardionet_lite.batch_augment import shift_pages

    x = torch.ones(2, 3, 4, 16)
    x[0, :, :, 7] = 0.0  # ink just left of the middle: a shift right by 2 px moves it across
    x[1, :, :, 2] = 0.0
    ds, m = _Pages(x), _InkColumn()
    plain, _ = predict(m, ds)
    probs, labels = predict(m, ds, shifts=(0.125,))
    right = m(shift_pages(x, 0.125)).softmax(1).detach().numpy()
    assert np.allclose(probs, (plain + right) / 2, atol=1e-6) and labels.tolist() == [0, 0]
    assert plain[0, 0] > 0.99 and right[0, 1] > 0.99 and np.allclose(probs[0], [0.5, 0.5], atol=0.01)
    assert np.allclose(probs[1], plain[1], atol=1e-6)  # column 2 moves to 4: still left
    # inside tiles (1 x 2 mosaic of 8-pixel tiles) the ink never crosses into the next tile: shifted right it leaves
    # its tile (both halves blank: 0.5 each), shifted left it stays left, so class 1 never wins
    tiled, _ = predict(m, ds, shifts=(0.125, -0.125), tile_grid=(1, 2))
    assert np.allclose(tiled[0, 0], (2 * plain[0, 0] + 0.5) / 3, atol=1e-5)
    with pytest.raises(ValueError, match="always scored"):
        predict(m, ds, shifts=(0.0,))


def test_shift_pages_moves_ink_by_the_fraction_with_white_fill_and_keeps_it_inside_each_tile() -> None:
    from simcardionet_lite.batch_augment import shift_pages

    x = torch.ones(1, 3, 2, 16)
    x[..., 3] = 0.0
    x[..., 15] = 0.0
    assert shift_pages(x, 0.0) is x
    y = shift_pages(x, 0.125)[0, 0, 0]  # 2 px right: column 3 to 5; column 15 leaves the page, paper enters at 0-1
    assert y.tolist() == [1.0] * 5 + [0.0] + [1.0] * 10
    y = shift_pages(x, 0.125, (1, 2))[0, 0, 0]  # 1 px right inside each 8-px tile: 3 to 4; 15 leaves its tile
    assert y.tolist() == [1.0] * 4 + [0.0] + [1.0] * 11
    y = shift_pages(x, -0.125)[0, 0, 0]
    assert y.tolist() == [1.0, 0.0] + [1.0] * 11 + [0.0] + [1.0] * 2
    with pytest.raises(ValueError, match="fraction of the width"):
        shift_pages(x, 0.5)

def test_cluster_bootstrap_resamples_whole_clusters_and_widens_intervals() -> None:
    from simcardionet_lite.evaluate import cluster_resample

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(10), 8)  # 10 clusters of 8 copies
    for _ in range(20):
        idx = cluster_resample(groups, rng)
        drawn, counts = np.unique(groups[idx], return_counts=True)
        assert counts.sum() == len(idx) and set(counts.tolist()) <= {8 * k for k in range(1, 11)}
        assert len(idx) % 8 == 0
    # copies are one piece of evidence: a cluster bootstrap is wider than a page bootstrap
    y = np.repeat(rng.integers(0, 2, 10), 8)
    correct = np.repeat(rng.random(10) < 0.6, 8)
    p = np.where(correct[:, None], np.eye(2)[y], np.eye(2)[1 - y]) * 0.8 + 0.1
    page = classification_metrics(y, p, ("a", "b"), n_boot=300, seed=0)
    clus = classification_metrics(y, p, ("a", "b"), n_boot=300, seed=0, groups=groups)
    width = lambda m: m["ci"]["accuracy"][1] - m["ci"]["accuracy"][0]  # noqa: E731
    assert width(clus) > 1.5 * width(page)
    assert page["ci_unit"] == "page" and clus["ci_unit"] == "cluster (10 clusters)"
    with pytest.raises(ValueError, match="groups"):
        bootstrap_ci(y, p, lambda a, b: 0.0, n_boot=2, groups=groups[:5])


def test_views_of_reads_the_shifts_and_the_panel_grid_from_the_config() -> None:
    from simcardionet_lite.config import load_preset, with_overrides
    from simcardionet_lite.ecg.render import MOSAIC_GRID
    from simcardionet_lite.evaluate import views_of

    cpu = load_preset("cpu")
    assert views_of(cpu) == {"shifts": (-0.1, -0.05, 0.05, 0.1), "tile_grid": MOSAIC_GRID}
    whole = with_overrides(cpu, {"data.panels": False, "eval.tta_shifts": []})
    assert views_of(whole) == {"shifts": (), "tile_grid": None}
