"""The inductive pretraining corpus: training pages plus unlabelled extra pages (``pretrain.extra_corpus``).

What must hold (issue #17, item 3): the extra pages are prepared exactly as the run's own (size,
lead-panel mosaic, grey), by the factory; the corpus of a split holds no test page; the encoder
cache key changes with the extra corpus; the kNN monitor reads the run's labelled training pages
only; a bad entry fails at once, naming itself and the fix.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from simcardionet_lite import experiments as ex
from simcardionet_lite.config import load_preset, parse_assignments
from simcardionet_lite.data.corpus import SYNTHETIC_SEED_OFFSET, UNLABELLED, PretrainCorpus
from simcardionet_lite.data.factory import build_dataset
from simcardionet_lite.data.ptbxl import PTBXL
from simcardionet_lite.errors import DataError
from simcardionet_lite.experiments.protocols import cv_splits, holdout_split

SIZE = (32, 64)  # a 4 x 4 mosaic of 8 x 16 tiles


def _cfg(tmp_path, extra=(), **more):
    """A tiny synthetic Dataset I stand-in run (mosaic, grey) with the given extra corpus."""
    return ex.get("label_efficiency").config("smoke", overrides={
        "data.image_size": SIZE, "data.panels": True, "data.grayscale": True, "data.n_per_class": 6,
        "data.cache_dir": str(tmp_path / "cache"), "pretrain.corpus": "train_pages",
        "pretrain.extra_corpus": list(extra), "pretrain.epochs": 1, "pretrain.batch_size": 16, **more})


@pytest.fixture(scope="module")
def run(tmp_path_factory, clean_ptbxl_tree):
    """(config with both kinds of extra pages, the run's dataset, train, test, corpus)."""
    tmp = tmp_path_factory.mktemp("corpus")
    cfg = _cfg(tmp, ["synthetic:2", f"ptbxl:{clean_ptbxl_tree}"])
    ds = build_dataset(cfg.data, seed=cfg.seed)
    tr, te = holdout_split(ds.labels, ds.groups, 3, 0)
    train, test = ex.subset(ds, tr), ex.subset(ds, te)
    corpus = ex.pretraining_corpus(cfg, ds, train)
    # the corpus holds one page per duplicate cluster of the training part (test below)
    return cfg, ds, ex.distinct_pages(train), test, corpus


def test_entries_parse_and_bad_ones_name_themselves_and_the_fix() -> None:
    cfg = load_preset("cpu", **parse_assignments(['pretrain.extra_corpus=["ptbxl:../p", "synthetic:100"]']))
    assert cfg.pretrain.extra_sources() == (("ptbxl", "../p"), ("synthetic", 100))
    assert cfg.pretrain.extra_corpus == ("ptbxl:../p", "synthetic:100")
    assert type(cfg).from_dict(cfg.to_dict()) == cfg
    assert load_preset("cpu").pretrain.extra_sources() == ()
    bad = {"synthetic": "must be a list of entries", ("synthetic",): "e.g. 'synthetic:100'",
           ("synthetic:0",): "e.g. 'synthetic:100'", ("ptbxl:",): "name the PTB-XL folder",
           ("ptb:/data",): "'synthetic:N' (N records per class) or 'ptbxl:PATH'",
           ("synthetic:1", "synthetic:2"): "repeats a source", ("ptbxl:a", "ptbxl:a"): "repeats a source"}
    for value, fix in bad.items():
        with pytest.raises(ValueError) as err:
            load_preset("cpu", **{"pretrain.extra_corpus": value})
        entry = value if isinstance(value, str) else value[-1]
        assert repr(entry) in str(err.value) and fix in str(err.value), str(err.value)
    # "all_pages" already holds every page, test pages included: extra pages are refused there
    with pytest.raises(ValueError, match="needs pretrain.corpus='train_pages'"):
        load_preset("smoke", **{"pretrain.extra_corpus": ["synthetic:5"]})


def test_a_bad_entry_on_the_command_line_exits_2_before_any_work(caplog) -> None:
    from simcardionet_lite.cli import run_main

    assert run_main(["label_efficiency", "--preset", "cpu", "--no-publish", "--set", "pretrain.extra_corpus=synthetic"]) == 2
    assert "pretrain.extra_corpus must be a list of entries" in caplog.text


def test_extra_pages_are_prepared_as_the_runs_pages_by_the_factory(run, clean_ptbxl_tree) -> None:
    cfg, ds, train, _, corpus = run
    assert isinstance(corpus, PretrainCorpus) and corpus.classes == train.classes
    syn = build_dataset(replace(cfg.data, n_per_class=2, duplicate_fraction=0.0), seed=cfg.seed + SYNTHETIC_SEED_OFFSET)
    ptb = PTBXL(clean_ptbxl_tree, single_label=False, image_size=SIZE, panels=True, grayscale=True,
                cache_dir=cfg.data.cache_dir)
    assert len(syn) == 2 * 4 and len(ptb) == 6  # 5 one-superclass records + 1 with two; the one with none is left out
    assert len(corpus) == len(train) + len(syn) + len(ptb) and corpus.n_labelled == len(train)
    imgs = corpus.images_uint8()
    assert imgs.shape == (len(corpus), *SIZE, 3) and imgs.shape[1:] == train.images_uint8().shape[1:]
    n = len(train)
    assert np.array_equal(imgs[:n], train.images_uint8())
    assert np.array_equal(imgs[n:n + len(syn)], syn.images_uint8())  # the factory's pages, byte for byte
    assert np.array_equal(imgs[n + len(syn):], ptb.images_uint8())
    assert (imgs[n:, ..., 0] == imgs[n:, ..., 2]).all()  # data.grayscale reached the extra pages
    whole = PTBXL(clean_ptbxl_tree, single_label=False, image_size=SIZE, panels=False, grayscale=True,
                  cache_dir=cfg.data.cache_dir)
    assert not np.array_equal(whole.images_uint8(), ptb.images_uint8())  # the mosaic, not the resized page
    x, y, ident = corpus[len(corpus) - 1]
    assert tuple(x.shape) == (3, *SIZE) and y == UNLABELLED and ident == ptb.ids[-1]
    assert np.allclose(x.numpy(), imgs[-1].transpose(2, 0, 1) / 255.0)
    assert np.array_equal(corpus.labels[:n], train.labels) and (corpus.labels[n:] == UNLABELLED).all()
    assert corpus.class_counts() == train.class_counts()
    assert corpus.source == "synthetic+synthetic+ptbxl"
    rec = corpus.record()
    assert rec["n"] == len(corpus) and set(rec["extra"]) == {"synthetic:2", f"ptbxl:{clean_ptbxl_tree}"}
    assert rec["extra"][f"ptbxl:{clean_ptbxl_tree}"]["fingerprint"] == ptb.fingerprint


def test_groups_of_the_sources_never_collide(run) -> None:
    _, _, train, _, corpus = run
    g, n = corpus.groups, len(train)
    parts = [g[:n], g[n:n + 8], g[n + 8:]]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not set(parts[i]) & set(parts[j])
    assert len(np.unique(g)) == len(np.unique(train.groups)) + 8 + len(np.unique(corpus.extras[1][1].groups))
    # the training pages keep their duplicate clusters (same partition, renumbered)
    assert len({(a, b) for a, b in zip(train.groups, g[:n])}) == len(np.unique(train.groups))


def test_no_split_pretrains_on_a_test_page(tmp_path, clean_ptbxl_tree) -> None:
    """The risky case: a synthetic run whose extra pages come from the same generator."""
    cfg = _cfg(tmp_path, ["synthetic:6", f"ptbxl:{clean_ptbxl_tree}"])
    ds = build_dataset(cfg.data, seed=cfg.seed)
    for tr, te in cv_splits(ds.labels, ds.groups, 3, protocol="grouped", seed=0):
        corpus = ex.pretraining_corpus(cfg, ds, ex.subset(ds, tr))
        test = ex.subset(ds, te)
        assert not set(corpus.ids) & set(test.ids)
        assert set(ex.distinct_pages(ex.subset(ds, tr)).ids) <= set(corpus.ids)
        test_pages = {p.tobytes() for p in test.images_uint8()}
        assert not any(p.tobytes() in test_pages for p in corpus.images_uint8()[corpus.n_labelled:])


def test_an_extra_source_holding_the_runs_own_pages_is_refused(tmp_path, clean_ptbxl_tree) -> None:
    """A PTB-XL run given its own folder as extra pages would pretrain on its test fold."""
    data = replace(_cfg(tmp_path).data, source="ptbxl", root=str(clean_ptbxl_tree), label_set="ptbxl")
    own, train = build_dataset(data, single_label=False), build_dataset(data, split="train")
    extra = build_dataset(data, single_label=False)
    with pytest.raises(DataError, match=r"entry 'ptbxl:X' holds \d+ pages of the run's own dataset"):
        PretrainCorpus(train, [("ptbxl:X", extra)], exclude_ids=own.ids)
    with pytest.raises(DataError, match="repeats"):  # the same source twice
        PretrainCorpus(train, [("ptbxl:X", extra), ("ptbxl:Y", extra)])
    small = build_dataset(replace(data, source="synthetic", root=None, image_size=(16, 32)))
    with pytest.raises(ValueError, match=r"gives \(16, 32\) pages, the run's are \(32, 64\)"):
        PretrainCorpus(train, [("synthetic:1", small)])


def test_the_encoder_key_follows_the_extra_corpus(run) -> None:
    cfg, ds, train, _, corpus = run
    plain = replace(cfg, pretrain=replace(cfg.pretrain, extra_corpus=()))
    assert ex.pretraining_corpus(plain, ds, train) is train
    keys = {ex.encoder_key(plain, train, 0), ex.encoder_key(cfg, corpus, 0)}
    fewer = replace(cfg, pretrain=replace(cfg.pretrain, extra_corpus=("synthetic:3",)))
    c3 = ex.pretraining_corpus(fewer, ds, train)
    keys.add(ex.encoder_key(fewer, c3, 0))
    assert len(keys) == 3
    # the fingerprint itself covers every part: same config entries, other extra pages -> another corpus
    c3b = PretrainCorpus(train, [("synthetic:3", build_dataset(replace(cfg.data, n_per_class=3, difficulty=0.9), seed=5))])
    assert c3b.fingerprint != c3.fingerprint and ex.data_identity(c3b) != ex.data_identity(c3)
    other_split = ex.pretraining_corpus(cfg, ds, ex.subset(ds, np.arange(len(ds))[::2]))
    assert other_split.fingerprint != corpus.fingerprint
    again = ex.pretraining_corpus(cfg, ds, train)  # one corpus, one key: the cache finds it
    assert again.fingerprint == corpus.fingerprint and ex.encoder_key(cfg, again, 0) == ex.encoder_key(cfg, corpus, 0)
    assert "`synthetic:2`" in ex.corpus_note(cfg) and "inductive" in ex.corpus_note(cfg)


def test_the_knn_monitor_reads_only_the_labelled_training_pages(run, monkeypatch) -> None:
    from simcardionet_lite.runtime import seed_everything
    from simcardionet_lite.train import pretrain as P

    cfg, _, train, _, corpus = run
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    real = P.knn_accuracy

    def spy(fb, yb, fq, yq, k=5):
        seen.append((np.asarray(yb), np.asarray(yq)))
        return real(fb, yb, fq, yq, k=k)

    monkeypatch.setattr(P, "knn_accuracy", spy)
    seed_everything(0)
    model = ex.build_model(cfg, len(train.classes))
    hist = P.pretrain(model, corpus, cfg, progress=False, seed=0)
    assert hist["knn_init"] is not None and len(seen) == 2  # before training and after the one epoch
    assert len(corpus) > len(train)  # extra pages were there to be left out
    b, q = P.knn_split(np.asarray(train.labels), 0, np.asarray(train.groups))  # the split on the training pages alone
    for yb, yq in seen:
        assert (yb >= 0).all() and (yq >= 0).all() and len(yb) + len(yq) == len(train)
        assert np.array_equal(yb, np.asarray(train.labels)[b]) and np.array_equal(yq, np.asarray(train.labels)[q])


def test_a_cv_run_pretrains_each_fold_on_its_corpus_and_records_it(tmp_path) -> None:
    """End to end (tiny): every fold's encoder is pretrained on its own corpus, which the results record."""
    import json

    from simcardionet_lite.experiments.recipes.dataset1 import run_cv

    cfg = _cfg(tmp_path, ["synthetic:1"], **{"finetune.epochs": 1, "eval.n_bootstrap": 10, "eval.folds": 2})
    ds = build_dataset(cfg.data, seed=cfg.seed)
    folds = run_cv(ds, cfg, "grouped")["folds"]
    recs = [f["pretrain"]["corpus"] for f in folds]
    assert [f["pretrain"]["cached"] for f in folds] == [False, False]  # two training sets: two corpora, two encoders
    assert len({r["fingerprint"] for r in recs}) == 2
    splits = cv_splits(ds.labels, ds.groups, 2, protocol="grouped", seed=cfg.seed)
    for f, r, (tr, _) in zip(folds, recs, splits):
        assert len(tr) == f["n_train"]
        assert r["n_labelled"] == len(np.unique(ds.groups[tr])) < f["n_train"]  # one page per duplicate cluster
        assert r["n"] == r["n_labelled"] + 4
        assert r["extra"]["synthetic:1"]["n"] == 4
    json.dumps(recs)  # JSON-ready, as results files are


def test_the_corpus_holds_one_page_per_duplicate_cluster(tmp_path) -> None:
    """Byte-identical copies would be positives the contrastive loss pushes apart: one page per cluster."""
    cfg = _cfg(tmp_path, **{"data.duplicate_fraction": 0.5})
    ds = build_dataset(cfg.data, seed=cfg.seed)
    tr, _ = holdout_split(ds.labels, ds.groups, 3, 0)
    train = ex.subset(ds, tr)
    assert len(np.unique(train.groups)) < len(train), "the stand-in has copies in its training part"
    pool = ex.pretraining_corpus(cfg, ds, train)
    assert len(pool) == len(np.unique(train.groups)) and len(np.unique(pool.groups)) == len(pool)
    assert set(pool.ids) <= set(train.ids)
    everything = ex.pretraining_corpus(replace(cfg, pretrain=replace(cfg.pretrain, corpus="all_pages")), ds, train)
    assert len(everything) == len(np.unique(ds.groups))
    with_extra = ex.pretraining_corpus(replace(cfg, pretrain=replace(cfg.pretrain, extra_corpus=("synthetic:1",))), ds, train)
    assert len(with_extra) == len(pool) + len(ds.classes), "the extra pages come on top of the distinct training pages"
    no_copies = ex.subset(ds, np.unique(ds.groups, return_index=True)[1])
    assert ex.distinct_pages(no_copies) is no_copies
