"""The SimCardioNet backbone, its heads, and the standard-CNN baseline; :func:`build_backbone` picks one."""

from __future__ import annotations

from torch import nn

from simcardionet_lite.config import ModelConfig
from simcardionet_lite.model.backbone import SimCardioNet, count_trainable
from simcardionet_lite.model.heads import ClassifierHead, ProjectionHead

ARCHES = ("simcardionet", "resnet18")


def build_backbone(cfg: ModelConfig, num_classes: int) -> nn.Module:
    """The network ``cfg.arch`` names, with ``num_classes`` outputs (the one place a model is chosen)."""
    if cfg.arch == "simcardionet":
        return SimCardioNet(cfg, num_classes)
    if cfg.arch == "resnet18":
        from simcardionet_lite.model.resnet import ResNet18

        return ResNet18(cfg, num_classes)
    raise ValueError(f"model.arch must be one of {ARCHES}, got {cfg.arch!r}")


__all__ = ["ARCHES", "SimCardioNet", "ProjectionHead", "ClassifierHead", "build_backbone", "count_trainable"]
