"""The SimCardioNet backbone and its heads."""

from simcardionet_lite.model.backbone import SimCardioNet, count_trainable
from simcardionet_lite.model.heads import ClassifierHead, ProjectionHead

__all__ = ["SimCardioNet", "ProjectionHead", "ClassifierHead", "count_trainable"]
