"""Recompute the overlap audit of a committed Dataset II result with the current audit method.

Why: the first ``real-cpu`` Dataset II run audited overlap with a 64-bit pHash, which puts
distinct Dataset I pages 0 bits apart (it cannot tell a copy from another patient). The audit is
a data-only computation, so it can be redone exactly without retraining: this script loads the
same training and test pages (same image size as the run), recomputes
:func:`simcardionet_lite.experiments.overlap_audit` (1024-bit page hash) and writes it into the
results JSON, keeping the old audit under ``extra.overlap_superseded`` and saying so in
``extra.overlap_note``. The model metrics are untouched. If the seen/unseen split changed, the
seen/unseen metrics (which need the run's predictions, not stored) are set to ``None`` with a
note rather than left stale.

    python scripts/reaudit_dataset2.py results/06_dataset2/real-cpu/metrics.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from simcardionet_lite import experiments as ex
from simcardionet_lite.config import Config
from simcardionet_lite.results import git_info


def main(argv: list[str] | None = None) -> int:
    path = Path((argv or sys.argv[1:])[0])
    d = json.loads(path.read_text())
    cfg = Config.from_dict(d["config"])
    extra = d.get("extra") or {}
    train = ex.load_dataset1(cfg, extra["train_root"])
    test = ex.load_dataset2(cfg, extra["data_root"], split="test")
    old = d["metrics"]["overlap"]
    new = ex.overlap_audit(train, test)
    same_split = old.get("seen_mask") == new["seen_mask"]
    d["metrics"]["overlap"] = new
    if not same_split:
        d["metrics"]["metrics_seen"] = None
        d["metrics"]["metrics_unseen"] = None
    extra["overlap_superseded"] = {k: v for k, v in old.items() if k != "seen_mask"}
    extra["overlap_note"] = (
        f"overlap recomputed with the 1024-bit page hash at commit {git_info()['commit']} (the run used a 64-bit "
        f"pHash, which cannot tell distinct Dataset I pages apart); seen/unseen split "
        f"{'unchanged, so the seen/unseen metrics stand' if same_split else 'changed: seen/unseen metrics removed'}"
    )
    d["extra"] = extra
    path.write_text(json.dumps(d, indent=2, allow_nan=False) + "\n")
    sys.stdout.write(extra["overlap_note"] + f"; seen {new['n_seen']}/{new['n_test']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
