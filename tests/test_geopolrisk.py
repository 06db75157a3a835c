"""GeoPolRisk (Gemechu et al. 2016) on a hand-computed tiny world, invariants, and on the bundled data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from minsec.risk.geopolrisk import CF_COPPER, OUTPUT_COLUMNS, geopolrisk, import_risk, production_hhi

YEAR = 2022
HS = "999999"
SERIES_HS = pd.DataFrame({"material": ["m"], "stage": ["mining"], "hs92": [HS]})


def _production(values: dict[str, float], year: int = YEAR) -> xr.DataArray:
    return xr.DataArray(np.array(list(values.values()), dtype=float).reshape(1, 1, -1, 1),
                        dims=("material", "stage", "country", "year"),
                        coords={"material": ["m"], "stage": ["mining"], "country": list(values), "year": [year]})


def _stability(values: dict[str, float], year: int = YEAR) -> xr.DataArray:
    return xr.DataArray(np.array(list(values.values()), dtype=float).reshape(-1, 1), dims=("country", "year"),
                        coords={"country": list(values), "year": [year]})


def _trade(flows: list[tuple[str, str, float, float]], year: int = YEAR) -> pd.DataFrame:
    """flows: (exporter, importer, quantity_t, value_kusd)."""
    return pd.DataFrame({
        "year": [year] * len(flows), "exporter": [f[0] for f in flows], "importer": [f[1] for f in flows],
        "hs92": [HS] * len(flows), "quantity_t": [f[2] for f in flows], "value_kusd": [f[3] for f in flows],
    })


# Tiny world: A imports 10 t from B (PS 0.2) and 30 t from C (PS missing → 0.5), produces 10 t itself.
# Production A 10, B 30, C 60 → HHI = 0.1² + 0.3² + 0.6² = 0.46.
PRODUCTION = _production({"A": 10.0, "B": 30.0, "C": 60.0})
STABILITY = _stability({"A": 0.1, "B": 0.2, "C": np.nan})
TRADE = _trade([("B", "A", 10.0, 20.0), ("C", "A", 30.0, 60.0)])


def _run(**kwargs) -> pd.DataFrame:
    args = {"trade": TRADE, "production": PRODUCTION, "political_stability": STABILITY, "series_hs": SERIES_HS,
            "years": [YEAR]}
    return geopolrisk(**{**args, **kwargs})


def test_production_hhi():
    assert production_hhi(PRODUCTION).sel(material="m", stage="mining", year=YEAR).item() == pytest.approx(0.46)
    with_missing = _production({"A": 10.0, "B": np.nan, "C": 30.0})
    assert production_hhi(with_missing).item() == pytest.approx(0.25**2 + 0.75**2)


def test_geopolrisk_tiny_world():
    result = _run(importers=["A"])
    assert list(result.columns) == OUTPUT_COLUMNS
    assert len(result) == 1
    row = result.iloc[0]
    assert (row["importer"], row["material"], row["stage"], row["year"]) == ("A", "m", "mining", YEAR)
    assert row["hhi"] == pytest.approx(0.46)
    assert row["import_risk"] == pytest.approx((10 * 0.2 + 30 * 0.5) / (40 + 10))  # 0.34
    assert row["import_risk"] == pytest.approx(0.34)
    assert row["geopolrisk_score"] == pytest.approx(0.46 * 0.34)
    assert row["imports_t"] == pytest.approx(40.0)
    assert row["domestic_production_t"] == pytest.approx(10.0)
    assert row["price_usd_per_kg"] == pytest.approx(80.0 / 40.0)  # thousand USD per t = USD per kg
    assert row["characterisation_factor"] == pytest.approx(0.46 * 0.34 * 2.0 / CF_COPPER)
    assert row["imputed_exporters"] == "C"


def test_geopolrisk_all_importers():
    result = _run().set_index("importer")
    assert sorted(result.index) == ["A", "B", "C"]
    # B and C import nothing: import risk 0, score 0, factor 0 (not undefined)
    assert result.loc["B", "import_risk"] == 0.0
    assert result.loc["C", "characterisation_factor"] == 0.0
    assert result.loc["C", "domestic_production_t"] == 60.0
    assert np.isnan(result.loc["B", "price_usd_per_kg"])


def test_flow_without_quantity_carries_no_tonnage():
    trade = _trade([("B", "A", 10.0, 20.0), ("C", "A", 30.0, 60.0), ("C", "A", np.nan, 500.0)])
    row = _run(trade=trade, importers=["A"]).iloc[0]
    assert row["imports_t"] == pytest.approx(40.0)
    assert row["import_risk"] == pytest.approx(0.34)
    assert row["price_usd_per_kg"] == pytest.approx(2.0)  # the unquantified flow's value is not averaged in


def test_other_years_are_ignored():
    trade = pd.concat([TRADE, _trade([("C", "A", 1000.0, 1.0)], year=YEAR - 1)], ignore_index=True)
    row = _run(trade=trade, importers=["A"]).iloc[0]
    assert row["imports_t"] == pytest.approx(40.0)


def test_group_excludes_internal_trade():
    # G = {A, B}: A ← B is internal. Left: A ← C 30 t at 0.5; domestic production A + B = 40 t.
    result = _run(importers=["G"], groups={"G": ["A", "B"]}, intra_group="exclude")
    row = result.iloc[0]
    assert row["importer"] == "G"
    assert row["imports_t"] == pytest.approx(30.0)
    assert row["domestic_production_t"] == pytest.approx(40.0)
    assert row["import_risk"] == pytest.approx(15.0 / 70.0)
    assert row["imputed_exporters"] == "C"


def test_group_zero_risk_keeps_internal_trade():
    result = _run(importers=["G"], groups={"G": ["A", "B"]}, intra_group="zero_risk")
    row = result.iloc[0]
    assert row["imports_t"] == pytest.approx(40.0)
    assert row["domestic_production_t"] == pytest.approx(40.0)
    assert row["import_risk"] == pytest.approx((10 * 0.0 + 30 * 0.5) / (40 + 40))  # 0.1875
    assert row["geopolrisk_score"] == pytest.approx(0.46 * 0.1875)


def test_group_internal_imputation_is_not_reported():
    # B has no PS score; inside the group its flow is zero-risk, so B is not an imputed exporter.
    stability = _stability({"A": 0.1, "B": np.nan, "C": np.nan})
    result = _run(political_stability=stability, importers=["G"], groups={"G": ["A", "B"]},
                  intra_group="zero_risk")
    assert result.iloc[0]["imputed_exporters"] == "C"
    single = _run(political_stability=stability, importers=["A"])
    assert single.iloc[0]["imputed_exporters"] == "B,C"


def test_invalid_intra_group():
    with pytest.raises(ValueError, match="intra_group"):
        _run(importers=["A"], intra_group="ignore")


def test_importer_without_imports_is_domestic_only():
    # B and C trade with each other; A imports nothing: its import risk is 0 / (0 + 10) = 0, a measured zero
    row = _run(trade=_trade([("B", "C", 5.0, 10.0)]), importers=["A"]).iloc[0]
    assert row["imports_t"] == 0.0
    assert row["domestic_production_t"] == 10.0
    assert row["import_risk"] == 0.0
    assert row["imputed_exporters"] == ""
    assert pd.isna(row["reason"])


def test_no_flow_anywhere_is_missing_with_a_reason():
    # a trade code without a single flow that year (HS 811230 germanium after 2007) cannot measure imports:
    # null with the reason, not an import risk of 0 from domestic production alone; the HHI is still known
    row = _run(trade=_trade([]), importers=["A"]).iloc[0]
    assert np.isnan(row["import_risk"]) and np.isnan(row["geopolrisk_score"])
    assert row["hhi"] == pytest.approx(0.46)
    assert "HS 999999 recorded no flow anywhere in" in row["reason"]


def test_series_without_a_trade_code_is_missing_with_a_reason():
    series = pd.DataFrame({"material": ["other"], "stage": ["mining"], "hs92": [HS]})
    row = _run(series_hs=series, importers=["A"]).iloc[0]
    assert row["material"] == "m" and np.isnan(row["import_risk"])
    assert row["reason"].startswith("the GeoPolRisk method pairs no HS 1992 trade code with m")


def test_import_risk_function():
    out = import_risk(np.array([17.0, 0.0, 0.0]), np.array([40.0, 0.0, 0.0]), np.array([10.0, 5.0, 0.0]))
    assert out[0] == pytest.approx(0.34)
    assert out[1] == 0.0
    assert np.isnan(out[2])


exporters = ["B", "C", "D", "E"]
flow_strategy = st.lists(
    st.tuples(st.sampled_from(exporters), st.floats(min_value=0.0, max_value=1e6, allow_nan=False)),
    min_size=1, max_size=8)  # at least one flow row: an empty trade table is the xfail below
ps_strategy = st.lists(st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)), min_size=4, max_size=4)


@settings(max_examples=40, deadline=None)
@given(flows=flow_strategy, scores=ps_strategy,
       domestic=st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
def test_import_risk_in_unit_interval(flows, scores, domestic):
    production = _production({"A": domestic, "B": 1.0, "C": 2.0, "D": 3.0, "E": 4.0})
    ps = {e: (np.nan if s is None else s) for e, s in zip(exporters, scores, strict=True)}
    stability = _stability({"A": 0.3, **ps})
    trade = _trade([(e, "A", q, q) for e, q in flows])
    result = geopolrisk(trade, production, stability, SERIES_HS, [YEAR], importers=["A"])
    imports = sum(q for _, q in flows)
    if imports + domestic == 0:   # 0/0: missing with the reason (no flow at all, or A neither imports nor produces)
        assert len(result) == 1 and np.isnan(result.iloc[0]["import_risk"]) and result.iloc[0]["reason"]
        return
    row = result.iloc[0]
    assert 0.0 <= row["import_risk"] <= 1.0
    expected = sum(q * (0.5 if np.isnan(ps[e]) else ps[e]) for e, q in flows) / (imports + domestic)
    assert row["import_risk"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert 0.0 <= row["geopolrisk_score"] <= row["hhi"] + 1e-12
    imputed = sorted({e for e, q in flows if q > 0 and np.isnan(ps[e])})
    assert row["imputed_exporters"] == ",".join(imputed)


# ---------------------------------------------------------------------------------------------- bundled data


@pytest.fixture(scope="module")
def bundled_result(chain) -> pd.DataFrame:
    return chain.risk.geopolrisk(importer=["USA", "EU27"], year=[2022])


def test_bundled_geopolrisk_rows_are_finite_or_say_why(bundled_result):
    assert set(bundled_result["importer"]) == {"USA", "EU27"}
    assert len(bundled_result) > 20
    numeric = bundled_result[["hhi", "import_risk", "geopolrisk_score", "characterisation_factor", "imports_t",
                              "domestic_production_t"]]
    computed = bundled_result["reason"].isna()
    assert np.isfinite(numeric[computed].to_numpy()).all()
    # every row without a score says why; gallium (no HS 1992 code) is one of them, never a 0.0
    assert numeric.loc[~computed, "import_risk"].isna().all()
    gallium = bundled_result[bundled_result["material"] == "gallium"]
    assert len(gallium) == 2 and gallium["import_risk"].isna().all()
    assert gallium["reason"].str.contains("pairs no HS 1992 trade code with gallium").all()
    bundled_result = bundled_result[computed]
    assert bundled_result["import_risk"].between(0.0, 1.0).all()
    assert bundled_result["hhi"].between(0.0, 1.0).all()
    assert (bundled_result["year"] == 2022).all()


def _cobalt_imports(chain, importers: set[str], exclude_exporters: set[str]) -> float:
    trade = chain.trade
    flows = trade[(trade["year"] == 2022) & trade["hs92"].isin(["282200", "810510"])
                  & trade["importer"].isin(importers) & ~trade["exporter"].isin(exclude_exporters)]
    return float(flows["quantity_t"].fillna(0.0).sum())


def test_bundled_eu27_counts_only_extra_eu_trade(chain, bundled_result):
    eu = set(chain.groups.members("EU27"))
    assert len(eu) == 27
    cobalt = bundled_result[bundled_result["material"] == "cobalt"].set_index("importer")
    extra_eu = _cobalt_imports(chain, eu, eu)
    all_eu = _cobalt_imports(chain, eu, set())
    assert extra_eu > 0
    assert all_eu > extra_eu  # intra-EU cobalt trade exists, so the check below is meaningful
    assert cobalt.loc["EU27", "imports_t"] == pytest.approx(extra_eu, rel=1e-9)
    assert cobalt.loc["USA", "imports_t"] == pytest.approx(_cobalt_imports(chain, {"USA"}, set()), rel=1e-9)

    zero_risk = chain.risk.geopolrisk(importer=["EU27"], year=[2022], material="cobalt", intra_group="zero_risk")
    assert zero_risk.set_index("importer").loc["EU27", "imports_t"] == pytest.approx(all_eu, rel=1e-9)
