"""Evaluation: predictions, features, classification metrics with bootstrap intervals, summaries, kNN and linear probes.

Why these metrics: the paper reports accuracy, precision, recall and F1 (most likely
macro-averaged, see ``paper-notes.md`` section 7) and, on PTB-XL, an F1 that fits a weighted
average. We report both averages, a per-class report, the confusion matrix and macro
one-vs-rest ROC-AUC (ours), each with a seeded 95 % bootstrap interval over test items
(ours), and mean +- SD across folds or seeds. Small test folds may miss a class: metrics are
computed with ``labels=`` all classes and ``zero_division=0``, and the AUC is averaged over the
classes present (noted in ``auc_note``).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from simcardionet_lite.runtime import resolve_device

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Data access helpers (shared by the training loops)
# ---------------------------------------------------------------------------------------------


def dataset_labels(ds: Any) -> np.ndarray:
    """Integer labels of a project dataset, a ``SubsetView`` or a ``torch.utils.data.Subset`` of one."""
    if isinstance(ds, torch.utils.data.Subset):
        return dataset_labels(ds.dataset)[np.asarray(ds.indices, dtype=np.int64)]
    if hasattr(ds, "labels"):
        return np.asarray(ds.labels, dtype=np.int64)
    return np.asarray([int(ds[i][1]) for i in range(len(ds))], dtype=np.int64)


def dataset_groups(ds: Any) -> np.ndarray | None:
    """Duplicate-cluster (or patient) group ids of a project dataset or a subset of one; None if it has none.

    Why: Dataset I holds byte-identical copies; any split of its pages (a kNN bank against its
    queries, train against validation) must keep a group on one side or the copy leaks.
    """
    if isinstance(ds, torch.utils.data.Subset):
        g = dataset_groups(ds.dataset)
        return None if g is None else g[np.asarray(ds.indices, dtype=np.int64)]
    g = getattr(ds, "groups", None)
    return None if g is None else np.asarray(g)


def dataset_images(ds: Any) -> torch.Tensor:
    """All images of ``ds`` as one float N x 3 x H x W tensor in [0, 1], without ``ds.transform``.

    Fast path: ``images_uint8()`` (pages in memory). ``torch.utils.data.Subset`` is resolved to
    its parent; anything else is read item by item with its transform switched off.
    """
    if isinstance(ds, torch.utils.data.Subset):
        return dataset_images(ds.dataset)[torch.as_tensor(np.asarray(ds.indices, dtype=np.int64))]
    if hasattr(ds, "images_uint8"):
        u8 = np.asarray(ds.images_uint8())
        return torch.from_numpy(np.ascontiguousarray(u8)).permute(0, 3, 1, 2).float().div_(255.0).contiguous()
    saved = getattr(ds, "transform", None)
    try:
        if saved is not None:
            ds.transform = None
        return torch.stack([ds[i][0] for i in range(len(ds))]).float()
    finally:
        if saved is not None:
            ds.transform = saved


def _eval_images(ds: Any) -> torch.Tensor:
    """Images as the dataset serves them (its ``transform`` applied when it has one)."""
    if getattr(ds, "transform", None) is None and not isinstance(ds, torch.utils.data.Subset):
        return dataset_images(ds)
    return torch.stack([ds[i][0] for i in range(len(ds))]).float()


@torch.no_grad()
def infer(model: torch.nn.Module, images: torch.Tensor, *, output: str = "logits",
          device: str | torch.device | None = None, batch_size: int = 64, amp: bool = False,
          channels_last: bool = False, transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """The model's ``"logits"`` or pooled ``"features"`` for ``images``, in eval mode, batched.

    Why one function: prediction, feature extraction, the pretraining kNN monitor, the
    fine-tuning validation and the deletion curves all run the same batched forward pass; doing
    it in one place keeps eval mode, device moves, bf16 autocast and channels_last identical
    everywhere. The model's train/eval state is restored afterwards. ``images`` are float in [0, 1]
    or uint8 pages (scaled on the device, batch by batch); ``transform`` (float batch -> float batch)
    is applied to each batch on the device before the model sees it (test-time views). Returns a
    float32 CPU tensor.
    """
    if output not in ("logits", "features"):
        raise ValueError(f"output must be 'logits' or 'features', got {output!r}")
    net = model.module if hasattr(model, "module") else model
    fn = net.features if output == "features" else model
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    was = model.training
    model.eval()
    outs = []
    try:
        for i in range(0, len(images), batch_size):
            x = images[i : i + batch_size].to(dev)
            if x.dtype == torch.uint8:  # pages held as uint8 (the device pipeline): to [0, 1] as dataset_images does
                x = x.float().div_(255.0)
            if transform is not None:
                x = transform(x)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
                outs.append(fn(x).float().cpu())
    finally:
        model.train(was)
    return torch.cat(outs) if outs else torch.zeros(0)


def view_probs(model: torch.nn.Module, images: torch.Tensor, *, shifts: Sequence[float] = (),
               tile_grid: tuple[int, int] | None = None, device: str | torch.device | None = None,
               batch_size: int = 64) -> torch.Tensor:
    """Softmax probabilities (N x C) of ``images``, averaged over the page and its test-time views.

    ``shifts`` (fractions of the width, e.g. ``(-0.05, 0.05)``; ``eval.tta_shifts``) adds test-time
    views: each page is also scored shifted in time by each of them (inside every tile of a
    ``tile_grid`` mosaic, as the training shifts act) and the probabilities of the unshifted page and
    of its shifted views are averaged. Why averaged probabilities: a network trained on shifted
    panels sees each test page at a few of the positions it learned, so one unlucky alignment of
    the beats with its filters weighs less. Every scoring path (recipes, ``evaluate``, ``predict``)
    goes through here, so a page gets the same probabilities whichever command scores it.
    """
    from simcardionet_lite.batch_augment import shift_pages

    if any(float(s) == 0.0 for s in shifts):
        raise ValueError("eval.tta_shifts holds 0: the unshifted page is always scored; list only the shifts")
    probs = infer(model, images, device=device, batch_size=batch_size).softmax(dim=1)
    for s in shifts:
        probs += infer(model, images, device=device, batch_size=batch_size,
                       transform=lambda x, s=s: shift_pages(x, float(s), tile_grid)).softmax(dim=1)
    return probs / (1 + len(shifts))


def predict(model: torch.nn.Module, ds: Any, device: str | torch.device | None = None, batch_size: int = 64, *,
            shifts: Sequence[float] = (), tile_grid: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (N x C, softmax; averaged over test-time views with ``shifts``, see
    :func:`view_probs`) and true labels of ``ds``, in eval mode."""
    probs = view_probs(model, _eval_images(ds), shifts=shifts, tile_grid=tile_grid, device=device, batch_size=batch_size)
    return probs.numpy(), dataset_labels(ds)


def views_of(cfg: Any) -> dict[str, Any]:
    """The test-time views ``cfg`` asks for, as keyword arguments of :func:`predict`,
    :func:`view_probs` and :func:`~simcardionet_lite.predict.predict_page`: ``shifts`` from
    ``eval.tta_shifts``, applied inside the lead-panel tiles (``tile_grid``) when ``data.panels``.
    One reading of the config, so recipes, ``evaluate`` and ``predict`` score a page the same way."""
    from simcardionet_lite.augment import mosaic_grid

    return {"shifts": tuple(cfg.eval.tta_shifts), "tile_grid": mosaic_grid(cfg.data)}


def predict_cfg(cfg: Any, model: torch.nn.Module, ds: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`predict` with the test-time views ``cfg`` asks for (:func:`views_of`): the one way
    every recipe and ``evaluate`` scores a model."""
    return predict(model, ds, **views_of(cfg))


def extract_features(model: torch.nn.Module, ds: Any, device: str | torch.device | None = None, batch_size: int = 64) -> np.ndarray:
    """Pooled backbone features (N x D) of ``ds`` (``model.features``), in eval mode."""
    return infer(model, _eval_images(ds), output="features", device=device, batch_size=batch_size).numpy()


# ---------------------------------------------------------------------------------------------
# Representation probes
# ---------------------------------------------------------------------------------------------


def knn_accuracy(train_feats: np.ndarray, train_labels: np.ndarray, test_feats: np.ndarray, test_labels: np.ndarray, k: int = 5) -> float:
    """Accuracy of a cosine-similarity k-nearest-neighbour vote (ties broken by summed similarity).

    Why kNN: it measures the representation itself, with no training, so it can be run every
    pretraining epoch as a monitor.
    """
    a = torch.nn.functional.normalize(torch.as_tensor(np.asarray(train_feats), dtype=torch.float64), dim=1)
    b = torch.nn.functional.normalize(torch.as_tensor(np.asarray(test_feats), dtype=torch.float64), dim=1)
    ytr = torch.as_tensor(np.asarray(train_labels), dtype=torch.int64)
    k = max(1, min(int(k), len(ytr)))
    sim = b @ a.t()
    top, idx = sim.topk(k, dim=1)
    n_cls = int(max(ytr.max().item(), int(np.max(test_labels)) if len(test_labels) else 0)) + 1
    votes = torch.zeros(len(b), n_cls, dtype=torch.float64)
    votes.scatter_add_(1, ytr[idx], torch.ones_like(top))
    votes += 1e-6 * torch.zeros_like(votes).scatter_add_(1, ytr[idx], top)  # tie-break by similarity
    pred = votes.argmax(dim=1).numpy()
    return float((pred == np.asarray(test_labels)).mean()) if len(pred) else float("nan")


def probe_model(C: float = 1.0, seed: int = 0) -> Any:
    """The linear probe: a standardised L2 logistic regression (an sklearn pipeline, unfitted).

    Why one definition: the label-efficiency arms, the PTB-XL multi-label AUC and the
    pretraining checks all read frozen features with this same model, so their numbers differ
    only by the features and ``C``, never by the probe.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=seed))


def linear_probe(train_feats: np.ndarray, train_labels: np.ndarray, test_feats: np.ndarray, *,
                 C: float = 1.0, seed: int = 0, n_classes: int | None = None) -> np.ndarray:
    """Fit :func:`probe_model` on frozen training features; class probabilities of the test features.

    The result has one column per class (``n_classes``, default the largest training label + 1),
    zero for classes absent from the training labels. A single training class gives probability 1
    for it (there is nothing to fit).
    """
    ytr = np.asarray(train_labels)
    k = int(n_classes if n_classes is not None else ytr.max() + 1)
    probs = np.zeros((len(test_feats), k))
    present = np.unique(ytr)
    if len(present) < 2:
        probs[:, present[0]] = 1.0
        return probs
    clf = probe_model(C, seed).fit(np.asarray(train_feats), ytr)
    probs[:, clf.classes_] = clf.predict_proba(np.asarray(test_feats))
    return probs


# ---------------------------------------------------------------------------------------------
# Classification metrics
# ---------------------------------------------------------------------------------------------


def _confusion(y: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y * k + pred, minlength=k * k).reshape(k, k)


def _prf_from_confusion(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 and support (0 where undefined, as sklearn's zero_division=0)."""
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(1).astype(np.float64)
    predicted = cm.sum(0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(predicted > 0, tp / predicted, 0.0)
        r = np.where(support > 0, tp / support, 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p, r, f, support


def _auc_binary(pos: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC by the Mann-Whitney rank statistic (ties get mid-ranks), as sklearn's roc_auc_score."""
    from scipy.stats import rankdata

    n1 = int(pos.sum())
    n0 = len(pos) - n1
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _macro_auc(y: np.ndarray, prob: np.ndarray, n_classes: int) -> tuple[float | None, list[int]]:
    """Macro one-vs-rest AUC over the classes present in ``y`` (needs >= 2 present)."""
    present = [c for c in range(n_classes) if (y == c).any()]
    if len(present) < 2:
        return None, present
    return float(np.mean([_auc_binary(y == c, prob[:, c]) for c in present])), present


def _point_metrics(y: np.ndarray, prob: np.ndarray, n_classes: int) -> dict[str, float | None]:
    pred = prob.argmax(axis=1)
    cm = _confusion(y, pred, n_classes)
    p, r, f, s = _prf_from_confusion(cm)
    n = max(len(y), 1)
    out: dict[str, float | None] = {"accuracy": float(np.trace(cm) / n)}
    # macro averages over the classes present in the test labels: an absent class has no recall to
    # average, and counting it as 0 would report the sample's composition, not the model
    present = s > 0
    if present.any():
        out["macro_precision"], out["macro_recall"], out["macro_f1"] = (float(p[present].mean()), float(r[present].mean()),
                                                                       float(f[present].mean()))
    else:
        out["macro_precision"] = out["macro_recall"] = out["macro_f1"] = 0.0
    w = s / n
    out["weighted_precision"], out["weighted_recall"], out["weighted_f1"] = float(p @ w), float(r @ w), float(f @ w)
    out["macro_auc"] = _macro_auc(y, prob, n_classes)[0]
    return out


def cluster_resample(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One cluster-bootstrap draw: as many clusters as there are, drawn with replacement; every
    item of a drawn cluster comes along (positions into ``groups``)."""
    groups = np.asarray(groups)
    uniq, inverse = np.unique(groups, return_inverse=True)
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
    drawn = rng.integers(0, len(uniq), len(uniq))
    return np.concatenate([members[g] for g in drawn])


def bootstrap_ci(y_true: np.ndarray, y_prob: np.ndarray, metric: Callable[[np.ndarray, np.ndarray], Any],
                 *, n_boot: int = 200, ci: float = 0.95, seed: int = 0, groups: np.ndarray | None = None) -> Any:
    """Percentile bootstrap interval of ``metric(y, prob)`` over resampled test items (seeded).

    With ``groups`` (duplicate clusters on Dataset I, patients on PTB-XL) whole clusters are
    resampled (:func:`cluster_resample`): copies of one page, or records of one patient, are not
    independent evidence, and a page-level bootstrap that treats them so gives intervals too narrow.
    ``metric`` may return a float (gives ``(lo, hi)`` or None) or a dict of floats (gives
    ``{key: (lo, hi) | None}``), so that several metrics share one set of resamples.
    """
    rng = np.random.default_rng(seed)
    n = len(y_true)
    if groups is not None and len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries for {n} test items")
    draws: list[Any] = []
    for _ in range(int(n_boot)):
        idx = cluster_resample(groups, rng) if groups is not None else rng.integers(0, n, n)
        draws.append(metric(y_true[idx], y_prob[idx]))
    a = (1 - ci) / 2

    def interval(vals: list[Any]) -> tuple[float, float] | None:
        v = [float(x) for x in vals if x is not None and not np.isnan(x)]
        return (float(np.quantile(v, a)), float(np.quantile(v, 1 - a))) if v else None

    if draws and isinstance(draws[0], Mapping):
        return {key: interval([d[key] for d in draws]) for key in draws[0]}
    return interval(draws)


def classification_metrics(y_true: Sequence[int] | np.ndarray, y_prob: np.ndarray, classes: Sequence[str],
                           n_boot: int = 200, ci: float = 0.95, seed: int = 0,
                           groups: Sequence[Any] | np.ndarray | None = None) -> dict[str, Any]:
    """Accuracy, macro/weighted P/R/F1, per-class report, confusion matrix, macro OvR AUC and bootstrap CIs.

    Returns flat floats under ``accuracy, macro_precision, ..., weighted_f1, macro_auc`` and the
    intervals under ``ci[metric] = [lo, hi]`` (``n_boot = 0`` skips them). Macro averages (F1,
    precision, recall, AUC) are over the classes present in ``y_true`` (``macro_classes``,
    ``auc_classes``); ``per_class`` keeps every class, an absent one marked ``absent`` with support
    0, and says how often each class was ``predicted``. With ``groups`` the intervals come from a
    cluster bootstrap (``ci_unit``).
    """
    y = np.asarray(y_true, dtype=np.int64)
    prob = np.asarray(y_prob, dtype=np.float64)
    k = len(classes)
    if prob.ndim != 2 or prob.shape != (len(y), k):
        raise ValueError(f"y_prob must be N x C = {len(y)} x {k}, got {prob.shape}")
    out: dict[str, Any] = dict(_point_metrics(y, prob, k))
    pred = prob.argmax(1)
    cm = _confusion(y, pred, k)
    p, r, f, s = _prf_from_confusion(cm)
    out["per_class"] = {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i]),
                            "absent": bool(s[i] == 0), "predicted": int(cm[:, i].sum())}
                        for i, c in enumerate(classes)}
    out["macro_classes"] = [c for i, c in enumerate(classes) if s[i] > 0]
    out["confusion"] = cm.tolist()
    _, present = _macro_auc(y, prob, k)
    out["auc_classes"] = [classes[c] for c in present]
    absent = [classes[c] for c in range(k) if c not in present]
    out["auc_note"] = (f"AUC averaged over the {len(present)} classes present; absent from the test set: {absent}"
                       if absent else "AUC averaged over all classes")
    out["n"] = int(len(y))
    out["classes"] = list(classes)
    cis: dict[str, list[float] | None] = {}
    if n_boot and len(y):
        ivs = bootstrap_ci(y, prob, lambda yy, pp: _point_metrics(yy, pp, k), n_boot=n_boot, ci=ci, seed=seed,
                           groups=None if groups is None else np.asarray(groups))
        cis = {key: (list(iv) if iv is not None else None) for key, iv in ivs.items()}
    out["ci"] = cis
    out["ci_unit"] = "page" if groups is None else f"cluster ({len(np.unique(np.asarray(groups)))} clusters)"
    out["ci_level"] = ci
    out["n_boot"] = int(n_boot)
    return out


def metric_value(metrics: Mapping[str, Any] | None, key: str) -> float | None:
    """A metric's value from a metrics dict (a float, or ``{"value"|"mean": ...}``), None if absent."""
    if metrics is None:
        return None
    v = metrics.get(key)
    if isinstance(v, Mapping):
        v = v.get("value", v.get("mean"))
    return None if v is None else float(v)


SUMMARY_KEYS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1", "macro_auc")


def mean_sd(values: Sequence[float | None]) -> dict[str, Any]:
    """``{mean, sd, n, values}`` of the finite values (sample SD; 0 for one value; None for none)."""
    vals = [float(v) for v in values if v is not None and not np.isnan(float(v))]
    if not vals:
        return {"mean": None, "sd": None, "n": 0, "values": []}
    sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    return {"mean": float(np.mean(vals)), "sd": sd, "n": len(vals), "values": vals}


def summarize(runs: Sequence[Mapping[str, Any]], keys: Sequence[str] | None = SUMMARY_KEYS) -> dict[str, dict[str, Any]]:
    """``{metric: {mean, sd, n, values}}`` across runs (folds, seeds); None and NaN values skipped.

    ``keys=None`` takes every numeric key of the first run. Values may be floats or
    ``{"value": ...}`` dicts, so metrics dicts and flat records summarise alike.
    """
    if keys is None:
        keys = [k for k, v in runs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)] if runs else []
    return {key: mean_sd([metric_value(r, key) for r in runs]) for key in keys}


__all__ = ["infer", "predict", "extract_features", "classification_metrics", "bootstrap_ci", "summarize", "mean_sd",
           "SUMMARY_KEYS", "metric_value", "knn_accuracy", "probe_model", "linear_probe", "dataset_labels", "dataset_images"]
