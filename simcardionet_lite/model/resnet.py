"""torchvision's ResNet-18 from random initialisation: the standard CNN a user would pick instead.

Why in the package: the honest baseline for a new architecture is the well-known one trained
in the same protocol, with the same budget, data, augmentations and fine-tuning code. Wrapping
it with SimCardioNet's interface (``features``, ``project``, ``layer_groups``,
``cam_target_layer``, the same input normalisation) lets every recipe, the pretraining loop and
Grad-CAM run it unchanged (``model.arch = "resnet18"``). Random initialisation (no ImageNet
weights): nothing may be downloaded, and the comparison is architecture against architecture.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from simcardionet_lite.config import ModelConfig
from simcardionet_lite.model.backbone import register_input_norm
from simcardionet_lite.model.heads import ClassifierHead, ProjectionHead


class ResNet18(nn.Module):
    """ResNet-18 (He et al. 2016, torchvision's definition) with SimCardioNet's heads and layer groups."""

    def __init__(self, cfg: ModelConfig, num_classes: int) -> None:
        super().__init__()
        from torchvision.models import resnet18

        register_input_norm(self, cfg, num_classes)
        net = resnet18(weights=None)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.stages = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])
        self.feature_dim = 512
        self.attention = None
        self.projector = ProjectionHead(self.feature_dim, cfg.proj_hidden, cfg.proj_dim)
        self.head = ClassifierHead(self.feature_dim, num_classes, cfg.dropout)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's map N x 512 x h x w."""
        x = self.stem((x - self.mean) / self.std)
        for s in self.stages:
            x = s(x)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Global average of the last map (N x 512)."""
        return self.feature_map(x).mean(dim=(2, 3))

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def layer_groups(self) -> dict[str, list[nn.Module]]:
        """``stem, stage1..stage4, attention (empty), head``: the names the unfreezing schedule uses."""
        groups: dict[str, list[nn.Module]] = {"stem": [self.stem]}
        for i, s in enumerate(self.stages, start=1):
            groups[f"stage{i}"] = [s]
        groups["attention"] = []
        groups["head"] = [self.head]
        return groups

    @property
    def cam_target_layer(self) -> nn.Module:
        return self.stages[-1]

    @property
    def cam_reshape_transform(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        return None

    def complexity(self, input_size: tuple[int, int]) -> dict[str, float]:
        """Parameters and FLOPs of one forward pass (as :meth:`SimCardioNet.complexity`)."""
        from simcardionet_lite.model.backbone import SimCardioNet

        return SimCardioNet.complexity(self, input_size)  # type: ignore[arg-type]


__all__ = ["ResNet18"]
