"""Market mechanisms: closed forms, Monte Carlo vs analytic, invariants, calibration, surveillance, CLI."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from minsec.cli import app
from minsec.data.errors import DataFormatError
from minsec.markets.mechanisms import (
    Offtake,
    PriceFloor,
    PriceGapSubsidy,
    Schedule,
    VariableTariff,
    analytic_pv,
    expected_put,
)
from minsec.markets.price_models import GBM, DumpingRegime, OUJump, fit_gbm, fit_ou
from minsec.markets.reference import cost_based, market_based, parse_periods
from minsec.markets.series import MarketInputError, PriceSeries, read_price_csv
from minsec.markets.surveillance import SurveillanceSettings, dumping_margin, surge_ratios, surveil, unit_values
from minsec.markets.valuation import Producer, value_mechanisms

runner = CliRunner()
ONE_YEAR = Schedule(1, 1.0, "annual")     # one settlement of 1 t at t = 1


# --------------------------------------------------------------------------------------------- closed forms
def test_floor_under_gbm_is_the_black_scholes_put():
    # Hull, Options, Futures and Other Derivatives: S = K = 100, r = 5 %, σ = 20 %, T = 1 → put 5.5735
    assert analytic_pv(PriceFloor(100.0), 100.0, 0.05, 0.2, 0.05, ONE_YEAR) == pytest.approx(5.5735, abs=1e-4)
    # the tariff collects the same put as revenue; the offtake is a forward: K·e^{−rT} − S₀ = 100·0.951229 − 100
    assert analytic_pv(VariableTariff(100.0), 100.0, 0.05, 0.2, 0.05, ONE_YEAR) == pytest.approx(-5.5735, abs=1e-4)
    assert analytic_pv(Offtake(100.0), 100.0, 0.05, 0.2, 0.05, ONE_YEAR) == pytest.approx(-4.8771, abs=1e-4)
    # call by parity: 10.4506 (Hull); a floor with full upside sharing above the same strike is put − call
    with_sharing = analytic_pv(PriceFloor(100.0, cap=100.0, upside_share=1.0), 100.0, 0.05, 0.2, 0.05, ONE_YEAR)
    assert with_sharing == pytest.approx(5.5735 - 10.4506, abs=1e-4)


def test_gap_subsidy_is_a_put_spread():
    spread = expected_put(np.array([100.0]), 100.0, 0.2, np.array([1.0])) - expected_put(
        np.array([100.0]), 80.0, 0.2, np.array([1.0]))
    value = analytic_pv(PriceGapSubsidy(100.0, max_per_t=20.0), 100.0, 0.0, 0.2, 0.0, ONE_YEAR)
    assert value == pytest.approx(float(spread[0]))
    assert 0 < value < analytic_pv(PriceFloor(100.0), 100.0, 0.0, 0.2, 0.0, ONE_YEAR)


@pytest.mark.parametrize("mechanism", [PriceFloor(110.0), PriceFloor(110.0, cap=140.0, upside_share=0.5),
                                       PriceGapSubsidy(110.0, 15.0), Offtake(105.0), VariableTariff(95.0)],
                         ids=lambda m: m.name)
@pytest.mark.parametrize("regime", [None, DumpingRegime(1.0, 2.0, 0.3)], ids=["normal", "dumping"])
def test_monte_carlo_agrees_with_the_closed_form(mechanism, regime):
    schedule = Schedule(3, 120.0, "monthly")
    result = value_mechanisms(GBM(0.02, 0.3), 100.0, schedule, [mechanism], rate=0.04, n_paths=40_000, seed=7,
                              regime=regime)[0]
    summary = result.summary()
    assert summary["analytic_pv_cost_usd"] is not None
    assert abs(summary["mc_minus_analytic_in_se"]) < 4
    # the check has power: the standard error is under 0.5 % of the notional (spot × 360 t)
    assert summary["std_error_usd"] < 0.005 * 100.0 * 360


def test_zero_volatility_gives_the_deterministic_payout():
    schedule = Schedule(2, 12.0, "monthly")
    result = value_mechanisms(GBM(0.05, 0.0), 100.0, schedule, [PriceFloor(110.0)], rate=0.03, n_paths=50)[0]
    t = schedule.times
    expected = float((np.maximum(110.0 - 100.0 * np.exp(0.05 * t), 0) * 1.0 * np.exp(-0.03 * t)).sum())
    assert result.pv == pytest.approx(np.full(50, expected))
    assert result.summary()["std_error_usd"] == pytest.approx(0.0, abs=1e-9)
    assert result.summary()["analytic_pv_cost_usd"] == pytest.approx(expected)


def test_floor_far_below_the_market_costs_nothing():
    result = value_mechanisms(GBM(0.0, 0.25), 1000.0, Schedule(5, 100.0), [PriceFloor(100.0)], n_paths=20_000)[0]
    summary = result.summary()
    assert summary["expected_pv_cost_usd"] < 1.0
    assert summary["prob_payout"] < 0.01


@settings(max_examples=10, deadline=None)
@given(floors=st.lists(st.floats(10, 300), min_size=2, max_size=5))
def test_cost_is_monotone_in_the_floor(floors):
    floors = sorted(floors)
    results = value_mechanisms(OUJump(1.5, 100.0, 0.4, 2.0, -0.1, 0.2), 100.0, Schedule(2, 10.0),
                               [PriceFloor(f) for f in floors], n_paths=2_000, seed=3)
    costs = [r.pv.mean() for r in results]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(costs))


@settings(max_examples=25, deadline=None)
@given(prices=st.lists(st.floats(0, 1e6), min_size=1, max_size=30), reference=st.floats(0, 1e6))
def test_tariff_is_never_negative_and_lands_at_or_above_both_prices(prices, reference):
    price = np.array(prices)
    tariff = VariableTariff(reference)
    duty = -tariff.flow(price)
    assert (duty >= 0).all()
    landed = price + tariff.producer_sign * tariff.flow(price)
    assert np.allclose(landed, np.maximum(price, reference))


def test_floor_makes_the_producer_bankable():
    # price 60, floor 100, 10 t/yr, unit cost 50, debt service 300/yr: without the floor the margin is ≤ 100/yr
    producer = Producer(unit_cost=50.0, debt_service=300.0)
    result = value_mechanisms(GBM(0.0, 0.05), 60.0, Schedule(3, 10.0, "quarterly"), [PriceFloor(100.0)],
                              n_paths=5_000, producer=producer)[0]
    summary = result.summary()
    assert summary["prob_debt_service_covered"] == 1.0
    assert summary["prob_debt_service_covered_without"] == 0.0
    assert summary["revenue_floor_usd_per_year"] == 1000.0
    assert summary["p5_min_annual_revenue_usd"] >= 1000.0 - 1e-9


def test_results_do_not_depend_on_the_number_of_threads():
    args = (GBM(0.0, 0.3), 100.0, Schedule(2, 12.0), [PriceFloor(100.0)])
    one = value_mechanisms(*args, n_paths=9_000, seed=5, workers=1, chunk_size=1_000)[0]
    two = value_mechanisms(*args, n_paths=9_000, seed=5, workers=2, chunk_size=1_000)[0]
    assert np.array_equal(one.pv, two.pv)


# ------------------------------------------------------------------------------------------------ calibration
def _series(prices: np.ndarray, step_days: int = 30) -> PriceSeries:
    dates = np.datetime64("2000-01-01") + np.arange(len(prices)) * np.timedelta64(step_days, "D")
    return PriceSeries(dates, prices, "synthetic", "synthetic")


def test_gbm_calibration_recovers_known_parameters():
    model = GBM(0.08, 0.3)
    dt = 30 / 365.25
    rng = np.random.default_rng(11)
    path = model.paths(100.0, dt, model.draws(rng, 1, 2_400, dt))[0]
    fit = fit_gbm(_series(np.r_[100.0, path]))
    assert fit.params["sigma"] == pytest.approx(0.3, abs=3 * fit.std_errors["sigma"])
    assert fit.params["mu"] == pytest.approx(0.08, abs=3 * fit.std_errors["mu"])


def test_ou_jump_calibration_recovers_mean_reversion_and_jumps():
    model = OUJump(kappa=2.0, long_run_price=50.0, sigma=0.25, jump_rate=3.0, jump_mean=-0.3, jump_sigma=0.1)
    dt = 30 / 365.25
    rng = np.random.default_rng(5)
    path = model.paths(50.0, dt, model.draws(rng, 1, 3_000, dt))[0]
    fit = fit_ou(_series(np.r_[50.0, path]))
    p, se = fit.params, fit.std_errors
    assert p["kappa"] == pytest.approx(2.0, abs=3 * se["kappa"])
    assert p["sigma"] == pytest.approx(0.25, abs=3 * se["sigma"])
    assert p["jump_rate"] == pytest.approx(3.0, abs=3 * se["jump_rate"])
    assert p["jump_mean"] == pytest.approx(-0.3, abs=3 * se["jump_mean"])
    # the jump model fits jumpy data better than a plain OU, by AIC
    assert fit.aic < fit_ou(_series(np.r_[50.0, path]), jumps=False).aic


def test_parameters_the_series_does_not_identify_are_flagged_and_never_used_silently():
    """Copper's monthly Pink Sheet since 1960 identifies a GBM drift and volatility, but not an OU-jump long-run
    price (272,022 ± 1,648,457 USD/t: the series has not reverted to any level); cobalt's eight annual USGS prices
    do not identify a drift (0.005 ± 0.16).  The drift falls back on no trend, said in the model choice; the
    long-run price is refused, naming the option that would supply it."""
    import minsec
    from minsec.errors import InputError

    markets = minsec.load().markets
    table = markets.calibrate(material="copper")
    rows = {(r.model, r.parameter): r for r in table.itertuples()}
    assert rows[("gbm", "mu")].identified and rows[("gbm", "sigma")].identified
    weak = rows[("ou-jump", "long_run_price")]
    assert not weak.identified and weak.std_error > weak.estimate
    with pytest.raises(InputError, match=r"long_run_price .* \(--long-run-price\).* not identified"):
        markets.floor(10_000, 100, 5, material="copper", model="ou-jump", paths=500)
    cobalt = markets.floor(60_000, 100, 5, material="cobalt", paths=2_000)
    assert cobalt.iloc[0]["param_mu"] == 0.0
    assert "mu 0.00471 ± 0.1646 is not identified by the series" in cobalt.iloc[0]["model_choice"]
    given = markets.floor(60_000, 100, 5, material="cobalt", drift=0.02, paths=2_000)
    assert given.iloc[0]["param_mu"] == 0.02 and "not identified" not in given.iloc[0]["model_choice"]


def test_short_series_say_how_many_points_are_needed():
    short = _series(np.array([10.0, 11.0, 12.0, 11.0, 13.0]), 365)
    with pytest.raises(MarketInputError, match=r"5 price.*ou-jump model; it needs at least 24"):
        fit_ou(short)
    with pytest.raises(MarketInputError, match="it needs at least 3"):
        fit_gbm(_series(np.array([10.0, 11.0])))


def test_bad_price_files_and_parameters_are_named(tmp_path):
    bad = tmp_path / "p.csv"
    bad.write_text("date,price\n2020-01,10\n2020-02,-3\n")
    with pytest.raises(DataFormatError, match=r"row 3, column 'price'.*not a positive number"):
        read_price_csv(bad)
    bad.write_text("date,price\n2020-01,10\nJanuary,11\n")
    with pytest.raises(DataFormatError, match=r"row 3, column 'date'"):
        read_price_csv(bad)
    with pytest.raises(MarketInputError, match="volatility must be ≥ 0"):
        GBM(0.0, -0.1)
    with pytest.raises(MarketInputError, match="volume must be a non-negative"):
        Schedule(5, -10.0)
    with pytest.raises(MarketInputError, match="floor must be a non-negative price"):
        PriceFloor(-1.0)
    with pytest.raises(MarketInputError, match="spot price must be a positive"):
        value_mechanisms(GBM(0.0, 0.2), -5.0, Schedule(1, 1.0), [PriceFloor(1.0)])


# -------------------------------------------------------------------------------------------- reference prices
def test_cost_based_reference_is_the_volume_weighted_percentile_plus_margin():
    curve = pd.DataFrame({"producer": ["A", "B", "C"], "capacity_t": [100.0, 300.0, 100.0],
                          "unit_cost_usd_per_t": [10.0, 20.0, 40.0]})
    # cumulative capacity shares 0.2, 0.8, 1.0
    assert cost_based("x", curve, 0.9, 0.1).usd_per_t == pytest.approx(44.0)
    assert cost_based("x", curve, 0.5, 0.1).usd_per_t == pytest.approx(22.0)
    assert cost_based("x", curve, 0.2, 0.0).inputs["marginal_producer"] == "A"


def test_market_reference_leaves_out_flagged_dumping():
    dates = np.array(["2023-01-01", "2023-07-01", "2024-01-01", "2024-07-01"], dtype="datetime64[D]")
    series = PriceSeries(dates, np.array([100.0, 40.0, 110.0, 120.0]), "hand", "hand")
    assert market_based("x", series, 2.0).usd_per_t == pytest.approx(92.5)
    flagged = market_based("x", series, 2.0, exclude=parse_periods("2023-06:2023-08"))
    assert flagged.usd_per_t == pytest.approx(110.0)
    assert flagged.inputs["excluded_as_distorted"] == 1
    # one year back from 1 Mar 2024: the July 2023 and January 2024 prices
    assert market_based("x", series, 1.0, as_of="2024-03-01").usd_per_t == pytest.approx(75.0)


# -------------------------------------------------------------------------------------------------- surveillance
HS = pd.DataFrame({"hs92": ["811220"], "material": ["chromium"], "stage": ["refining"]})


def trade_table() -> pd.DataFrame:
    # into EU27 (DEU, FRA) from CHN (outside, prices distorted), USA (partner), TUR (outside); benchmark sales
    # elsewhere by USA, ZAF and KAZ.  value_kusd × 1000 / t = unit value.
    rows = [(2021, "CHN", "DEU", 100.0, 20.0), (2022, "CHN", "DEU", 110.0, 22.0), (2023, "CHN", "DEU", 100.0, 20.0),
            (2024, "CHN", "DEU", 300.0, 60.0), (2024, "CHN", "FRA", 100.0, 20.0),     # 400 kUSD / 80 t = 5,000
            (2024, "USA", "DEU", 80.0, 10.0),                                          # 8,000 USD/t
            (2024, "TUR", "FRA", 39.2, 4.0),                                           # 9,800 USD/t, 4 % of volume
            (2024, "DEU", "FRA", 999.0, 1.0),                                          # intra-EU: not an import
            (2024, "USA", "JPN", 90.0, 10.0), (2024, "ZAF", "JPN", 70.0, 10.0), (2024, "KAZ", "KOR", 100.0, 5.0),
            (2024, "CHN", "JPN", 10.0, 100.0)]                                          # distorted: not a benchmark
    return pd.DataFrame(rows, columns=["year", "exporter", "importer", "value_kusd", "quantity_t"]).assign(
        hs92="811220")


def test_unit_values_and_dumping_margin_by_hand():
    trade = trade_table()
    uv = unit_values(trade[trade["year"] == 2024], ["exporter"]).set_index("exporter")["unit_value_usd_per_t"]
    assert uv["CHN"] == pytest.approx((300 + 100 + 10) * 1000 / 180)
    assert dumping_margin(8000.0, 5000.0) == pytest.approx(0.6)
    # surges need US$1 million of imports by default; the hand-made flows are smaller (CHN: 400,000)
    findings = surveil(trade, HS, "EU27", frozenset({"DEU", "FRA"}), frozenset({"USA", "DEU", "FRA", "JPN", "KOR"}),
                       2024, SurveillanceSettings(min_surge_value_usd=3e5))
    dumping = [f for f in findings if f.kind == "dumping"]
    assert [f.exporter for f in dumping] == ["CHN"]
    # normal value: undistorted flows ZAF→JPN 7,000 (10 t), USA→DEU 8,000 (10 t), USA→JPN 9,000 (10 t),
    # TUR→FRA 9,800 (4 t), KAZ→KOR 20,000 (5 t), DEU→FRA 999,000 (1 t): cumulative weight reaches half of the
    # 40 t at 8,000 → margin (8,000 − 5,000) / 5,000 = 0.6
    assert dumping[0].value == pytest.approx(0.6)
    assert {e["importer"] for e in dumping[0].evidence} == {"DEU", "FRA"}
    assert sum(e["quantity_t"] for e in dumping[0].evidence) == pytest.approx(80.0)
    # TUR's 4 t are 4 % of 94 t of imports: not negligible, but its price is above the normal value
    assert not any(f.exporter == "TUR" and f.kind == "dumping" for f in findings)
    # undercutting: CHN at 5,000 vs partner-origin supply into the EU (USA→DEU 8,000 and intra-EU DEU→FRA
    # 999,000/t over 11 t → 1,079,000 / 11 = 98,090.9): flagged with low confidence (different product mix)
    undercut = next(f for f in findings if f.kind == "undercutting" and f.exporter == "CHN")
    assert undercut.value == pytest.approx(1 - 5000 / (1_079_000 / 11))
    assert undercut.confidence == "low"
    # surge: CHN volumes 20, 22, 20 → log-linear trend at 2024 ≈ 20.7; 80 t is ≈ 3.9×
    surge = next(f for f in findings if f.kind == "surge" and f.exporter == "CHN")
    logs = np.log([20.0, 22.0, 20.0])
    assert surge.value == pytest.approx(80 / np.exp(logs.mean()), rel=1e-9)
    share = next(f for f in findings if f.kind == "outside_share")
    assert (share.exporter, share.value) == ("CHN", pytest.approx(80 / 94))


def test_a_dumping_finding_is_high_confidence_only_where_three_checks_agree():
    """Hand case: one product (content factor 1), CHN at 5,000 USD/t into the EU against undistorted sales at
    7,000-20,000, while it sells at 10,000 in Japan, and a reference price of 9,000: all three checks support and
    the finding is high.  A mixed code, or a reference below the export price, makes the same gap low."""
    trade = trade_table()
    trade.loc[(trade["exporter"] == "CHN") & (trade["importer"] == "JPN"), "value_kusd"] = 1000.0   # 10,000/t
    more = pd.DataFrame([(2024, "CAN", "KOR", 85.0, 10.0), (2024, "AUS", "KOR", 88.0, 10.0)],
                        columns=["year", "exporter", "importer", "value_kusd", "quantity_t"]).assign(hs92="811220")
    trade = pd.concat([trade, more], ignore_index=True)
    one_product = HS.assign(content_factor=1.0)
    args = (trade, one_product, "EU27", frozenset({"DEU", "FRA"}), frozenset({"USA", "DEU", "FRA", "JPN", "KOR"}),
            2024, SurveillanceSettings(min_surge_value_usd=3e5))

    def chn(references, hs=one_product):
        found = surveil(*args[:1], hs, *args[2:], references=references)
        return next(f for f in found if f.kind == "dumping" and f.exporter == "CHN")

    agreed = chn({"chromium": 9000.0})
    # normal value: the weighted median of 7,000 (10 t), 8,000, 8,500, 8,800, 9,000 (10 t each), 9,800 (4 t),
    # 20,000 (5 t), 999,000 (1 t) = 8,500 → margin 0.7
    assert agreed.value == pytest.approx(0.7)
    assert {k: c["verdict"] for k, c in agreed.checks.items()} == {
        "spread": "supports", "own_sales_elsewhere": "supports", "reference_price": "supports"}
    assert agreed.checks["own_sales_elsewhere"]["ratio_to_export_price"] == pytest.approx(2.0)
    assert agreed.confidence == "high" and "checks: spread supports" in agreed.summary
    assert agreed.record()["checks"]["reference_price"]["reference_usd_per_t"] == 9000.0
    assert chn({"chromium": 4000.0}).confidence == "low"            # the export price is above the reference
    mixed = chn({"chromium": 9000.0}, HS.assign(content_factor=np.nan))
    assert mixed.confidence == "low" and mixed.checks["spread"]["verdict"] == "contradicts"
    assert mixed.checks["reference_price"]["verdict"] == "unavailable"   # no reference for a mixed code
    without = chn(None)                      # no reference price: the two other checks suffice when they agree
    assert without.checks["reference_price"]["verdict"] == "unavailable" and without.confidence == "high"


def test_published_unit_value_gaps_from_product_mix_are_not_high_confidence_dumping():
    """The EU's imports in BACI's latest year: DRC cobalt (HS 810510 mixes intermediates and metal), Swiss
    platinum (refining and semi-manufactures at very different prices) and Icelandic aluminium (sold at the same
    price elsewhere) show unit-value gaps that are not dumping evidence: each is low confidence, with the check
    that says why."""
    import minsec

    findings = minsec.load().markets.surveillance(importer="EU27", kind="dumping")
    rows = {(r.hs92, r.exporter): r for r in findings.itertuples()}
    cobalt, platinum, aluminium = rows[("810510", "COD")], rows[("711011", "CHE")], rows[("760110", "ISL")]
    assert cobalt.confidence == "low" and "mixes products" in cobalt.checks["spread"]["why"]
    assert platinum.confidence == "low" and platinum.checks["spread"]["interquartile_ratio"] > 3
    assert aluminium.confidence == "low" and aluminium.checks["own_sales_elsewhere"]["verdict"] == "contradicts"
    assert all(r.confidence != "high" or list(r.checks.values()).count("contradicts") == 0
               for r in findings.itertuples())


def test_de_minimis_and_negligible_volume_thresholds():
    trade = trade_table()
    strict = SurveillanceSettings(de_minimis=0.9)      # 80 % margin is then below the threshold
    findings = surveil(trade, HS, "EU27", frozenset({"DEU", "FRA"}), frozenset({"USA", "DEU", "FRA"}), 2024, strict)
    assert not [f for f in findings if f.kind == "dumping"]
    with pytest.raises(MarketInputError, match="no trade data for 2030"):
        surveil(trade, HS, "EU27", frozenset({"DEU"}), frozenset({"USA"}), 2030)


def test_surge_ratios_find_known_break_points():
    flat_then_jump = [100, 100, 100, 100, 100, 250, 250]
    steady_growth = [100 * 1.1**k for k in range(7)]
    with_zero = [0, 50, 100, 60, 300, 100, 100]
    ratios = surge_ratios(np.array([flat_then_jump, steady_growth, with_zero], float), trend_years=3)
    assert np.isnan(ratios[:, :3]).all()
    assert ratios[0, 5] == pytest.approx(2.5)
    assert np.flatnonzero(ratios[0] >= 1.5).tolist() == [5]
    assert np.allclose(ratios[1, 3:], 1.0)                # growth on trend is no surge
    assert ratios[2, 3] == pytest.approx(60 / 50)         # zero in the window: trailing mean (0+50+100)/3
    assert ratios[2, 4] == pytest.approx(300 / np.exp(np.log([50, 100, 60]).mean()
                                                      + (np.log(60) - np.log(50)) / 2 * 2))


# ------------------------------------------------------------------------------------------------------- CLI
def test_cli_floor_reports_the_analytic_value_and_agrees_with_it():
    result = runner.invoke(app, ["markets", "floor", "--floor", "110000", "--volume", "1000", "--years", "5",
                                 "--spot", "90000", "--drift", "0.01", "--vol", "0.3", "--rate", "0.04",
                                 "--paths", "20000", "--seed", "1", "-f", "json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)[0]
    for key in ("expected_pv_cost_usd", "std_error_usd", "p95_pv_cost_usd", "prob_payout",
                "analytic_pv_cost_usd"):
        assert key in record
    assert abs(record["expected_pv_cost_usd"] - record["analytic_pv_cost_usd"]) < 4 * record["std_error_usd"]
    assert record["model"] == "gbm" and "calibrated_on" not in record      # parameters given: no calibration


def test_cli_mp_materials_example_and_calibration():
    result = runner.invoke(app, ["markets", "floor", "--example", "mp-materials", "--paths", "5000", "-f", "json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)[0]
    assert record["floor_usd_per_t"] == 110000 and record["years"] == 10 and record["volume_t_per_year"] == 1300
    assert "PR035" in record["spot_source"] and "σ =" in record["volatility_fit"]
    assert record["analytic_pv_cost_usd"] > 0
    calibrated = runner.invoke(app, ["markets", "calibrate", "--material", "copper", "--since", "2000", "-f", "json"])
    assert calibrated.exit_code == 0, calibrated.output
    rows = json.loads(calibrated.stdout)
    assert {r["model"] for r in rows} == {"gbm", "ou", "ou-jump"}
    assert all(r["points"] >= 300 for r in rows)


def test_cli_tariff_surveillance_and_errors():
    tariff = runner.invoke(app, ["markets", "tariff", "--reference", "9000", "--volume", "1000", "--years", "3",
                                 "--spot", "9000", "--drift", "0", "--vol", "0.2", "--paths", "5000", "-f", "json"])
    assert tariff.exit_code == 0, tariff.output
    record = json.loads(tariff.stdout)[0]
    assert record["expected_pv_revenue_usd"] > 0 and record["expected_landed_price_usd_per_t"] >= 9000
    found = runner.invoke(app, ["markets", "surveillance", "--importer", "EU27", "--year", "2023", "--kind",
                                "dumping", "-f", "json"])
    assert found.exit_code == 0, found.output
    findings = json.loads(found.stdout)
    assert findings and all(f["kind"] == "dumping" and f["value"] > 0.02 and f["evidence"] for f in findings)
    short = runner.invoke(app, ["markets", "calibrate", "--material", "gallium", "--model", "ou-jump"])
    assert short.exit_code == 2 and "needs at least 24" in short.output
    unknown = runner.invoke(app, ["markets", "floor", "--floor", "1", "--volume", "1", "--years", "1",
                                  "--material", "unobtainium"])
    assert unknown.exit_code == 2 and "no bundled price series for material 'unobtainium'" in unknown.output
    negative = runner.invoke(app, ["markets", "floor", "--floor", "100", "--volume", "-5", "--years", "2",
                                   "--spot", "90", "--drift", "0", "--vol", "0.2"])
    assert negative.exit_code == 2 and "--volume -5 is outside [0, 1e+09]" in negative.output
