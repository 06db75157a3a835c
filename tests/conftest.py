"""Shared fixtures: paths to the raw-file extracts and the (session-cached) bundled dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RAW_DIR = ROOT / "data" / "raw"


@pytest.fixture(scope="session")
def chain():
    from minsec.model.supply_chain import SupplyChain

    return SupplyChain.load()


@pytest.fixture(scope="session")
def rebuilt():
    """The dataset rebuilt from the publishers' files in data/raw (nothing written)."""
    from minsec.data import build

    if not RAW_DIR.is_dir():
        pytest.skip("data/raw not present")
    return build.build(RAW_DIR)
