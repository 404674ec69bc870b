"""The steps every recipe is made of: build, pretrain (cached), fine-tune, score, and the baseline.

Why a module: the Dataset I, Dataset II, PTB-XL, ablation, label-efficiency and Grad-CAM recipes
differ in their splits and arms, not in how one model is trained and scored. Keeping that here
means a number in any chapter comes from the same code path:

* :func:`pretrained_encoder`: stage 1 (hybrid-loss SimCLR) on a set of pages, labels unused,
  cached on disk in the one checkpoint format, keyed by everything that changes it;
* :func:`fit_and_evaluate`: stage 2 (fine-tuning with the configured unfreezing schedule) from
  the pretrained or a random network (``finetune.init``), then metrics with bootstrap intervals;
* :func:`baseline_metrics`: the pixel baseline on the same split.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simcardionet_lite.config import Config
from simcardionet_lite.data.cache import default_cache_dir
from simcardionet_lite.data.corpus import PretrainCorpus, extra_datasets
from simcardionet_lite.data.pages import SubsetView, subset
from simcardionet_lite.experiments.arms import uses_pretraining
from simcardionet_lite.experiments.protocols import cv_splits, first_per_group, train_val_split
from simcardionet_lite.results import to_jsonable

log = logging.getLogger(__name__)

#: sections of the config that change a pretrained encoder (its cache key hashes them)
ENCODER_SECTIONS = ("model", "loss", "aug_pretrain", "pretrain")
#: the data fields that change how a page is prepared; *which* pages (and their bytes) is data_identity's part
PAGE_FIELDS = ("image_size", "crop_header_footer", "grayscale", "panels")


#: the package modules whose code shapes a pretrained encoder: their source bytes are part of its cache key
ENCODER_CODE = ("augment", "batch_augment", "losses", "runtime", "train/pretrain", "train/views", "model/__init__",
                "model/backbone", "model/heads", "model/resnet", "data/corpus")


@functools.lru_cache(maxsize=None)
def code_version(modules: tuple[str, ...] = ENCODER_CODE) -> str:
    """A short hash of the source bytes of ``modules`` (paths under the package, without ``.py``) and torch's version.

    Why: an encoder cached by an earlier version of the pretraining code (another augmentation,
    another loss) has the same config and pages as today's; keyed on config and data alone, the
    cache would hand it back and a re-run would silently not pretrain with the code it ran.
    """
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(f"torch {torch.__version__}".encode())
    for m in modules:
        h.update(f"\0{m}\0".encode())
        h.update((root / f"{m}.py").read_bytes())
    return h.hexdigest()[:12]


def build_model(cfg: Config, num_classes: int) -> torch.nn.Module:
    """The network ``cfg.model`` describes (``model.arch``: SimCardioNet or the ResNet-18 baseline)."""
    from simcardionet_lite.model import build_backbone

    return build_backbone(cfg.model, num_classes)


def data_identity(ds: Any) -> str:
    """A short hash of which pages a dataset holds: its root's type, content fingerprint, classes and item ids."""
    root = ds.parent if isinstance(ds, SubsetView) else ds
    h = hashlib.sha256()
    h.update(type(root).__name__.encode())
    h.update(str(getattr(root, "fingerprint", "")).encode())
    h.update(json.dumps(list(ds.classes)).encode())
    for i in ds.ids:
        h.update(str(i).encode() + b"\0")
    return h.hexdigest()[:16]


def encoder_key(cfg: Config, dataset: Any, seed: int) -> str:
    """Cache key of a pretrained encoder: the config sections that change it, how pages are
    prepared, which pages (content fingerprint and ids), the seed and the code that pretrains
    (:func:`code_version`).

    Why not the whole ``data`` section: it also says where the data came from and what a recipe
    tests on (Dataset II's page style, a cache folder), which do not change an encoder trained on
    these pages; keying on it made recipes that pretrain on the same pages miss each other's encoder.
    """
    d = cfg.to_dict()
    spec = {**{s: d[s] for s in ENCODER_SECTIONS}, "pages": {k: d["data"][k] for k in PAGE_FIELDS}}
    sections = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    return hashlib.sha256(f"{sections}|{data_identity(dataset)}|{seed}|{code_version()}".encode()).hexdigest()[:20]


def pretrained_encoder(
    cfg: Config, dataset: Any, num_classes: int, *, seed: int | None = None, cache: bool = True, progress: bool = False,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A SimCardioNet pretrained with the hybrid loss on ``dataset`` (labels unused), cached.

    Why cached: several recipes pretrain the same configuration on the same pages; the key
    (:func:`encoder_key`) covers every config section that changes pretraining, the content of
    the pages and the seed, so a hit is the same computation. Returns ``(model, info)``;
    ``info`` records ``cached`` (hit or miss), ``key``, the path and the pretraining history, and
    for a corpus with extra pages (``pretrain.extra_corpus``) what each of its sources holds.
    """
    from simcardionet_lite.checkpoint import load_checkpoint, save_checkpoint
    from simcardionet_lite.runtime import seed_everything
    from simcardionet_lite.train.pretrain import pretrain

    seed = cfg.seed if seed is None else seed
    key = encoder_key(cfg, dataset, seed)
    path = default_cache_dir(cfg.data.cache_dir) / "encoders" / f"{key}.pt"
    seed_everything(seed)
    model = build_model(cfg, num_classes)
    corpus = {"corpus": dataset.record()} if isinstance(dataset, PretrainCorpus) else {}
    if cache and path.exists():
        ck = load_checkpoint(path, model=model)
        log.info("pretrained encoder from cache %s", path)
        return model, {"cached": True, "key": key, "path": str(path), "history": ck.history, **corpus}
    t0 = time.perf_counter()
    history = to_jsonable(pretrain(model, dataset, cfg, progress=progress, seed=seed))
    info = {"cached": False, "key": key, "path": str(path), "history": history, "seconds": time.perf_counter() - t0,
            **corpus}
    if cache:
        save_checkpoint(path, model, cfg, tuple(dataset.classes), history=history, extra={"what": "pretrained encoder"})
    return model, info


def groups_are_copies(ds: Any) -> bool:
    """Whether ``ds``'s groups are clusters of identical pages (Dataset I), not patients (PTB-XL), whose
    records are different ECGs: only copies may be thinned to one page per group."""
    return getattr(ds, "groups_are", "duplicates") == "duplicates"


def distinct_pages(ds: Any) -> Any:
    """``ds`` thinned to one page per duplicate cluster (unchanged when its groups are patients or it has no copies).

    Why for pretraining: two byte-identical pages in one contrastive batch are a positive pair
    the loss treats as a negative; Dataset I's 239 MI files are 30 distinct pages, so a batch of
    its training pages holds many such pairs.
    """
    if not groups_are_copies(ds):
        return ds
    first = first_per_group(np.asarray(ds.groups))
    return ds if len(first) == len(ds) else subset(ds, first)


def pretraining_corpus(cfg: Config, dataset: Any, train_ds: Any) -> Any:
    """The distinct pages an evaluation's encoder is pretrained on (one per duplicate cluster,
    :func:`distinct_pages`): its training pages, or every page (``pretrain.corpus``).

    With ``pretrain.extra_corpus`` (only with ``"train_pages"``; the config refuses it with
    ``"all_pages"``) the training pages plus unlabelled pages of other sources, prepared as the
    run's (:class:`~simcardionet_lite.data.corpus.PretrainCorpus`); a page of ``dataset`` outside
    ``train_ds`` (a test page of this split) is refused there.
    """
    corpus = cfg.pretrain.corpus
    if corpus not in ("train_pages", "all_pages"):
        raise ValueError(f"pretrain.corpus must be 'train_pages' or 'all_pages', got {corpus!r}")
    if corpus == "all_pages":
        return distinct_pages(dataset)
    train_ds = distinct_pages(train_ds)
    sources = cfg.pretrain.extra_sources()
    if not sources:
        return train_ds
    return PretrainCorpus(train_ds, extra_datasets(cfg.data, sources, cfg.seed), exclude_ids=dataset.ids)


def score(cfg: Config, labels: np.ndarray, probs: np.ndarray, classes: Any, seed: int,
          groups: Any | None = None) -> dict[str, Any]:
    """Classification metrics with the config's bootstrap intervals (JSON-ready); with ``groups``
    (duplicate clusters, patients) the bootstrap resamples clusters."""
    from simcardionet_lite.evaluate import classification_metrics

    return to_jsonable(classification_metrics(np.asarray(labels), np.asarray(probs), classes,
                                              n_boot=cfg.eval.n_bootstrap, ci=cfg.eval.ci, seed=seed,
                                              groups=None if groups is None else np.asarray(groups)))


def unique_pages_apply(cfg: Config, ds: Any) -> bool:
    """Whether ``finetune.unique_pages`` thins ``ds``: only where its groups are duplicate clusters
    (PTB-XL's groups are patients, whose records are different ECGs, not copies)."""
    return bool(cfg.finetune.unique_pages) and groups_are_copies(ds)


def fit_val_positions(cfg: Config, train_ds: Any, seed: int, *, has_val: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``train_ds`` to fit on and to early-stop on (none when a separate ``val_ds`` is
    given): a group-aware ``finetune.val_fraction`` split, thinned to one page per duplicate
    cluster with ``finetune.unique_pages``."""
    groups = np.asarray(train_ds.groups)
    if has_val:
        tr, va = np.arange(len(train_ds)), np.zeros(0, dtype=np.int64)
    else:
        tr, va = train_val_split(train_ds.labels, groups, cfg.finetune.val_fraction, seed)
    if unique_pages_apply(cfg, train_ds):
        tr, va = tr[first_per_group(groups[tr])], va[first_per_group(groups[va])]
    return tr, va


def fit_and_evaluate(
    cfg: Config, train_ds: Any, test_ds: Any, *, seed: int = 0, pretrain_ds: Any | None = None,
    val_ds: Any | None = None, progress: bool = False, return_model: bool = False,
) -> dict[str, Any]:
    """Pretrain (when ``finetune.init == "pretrained"``), fine-tune on ``train_ds``, score ``test_ds``.

    The encoder is pretrained on ``pretrain_ds`` (default: ``train_ds``'s distinct pages). Early stopping watches
    ``val_ds`` when given (PTB-XL's fold 9), else a group-aware split of ``train_ds``. Returns
    the metrics (with bootstrap intervals), probabilities, labels, the fine-tuning history, the
    pretraining record (cache hit or miss), which positions of ``train_ds`` were fitted and which
    only validated on; with ``return_model`` also the model. ``finetune.unique_pages`` fits (and
    validates on) one page per duplicate cluster.
    """
    from simcardionet_lite.evaluate import predict_cfg
    from simcardionet_lite.runtime import seed_everything
    from simcardionet_lite.train.finetune import finetune

    num_classes = len(train_ds.classes)
    info: dict[str, Any] = {"init": cfg.finetune.init}
    if uses_pretraining(cfg):
        model, info = pretrained_encoder(cfg, pretrain_ds if pretrain_ds is not None else distinct_pages(train_ds), num_classes,
                                         seed=seed, progress=progress)
    else:
        seed_everything(seed)
        model = build_model(cfg, num_classes)
    tr, va = fit_val_positions(cfg, train_ds, seed, has_val=val_ds is not None)
    fit_ds = subset(train_ds, tr)
    if val_ds is None:
        val_ds = subset(train_ds, va)
    elif unique_pages_apply(cfg, val_ds):
        val_ds = subset(val_ds, first_per_group(np.asarray(val_ds.groups)))
    seed_everything(seed)
    t0 = time.perf_counter()
    hist = finetune(model, fit_ds, val_ds, cfg, progress=progress, seed=seed)
    probs, labels = predict_cfg(cfg, model, test_ds)
    out: dict[str, Any] = {
        "metrics": score(cfg, labels, probs, test_ds.classes, seed, groups=getattr(test_ds, "groups", None)),
        "probs": np.asarray(probs).tolist(),
        "labels": np.asarray(labels).tolist(),
        "finetune_history": to_jsonable(hist),
        "pretrain": {k: v for k, v in info.items() if k != "history"},
        "pretrain_history": info.get("history"),
        "seconds_finetune": time.perf_counter() - t0,
        "n_fit": len(fit_ds), "n_val": len(val_ds),
        # positions in train_ds of the pages fitted and of those only validated on (chapter 6 splits its test by them)
        "fit_positions": tr, "val_positions": va,
    }
    if return_model:
        out["model"] = model
    return out


def baseline_probs(train_ds: Any, test_ds: Any, seed: int) -> np.ndarray:
    """The non-deep baseline's test probabilities (PCA + logistic regression on downsampled grayscale
    pixels of the pages as the method sees them)."""
    from simcardionet_lite.baselines import pixel_baseline

    return np.asarray(pixel_baseline(train_ds.images_uint8(), np.asarray(train_ds.labels), test_ds.images_uint8(),
                                     seed=seed, n_classes=len(test_ds.classes)))


def baseline_metrics(cfg: Config, train_ds: Any, test_ds: Any, seed: int) -> dict[str, Any]:
    """The pixel baseline (:func:`baseline_probs`), scored."""
    probs = baseline_probs(train_ds, test_ds, seed)
    return score(cfg, np.asarray(test_ds.labels), probs, test_ds.classes, seed, groups=getattr(test_ds, "groups", None))


def baseline_cv(cfg: Config, dataset: Any, protocol: str = "grouped", *, seed: int = 0) -> list[dict[str, Any]]:
    """The pixel baseline's metrics on each fold of ``eval.folds``-fold CV under ``protocol``."""
    splits = cv_splits(np.asarray(dataset.labels), np.asarray(dataset.groups), cfg.eval.folds, protocol=protocol, seed=seed)
    return [baseline_metrics(cfg, subset(dataset, tr), subset(dataset, te), seed) for tr, te in splits]


__all__ = [
    "ENCODER_CODE",
    "ENCODER_SECTIONS",
    "code_version",
    "PAGE_FIELDS",
    "baseline_cv",
    "build_model",
    "data_identity",
    "encoder_key",
    "pretrained_encoder",
    "distinct_pages",
    "pretraining_corpus",
    "score",
    "fit_and_evaluate",
    "fit_val_positions",
    "unique_pages_apply",
    "baseline_metrics",
    "baseline_probs",
]
