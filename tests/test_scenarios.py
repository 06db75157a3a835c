"""Emergency planning: market clearing, propagation, scenarios, calibration (hand-computed and invariants)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from minsec.scenarios import parameters as params
from minsec.scenarios.baseline import MarketBaseline
from minsec.scenarios.engine import EventTable, MarketArrays, simulate
from minsec.scenarios.market import active_share, clear_segment, ramp
from minsec.scenarios.run import ScenarioContext, run_scenario
from minsec.scenarios.schema import ScenarioError, library, load_scenario, parse_scenario

# ------------------------------------------------------------------------------------------------ clearing


def test_clear_segment_uncapped_by_hand():
    # D = 100 t, gap 20 t, |ε_d| = 0.3, ε_s = 0.1: x − 1 = 0.2 / 0.4 = 0.5; response 5 t; shortfall 15 t
    out = clear_segment(np.array([20.0]), np.array([100.0]), np.array([1e9]), -0.3, 0.1)
    assert out.price_index[0] == pytest.approx(1.5)
    assert out.response[0] == pytest.approx(5.0)
    assert out.shortfall[0] == pytest.approx(15.0)
    assert out.unsold[0] == pytest.approx(0.0)


def test_clear_segment_capacity_binds_by_hand():
    # spare capacity 2 t < 5 t wanted: x − 1 = (20 − 2) / (0.3 · 100) = 0.6; shortfall 18 t
    out = clear_segment(np.array([20.0]), np.array([100.0]), np.array([2.0]), -0.3, 0.1)
    assert out.price_index[0] == pytest.approx(1.6)
    assert out.response[0] == pytest.approx(2.0)
    assert out.shortfall[0] == pytest.approx(18.0)


def test_clear_segment_glut_floors_price_and_reports_unsold():
    # gap −30 t on 40 t demand: x − 1 = −30 / 16 → floored at −0.8; buyers take 0.3·0.8·40 = 9.6 t more; producers
    # cut 0.1·0.8·40 = 3.2 t, withheld like the rest: 30 − 9.6 = 20.4 t unsold, and no negative supply response
    out = clear_segment(np.array([-30.0]), np.array([40.0]), np.array([0.0]), -0.3, 0.1, 0.2)
    assert out.price_index[0] == pytest.approx(0.2)
    assert out.unsold[0] == pytest.approx(30 - 9.6) and out.response[0] == 0


@settings(max_examples=200, deadline=None)
@given(gap=st.floats(-200, 200), demand=st.floats(0.1, 1000), capacity=st.floats(0, 100),
       eps_d=st.floats(0.01, 2), eps_s=st.floats(0, 1))
def test_clearing_identity_and_signs(gap, demand, capacity, eps_d, eps_s):
    out = clear_segment(np.array([gap]), np.array([demand]), np.array([capacity]), -eps_d, eps_s)
    # every tonne of the gap is met by extra supply, priced-out demand or left unsold
    assert out.response[0] + out.shortfall[0] - out.unsold[0] == pytest.approx(gap, abs=1e-6 * max(1, abs(gap)))
    assert out.response[0] >= 0 and out.unsold[0] >= 0        # a cut-back below the baseline price is withheld
    if gap >= 0:
        assert out.shortfall[0] >= -1e-12 and out.price_index[0] >= 1 - 1e-12
        assert out.response[0] <= capacity + 1e-9


@settings(max_examples=100, deadline=None)
@given(small=st.floats(0, 100), extra=st.floats(0, 100), capacity=st.floats(0, 50))
def test_shortfall_and_price_non_decreasing_in_gap(small, extra, capacity):
    a = clear_segment(np.array([small]), np.array([100.0]), np.array([capacity]), -0.2, 0.1)
    b = clear_segment(np.array([small + extra]), np.array([100.0]), np.array([capacity]), -0.2, 0.1)
    assert b.shortfall[0] >= a.shortfall[0] - 1e-9
    assert b.price_index[0] >= a.price_index[0] - 1e-12


def test_active_share_and_ramp():
    share = active_share(np.array([1.5]), np.array([3.0]), 6, 1.0)[0]
    np.testing.assert_allclose(share, [0, 0.5, 1, 1, 0.5, 0])
    np.testing.assert_allclose(ramp(np.array([0.0]), np.array([6.0]), 4, 3.0)[0], [0.25, 0.75, 1, 1])
    np.testing.assert_allclose(ramp(np.array([0.0]), np.array([0.0]), 2, 1.0)[0], [1, 1])


# ------------------------------------------------------------------------------------------------ small world


def small_world(spare: float = 10.0) -> MarketBaseline:
    """One market; producer P1 (region X) ships 40 t to X and 60 t to Y, P2 (region Y) 50 t to Y."""
    supply = xr.DataArray([[[40.0, 60.0], [0.0, 50.0]]], dims=("market", "producer", "region"),
                          coords={"market": ["widget.mining"], "producer": ["P1", "P2"], "region": ["X", "Y"]})
    markets = {"market": ["widget.mining"]}
    return MarketBaseline(
        supply=supply,
        spare=xr.DataArray([[0.0, spare]], dims=("market", "producer"), coords={**markets, "producer": ["P1", "P2"]}),
        feedstock=xr.DataArray(np.full((1, 2, 2), np.nan), dims=("market", "region", "source_region"),
                               coords={**markets, "region": ["X", "Y"], "source_region": ["X", "Y"]}),
        price=xr.DataArray([1000.0], dims="market", coords=markets),
        demand_basis=xr.DataArray([["trade", "trade"]], dims=("market", "region"),
                                  coords={**markets, "region": ["X", "Y"]}),
        trade_basis=xr.DataArray(["test"], dims="market", coords=markets),
        production_year=xr.DataArray([2023], dims="market", coords=markets),
        regions=("X", "Y"), region_of={"P1": "X", "P2": "Y"}, year=2023)


def small_parameters(diversion: float = 0.0, leakage: float = 0.0) -> pd.DataFrame:
    table = pd.DataFrame(index=pd.Index(["widget.mining"], name="market"))
    for name, (default, _, _) in params.DEFAULTS.items():
        table[name] = default
    table["demand_elasticity"], table["supply_elasticity"] = -0.3, 0.1
    table["ramp_up_months"], table["diversion"], table["leakage"] = 0.0, diversion, leakage
    return table


def restriction(fraction: float, leakage: float = 0.0, targets=(False, True), n: int = 1) -> EventTable:
    return EventTable(scenario=np.arange(n), market=np.zeros(n, dtype=np.int64), producer=np.zeros(n, dtype=np.int64),
                      restriction=np.ones(n, dtype=bool), fraction=np.full(n, fraction), start=np.zeros(n),
                      duration=np.full(n, 12.0), targets=np.tile(np.array(targets, dtype=bool), (n, 1)),
                      leakage=np.full(n, leakage))


def test_small_world_restriction_by_hand():
    # P1 stops its 60 t to Y: gap 60 t on Y's 110 t. Spare 10 t binds: x − 1 = (60 − 10)/(0.3 · 110);
    # Y is short 50 t; X (open market) is untouched.
    arrays = MarketArrays.from_baseline(small_world(), small_parameters())
    out = simulate(arrays, restriction(1.0), 1, 1, 12.0)
    assert out.price_restricted[0, 0, 0] == pytest.approx(1 + 50 / 33)
    assert out.shortfall[0, 0, 0].tolist() == pytest.approx([0.0, 50.0])
    assert out.price_open[0, 0, 0] == pytest.approx(1.0)
    assert out.response[0, 0, 0] == pytest.approx(10.0)


def test_small_world_diversion_floods_the_open_market():
    # half of the 60 t withheld is offered in X (demand 40 t), where only the restrictor P1 sells: price floored
    # at 0.2; X's buyers take 0.3 · 0.8 · 40 = 9.6 t more, P1 cuts 0.1 · 0.8 · 40 = 3.2 t of output — withheld
    # volume, not a supply response — and the rest is unsold: 30 − 9.6 = 20.4 t
    arrays = MarketArrays.from_baseline(small_world(), small_parameters(diversion=0.5))
    out = simulate(arrays, restriction(1.0), 1, 1, 12.0)
    assert out.price_open[0, 0, 0] == pytest.approx(0.2)
    assert out.unsold[0, 0, 0] == pytest.approx(30 - 0.3 * 0.8 * 40)
    assert out.response[0, 0, 0] >= 0
    assert out.diverted[0, 0, 0] == pytest.approx(30.0)


def open_world() -> MarketBaseline:
    """As :func:`small_world`, but the outsider P2 also sells 30 t to X."""
    world = small_world(spare=1e6)
    supply = world.supply.copy(data=[[[40.0, 60.0], [30.0, 50.0]]])
    return MarketBaseline(supply=supply, spare=world.spare, feedstock=world.feedstock, price=world.price,
                          demand_basis=world.demand_basis, trade_basis=world.trade_basis,
                          production_year=world.production_year, regions=world.regions, region_of=world.region_of,
                          year=world.year)


def test_outside_producers_move_sales_to_restricted_buyers_by_hand():
    # P1 stops its 60 t to Y (D_Y = 110 t); X (D_X = 70 t) is open, P2 sells it 30 t. P2 moves T to Y until
    # X's price rise is (1 − φ) of Y's, φ = 0.1: T = 0.9 · 60 · 70 / (110 + 0.9 · 70) = 21.85 t ≤ 30 t.
    # Then x_Y − 1 = (60 − T) / (0.4 · 110) = 0.867 and x_X − 1 = T / (0.4 · 70) = 0.9 · 0.867 = 0.780.
    arrays = MarketArrays.from_baseline(open_world(), small_parameters())
    out = simulate(arrays, restriction(1.0), 1, 1, 12.0)
    moved = 0.9 * 60 * 70 / (110 + 0.9 * 70)
    assert out.redirected[0, 0, 0] == pytest.approx(moved)
    assert out.price_restricted[0, 0, 0] == pytest.approx(1 + (60 - moved) / 44)
    assert out.price_open[0, 0, 0] - 1 == pytest.approx(0.9 * (out.price_restricted[0, 0, 0] - 1))
    assert out.response[0, 0, 0] == pytest.approx(0.1 * ((60 - moved) / 44 * 110 + moved / 28 * 70))


@settings(max_examples=80, deadline=None)
@given(fraction=st.floats(0.01, 1), diversion=st.floats(0, 1), leakage=st.floats(0, 0.9), friction=st.floats(0, 1))
def test_no_supply_cut_while_restricted_prices_rise(fraction, diversion, leakage, friction):
    # producers outside a restriction sell where they are paid most: while restricted buyers pay more than before,
    # the supply response is never negative and the open price never above the restricted one
    parameters = small_parameters(diversion=diversion, leakage=leakage).assign(trade_friction=friction)
    for world in (small_world(), open_world()):
        out = simulate(MarketArrays.from_baseline(world, parameters), restriction(fraction), 1, 1, 12.0)
        if out.price_restricted[0, 0, 0] > 1:
            assert out.response[0, 0, 0] >= -1e-9
            assert out.price_open[0, 0, 0] <= out.price_restricted[0, 0, 0] + 1e-9


def test_small_world_leakage_reduces_the_loss():
    arrays = MarketArrays.from_baseline(small_world(spare=1e6), small_parameters())
    out = simulate(arrays, restriction(1.0, leakage=0.25), 1, 1, 12.0)
    assert out.lost[0, 0, 0] == pytest.approx(45.0)
    # uncapped: x − 1 = (45/110)/0.4, shortfall = 0.3·(x − 1)·110
    assert out.shortfall[0, 0, 0, 1] == pytest.approx(0.3 * 45 / 0.4)


@settings(max_examples=60, deadline=None)
@given(fractions=st.lists(st.floats(0, 1), min_size=2, max_size=8), diversion=st.floats(0, 1),
       leakage=st.floats(0, 1))
def test_small_world_invariants(fractions, diversion, leakage):
    fractions = sorted(fractions)
    n = len(fractions)
    arrays = MarketArrays.from_baseline(small_world(), small_parameters(diversion, leakage))
    events = restriction(0.0, leakage, n=n)
    events = EventTable(**{**events.__dict__, "fraction": np.array(fractions)})
    out = simulate(arrays, events, n, 2, 6.0)
    shortfall_y = out.shortfall[:, 0, :, 1].sum(axis=1)
    assert (shortfall_y >= -1e-9).all()
    assert (np.diff(shortfall_y) >= -1e-9).all()  # non-decreasing in the restricted fraction
    # mass balance per scenario and period: gap = response + Σ regions' (signed) shortfall − unsold
    np.testing.assert_allclose(out.gap, out.response + out.shortfall.sum(axis=3) - out.unsold, atol=1e-9)
    np.testing.assert_allclose(out.gap, out.lost - out.diverted, atol=1e-9)
    if fractions[0] == 0:
        assert shortfall_y[0] == pytest.approx(0.0)
        assert out.price_open[0, 0].tolist() == pytest.approx([1.0, 1.0])


# ------------------------------------------------------------------------------------------------ real data


@pytest.fixture(scope="module")
def context() -> ScenarioContext:
    return ScenarioContext.load()


def test_baseline_mass_balance(context):
    baseline = context.baseline
    production = baseline.production.sum("producer")
    np.testing.assert_allclose(baseline.demand.sum("region"), production, rtol=1e-9)
    assert (baseline.supply >= -1e-9).all()
    # the baseline year is the primary source's newest: 2025 (MCS 2026)
    assert baseline.year == 2025
    # gallium: 99 % Chinese (MCS 2026 2025: China 900 t, Russia 6 t, Japan 3 t); the US buys what the USGS
    # salient table says it consumed (19,000 kg)
    assert float(baseline.demand.sel(market="gallium.refining", region="USA")) == pytest.approx(19.0)
    share = baseline.production.sel(market="gallium.refining") / production.sel(market="gallium.refining")
    assert float(share.sel(producer="CHN")) == pytest.approx(900 / 909)


def test_calibration_follows_the_recorded_figures(context):
    table = context.calibration.set_index("event_id")
    facts = context.chain.parameter_facts.set_index("record_id")["value"]
    # China gallium licensing 2023: g = (1 − 1,530/5,611) · X/(X + 10 t), X = 12·5,611 kg; ΔP/P = 114 %
    exports = 12 * facts["DH030"] / 1000
    cut = (1 - facts["DH029"] / facts["DH030"]) * exports / (exports + 10.0)
    assert table.loc["CN-GA-GE-2023", "total_elasticity"] == pytest.approx(cut / 1.14)
    # DRC cobalt: g = DRC share of 2024 mine output, the last full year before the suspension (MCS 2026: 226 of
    # 302 kt — named producers sum above the rounded world total); ΔP/P = 16/10 − 1
    cobalt = context.chain.production.sel(source="usgs", material="cobalt", stage="mining", year=2024)
    drc_share = float(cobalt.sel(country="COD")) / max(float(context.chain.world_total.sel(
        source="usgs", material="cobalt", stage="mining", year=2024)), float(cobalt.sum()))
    assert table.loc["CD-CO-2025", "supply_cut"] == pytest.approx(drc_share)
    # ... but stocks outside the DRC of 8-10 months of world use (SK001) covered the 7 months to that price: the
    # event identifies no elasticity, and cobalt takes the median of the others
    assert np.isnan(table.loc["CD-CO-2025", "total_elasticity"]) and not table.loc["CD-CO-2025", "used"]
    assert "SK001" in table.loc["CD-CO-2025", "note"]
    # antimony: 97 % × 48 % / 228 %
    assert table.loc["CN-SB-2024", "total_elasticity"] == pytest.approx(0.97 * 0.48 / 2.28)
    defaults = context.parameters
    overall = context.calibration["total_elasticity"].median()
    assert -defaults.loc["copper.mining", "demand_elasticity"] + defaults.loc["copper.mining", "supply_elasticity"] \
        == pytest.approx(overall)


def test_gallium_ban_on_the_partnership(context):
    result = run_scenario(load_scenario("gallium_partnership_ban_12m"), context)
    regions = result.by_region.set_index("region")
    partners = ["USA", "EU27", "JPN", "CAN", "AUS", "GBR", "KOR"]
    # every partner's demand has a named basis: USGS for the USA, published facts for the EU27 and Japan, the
    # documented estimate (share of world output of the first-using industries) for the others — none pooled
    assert regions.loc["USA", "demand_basis"] == "USGS apparent consumption"
    assert regions.loc["JPN", "demand_basis"].startswith("published: PC001")
    assert regions.loc["EU27", "demand_basis"].startswith("published: PC002")
    assert regions.loc["KOR", "demand_basis"].startswith("estimate:")
    assert not any(regions.loc[partners, "demand_basis"].str.startswith("unknown"))
    assert not any("unknown" in w for w in result.warnings)
    # demand per year: 19 t (USA), 167 t (Japan 2021), 42.5 t (EU, mid 40-45)
    assert regions.loc["USA", "demand_t_per_year"] == pytest.approx(19.0)
    assert regions.loc["JPN", "demand_t_per_year"] == pytest.approx(167.0)
    # what China withholds: the partners' use × China's 99.0 % of output (2025) × (1 − 10 % leakage), 12 months
    yearly = regions.loc[partners, "demand_t_per_year"].sum()
    assert result.summary.loc[0, "lost_t"] == pytest.approx(yearly * 900 / 909 * 0.9)
    for partner in ("USA", "EU27", "JPN", "KOR"):
        assert regions.loc[partner, "targeted"]
        assert 0 < regions.loc[partner, "shortfall_t"] < regions.loc[partner, "demand_t"]
    peak = result.summary.loc[0, "peak_price_index_restricted"]
    assert 2.0 < peak < 4.0  # USGS OFR 2024-1057 models +150 % for a full Chinese ban (VR004)
    assert regions.loc["ROW", "shortfall_t"] == pytest.approx(0.0)
    sectors = result.by_sector[result.by_sector["region"] == "USA"]
    assert sectors["shortfall_t"].sum() == pytest.approx(regions.loc["USA", "shortfall_t"])


def test_responses_reduce_the_shortfall(context):
    plain = run_scenario(load_scenario("gallium_partnership_ban_12m"), context, sensitivity=False)
    helped = run_scenario(load_scenario("gallium_partnership_ban_with_response"), context, sensitivity=False)
    assert helped.summary.loc[0, "shortfall_t"] < plain.summary.loc[0, "shortfall_t"]
    assert helped.summary.loc[0, "peak_price_index_restricted"] < plain.summary.loc[0, "peak_price_index_restricted"]


def test_mine_outage_propagates_to_refining(context):
    scenario = parse_scenario({"name": "chile copper", "horizon_months": 6, "events": [
        {"type": "production_outage", "country": "CHL", "materials": ["copper"], "stage": "mining",
         "fraction": 0.5, "duration_months": 6}]})
    result = run_scenario(scenario, context, sensitivity=False)
    by_market = result.summary.set_index("market")
    assert by_market.loc["copper.mining", "shortfall_t"] > 0
    assert by_market.loc["copper.refining", "shortfall_t"] > 0
    assert by_market.loc["copper.refining", "lost_t"] == 0  # refining loses feed, not its own output directly


def test_no_event_effect_gives_baseline(context):
    scenario = parse_scenario({"name": "nothing", "events": [
        {"type": "export_restriction", "country": "CHN", "materials": ["gallium"], "fraction": 0,
         "duration_months": 12}]})
    result = run_scenario(scenario, context, sensitivity=False)
    assert result.by_region["shortfall_t"].abs().max() == pytest.approx(0.0)
    assert set(result.price_path["price_index_open"]) == {1.0}


@pytest.mark.parametrize("name", sorted(library()))
def test_shipped_scenarios_run(context, name):
    result = run_scenario(load_scenario(name), context, sensitivity=False)
    assert (result.by_region["shortfall_t"] >= 0).all()
    assert result.summary["lost_t"].sum() > 0


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("event", "message"), [
    ({"fraction": 1.5}, "events[0].fraction"),
    ({"duration_months": -3}, "events[0].duration_months"),
    ({"materials": []}, "events[0].materials"),
    ({"colour": "red"}, "events[0].colour"),
])
def test_schema_errors_name_the_field(event, message):
    base = {"type": "export_restriction", "country": "CHN", "materials": ["gallium"], "duration_months": 12}
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_scenario({"name": "x", "events": [{**base, **event}]})


@pytest.mark.parametrize(("event", "message"), [
    ({"materials": ["unobtainium"]}, "unknown material 'unobtainium'"),
    ({"country": "XXX"}, "unknown country 'XXX'"),
    ({"targets": ["DEU"]}, "part of region EU27"),
])
def test_unknown_names_are_reported_with_the_field(context, event, message):
    base = {"type": "export_restriction", "country": "CHN", "materials": ["gallium"], "duration_months": 12}
    scenario = parse_scenario({"name": "x", "events": [{**base, **event}]})
    with pytest.raises(ScenarioError, match=message):
        run_scenario(scenario, context, sensitivity=False)


def test_parameter_overrides_are_checked(context):
    with pytest.raises(ValueError, match="leakage"):
        params.apply_overrides(context.parameters, {"gallium": {"leakage": 2}})
    with pytest.raises(ValueError, match="unknown market"):
        params.apply_overrides(context.parameters, {"kryptonite": {"leakage": 0.1}})
    changed = params.apply_overrides(context.parameters, {"gallium": {"leakage": 0.3}})
    assert changed.loc["gallium.refining", "leakage"] == 0.3
    assert changed.loc["gallium.refining", "source_leakage"] == "user override"


def test_scenario_file_errors(tmp_path):
    broken = tmp_path / "s.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(broken)
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.yaml")
