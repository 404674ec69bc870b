"""Tests of the experiment protocols' building blocks (splits, variants, audits, tables)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simcardionet_lite import experiments as ex
from simcardionet_lite.config import load_preset


class Toy(torch.utils.data.Dataset):
    """A minimal dataset with the project interface; pages are random noise per group."""

    def __init__(self, labels: list[int], groups: list[int], size: int = 32) -> None:
        self.classes = ("A", "B", "C")
        self.labels = np.asarray(labels)
        self.groups = np.asarray(groups)
        self.ids = [f"item{i}" for i in range(len(labels))]
        self.transform = None
        rng = np.random.default_rng(0)
        pages = {g: (rng.random((size, size, 3)) * 255).astype(np.uint8) for g in np.unique(self.groups)}
        self._pages = np.stack([pages[g] for g in self.groups])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        x = torch.from_numpy(self._pages[i]).permute(2, 0, 1).float() / 255
        return (self.transform(x) if self.transform else x), int(self.labels[i]), self.ids[i]

    def images_uint8(self) -> np.ndarray:
        return self._pages


def _toy() -> Toy:
    labels = [0] * 10 + [1] * 10 + [2] * 10
    groups = [i // 2 for i in range(30)]  # every page has one duplicate
    return Toy(labels, groups)


def test_train_val_split_keeps_duplicate_groups_together_and_every_class_in_train() -> None:
    ds = _toy()
    tr, va = ex.train_val_split(ds.labels, ds.groups, 0.3, seed=1)
    assert len(set(tr) & set(va)) == 0 and len(tr) + len(va) == len(ds)
    assert not set(ds.groups[tr]) & set(ds.groups[va])
    assert set(ds.labels[tr]) == {0, 1, 2} and len(va) > 0


def test_data_identity_names_the_pages_and_their_content() -> None:
    ds = _toy()
    a, b = ex.subset(ds, [0, 1, 2]), ex.subset(ds, [3, 4])
    assert ex.data_identity(a) != ex.data_identity(b)
    assert ex.data_identity(a) == ex.data_identity(ex.subset(ds, [0, 1, 2]))
    other = _toy()
    other.fingerprint = "another content"  # same ids, other bytes: another encoder
    assert ex.data_identity(ex.subset(other, [0, 1, 2])) != ex.data_identity(a)


def test_label_subset_is_stratified_with_at_least_one_per_class() -> None:
    labels = np.array([0] * 50 + [1] * 20 + [2] * 3)
    pos = ex.label_subset(labels, 0.1, seed=0)
    counts = np.bincount(labels[pos], minlength=3)
    assert counts.tolist() == [5, 2, 1]
    assert len(ex.label_subset(labels, 1.0, seed=0)) == len(labels)


def test_label_subset_with_groups_draws_a_fraction_of_the_clusters() -> None:
    # class 0: 10 clusters, cluster 0 has 31 copies; class 1: 10 single pages
    groups = np.array([0] * 31 + list(range(1, 10)) + list(range(10, 20)))
    labels = np.array([0] * 40 + [1] * 10)
    pos = ex.label_subset(labels, 0.2, seed=1, groups=groups)
    drawn = np.unique(groups[pos])
    assert len(drawn) == 4 and (drawn < 10).sum() == 2 and (drawn >= 10).sum() == 2, "2 of 10 clusters per class"
    assert set(pos.tolist()) == set(np.flatnonzero(np.isin(groups, drawn)).tolist()), "every copy of a drawn cluster"
    assert len(ex.label_subset(labels, 1.0, seed=0, groups=groups)) == len(labels)
    assert len(np.unique(groups[ex.label_subset(labels, 0.01, seed=0, groups=groups)])) == 2, "at least one per class"
    with pytest.raises(ValueError, match="groups"):
        ex.label_subset(labels, 0.5, seed=0, groups=groups[:3])


def test_arms_are_pure_config_and_change_exactly_their_knobs() -> None:
    cfg = load_preset("smoke")
    assert ex.arm_config(cfg, "full") == cfg
    assert ex.arm_config(cfg, "lam0").loss.lam == 0.0
    assert ex.arm_config(cfg, "no_attention").model.attention is False
    assert ex.arm_config(cfg, "crop").data.crop_header_footer is True
    nu = ex.arm_config(cfg, "no_unfreeze")
    assert nu.finetune.unfreeze_schedule == ((0, ("all",)),) and nu.pretrain == cfg.pretrain
    assert nu.finetune.lr_decay == cfg.finetune.lr_decay and ex.uses_pretraining(nu)
    sc = ex.arm_config(cfg, "scratch")
    assert sc.finetune.init == "random" and not ex.uses_pretraining(sc) and sc.finetune.lr_decay == 1.0
    nd = ex.arm_config(cfg, "no_domain_aug")
    assert nd.aug_pretrain.rotation_deg == 0 and nd.aug_pretrain.crop_scale_min == cfg.aug_pretrain.crop_scale_min
    # the recorded config alone says which arm ran: every arm has its own hash
    hashes = {name: ex.arm_config(cfg, name).hash() for name in ex.ARMS}
    assert len(set(hashes.values())) == len(ex.ARMS)
    with pytest.raises(KeyError, match="unknown arm"):
        ex.arm_config(cfg, "nope")
    with pytest.raises(ValueError, match="finetune.init"):
        ex.uses_pretraining(load_preset("smoke", **{"finetune.init": "imagenet"}))


def _pages(n: int, seed: int) -> np.ndarray:
    from simcardionet_lite.ecg import render, synth

    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        sig, _ = synth.generate("dataset1", ("MI", "PMI", "AHB", "NORM")[i % 4], rng, fs=250)
        out.append(render.render(sig, 250, "mendeley", size=(96, 128), rng=rng))
    return np.stack(out)


def test_overlap_audit_finds_reencoded_copies_and_not_new_pages() -> None:
    import io

    from PIL import Image

    def reencode(img: np.ndarray) -> np.ndarray:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=60)
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))

    train = Toy([0, 1, 2, 0, 1, 2], list(range(6)))
    train._pages = _pages(6, seed=1)
    seen = Toy([0, 1, 2], [0, 1, 2])
    seen._pages = np.stack([reencode(p) for p in train._pages[:3]])
    fresh = Toy([0, 1, 2], [10, 11, 12])
    fresh._pages = _pages(3, seed=2)  # other records drawn on the same layout
    from simcardionet_lite.experiments.recipes.dataset2 import overlap_audit

    a = overlap_audit(train, seen)
    assert a["n_seen"] == 3 and a["fraction_seen"] == 1.0 and a["seen_with_same_label"] == 1.0
    b = overlap_audit(train, fresh)
    assert b["n_seen"] == 0 and b["seen_with_same_label"] is None


def test_mean_sd_and_tables_format_numbers() -> None:
    from simcardionet_lite.evaluate import mean_sd, summarize

    s = mean_sd([0.5, 0.7, None])
    assert s["mean"] == pytest.approx(0.6) and s["sd"] == pytest.approx(np.std([0.5, 0.7], ddof=1)) and s["n"] == 2
    assert mean_sd([])["mean"] is None
    m = {"accuracy": 0.9, "macro_f1": {"value": 0.8, "ci": [0.7, 0.85]}}
    assert ex.fmt_ci(m, "macro_f1") == "0.800 [0.700, 0.850]"
    assert ex.fmt_ci(m, "weighted_f1") == "n/a"
    summ = summarize([m, {"accuracy": 0.8, "macro_f1": 0.6}])
    assert ex.fmt_ms(summ, "accuracy") == f"0.850 ± {np.std([0.9, 0.8], ddof=1):.3f}"


def test_official_fold_split() -> None:
    tr, va, te = ex.official_fold_split(np.array([1, 8, 9, 10, 3, 10]))
    assert tr.tolist() == [0, 1, 4] and va.tolist() == [2] and te.tolist() == [3, 5]


def test_multilabel_auc_known_answer() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(200, 2))
    y[:, 1] = 0
    y[:5, 1] = 1
    x = np.concatenate([y[:, :1] * 3 + rng.normal(0, 0.1, (200, 1)), rng.normal(size=(200, 1))], axis=1)
    yt = y.copy()
    yt[:, 1] = 0  # class "B" has no positives in the test set: left out of the macro mean
    from simcardionet_lite.experiments.recipes.ptbxl import multilabel_auc

    res = multilabel_auc(x[:100], y[:100], x[100:], yt[100:], ("A", "B"), seed=0)
    assert res["per_class_auc"]["A"] == pytest.approx(1.0) and res["left_out"] == ["B"]
    assert res["macro_auc"] == pytest.approx(1.0)


def test_standin_overlaps_real_dataset1_completely(realdata, tmp_path) -> None:
    from dataclasses import replace

    from simcardionet_lite.data.factory import build_dataset
    from simcardionet_lite.experiments.recipes.dataset2 import overlap_audit

    cfg = load_preset("smoke", **{"data.image_size": (48, 64), "data.cache_dir": str(tmp_path / "cache")})
    d1 = replace(cfg.data, source="dataset1", root=str(realdata / "dataset1_mendeley"))
    train = build_dataset(d1)
    test = build_dataset(replace(d1, source="kaggle_standin"), split="test")
    audit = overlap_audit(train, test)
    assert audit["n_test"] > 150 and audit["fraction_seen"] == 1.0


def _tiny(tmp_path, **more):
    return {"data.image_size": (32, 48), "data.n_per_class": 6, "data.cache_dir": str(tmp_path / "cache"),
            "pretrain.epochs": 1, "pretrain.batch_size": 16, "finetune.epochs": 1, "eval.n_bootstrap": 20, **more}


@pytest.mark.slow
def test_run_cv_end_to_end_and_pretraining_cache(tmp_path) -> None:
    from simcardionet_lite.data.factory import build_dataset
    from simcardionet_lite.experiments.recipes.dataset1 import run_cv

    cfg = ex.get("dataset1_cv").config("smoke", overrides=_tiny(tmp_path, **{"eval.seeds": (0, 1)}))
    ds = build_dataset(cfg.data, seed=cfg.seed)
    res = run_cv(ds, cfg, "grouped")
    assert len(res["folds"]) == 6 and [f["seed"] for f in res["folds"]] == [0, 0, 0, 1, 1, 1]
    assert all(f["test_groups_seen_in_train"] == 0 for f in res["folds"])
    assert int(np.sum(res["confusion"])) == 2 * len(ds)
    assert res["summary"]["accuracy"]["n"] == 6 and 0 <= res["summary"]["accuracy"]["mean"] <= 1
    assert res["baseline"]["summary"]["macro_f1"]["n"] == 6
    # every fold says whether its encoder came from the cache; the smoke corpus is all pages: one miss per seed
    assert [f["pretrain"]["cached"] for f in res["folds"]] == [False, True, True, False, True, True]
    # per seed, the held-out pages of all folds pooled (each page tested once), cluster-bootstrap intervals
    assert [r["seed"] for r in res["per_seed"]] == [0, 1] and res["seed_summary"]["macro_f1"]["n"] == 2
    for r in res["per_seed"] + res["baseline"]["per_seed"]:
        assert r["metrics"]["n"] == len(ds) and r["metrics"]["ci_unit"].startswith("cluster")
    train = ex.subset(ds, np.arange(8))
    _, first = ex.pretrained_encoder(cfg, train, 4, seed=0)
    model, again = ex.pretrained_encoder(cfg, train, 4, seed=0)
    assert not first["cached"] and again["cached"] and first["key"] == again["key"]
    _, other = ex.pretrained_encoder(ex.arm_config(cfg, "lam0"), train, 4, seed=0)
    assert other["key"] != first["key"]


def test_label_efficiency_arms_include_the_untrained_probe_control(tmp_path) -> None:
    from simcardionet_lite.data.factory import build_dataset
    from simcardionet_lite.experiments.recipes.label_efficiency import label_efficiency

    cfg = ex.get("label_efficiency").config("smoke", overrides=_tiny(tmp_path))
    ds = build_dataset(cfg.data, seed=cfg.seed)
    res = label_efficiency(ds, cfg, fractions=[0.5, 1.0], seeds=[0])
    assert set(res["curves"]) == set(ex.LABEL_EFFICIENCY_ARMS)
    for arm in ex.LABEL_EFFICIENCY_ARMS:
        rows = [r for r in res["rows"] if r["arm"] == arm]
        assert [r["fraction"] for r in rows] == [0.5, 1.0], arm
        assert all(0.0 <= r["metrics"]["accuracy"] <= 1.0 for r in rows)
    # the two probes see different features (pretraining changed the weights), same labelled pages
    lp = {r["fraction"]: r for r in res["rows"] if r["arm"] == "linear_probe"}
    rp = {r["fraction"]: r for r in res["rows"] if r["arm"] == "random_probe"}
    assert all(lp[f]["n_labels"] == rp[f]["n_labels"] for f in lp)
    table = ex.label_efficiency_table(res)
    assert "linear probe (untrained features): macro F1" in table.columns
    reading = ex.label_efficiency_reading(res)
    assert reading.count("% labels") == 2 and "of 1 seeds" in reading
    # a run committed before the control existed still renders
    old = {**res, "curves": {k: v for k, v in res["curves"].items() if k != "random_probe"}}
    assert "linear probe (untrained features): macro F1" not in ex.label_efficiency_table(old).columns


def test_ablation_reading_is_paired_by_seed() -> None:
    def arm(vals, label):
        return {"label": label, "runs": [{"seed": s, "metrics": {"macro_f1": v}} for s, v in enumerate(vals)]}

    res = {"arms": {"full": arm([0.5, 0.6, 0.7], "full"), "worse": arm([0.4, 0.5, 0.65], "worse"),
                    "mixed": arm([0.6, 0.5, 0.7], "mixed")}}
    text = ex.ablation_reading(res)
    assert "**worse** (worse): below `full` in every seed; macro-F1 difference -0.100 to -0.050." in text
    assert "**mixed** (mixed): above `full` in 1 of 3 seeds; macro-F1 difference -0.100 to +0.100." in text
    assert "full**" not in text


def test_paper_vs_ours_reads_one_seed_and_several_seed_results() -> None:
    from simcardionet_lite.evaluate import summarize

    def run(seed, acc):
        m = {"accuracy": acc, "macro_precision": acc, "macro_recall": acc, "macro_f1": acc, "weighted_f1": acc,
             "ci": {"accuracy": [acc - 0.1, acc + 0.1]}}
        return {"seed": seed, "metrics": m, "metrics_unseen": m, "baseline": m, "multilabel": {"macro_auc": 0.7}}

    runs = [run(0, 0.6), run(1, 0.7), run(2, 0.8)]
    several = {"metrics": {"overlap": {"n_seen": 1, "n_test": 2, "fraction_seen": 0.5}, "runs": runs, "n_test": 9,
                           "summary": summarize([r["metrics"] for r in runs]),
                           "summary_unseen": summarize([r["metrics_unseen"] for r in runs]),
                           "multilabel_summary": summarize([r["multilabel"] for r in runs], ["macro_auc"])},
               "seeds": [0, 1, 2]}
    one = {"metrics": {**run(0, 0.6), "overlap": {"n_seen": 1, "n_test": 2, "fraction_seen": 0.5}, "n_test": 9},
           "seeds": [0]}  # the format committed before recipes repeated over seeds
    table = ex.paper_vs_ours(lambda ch: {"06_dataset2": {"new": several, "old": one},
                                         "07_ptbxl": {"new": several}}.get(ch, {}))
    d2 = table[table.dataset.str.startswith("Dataset II:")]
    assert set(d2[d2.protocol.str.contains("`new`")].interval) == {"seeds: 0.600, 0.700, 0.800"}
    assert set(d2[d2.protocol.str.contains("`old`")].interval) == {"95 % bootstrap"}
    assert d2.iloc[0]["ours"] == "0.700 ± 0.100" and "on the unseen pages ours is 0.700 ± 0.100" in d2.iloc[0]["reading"]
    px = table[table.dataset.str.startswith("Dataset III:")]
    assert px.iloc[-1]["ours"] == "0.700 ± 0.000"  # the multi-label AUC over seeds
    assert set(table[table.dataset.str.startswith("Dataset I:")].ours) == {"not yet run"}


def test_encoder_key_follows_the_pages_not_where_the_config_says_they_came_from(tmp_path) -> None:
    from dataclasses import replace

    from simcardionet_lite.data.factory import build_dataset

    cfg = ex.get("dataset1_cv").config("smoke", overrides=_tiny(tmp_path))
    ds = build_dataset(cfg.data, seed=0)
    other_test_style = ex.get("dataset2_ood").config("smoke", overrides=_tiny(tmp_path))  # data.style = kaggle
    assert other_test_style.data != cfg.data
    assert ex.encoder_key(other_test_style, ds, 0) == ex.encoder_key(cfg, ds, 0)  # same pages: one encoder
    moved = ex.get("dataset1_cv").config("smoke", overrides={**_tiny(tmp_path), "data.cache_dir": str(tmp_path / "x")})
    assert ex.encoder_key(moved, ds, 0) == ex.encoder_key(cfg, ds, 0)
    bigger = replace(cfg.data, image_size=(48, 64))
    assert ex.encoder_key(ex.get("dataset1_cv").config("smoke", overrides={**_tiny(tmp_path), "data.image_size": (48, 64)}),
                          build_dataset(bigger, seed=0), 0) != ex.encoder_key(cfg, ds, 0)
    assert ex.encoder_key(ex.arm_config(cfg, "lam0"), ds, 0) != ex.encoder_key(cfg, ds, 0)
    assert ex.encoder_key(cfg, ds, 1) != ex.encoder_key(cfg, ds, 0)
    other_pages = build_dataset(replace(cfg.data, difficulty=0.9), seed=0)  # same ids, other content
    assert ex.encoder_key(cfg, other_pages, 0) != ex.encoder_key(cfg, ds, 0)


def test_encoder_key_follows_the_code_that_pretrains(tmp_path, monkeypatch) -> None:
    """Same config, pages and seed, other pretraining code: another encoder (the cache must not hand back the old one)."""
    from simcardionet_lite.data.factory import build_dataset
    from simcardionet_lite.experiments import engine

    cfg = ex.get("dataset1_cv").config("smoke", overrides=_tiny(tmp_path))
    ds = build_dataset(cfg.data, seed=0)
    before = ex.encoder_key(cfg, ds, 0)
    v = engine.code_version()
    assert len(v) == 12 and engine.code_version() == v  # stable within a process
    assert engine.code_version(("augment",)) != engine.code_version(("losses",))
    pkg = tmp_path / "pkg"
    for m in engine.ENCODER_CODE:  # a copy of the package's sources with one byte of the loss changed
        (pkg / m).parent.mkdir(parents=True, exist_ok=True)
    real = engine.Path(engine.__file__).resolve().parents[1]
    for m in engine.ENCODER_CODE:
        text = (real / f"{m}.py").read_bytes()
        (pkg / f"{m}.py").write_bytes(text + (b"\n# changed\n" if m == "losses" else b""))
    monkeypatch.setattr(engine, "__file__", str(pkg / "experiments" / "engine.py"))
    engine.code_version.cache_clear()
    try:
        assert engine.code_version() != v
        assert ex.encoder_key(cfg, ds, 0) != before
    finally:
        monkeypatch.undo()
        engine.code_version.cache_clear()
    assert ex.encoder_key(cfg, ds, 0) == before


@pytest.mark.slow
def test_dataset1_recipe_fits_its_arms_on_the_same_folds_and_saves_the_models(tmp_path) -> None:
    from simcardionet_lite.checkpoint import load_checkpoint
    from simcardionet_lite.data.images import file_sha256
    from simcardionet_lite.experiments.recipes.dataset1 import arm_datasets

    over = _tiny(tmp_path, **{"experiment.protocols": ("grouped",), "experiment.cv_arms": ("scratch",),
                              "finetune.unique_pages": True, "data.duplicate_fraction": 0.5})
    cfg = ex.get("dataset1_cv").config("smoke", overrides=over)
    out = tmp_path / "results"
    result = ex.run_recipe("dataset1_cv", cfg, results_dir=out)
    g = result.metrics["grouped"]
    arm = g["arms"]["scratch"]
    assert [(f["seed"], f["fold"]) for f in arm["folds"]] == [(f["seed"], f["fold"]) for f in g["folds"]]
    assert arm["per_seed"][0]["metrics"]["n"] == g["per_seed"][0]["metrics"]["n"]
    # one page per duplicate cluster is fitted: fewer than the training pages, which hold copies
    assert all(f["n_fit"] < f["n_train"] for f in g["folds"])
    # the method's models are saved beside the results, recorded by hash, and load back
    saved = result.record["extra"]["models"]
    assert sorted(saved) == [f"grouped-seed0-fold{k}" for k in range(3)]
    ck = load_checkpoint(out / "models" / "grouped-seed0-fold0.pt")
    assert file_sha256(out / "models" / "grouped-seed0-fold0.pt") == saved["grouped-seed0-fold0"]
    assert ck.classes == tuple(result.artifacts["dataset"].classes)
    # an arm that prepares pages differently reads the same files in the same order
    ds = result.artifacts["dataset"]
    other = arm_datasets(cfg, ds, ("crop",))["crop"]
    assert other is not ds and list(other.ids) == list(ds.ids)


def test_ood_subsets_split_seen_pages_by_where_their_copy_sat() -> None:
    from simcardionet_lite.experiments.recipes.dataset2 import ood_subsets

    train_groups = np.array([0, 0, 1, 2, 3])  # positions 0 and 1 are copies of each other
    fit, val = np.array([0, 3]), np.array([2])  # position 1's cluster was fitted through position 0
    matches = [[1], [2], [], [2, 3], [4]]
    part = ood_subsets(matches, train_groups, fit, val)
    # [1]: its copy's cluster was fitted; [2]: only validated; []: unseen; [2, 3]: one copy fitted wins;
    # [4]: in training but neither fitted nor validated (a dropped duplicate): counted as fitted, never as unseen
    assert part.tolist() == ["fitted", "val_only", "unseen", "fitted", "fitted"]


def test_paper_vs_ours_reads_a_grouped_only_dataset1_run_with_arms() -> None:
    from simcardionet_lite.evaluate import summarize

    def m(v):
        return {"accuracy": v, "macro_precision": v, "macro_recall": v, "macro_f1": v, "weighted_f1": v}

    def part(vals, label=None):
        out = {"folds": [{"seed": s, "fold": 0, "metrics": m(v)} for s, v in enumerate(vals)],
               "summary": summarize([m(v) for v in vals]),
               "per_seed": [{"seed": s, "metrics": m(v)} for s, v in enumerate(vals)]}
        return {**out, "label": label} if label else out

    grouped = {**part([0.90, 0.92, 0.91]), "baseline": part([0.60, 0.62, 0.61]),
               "arms": {"resnet18": part([0.70, 0.93, 0.72], "ResNet-18 (torchvision, random init) on whole pages")}}
    table = ex.paper_vs_ours(lambda ch: {"05_dataset1": {"panels": {"metrics": {"grouped": grouped}, "seeds": [0, 1, 2]}}}
                             .get(ch, {}))
    d1 = table[table.dataset.str.startswith("Dataset I:")]
    assert len(d1) == 4 and "grouped only" in d1.iloc[0]["protocol"]
    assert d1.iloc[0]["ours"] == "0.910 ± 0.010 (grouped)"
    reading = d1.iloc[0]["reading"]
    assert "ahead of the pixel baseline (0.610) in 3 of 3 seeds" in reading
    assert "ahead of ResNet-18 (0.783) in 2 of 3 seeds" in reading


def test_verdict_rules() -> None:
    from simcardionet_lite.experiments.report.verdicts import comparison_verdict, value_verdict

    def part(vals, half=0.02):
        return {"per_seed": [{"seed": s, "metrics": {"macro_f1": v, "ci": {"macro_f1": [v - half, v + half]}}}
                             for s, v in enumerate(vals)]}

    assert value_verdict(0.91, part([0.90, 0.92, 0.91])).verdict == "holds"
    no = value_verdict(0.972, part([0.90, 0.92, 0.91]))
    assert no.verdict == "does not hold" and "above every interval" in no.evidence
    assert value_verdict(0.935, part([0.90, 0.92, 0.91])).verdict == "inconclusive"  # inside one seed's interval only
    assert value_verdict(None, part([0.9])).verdict == "inconclusive"
    better = comparison_verdict(part([0.90, 0.92, 0.91]), part([0.60, 0.62, 0.61]), ("A", "B"), margin=0.05)
    assert better.verdict == "holds" and "+0.300" in better.evidence and "3 of 3" in better.evidence
    assert comparison_verdict(part([0.90, 0.60, 0.91]), part([0.60, 0.62, 0.61]), ("A", "B")).verdict == "inconclusive"
    assert comparison_verdict(part([0.5, 0.5]), part([0.6, 0.6]), ("A", "B")).verdict == "does not hold"
    assert "rule:" in better.markdown()


def test_unique_pages_thins_duplicate_clusters_but_not_patients() -> None:
    toy = _toy()  # 30 pages, every page with one duplicate
    on = load_preset("smoke", **{"finetune.unique_pages": True, "finetune.val_fraction": 0.2})
    off = load_preset("smoke", **{"finetune.val_fraction": 0.2})
    tr, va = ex.fit_val_positions(on, toy, 0)
    tr0, va0 = ex.fit_val_positions(off, toy, 0)
    assert len(tr) == len(tr0) // 2 and len(va) == len(va0) // 2
    assert len(set(toy.groups[tr])) == len(tr) and not set(toy.groups[tr]) & set(toy.groups[va])
    toy.groups_are = "patients"  # PTB-XL: records of one patient are different ECGs
    assert [len(p) for p in ex.fit_val_positions(on, toy, 0)] == [len(tr0), len(va0)]
    # with a separate validation set every training page is fitted (thinned to one per cluster)
    toy.groups_are = "duplicates"
    tr1, va1 = ex.fit_val_positions(on, toy, 0, has_val=True)
    assert len(tr1) == 15 and len(va1) == 0


def test_findings_state_numbers_and_verdicts_from_committed_results() -> None:
    from simcardionet_lite.evaluate import summarize

    assert "No committed real-data run" in ex.dataset1_findings({}) and "No committed" in ex.ptbxl_findings({})

    def m(v, cm=None):
        out = {"accuracy": v, "macro_f1": v, "ci": {"accuracy": [v - 0.05, v + 0.05], "macro_f1": [v - 0.05, v + 0.05]}}
        if cm is not None:  # two classes; the second never predicted when its column is zero
            out["confusion"] = cm
            out["per_class"] = {"NORM": {"recall": 1.0, "support": sum(cm[0])}, "MI": {"recall": 0.0, "support": sum(cm[1])}}
        return out

    runs = [{"seed": s, "metrics": m(0.7, [[8, 0], [2, 0]]), "baseline": m(0.6)} for s in range(3)]
    d = {"metrics": {"runs": runs, "summary": summarize([r["metrics"] for r in runs]), "n_test": 10,
                     "baseline_summary": summarize([r["baseline"] for r in runs])}, "seeds": [0, 1, 2]}
    text = ex.ptbxl_findings({"ptbxl-x": d})
    assert "**never predicted: MI**" in text and "predicts every class present in the test fold*: **does not hold**" in text
    assert "0.921" in text and "above in 3 of 3 seeds" in text

    def part(vals):
        return {"folds": [], "summary": summarize([m(v) for v in vals]),
                "per_seed": [{"seed": s, "metrics": m(v)} for s, v in enumerate(vals)],
                "seed_summary": summarize([m(v) for v in vals])}

    res = {"grouped": {**part([0.85, 0.86, 0.84]), "baseline": part([0.6, 0.62, 0.61])}}
    text = ex.dataset1_findings({"dataset1-x": {"metrics": res, "seeds": [0, 1, 2]}})
    assert "0.850 ± 0.010" in text and "*The paper's Dataset I F1 (0.972)" in text and "**does not hold**" in text
    assert "is better than pixel baseline*: **holds**" in text
    assert "file-level" not in text  # no file-level run, no file-level line
    # with the file-level protocol beside it: each model's score and its gap over the grouped one, per seed
    res["file"] = {**part([0.95, 0.97, 0.96]), "baseline": part([0.9, 0.92, 0.91])}
    text = ex.dataset1_findings({"dataset1-x": {"metrics": res, "seeds": [0, 1, 2]}})
    assert "Under **file-level** folds" in text
    assert "* SimCardioNet (ours): **0.960 ± 0.010** over seeds" in text and "gap +0.100, +0.110, +0.120" in text
    assert "* pixel baseline: **0.910 ± 0.010** over seeds" in text and "gap +0.300, +0.300, +0.300" in text
    assert "*the paper's Dataset I F1 (0.972) is reached under file-level folds*: **holds**" in text  # 0.972 in [0.91, 1.01] ...



def test_across_runs_reading_pairs_two_runs_arms_only_when_their_method_folds_agree() -> None:
    from simcardionet_lite.evaluate import summarize

    def m(v):
        return {"macro_f1": v, "accuracy": v, "ci": {"macro_f1": [v - 0.05, v + 0.05]}}

    def part(vals, label="x", n_test=(300, 310, 318)):
        folds = [{"seed": s, "fold": k, "n_test": n_test[k], "metrics": m(v + 0.01 * k)} for s, v in enumerate(vals)
                 for k in range(3)]
        return {"label": label, "folds": folds, "per_seed": [{"seed": s, "metrics": m(v)} for s, v in enumerate(vals)],
                "seed_summary": summarize([m(v) for v in vals])}

    def run(method, arm, vals, n_test=(300, 310, 318)):
        return {"metrics": {"grouped": {**part(method, n_test=n_test), "arms": {arm: part(vals, f"{arm} label")}}}}

    committed = {"r8": run([0.88, 0.87, 0.88], "resnet18", [0.85, 0.83, 0.86]),
                 "masked": run([0.88, 0.87, 0.88], "resnet18_masked", [0.80, 0.84, 0.82])}
    text = ex.across_runs_reading(committed, ("r8", "resnet18"), ("masked", "resnet18_masked"))
    assert "same folds and the method scored the same on all 9 of them, to the last digit" in text
    assert "`resnet18`: **0.847 ± 0.015**" in text and "`resnet18_masked`: **0.820 ± 0.020**" in text
    assert "+0.050, -0.010, +0.040" in text and "**inconclusive**" in text  # above in 2 of 3 seeds
    # the same folds drawn, but the method computed otherwise (another machine): the noise is named
    committed["masked"] = run([0.90, 0.87, 0.88], "resnet18_masked", [0.80, 0.82, 0.82])
    text = ex.across_runs_reading(committed, ("r8", "resnet18"), ("masked", "resnet18_masked"))
    assert "differ by up to 0.020 between them" in text and "**holds**" in text
    # other folds: said so
    committed["masked"] = run([0.88, 0.87, 0.88], "resnet18_masked", [0.80, 0.82, 0.82], n_test=(301, 309, 318))
    assert "do not share their folds" in ex.across_runs_reading(committed, ("r8", "resnet18"), ("masked", "resnet18_masked"))
    # missing run or arm: said, no number invented
    assert "Not committed yet: `gone`" in ex.across_runs_reading(committed, ("r8", "resnet18"), ("gone", "resnet18"))
    assert "has no arm" in ex.across_runs_reading(committed, ("r8", "crop"), ("masked", "resnet18_masked"))

def test_cv_protocols_figure_plots_each_seed_of_each_model_per_protocol() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simcardionet_lite.experiments.report.figures import plot_cv_protocols

    def part(vals):
        return {"per_seed": [{"seed": s, "metrics": {"macro_f1": v, "ci": {"macro_f1": [v - 0.05, v + 0.05]}}}
                             for s, v in enumerate(vals)]}

    res = {"file": {**part([0.95, 0.97, 0.96]), "baseline": part([0.9, 0.92, 0.91])},
           "grouped": {**part([0.8, 0.81, 0.82]), "baseline": part([0.5, 0.6, 0.55]),
                       "arms": {"resnet18": {"label": "ResNet-18", **part([0.6, 0.65, 0.7])}}}}
    fig = plot_cv_protocols(res, paper_value=0.972)
    file_ax, grouped_ax = fig.axes
    assert [t.get_text() for t in file_ax.get_yticklabels()] == ["SimCardioNet (ours)", "pixel baseline", "ResNet-18"]
    dots = lambda ax: sorted(float(ln.get_xdata()[0]) for ln in ax.lines if ln.get_marker() == "o")  # noqa: E731
    assert dots(file_ax) == [0.9, 0.91, 0.92, 0.95, 0.96, 0.97]  # the arm ran under grouped folds only
    assert dots(grouped_ax) == [0.5, 0.55, 0.6, 0.6, 0.65, 0.7, 0.8, 0.81, 0.82]
    assert any(ln.get_linestyle() == "--" and float(ln.get_xdata()[0]) == 0.972 for ln in grouped_ax.lines)
    plt.close(fig)
    # one protocol (the cpu preset's run) with the arm's full label: the names still fit beside one panel
    long = {"grouped": {**res["grouped"], "arms": {"resnet18": {
        "label": "ResNet-18 (torchvision, random init) on whole pages, 128 x 176", **part([0.6, 0.65, 0.7])}}}}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # "Tight layout not applied" reached the built book once
        fig = plot_cv_protocols(long, paper_value=0.972)
    assert len(fig.axes) == 1
    plt.close(fig)
    with pytest.raises(ValueError, match="per-seed"):
        plot_cv_protocols({"grouped": {"folds": []}})



def test_arms_figure_plots_each_seed_per_arm_against_the_full_mean() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simcardionet_lite.evaluate import summarize
    from simcardionet_lite.experiments.report.figures import plot_arms

    def arm(vals):
        ms = [{"macro_f1": v, "ci": {"macro_f1": [v - 0.05, v + 0.05]}} for v in vals]
        return {"runs": [{"seed": s, "metrics": x} for s, x in enumerate(ms)], "summary": summarize(ms)}

    res = {"arms": {"full": arm([0.8, 0.82, 0.84]), "lam0": arm([0.7, 0.71, 0.72])}}
    fig, (ax1, ax2) = plt.subplots(2, 1)
    assert plot_arms(res, ax=ax2, title="committed run `x`") is fig
    assert [t.get_text() for t in ax2.get_yticklabels()] == ["full", "lam0"] and ax2.get_title() == "committed run `x`"
    assert sorted(float(v) for c in ax2.collections for v in c.get_offsets()[:, 0]) == [0.7, 0.71, 0.72, 0.8, 0.82, 0.84]
    assert any(ln.get_linestyle() == "--" and abs(float(ln.get_xdata()[0]) - 0.82) < 1e-9 for ln in ax2.lines)
    assert not ax1.lines and not ax1.collections  # drew on the axis it was given only
    plt.close(fig)
    alone = plot_arms({"arms": {"lam0": arm([0.7, 0.7, 0.7])}})  # no full arm: no reference line, own figure
    assert not [ln for ln in alone.axes[0].lines if ln.get_linestyle() == "--"]
    plt.close(alone)

@pytest.mark.slow
def test_ptbxl_learning_curve_adds_points_below_the_full_set(tmp_path) -> None:
    from simcardionet_lite.experiments.recipes.ptbxl import ptbxl_sets, run_ptbxl

    over = _tiny(tmp_path, **{"finetune.init": "random", "experiment.learning_curve": (0.5,), "eval.seeds": (0,)})
    cfg = ex.get("ptbxl_folds").config("smoke", overrides=over)
    sets = ptbxl_sets(cfg)
    res = run_ptbxl(sets, cfg, baseline=False)
    curve = res["learning_curve"]
    assert [(p["fraction"], p["seed"]) for p in curve] == [(0.5, 0), (1.0, 0)]
    assert curve[0]["n_train"] < curve[1]["n_train"] == len(sets["train"])
    assert curve[1]["metrics"] == res["runs"][0]["metrics"]
    assert curve[1]["multilabel"] == res["runs"][0]["multilabel"]  # the full set's probes are the main run's
    assert curve[0]["multilabel"]["n_train"] == round(0.5 * len(sets["ml_train"]))  # probes see the same share
    assert curve[0]["multilabel"]["n_test"] == len(sets["ml_test"])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simcardionet_lite.experiments.report.figures import plot_learning_curve

    fig, ax = plt.subplots()
    plot_learning_curve(curve, ax, title="t")
    assert len(ax.lines) == 3 * (2 + 1)  # per key (macro-F1, accuracy, multi-label AUC): a dot per point, a mean line
    plt.close(fig)
