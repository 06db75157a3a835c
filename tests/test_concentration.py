"""Production concentration on hand-computed tiny worlds, and invariants on random ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minsec.risk.concentration import (
    concentration,
    herfindahl_hirschman_index,
    leading_producer,
    production_shares,
    unallocated_share,
)


def _production(values: dict[str, float]) -> xr.DataArray:
    return xr.DataArray(np.array(list(values.values()), dtype=float), dims="country",
                        coords={"country": list(values)})


TINY = _production({"AAA": 15.0, "BBB": 50.0, "CCC": 30.0})
TINY_TOTAL = xr.DataArray(100.0)


def test_shares_relative_to_published_world_total():
    shares = production_shares(TINY, TINY_TOTAL)
    assert shares.sel(country="BBB").item() == pytest.approx(0.5)
    assert shares.sel(country="CCC").item() == pytest.approx(0.3)
    assert shares.sel(country="AAA").item() == pytest.approx(0.15)
    assert unallocated_share(shares).item() == pytest.approx(0.05)
    assert herfindahl_hirschman_index(shares).item() == pytest.approx(0.25 + 0.09 + 0.0225)


def test_concentration_tiny_world():
    result = concentration(TINY, TINY_TOTAL)
    assert result["hhi"].item() == pytest.approx(0.3625)  # 0.25 + 0.09 + 0.0225
    assert result["hhi_upper"].item() == pytest.approx(0.3625 + 0.05**2)
    assert result["unallocated_share"].item() == pytest.approx(0.05)
    assert result["top_country"].item() == "BBB"
    assert result["top_share"].item() == pytest.approx(0.5)
    assert result["n_producers"].item() == 3
    assert result["world_total"].item() == 100.0
    assert not bool(result["exceeds_65pct"])


def test_concentration_crma_benchmark():
    result = concentration(_production({"AAA": 66.0, "BBB": 30.0}), xr.DataArray(100.0))
    assert bool(result["exceeds_65pct"])
    result = concentration(_production({"AAA": 65.0, "BBB": 30.0}), xr.DataArray(100.0))
    assert not bool(result["exceeds_65pct"])  # "more than 65 %"


def test_missing_world_total_gives_missing_shares():
    shares = production_shares(TINY, xr.DataArray(np.nan))
    assert shares.isnull().all()
    result = concentration(TINY, xr.DataArray(np.nan))
    assert math.isnan(result["hhi"].item())
    assert math.isnan(result["hhi_upper"].item())
    assert math.isnan(result["unallocated_share"].item())
    assert math.isnan(result["top_share"].item())
    assert result["top_country"].item() == ""
    assert result["n_producers"].item() == 3  # production itself is known


def test_zero_world_total_is_not_divided_by():
    assert production_shares(TINY, xr.DataArray(0.0)).isnull().all()


def test_missing_country_value_is_skipped_and_left_in_the_remainder():
    production = _production({"AAA": 40.0, "BBB": np.nan, "CCC": 20.0})
    result = concentration(production, xr.DataArray(100.0))
    assert result["hhi"].item() == pytest.approx(0.16 + 0.04)
    assert result["unallocated_share"].item() == pytest.approx(0.4)
    assert result["hhi_upper"].item() == pytest.approx(0.2 + 0.16)


def test_vectorised_over_extra_dimensions():
    production = xr.DataArray([[60.0, 40.0], [10.0, 90.0]], dims=("year", "country"),
                              coords={"year": [2022, 2023], "country": ["AAA", "BBB"]})
    total = xr.DataArray([100.0, np.nan], dims="year", coords={"year": [2022, 2023]})
    result = concentration(production, total)
    assert result["hhi"].sel(year=2022).item() == pytest.approx(0.36 + 0.16)
    assert math.isnan(result["hhi"].sel(year=2023).item())
    assert list(result["top_country"].values) == ["AAA", ""]
    codes, top = leading_producer(production_shares(production, total))
    assert codes.sel(year=2022).item() == "AAA"
    assert top.sel(year=2022).item() == pytest.approx(0.6)


# ---------------------------------------------------------------------------------------------- invariants

quantities = st.lists(st.floats(min_value=0.0, max_value=1e7, allow_nan=False, allow_infinity=False),
                      min_size=1, max_size=12)


def _world(values: list[float]) -> xr.DataArray:
    return _production({f"C{i:02d}": v for i, v in enumerate(values)})


@settings(max_examples=60, deadline=None)
@given(values=quantities, extra=st.floats(min_value=0.0, max_value=1e7, allow_nan=False))
def test_shares_plus_unallocated_is_one(values, extra):
    total = sum(values) + extra
    assume(total > 0)
    production = _world(values)
    result = concentration(production, xr.DataArray(total))
    shares = production_shares(production, xr.DataArray(total))
    assert shares.sum().item() + result["unallocated_share"].item() == pytest.approx(1.0, abs=1e-9)
    assert result["unallocated_share"].item() >= -1e-9
    assert 0.0 <= result["top_share"].item() <= 1.0 + 1e-12
    assert result["hhi"].item() <= result["hhi_upper"].item() + 1e-15


@settings(max_examples=60, deadline=None)
@given(values=quantities)
def test_hhi_bounds_when_total_is_the_sum(values):
    total = sum(values)
    positive = sum(v > 0 for v in values)
    assume(total > 0)
    result = concentration(_world(values), xr.DataArray(total))
    hhi = result["hhi"].item()
    assert 1.0 / positive - 1e-9 <= hhi <= 1.0 + 1e-9
    assert 1.0 / len(values) - 1e-9 <= hhi
    assert result["unallocated_share"].item() == pytest.approx(0.0, abs=1e-9)
    assert result["top_share"].item() <= 1.0 + 1e-12
    assert result["n_producers"].item() == positive


@settings(max_examples=60, deadline=None)
@given(values=quantities, extra=st.floats(min_value=0.0, max_value=1e7, allow_nan=False))
def test_zero_producer_changes_nothing(values, extra):
    total = sum(values) + extra
    assume(total > 0 and max(values) > 0)
    before = concentration(_world(values), xr.DataArray(total))
    after = concentration(_world([*values, 0.0]), xr.DataArray(total))
    for name in ("hhi", "hhi_upper", "top_share", "unallocated_share"):
        assert after[name].item() == pytest.approx(before[name].item(), rel=1e-12, abs=1e-15)
    assert after["top_country"].item() == before["top_country"].item()
    assert after["n_producers"].item() == before["n_producers"].item()
