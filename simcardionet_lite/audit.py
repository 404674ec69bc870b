"""``simcardionet_lite.audit``: the leakage audit (re-exported from :mod:`simcardionet_lite.data.audit`).

Why a top-level alias: the audit is a user-facing tool (``python -m simcardionet_lite.audit``
and the ``audit`` subcommand), so it lives under a short, stable name.
"""

from __future__ import annotations

import sys

from simcardionet_lite.data import audit as _audit
from simcardionet_lite.data.audit import (
    DEFAULT_HAMMING,
    PAGE_HASH_BITS,
    audit_report,
    build_manifest,
    duplicate_groups,
    expected_manifest_path,
    hamming_matrix,
    summary_lines,
    main,
    page_fingerprint,
    page_hash,
    page_hashes,
    verify_manifest,
)

__all__ = list(_audit.__all__)

if __name__ == "__main__":
    sys.exit(main())
