"""Partner routes and the JRC supply-risk formula on hand-computed small cases."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr

from minsec.risk.jrc import governance_weighted_hhi, jrc_supply_risk, scaled_governance
from minsec.risk.routes import import_sources


def flows(rows):
    return pd.DataFrame(rows, columns=["year", "exporter", "importer", "material", "stage", "quantity_t"])


def test_partner_and_outside_shares_hand_computed():
    trade = flows([
        (2022, "CHN", "DEU", "graphite", "mining", 60.0),
        (2022, "MOZ", "FRA", "graphite", "mining", 20.0),
        (2022, "CAN", "DEU", "graphite", "mining", 20.0),
        (2022, "FRA", "DEU", "graphite", "mining", 500.0),  # intra-group: not an import of the group
    ])
    summary, suppliers = import_sources(trade, {"EU": {"DEU", "FRA"}}, partners={"DEU", "FRA", "CAN", "USA"},
                                        years=[2022])
    [row] = summary.to_dict(orient="records")
    assert row["imports"] == pytest.approx(100.0)
    assert row["partner_share"] == pytest.approx(0.2)
    assert row["outside_share"] == pytest.approx(0.8)
    assert row["top_outside_supplier"] == "CHN"
    assert row["max_outside_share"] == pytest.approx(0.6)
    assert not row["exceeds_65pct"]
    assert suppliers.set_index("supplier")["supplier_share"].to_dict() == pytest.approx({"CHN": 0.6, "MOZ": 0.2})


def test_jrc_supply_risk_hand_computed():
    wgi = xr.DataArray([[0.5], [0.5], [0.5], [0.5], [0.5], [0.5]],
                       dims=("indicator", "country"), coords={"indicator": ["va", "pv", "ge", "rq", "rl", "cc"],
                                                              "country": ["X"]})
    assert float(scaled_governance(wgi).sel(country="X")) == pytest.approx(4.0)  # (2.5 - 0.5) * 2
    shares = xr.DataArray([0.6, 0.4], dims="country", coords={"country": ["A", "B"]})
    governance = xr.DataArray([5.0, 2.0], dims="country", coords={"country": ["A", "B"]})
    hhi_wgi = governance_weighted_hhi(shares, governance)
    assert float(hhi_wgi) == pytest.approx(0.36 * 5 + 0.16 * 2)
    sr = jrc_supply_risk(hhi_wgi, xr.DataArray(1.0), xr.DataArray(0.5), eol_rir=0.2)
    # [2.12 * 0.25 + 1.0 * 0.75] * 0.8 * 1
    assert float(sr) == pytest.approx((2.12 * 0.25 + 1.0 * 0.75) * 0.8)
