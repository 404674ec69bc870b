"""Training: self-supervised pretraining (:mod:`.pretrain`), fine-tuning with progressive unfreezing
(:mod:`.finetune`) and exact-resume checkpoints (:mod:`.checkpoint`).

Submodules are imported lazily by callers (``from simcardionet_lite.train.pretrain import pretrain``)
so that importing the package stays cheap.
"""
