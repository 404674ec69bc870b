"""The paper's reported numbers, as data, each with its source tag.

Why data and not prose: the intro chapter and the "Paper vs ours" chapter both put the paper's
numbers beside ours; keeping them here, once, with the tag of the text they come from
(``ABS`` = the abstract), means no chapter retypes a number and no number appears without its
source. Only what the known text states is here. What it does *not* state (averaging mode,
folds' SD, seeds, protocol details) is recorded as ``None`` or in ``inferences`` with the word
"inference", never as the paper's.

Paper: "A hybrid learning framework for automated multiclass electrocardiogram classification
with SimCardioNet", Scientific Reports 2026, doi 10.1038/s41598-026-36932-1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DOI = "10.1038/s41598-026-36932-1"
CITATION = (
    "A hybrid learning framework for automated multiclass electrocardiogram classification with "
    "SimCardioNet. Scientific Reports (2026). doi:" + DOI
)


@dataclass(frozen=True)
class PaperResult:
    """One row of the paper's reported results."""

    key: str  # our chapter key: "dataset1" | "dataset2" | "ptbxl"
    dataset: str  # as the paper names it
    protocol: str  # what the paper states about the protocol
    metrics: dict[str, float | None]  # accuracy, precision, recall, f1 (None = not reported)
    source: str  # tag of the text the numbers come from
    averaging: str | None = None  # averaging mode if the paper states it (it does not)
    inferences: tuple[str, ...] = field(default_factory=tuple)  # ours, labelled as inference


def _abstract(key: str, dataset: str, protocol: str, scores: tuple[float | None, ...], *inferences: str) -> PaperResult:
    """A result stated in the abstract: ``scores`` are accuracy, precision, recall, F1 (None = not reported)."""
    return PaperResult(key=key, dataset=dataset, protocol=protocol, metrics=dict(zip(METRIC_NAMES, scores)),
                       source="ABS", inferences=tuple(inferences))


METRIC_NAMES: tuple[str, ...] = ("accuracy", "precision", "recall", "f1")

RESULTS: dict[str, PaperResult] = {r.key: r for r in (
    _abstract("dataset1", "Dataset I: 4-class Pakistani clinical ECG images", "3-fold cross-validation",
              (0.975, 0.973, 0.973, 0.972),
              "inference: recall 0.973 != accuracy 0.975, and weighted recall always equals accuracy, "
              "so the paper's P/R/F1 are most likely macro averages",
              "inference: Dataset I is the Mendeley set of Khan & Hussain (928 files, 491 unique); "
              "a file-level split leaks byte-identical copies across folds"),
    _abstract("dataset2", "Dataset II: external Kaggle ECG-image dataset",
              "out-of-distribution validation (training data and retraining not stated)", (1.00, 1.00, 1.00, 1.00),
              "inference: if Dataset II is the Kaggle re-upload of the same Mendeley images, "
              "the 'OOD' test contains Dataset I's own images"),
    _abstract("ptbxl", "Dataset III: PTB-XL, 5 diagnostic superclasses",
              "not stated (split, image rendering and multi-label handling unknown)", (0.921, None, None, 0.921),
              "inference: one accuracy and one F1 imply single-label 5-class classification",
              "inference: accuracy == F1 fits a weighted F1 (or a class-balanced test set)"),
)}

#: Claims of the paper that are not numbers but that the book tests.
CLAIMS: dict[str, tuple[str, str]] = {
    "pretraining": ("self-supervised pretraining with a modified SimCLR helps", "ABS"),
    "hybrid_loss": ("a hybrid loss combining InfoNCE with cosine similarity", "ABS"),
    "unfreezing": ("progressive layer unfreezing reduces overfitting", "ABS"),
    "less_labels": ("contrastive pretraining reduces the need for labelled data", "CSS"),
    "gradcam": ("Grad-CAM maps focus on clinically relevant ECG regions", "ABS"),
    "sota_ptbxl": ("beats dual-branch CNNs, entropy-enhanced CNNs and Bi-GRU models on PTB-XL", "ABS"),
}

#: The published PTB-XL benchmark this project compares its multi-label AUC with (not the
#: SimCardioNet paper): Strodthoff, Wagner, Schaeffter & Samek, "Deep Learning for ECG Analysis:
#: Benchmarks and Insights from PTB-XL", IEEE JBHI 25(5):1519-1528, 2021,
#: doi 10.1109/JBHI.2020.3022989; leaderboard "Diagnostic superclasses" in the README of
#: github.com/helme/ecg_ptbxl_benchmarking. Macro AUC on fold 10 (train 1-8, val 9), models on
#: the 100 Hz *signals* of the full dataset (21,799 records), multi-label; the number in
#: brackets of the leaderboard (bootstrap spread) is kept as ``spread``.
#: records in the full PTB-XL (Wagner et al. 2020, PhysioNet, v1.0.3): the scale a result on a sample is read against
PTBXL_RECORDS = 21799
PTBXL_BENCHMARK_SOURCE = "Strodthoff et al. 2021, IEEE JBHI, doi 10.1109/JBHI.2020.3022989 (leaderboard)"
PTBXL_SUPERCLASS_AUC: dict[str, dict[str, float]] = {
    "resnet1d_wang": {"macro_auc": 0.930, "spread": 0.005},
    "xresnet1d101": {"macro_auc": 0.928, "spread": 0.005},
    "lstm": {"macro_auc": 0.927, "spread": 0.005},
    "fcn_wang": {"macro_auc": 0.925, "spread": 0.006},
    "inception1d": {"macro_auc": 0.921, "spread": 0.006},
    "lstm_bidir": {"macro_auc": 0.921, "spread": 0.006},
    "Wavelet+NN": {"macro_auc": 0.874, "spread": 0.007},
}


def paper_metric(key: str, metric: str) -> float | None:
    """The paper's number for a dataset key and metric, or None if the paper gives none."""
    if key not in RESULTS:
        raise KeyError(f"unknown paper result {key!r}; known: {sorted(RESULTS)}")
    return RESULTS[key].metrics.get(metric)


__all__ = [
    "DOI",
    "CITATION",
    "PaperResult",
    "RESULTS",
    "CLAIMS",
    "METRIC_NAMES",
    "PTBXL_BENCHMARK_SOURCE",
    "PTBXL_SUPERCLASS_AUC",
    "paper_metric",
]
