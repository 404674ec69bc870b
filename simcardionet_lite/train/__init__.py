"""Training: self-supervised pretraining (:mod:`.pretrain`) and fine-tuning with progressive unfreezing
(:mod:`.finetune`). Checkpoints, exact-resume ones included, are :mod:`simcardionet_lite.checkpoint`.

Submodules are imported lazily by callers (``from simcardionet_lite.train.pretrain import pretrain``)
so that importing the package stays cheap.
"""
