"""Shared test fixtures.

Real data lives in ``../shared/realdata`` beside the project (or where
``SIMCARDIONET_REALDATA`` points). Tests that need it take the ``realdata`` fixture and
skip with a reason when it is absent; they never copy any of it into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("SIMCARDIONET_REALDATA", ROOT.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """Path of the real-data folder, or skip the test with the reason."""
    if not (REALDATA / "dataset1_mendeley").is_dir() or not (REALDATA / "ptbxl_sample").is_dir():
        pytest.skip(f"real data not found at {REALDATA} (set SIMCARDIONET_REALDATA to its folder)")
    return REALDATA
