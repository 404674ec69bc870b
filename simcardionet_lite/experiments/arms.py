"""Arms: the variants an experiment compares, each nothing but a set of config overrides.

Why pure config: an arm that rode on a string beside the config (``variant="scratch"``) left
results files whose recorded config could not say which arm ran; two arms even had identical
overrides. Here an arm is :func:`arm_config` ``(cfg, name)``, a new :class:`~simcardionet_lite.config.Config`
whose fields alone decide what runs (``finetune.init = "random"`` means no pretraining), so the
config hash recorded with each arm's numbers identifies it.

Each arm changes the knobs that define it, and no knob meant for another arm:

* ``scratch``: random initial weights (no pretraining), every layer trained from epoch 0 with
  one learning rate (``lr_decay = 1``): discriminative rates shrink the early layers' steps to
  protect pretrained features, which a random network does not have;
* ``no_unfreeze``: the pretrained network with every layer trained from epoch 0 (the
  discriminative rates stay: this arm tests the schedule, nothing else).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simcardionet_lite.config import Config, with_overrides

_NO_AUG = {"rotation_deg": 0.0, "color_jitter": 0.0, "grid_jitter": 0.0, "blur_p": 0.0, "jpeg_p": 0.0}
_ALL_AT_ONCE = ((0, ("all",)),)


@dataclass(frozen=True)
class Arm:
    """One arm: what it tests (shown in tables) and its dotted config overrides."""

    label: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


#: the standard CNN a user would pick instead: whole pages, random init, trained like the scratch arm;
#: 128 x 176 (the page's aspect) keeps it within the CPU budget (about 30 ms per page and step on 2 cores). No time
#: shifts: the ``cpu`` preset's shift was tuned for the lead-panel network and acts inside each panel; on a whole
#: page it would be another augmentation, untried for this network, so the arm keeps the recipe it was committed with;
#: likewise no test-time views (``eval.tta_shifts``, tuned for the network trained on shifted panels)
_RESNET18 = {"model.arch": "resnet18", "data.panels": False, "data.image_size": (128, 176), "finetune.init": "random",
             "finetune.unfreeze_schedule": _ALL_AT_ONCE, "finetune.lr_decay": 1.0, "aug_finetune.translate_frac": 0.0, "eval.tta_shifts": ()}

ARMS: dict[str, Arm] = {
    "full": Arm("full method (pretraining, attention, hybrid loss, progressive unfreezing)"),
    "scratch": Arm("no pretraining (random init, all layers trained, one learning rate)",
                   {"finetune.init": "random", "finetune.unfreeze_schedule": _ALL_AT_ONCE, "finetune.lr_decay": 1.0}),
    "no_attention": Arm("no self-attention", {"model.attention": False}),
    "no_domain_aug": Arm("no domain augmentations (crop only in pretraining, none in fine-tuning)",
                         {"aug_pretrain": _NO_AUG, "aug_finetune": {**_NO_AUG, "crop_scale_min": 1.0}}),
    "lam0": Arm("lambda = 0 (pure InfoNCE)", {"loss.lam": 0.0}),
    "no_unfreeze": Arm("no progressive unfreezing (all layers at once)", {"finetune.unfreeze_schedule": _ALL_AT_ONCE}),
    "crop": Arm("header/footer cropped (shortcut test)", {"data.crop_header_footer": True}),
    "resnet18": Arm("ResNet-18 (torchvision, random init) on whole pages, 128 x 176", _RESNET18),
    # the same ResNet-18 with the printed header and footer masked white (the crop arm's mask): whether its lead over
    # the lead-panel network (which never sees them) comes from reading the print rather than the traces
    "resnet18_masked": Arm("ResNet-18 (torchvision, random init) on whole pages, header and footer masked, 128 x 176",
                           {**_RESNET18, "data.crop_header_footer": True}),
}

#: label-efficiency arms -> how the chapter names them (the two probes are read-outs, not configs)
LABEL_EFFICIENCY_ARMS: dict[str, str] = {
    "pretrained": "pretrained + fine-tuned",
    "linear_probe": "linear probe (pretrained features)",
    "random_probe": "linear probe (untrained features)",
    "scratch": "scratch",
}


def arm_config(cfg: Config, name: str) -> Config:
    """A copy of ``cfg`` with the arm's overrides applied (``KeyError`` for an unknown arm)."""
    if name not in ARMS:
        raise KeyError(f"unknown arm {name!r}; known: {sorted(ARMS)}")
    return with_overrides(cfg, ARMS[name].overrides)


def uses_pretraining(cfg: Config) -> bool:
    """Whether the config fine-tunes a pretrained encoder (``finetune.init``)."""
    if cfg.finetune.init not in ("pretrained", "random"):
        raise ValueError(f"finetune.init must be 'pretrained' or 'random', got {cfg.finetune.init!r}")
    return cfg.finetune.init == "pretrained"


__all__ = ["Arm", "ARMS", "LABEL_EFFICIENCY_ARMS", "arm_config", "uses_pretraining"]
