"""Rare-earth element markets in the scenario model: who buys each separated oxide (trade by proxy, published
figures), mine events reaching the element content of the same output, magnets named by export controls, and the
library scenarios of China's 2025 controls element by element."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import minsec
from minsec.data import catalogue
from minsec.scenarios import chain as chain_links
from minsec.scenarios.baseline import REST_OF_WORLD, _element_flows, _published_demand
from minsec.scenarios.engine import EventTable
from minsec.scenarios.run import ScenarioContext, run_scenario
from minsec.scenarios.schema import Scenario, load_scenario


@pytest.fixture(scope="module")
def context() -> ScenarioContext:
    return ScenarioContext.from_chain(minsec.load())


# ------------------------------------------------------------------------------------- controls name magnets
def test_a_product_control_whose_scope_names_magnets_covers_them():
    """MOFCOM/GAC No. 18 of 2025 lists seven elements and "Tb-/Dy-containing NdFeB" and SmCo magnet materials
    (RM125, RM126); a technology control on magnet making (No. 62) restricts know-how, not magnets."""
    scope = "Metals, oxides … some items extend to SmCo and Tb-/Dy-containing NdFeB permanent magnet materials"
    named = catalogue.control_materials("Sm;Gd;Tb;Dy;Lu;Sc;Y", scope)
    assert named[:2] == ["rare_earths", "samarium"]
    assert {"ndfeb_magnets", "smco_magnets", "dysprosium", "terbium", "yttrium"} <= set(named)
    assert catalogue.control_materials("Ga;Ge", "gallium nitride, GaAs") == ["gallium", "germanium"]
    technology = catalogue.control_materials("REE (technology)", "magnet manufacturing technology for NdFeB")
    assert technology == ["rare_earths"]


def test_the_ensemble_prior_records_chinas_magnet_controls(context):
    from minsec.scenarios.ensemble import recorded_restrictions

    recorded = recorded_restrictions(context)
    magnets = recorded[recorded["material"].isin(["ndfeb_magnets", "smco_magnets"])]
    assert set(zip(magnets["country"], magnets["material"], magnets["record"], strict=True)) == {
        ("CHN", "ndfeb_magnets", "CN-2025-18"), ("CHN", "smco_magnets", "CN-2025-18")}


# ---------------------------------------------------------------------- element oxides: trade by proxy
def _flows(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"material": "rare_earths", "stage": "refining", "exporter": e, "importer": i,
                          "quantity": q} for e, i, q in rows])


def test_element_flows_by_hand():
    """Country A separates 900 t La and 100 t Gd, B 50 t Gd only: A's 200 t of rare-earth compound exports carry
    Gd at A's mix (10 % → 20 t), B's 30 t are all Gd; C re-exports 40 t but separates nothing (drops out)."""
    production = pd.DataFrame({"market": ["lanthanum.refining", "gadolinium.refining", "gadolinium.refining"],
                               "producer": ["AAA", "AAA", "BBB"], "production": [900.0, 100.0, 50.0]})
    flows = _flows([("AAA", "USA", 150.0), ("AAA", "JPN", 50.0), ("BBB", "USA", 30.0), ("CCC", "USA", 40.0)])
    gd, basis = _element_flows(flows, production, "gadolinium.refining")
    got = gd.set_index(["exporter", "importer"])["quantity"]
    assert got.to_dict() == pytest.approx({("AAA", "USA"): 15.0, ("AAA", "JPN"): 5.0, ("BBB", "USA"): 30.0})
    assert set(gd["material"]) == {"gadolinium"} and basis.startswith("proxy: rare_earths refining codes")
    la, _ = _element_flows(flows, production, "lanthanum.refining")
    assert la["quantity"].sum() == pytest.approx(0.9 * 200.0)
    assert _element_flows(flows, production, "gallium.refining")[0].empty   # no parent: no proxy


def test_a_published_figure_replaces_the_proxy_demand_and_the_rest_of_the_world_balances():
    """Producers P, Q (rows) × regions USA, EU27, ROW: the USA's proxy purchases 30 t (20 from P, 10 from Q) become
    the published 60 t with the same mix (40/20); ROW gives up 30 t in that mix; totals are unchanged."""
    supply = np.array([[20.0, 5.0, 75.0], [10.0, 5.0, 35.0]])
    basis = np.full(3, "trade", dtype=object)
    _published_demand(supply, {"USA": (60.0, "USGS apparent consumption")}, ("USA", "EU27", REST_OF_WORLD),
                      basis, "proxy: x")
    np.testing.assert_allclose(supply, [[40.0, 5.0, 55.0], [20.0, 5.0, 25.0]])
    assert list(basis) == ["USGS apparent consumption", "trade (proxy: x)", "remainder"]
    # more than the rest of the world holds: the region gets what there is, never a negative delivery
    supply = np.array([[20.0, 5.0, 5.0]])
    _published_demand(supply, {"USA": (100.0, "published")}, ("USA", "EU27", REST_OF_WORLD), basis, "proxy: x")
    np.testing.assert_allclose(supply, [[25.0, 5.0, 0.0]])


def test_every_partner_buys_separated_oxides_and_china_keeps_its_own_use(context):
    """Without trade codes of their own, oxides of La … Lu and Y are allocated by the rare-earth compound codes:
    China's own use stays in China (not in ROW, where a restriction would hit it), the partners buy the rest;
    demand adds up to world output.  US yttrium is USGS's estimated consumption (MCS 2026)."""
    baseline = context.baseline
    demand = baseline.demand.to_pandas()
    production = baseline.production.sum("producer").to_series()
    for element in ("lanthanum", "cerium", "samarium", "gadolinium", "europium", "lutetium", "yttrium"):
        market = f"{element}.refining"
        row = demand.loc[market]
        assert row.sum() == pytest.approx(production[market], rel=1e-9)
        assert row["CHN"] > 0.6 * row.sum()          # China separates ~90 % and uses most of it at home
        for partner in ("USA", "EU27", "JPN", "KOR"):
            assert row[partner] > 0, (market, partner)
            assert str(baseline.demand_basis.sel(market=market, region=partner).item()) != "unknown (pooled in ROW)"
    us_y = context.chain.salient("yttrium", "Consump_t")
    assert demand.loc["yttrium.refining", "USA"] == pytest.approx(float(us_y["value"].iloc[-1]))
    assert str(baseline.demand_basis.sel(market="yttrium.refining", region="USA").item()) == \
        "USGS apparent consumption"


def test_us_oxide_demand_is_close_to_usgs_apparent_consumption(context):
    """The US's separated oxides (every element, t REO) plus MP Materials' Nd/Pr feed come to within 25 % of
    USGS's apparent consumption of rare-earth compounds and metals (MCS 2026: 9,010 t REO in 2024), which the
    model does not use for them (it allocates by trade)."""
    demand = context.baseline.demand.to_pandas()["USA"]
    elements = [m for m in demand.index
                if catalogue.materials()["parent"].get(m.split(".")[0]) == "rare_earths"
                and m.endswith((".refining",))]
    us = demand[elements].sum() + demand[["neodymium.mining", "praseodymium.mining"]].sum()
    published = context.chain.salient("rare_earths", "Consump_Compounds-Metals_t")
    usgs_2024 = float(published.loc[published["year"] == 2024, "value"].iloc[-1])
    assert usgs_2024 == 9010
    assert us == pytest.approx(usgs_2024, rel=0.25)


# --------------------------------------------------------------------- mine events reach element content
def test_split_events_by_hand():
    """An outage of producer 1 on the REO market (0) is carried to the element markets 1 and 2 that producer 1
    produces (not to 3, which it does not), each with its own market's leakage; its export restriction to region 2
    only to market 2, the one part it ships there (it keeps market 1's output at home, region 0)."""
    events = EventTable(scenario=np.array([0, 4, 7]), market=np.array([0, 5, 0]), producer=np.array([1, 1, 1]),
                        restriction=np.array([False, True, True]), fraction=np.array([0.5, 1.0, 0.8]),
                        start=np.zeros(3), duration=np.array([6.0, 12.0, 3.0]),
                        targets=np.array([[True, True, True], [True, True, True], [False, False, True]]),
                        leakage=np.array([0.1, 0.2, 0.1]))
    supply = np.zeros((6, 2, 3))                 # market × producer × region
    supply[0] = [[10.0, 0, 0], [6.0, 0, 4.0]]
    supply[1, 1] = [4.0, 0, 0]                   # producer 1's part 1 stays in region 0
    supply[2, 1] = [0.0, 0, 1.0]                 # part 2 goes to region 2
    supply[3, 0] = [5.0, 0, 0]                   # part 3: producer 0 only
    supply[4:] = 1.0
    leakage = np.array([0.1, 0.3, 0.4, 0.5, 0.6, 0.7])
    out = chain_links.split_events(events, {0: np.array([1, 2, 3])}, supply, leakage)
    assert list(out.market) == [0, 5, 0, 1, 2, 2] and list(out.scenario) == [0, 4, 7, 0, 0, 7]
    np.testing.assert_allclose(out.fraction, [0.5, 1.0, 0.8, 0.5, 0.5, 0.8])
    np.testing.assert_allclose(out.leakage, [0.1, 0.2, 0.1, 0.3, 0.4, 0.4])


def test_split_markets_are_the_element_mining_markets(context):
    markets = context.baseline.markets
    splits = chain_links.split_markets(markets)
    assert list(splits) == [markets.index("rare_earths.mining")]
    parts = {markets[i] for i in splits[markets.index("rare_earths.mining")]}
    assert {"dysprosium.mining", "terbium.mining", "neodymium.mining", "yttrium.mining"} <= parts
    assert all(p.endswith(".mining") for p in parts)


def test_a_myanmar_mine_outage_runs_down_the_chain_to_magnets(context):
    """Myanmar's ion-adsorption clays lose 60 % of output for 6 months (the October 2024 Kachin seizure of the
    mining belt, DH059–DH060): the REO outage is an outage of the Dy and Tb in that ore, China (which separates
    it) runs short of Dy feed, separates and reduces less, and magnet makers lose output for want of Dy."""
    scenario = Scenario.model_validate({"name": "mmr", "horizon_months": 12, "events": [
        {"type": "production_outage", "country": "MMR", "materials": ["rare_earths"], "fraction": 0.6,
         "duration_months": 6}]})
    result = run_scenario(scenario, context, sensitivity=False)
    summary = result.summary.set_index("market")
    dy_mmr = float(context.baseline.supply.sel(market="dysprosium.mining", producer="MMR").sum())
    assert summary.loc["dysprosium.mining", "lost_t"] == pytest.approx(0.6 * dy_mmr * 0.5)   # 6 of 12 months
    for market in ("dysprosium.refining", "dysprosium.metal", "ndfeb_magnets.manufacturing"):
        assert summary.loc[market, "shortfall_t"] > 0, market
    by_region = result.by_region.set_index(["market", "region"])
    assert by_region.loc[("dysprosium.mining", "CHN"), "shortfall_t"] > 0
    assert summary.loc["dysprosium.mining", "peak_price_index_open"] > 1
    # naming the element too does not count the same mine twice
    twice = Scenario.model_validate({"name": "mmr2", "horizon_months": 12, "events": [
        {"type": "production_outage", "country": "MMR", "materials": ["rare_earths", "dysprosium"],
         "stage": "mining", "fraction": 0.6, "duration_months": 6}]})
    again = run_scenario(twice, context, sensitivity=False).summary.set_index("market")
    assert again.loc["dysprosium.mining", "lost_t"] == pytest.approx(summary.loc["dysprosium.mining", "lost_t"])


# ------------------------------------------------------------------------------------ library scenarios
def test_april_2025_licensing_is_seven_element_events_and_magnets(context):
    """China's April 2025 licensing as element events (Sm, Gd, Tb, Dy, Lu, Y oxides; Tb, Dy metal; magnets):
    every partner region is short of each oxide in proportion to what it buys from China, not pooled in ROW, and
    the restricted buyers' oxide prices rise by a factor in the range recorded in Europe (Dy ×2.3–4.0,
    DH053/DH054; Tb ×2.0–4.3, DH055/DH056)."""
    result = run_scenario(load_scenario("rare_earths_licensing_2025_04"), context, sensitivity=False)
    markets = set(result.summary["market"])
    assert {f"{e}.refining" for e in ("samarium", "gadolinium", "terbium", "dysprosium", "lutetium",
                                      "yttrium")} <= markets
    assert "rare_earths.mining" not in markets
    by_region = result.by_region.set_index(["market", "region"])
    for market in ("samarium.refining", "gadolinium.refining", "yttrium.refining", "lutetium.refining"):
        for region in ("USA", "EU27", "JPN"):
            row = by_region.loc[(market, region)]
            assert row["targeted"] and row["shortfall_t"] > 0, (market, region)
        assert by_region.loc[(market, "CHN"), "shortfall_t"] == 0
    for region in ("USA", "EU27"):
        assert by_region.loc[("ndfeb_magnets.manufacturing", region), "shortfall_t"] > 0
    peak = result.summary.set_index("market")["peak_price_index_restricted"]
    assert 2.3 <= peak["dysprosium.refining"] <= 4.0
    assert 2.0 <= peak["terbium.refining"] <= 4.3
    assert not any("pooled in ROW" in w and "refining" in w for w in result.warnings)


def test_october_2025_controls_add_five_elements_magnets_and_graphite(context):
    result = run_scenario(load_scenario("rare_earths_graphite_controls_2025_10"), context, sensitivity=False)
    markets = set(result.summary["market"])
    assert {f"{e}.refining" for e in ("holmium", "erbium", "thulium", "europium", "ytterbium")} <= markets
    assert {"ndfeb_magnets.manufacturing", "graphite.mining"} <= markets
    short = result.by_region.set_index(["market", "region"])["shortfall_t"]
    assert short[("europium.refining", "USA")] > 0 and short[("holmium.refining", "EU27")] > 0


# ----------------------------------------------------------------- stockpiles of oxides and magnets (Project Vault)
def test_each_party_stocks_for_the_stage_it_uses(context):
    """Japan's magnet makers buy Dy metal: a Dy stock (held as oxide) covers 1.1477 t Dy₂O₃ per t of metal short;
    the USA uses yttrium as separated oxide (1:1) and magnets as magnets."""
    from minsec.stockpile.inputs import stock_market, use_markets

    baseline = context.baseline
    assert stock_market(baseline.markets, "dysprosium") == "dysprosium.refining"
    assert stock_market(baseline.markets, "ndfeb_magnets") == "ndfeb_magnets.manufacturing"
    dy = use_markets(baseline, "dysprosium", ["JPN", "CHN"])
    assert dy["JPN"] == ("dysprosium.metal", pytest.approx(1.1477))
    assert use_markets(baseline, "yttrium", ["USA"])["USA"] == ("yttrium.refining", 1.0)
    assert use_markets(baseline, "ndfeb_magnets", ["EU27"])["EU27"] == ("ndfeb_magnets.manufacturing", 1.0)


def test_the_basket_is_stocked_as_its_elements_and_materials_can_be_chosen():
    from minsec.stockpile.inputs import StockpileInputError, ensemble_materials, expand_materials

    markets = ["rare_earths.mining", "dysprosium.mining", "dysprosium.refining", "gallium.refining",
               "ndfeb_magnets.manufacturing"]
    known = ensemble_materials(markets)
    assert known == ["dysprosium", "gallium", "ndfeb_magnets"]
    assert expand_materials("rare_earths,magnets", known) == ["dysprosium", "ndfeb_magnets"]
    assert expand_materials(["Gallium"], known) == ["gallium"]
    with pytest.raises(StockpileInputError, match="'unobtainium' is neither a material nor a family"):
        expand_materials("gallium,unobtainium", known)
    with pytest.raises(StockpileInputError, match="none of them has a shortfall sample"):
        expand_materials("cobalt", known)


def test_project_vault_buys_magnets_and_separated_oxides():
    """The Project Vault question for rare earths: US$12 bn for the USA, the EU27 and a joint pool, rare-earth
    oxides and magnets only.  The plan buys NdFeB magnets for both (their Dy and Tb come in magnets), separated
    oxides that they import (Ce, La, Gd, Y …), no REO basket; nothing above the market-absorption limit, the
    budget holds, and stock lowers the expected loss."""
    sc = minsec.load()
    result = sc.stockpile.optimize(12e9, ensemble=500, seed=3, holders="US,EU,joint", materials="rare_earths,magnets")
    plan = result.plan[result.plan["quantity_t"] > 1e-6]
    bought = set(zip(plan["material"], plan["holder"], strict=True))
    assert {("ndfeb_magnets", "USA"), ("ndfeb_magnets", "EU27")} <= bought
    oxides = {m for m, _ in bought if m != "ndfeb_magnets"}
    assert {"cerium", "gadolinium", "yttrium"} <= oxides and "rare_earths" not in oxides
    assert (plan["share_of_world_supply_pct"] <= 10.0 + 1e-6).all()
    assert result.summary["acquisition_usd"] <= 12e9
    assert result.summary["expected_annual_loss_usd"] < result.summary["expected_annual_loss_without_usd"]
    assert result.summary["materials"] == len(set(result.plan["material"]))
    assert any("thulium" in w for w in result.warnings)   # no bundled Tm price: left out, said so


# ------------------------------------------------------------------- CRMA benchmarks per element and magnets
def test_benchmarks_per_element_and_for_magnets_by_hand():
    """The EU27 uses 20 kt of NdFeB a year (RE021) and makes none in the baseline: its Dy consumption is the Dy in
    those magnets, 20,000 × 0.0090 t Dy metal per t × 1.1477 t Dy₂O₃ per t Dy = 206.6 t oxide; Nd 20,000 × 0.2312 ×
    1.1664 = 5,393 t.  No EU mine produces rare earths (a known zero: 0 % of the 10 % extraction benchmark); EU
    separation and magnet making are not recorded (unknown, flagged).  Magnets have no extraction benchmark."""
    sc = minsec.load()
    from minsec.investment import benchmarks

    eu = benchmarks.chain_consumption(sc, "EU27").set_index("material")
    assert eu.loc["dysprosium", "consumption_t"] == pytest.approx(20_000 * 0.0090 * 1.1477)
    assert eu.loc["neodymium", "consumption_t"] == pytest.approx(20_000 * 0.2312 * 1.1664)
    assert eu.loc["dysprosium", "current_extraction_t"] == 0
    assert np.isnan(eu.loc["dysprosium", "current_processing_t"])
    assert eu.loc["ndfeb_magnets", "consumption_t"] == 20_000
    assert eu.loc["ndfeb_magnets", "benchmark_stages"] == "processing;recycling"
    table = sc.invest.benchmarks(regions="EU27,USA")
    rows = table.set_index(["region", "material", "stage"])
    assert ("EU27", "ndfeb_magnets", "extraction") not in rows.index
    assert not rows.loc[("EU27", "dysprosium", "processing"), "current_known"]
    assert rows.loc[("EU27", "dysprosium", "extraction"), "current_known"]
    # the USA separates Nd (MP Materials, 952 t Nd₂O₃ of its 1,294 t NdPr oxide in 2024): a known share
    us = benchmarks.chain_consumption(sc, "USA").set_index("material")
    nd = rows.loc[("USA", "neodymium", "processing")]
    assert nd["share_now_pct"] == pytest.approx(100 * us.loc["neodymium", "current_processing_t"]
                                                / us.loc["neodymium", "consumption_t"])
    assert nd["current_known"] and np.isnan(us.loc["dysprosium", "current_extraction_t"])   # Mountain Pass Dy 'NA'
    # US magnet plants of the pipeline with a stated capacity (MP Independence 1,000 t/yr, USA Rare Earth
    # Stillwater 10,000 t/yr) count towards the processing benchmark of magnets; today's US magnet making is not
    # recorded, so the share is unknown and the pipeline's addition a lower bound
    magnets = rows.loc[("USA", "ndfeb_magnets", "processing")]
    assert magnets["share_added_pct"] == pytest.approx(100 * 11_000 / us.loc["ndfeb_magnets", "consumption_t"])
    assert np.isnan(magnets["share_end_pct"]) and not magnets["current_known"]


# ----------------------------------------------------------------- a single reference price for rare earths
def test_basket_reference_by_hand(tmp_path):
    """Two oxides: 3 t of Ce at US$1,000/t and 1 t of Nd at US$70,000/t make a basket worth
    (3·1,000 + 1·70,000) / 4 = US$18,250 per t REO; an element without a price keeps its weight in the table
    (a null price, not zero) and is left out of the average."""
    from minsec.data.errors import DataFormatError
    from minsec.markets.reference import ReferencePrice, basket, read_weights
    from minsec.markets.series import MarketInputError

    def ref(value):
        return ReferencePrice("x", "market-based (trailing mean)", value,
                              {"observations": 3, "first": "2023-07-01", "last": "2025-07-01", "source": "test"})

    weights = pd.Series({"cerium": 3.0, "neodymium": 1.0, "thulium": 0.04})
    table = basket("rare_earths", {"cerium": ref(1_000.0), "neodymium": ref(70_000.0)}, weights, "test")
    assert table["reference_usd_per_t"].iloc[0] == pytest.approx((3 * 1_000 + 70_000) / 4)
    thulium = table.set_index("material").loc["thulium"]
    assert np.isnan(thulium["reference_usd_per_t"]) and thulium["method"] == "no price"
    assert "thulium" in table["window"].iloc[0]
    with pytest.raises(MarketInputError, match="no element of the basket has a price"):
        basket("rare_earths", {}, weights, "test")
    path = tmp_path / "w.csv"
    path.write_text("material,weight\ncerium,3\nneodymium,-1\n")
    with pytest.raises(DataFormatError, match=r"row 3.*weight"):
        read_weights(path)


def test_single_reference_price_for_rare_earths(context):
    """`minsec markets reference-price --material rare_earths --method basket`: the partnership's mine basket
    (element content of partner mine output) at each oxide's 3-year market reference is a weighted mean of them,
    between the cheapest (La, Ce ~US$1/kg) and NdPr (~US$69/kg); the world's separated basket carries more of the
    expensive magnet and heavy elements; a CSV of weights works; the basket is rare earths only."""
    sc = context.chain
    supply = sc.markets.reference_price("rare_earths", "basket")
    head, parts = supply.iloc[0], supply.iloc[1:]
    priced = parts[parts["reference_usd_per_t"].notna()]
    expected = (priced["weight_t"] * priced["reference_usd_per_t"]).sum() / priced["weight_t"].sum()
    assert head["reference_usd_per_t"] == pytest.approx(expected)
    assert 1_000 < head["reference_usd_per_t"] < 69_000
    tonnes, _ = sc.markets.basket_weights("supply")
    table = sc.production_table
    mine = table[(table["source"] == "minsec") & (table["stage"] == "mining") & (table["year"] == 2025)
                 & table["country"].isin(sc.members("partnership")) & (table["material"] == "neodymium")]
    assert tonnes["neodymium"] == pytest.approx(mine["value"].sum())
    nd = priced.set_index("material").loc["neodymium"]
    assert nd["reference_usd_per_t"] == pytest.approx(sc.markets.reference_price("neodymium").iloc[0][
        "reference_usd_per_t"])
    world = sc.markets.reference_price("rare_earths", "basket", weights="world").iloc[0]
    assert world["reference_usd_per_t"] > head["reference_usd_per_t"]
    from minsec.errors import InputError
    with pytest.raises(InputError, match="rare-earth basket"):
        sc.markets.reference_price("gallium", "basket")
    with pytest.raises(InputError, match="supply, world or a CSV"):
        sc.markets.basket_weights("partners")


# ------------------------------------------------------------------------------------------ early warnings
def test_early_warnings_cover_elements_magnets_and_annual_prices():
    """On 2026-12-06: China's April 2025 licensing warns about each of its elements and the magnets it names;
    the annual USGS prices of 2025 flag the minor metals China's 2025 controls hit (Bi +270 %, Te +84 %, Ge +106 %,
    each more than 3 σ from the series' earlier annual moves), not the rare-earth oxides (Ce +41 % is 2.3 σ)."""
    import datetime as dt

    from minsec import signals

    warnings = signals.collect(minsec.load(), dt.date(2026, 12, 6))
    april = [w for w in warnings if w.kind == "export_control" and w.evidence["measure_id"] == "CN-2025-18"]
    assert {"dysprosium", "terbium", "yttrium", "ndfeb_magnets", "smco_magnets"} <= set(april[0].materials)
    annual = {w.materials[0]: w for w in warnings if w.kind == "price_spike" and "year" in w.evidence}
    assert set(annual) == {"bismuth", "tellurium", "germanium"}
    assert annual["bismuth"].evidence["z_score"] > 4 and annual["bismuth"].severity == "high"
    assert annual["germanium"].severity == "medium" and annual["germanium"].evidence["year"] == "2025"


def test_bad_materials_and_weights_are_named_before_any_work(monkeypatch):
    """An unknown --materials name is refused before the ensemble runs; --weights that is neither a basket
    nor an existing file says what it expects."""
    from minsec.errors import InputError
    from minsec.stockpile import inputs
    from minsec.stockpile.inputs import StockpileInputError

    sc = minsec.load()

    def never(*args, **kwargs):
        raise AssertionError("the ensemble ran before the materials were checked")

    monkeypatch.setattr(inputs, "sample_from_ensemble", never)
    with pytest.raises(StockpileInputError, match="'unobtainium' is neither a material nor a family"):
        sc.stockpile.prepare(1e9, ensemble=50, materials="rare_earths,unobtainium")
    with pytest.raises(InputError, match=r"--weights must be supply, world or a CSV file .*'partners'"):
        sc.markets.reference_price("rare_earths", "basket", weights="partners")
