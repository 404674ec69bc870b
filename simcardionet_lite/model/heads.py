"""Heads on top of the pooled backbone features.

Why two heads: SimCLR (and so the paper's "modified SimCLR") trains a small MLP *projection*
head during pretraining and discards it afterwards: the contrastive loss is applied in the
projected space, which lets the projection throw away information the loss does not need
(colour, exact position) while the features before it keep it for the downstream classifier.
The *classifier* head is what fine-tuning trains.
"""

from __future__ import annotations

import torch
from torch import nn


class ProjectionHead(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Linear to the contrastive space (ours: SimCLR's two-layer MLP, 128-d).

    The batch norm (as in SimCLR v1/v2's head) re-centres the hidden units over the batch; on
    ECG pages, which are nearly identical at the pixel level, it is what keeps a freshly
    initialised network from mapping every page to almost the same point.
    """

    def __init__(self, in_dim: int, hidden: int = 256, out_dim: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, out_dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class ClassifierHead(nn.Module):
    """Dropout -> Linear to the class logits (ours: a linear classifier keeps the features honest)."""

    def __init__(self, in_dim: int, num_classes: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_dim, num_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(h))


__all__ = ["ProjectionHead", "ClassifierHead"]
