"""Ensembles (reproducible, Dask = single process, summaries) and coordinated emergency allocation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from minsec.cli import app
from minsec.scenarios.allocation import JOINT, AllocationError, AllocationProblem, allocate, restraint_level
from minsec.scenarios.ensemble import EnsembleSpec, candidates, recorded_restrictions, run_ensemble
from minsec.scenarios.run import ScenarioContext


@pytest.fixture(scope="module")
def context() -> ScenarioContext:
    return ScenarioContext.load()


# ------------------------------------------------------------------------------------------------ ensembles


def test_candidates_use_governance_and_history(context):
    spec = EnsembleSpec()
    table = candidates(context, spec).table.set_index(["market", "producer"])
    recorded = recorded_restrictions(context)
    assert {("CHN", "gallium"), ("CHN", "antimony"), ("COD", "cobalt"), ("IDN", "nickel")} <= set(
        zip(recorded["country"], recorded["material"], strict=True))
    china_ga = table.loc[("gallium.refining", "CHN")]
    assert china_ga["recorded"]
    assert china_ga["p_restriction"] == pytest.approx(0.05 * china_ga["instability"] * 3)
    assert (table["share"] >= spec.min_share).all()
    assert ((table["p_restriction"] + table["p_outage"]) <= 1).all()


def test_the_prior_counts_every_recorded_export_control(context):
    """China's 2025 controls on tungsten, tellurium, bismuth, molybdenum and indium (MOFCOM/GAC No. 10 of 2025,
    record CN-2025-10) are in the export-control record only, not in the disruption history: the ensemble's
    recorded-restriction prior must see them (it did not while the scenario context loaded no export_controls)."""
    recorded = recorded_restrictions(context).set_index(["country", "material"])["record"]
    for material in ("tungsten", "tellurium", "bismuth", "molybdenum", "indium"):
        assert recorded.loc[("CHN", material)] == "CN-2025-10"
    measures = context.chain.export_controls
    in_force = measures[~measures["control_type"].str.contains("suspension")]
    from minsec.data.catalogue import control_materials

    listed = {(country, m) for country, elements in zip(in_force["imposing_country"], in_force["elements"], strict=True)
              for m in control_materials(elements)}
    assert listed <= set(recorded.index)                 # every recorded control, not only those in the history
    table = candidates(context, EnsembleSpec()).table.set_index(["market", "producer"])
    china_w = table.loc[("tungsten.mining", "CHN")]
    assert china_w["recorded"]
    assert china_w["p_restriction"] == pytest.approx(0.05 * china_w["instability"] * 3)


def test_ensemble_is_reproducible_and_dask_matches_single_process(context, tmp_path):
    spec = EnsembleSpec(n_scenarios=1_200, seed=7, chunk_size=400)
    local = run_ensemble(context, spec, tmp_path / "single.parquet", scheduler=None)
    again = run_ensemble(context, spec, tmp_path / "again.parquet", scheduler=None)
    dask = run_ensemble(context, spec, tmp_path / "dask.parquet", scheduler="local")
    threads = run_ensemble(context, spec, tmp_path / "threads.parquet", scheduler="threads")
    a = pd.read_parquet(tmp_path / "single.parquet")
    pd.testing.assert_frame_equal(a, pd.read_parquet(tmp_path / "again.parquet"))
    pd.testing.assert_frame_equal(a, pd.read_parquet(tmp_path / "dask.parquet"))
    pd.testing.assert_frame_equal(a, pd.read_parquet(tmp_path / "threads.parquet"))     # Dask in this process
    pd.testing.assert_frame_equal(local.summary["ranking"], dask.summary["ranking"])
    pd.testing.assert_frame_equal(local.summary["ranking"], threads.summary["ranking"])
    assert local.rows_written == again.rows_written == len(a) > 0
    other = run_ensemble(context, spec.model_copy(update={"seed": 8}), None, scheduler=None)
    assert other.rows_written != local.rows_written
    assert (a["shortfall_t"] > 0).all() and (a["shortfall_pct"] <= 100 + 1e-3).all()
    assert set(a.columns) >= {"scenario", "material", "importer", "shortfall_t", "peak_price_index"}
    assert a["scenario"].between(0, spec.n_scenarios - 1).all()


def test_ensemble_summaries_are_consistent(context):
    spec = EnsembleSpec(n_scenarios=2_000, seed=3, chunk_size=700)
    result = run_ensemble(context, spec, None, scheduler=None, keep_rows=True)
    table = result.summary["by_market_importer"]
    rows = result.summary["rows"]
    # expected shortfall = Σ rows / N (scenarios without a row had none)
    expected = rows.groupby(["material", "importer"], observed=True)["shortfall_t"].sum() / spec.n_scenarios
    mine = table.groupby(["material", "importer"])["expected_shortfall_t"].sum()
    common = expected.index.intersection(mine.index)
    np.testing.assert_allclose(mine.loc[common], expected.loc[common], rtol=1e-4)
    probabilities = table.filter(like="p_shortfall_gt")
    assert ((probabilities >= 0) & (probabilities <= 1)).all().all()
    # exceedance falls with the threshold; CVaR95 ≥ expected shortfall
    assert (probabilities.diff(axis=1).iloc[:, 1:] <= 1e-12).all().all()
    assert (table["cvar95_shortfall_pct"] >= table["expected_shortfall_pct"] - 1e-4).all()
    ranking = result.summary["ranking"]
    assert ranking["expected_loss_usd"].is_monotonic_decreasing
    # CVaR95 of each market × importer by brute force: the mean of the k = 100 largest shortfalls (%) over the
    # 2,000 scenarios, zeros for scenarios without a row — equal to the streamed, sparse top-k (chunks of 700)
    k = spec.tail_size
    brute = (rows.assign(market=rows["material"].astype(str) + "." + rows["stage"].astype(str))
             .groupby(["market", "importer"], observed=True)["shortfall_pct"]
             .apply(lambda v: np.sort(v.to_numpy(np.float64))[-k:].sum() / k))
    streamed = table.set_index(["market", "importer"])["cvar95_shortfall_pct"]
    np.testing.assert_allclose(streamed.loc[brute.index], brute, rtol=1e-5, atol=1e-6)
    assert (streamed.drop(brute.index) == 0).all()     # never short: a CVaR of zero


def test_sparse_tail_keeps_the_k_largest_per_cell_by_hand():
    """Cell 0 has 5 values, cell 2 has 2: with k = 3 the tail keeps 9, 7, 5 of cell 0 and both of cell 2; merged
    with another chunk's tail the k largest stay, and the sums of the k largest are 21 and 3 + 4 + 6 = 13."""
    from minsec.scenarios.tail import Tail

    tail = Tail.of(np.array([0, 2, 0, 0, 0, 2, 0, -1]), np.array([1, 3, 9, 5, 7, 4, 2, 99.0]), 3)
    assert tail.cells.tolist() == [0, 0, 0, 2, 2] and sorted(tail.values[:3].tolist()) == [5, 7, 9]
    other = Tail.of(np.array([2, 0]), np.array([6.0, 0.5]), 3)
    sums, counts = Tail.top_sums([tail, other], 3, 3)
    assert sums.tolist() == [21.0, 0.0, 13.0] and counts.tolist() == [3, 0, 3]
    merged = Tail.merge([tail, other], 3, 3)
    assert merged.cells.tolist() == [0, 0, 0, 2, 2, 2]
    assert sorted(merged.values[:3].tolist()) == [5, 7, 9] and sorted(merged.values[3:].tolist()) == [3, 4, 6]
    assert Tail.top_sums([merged], 3, 3)[0].tolist() == [21.0, 0.0, 13.0]


def test_partial_file_is_removed_on_failure(context, tmp_path, monkeypatch):
    from minsec.scenarios import ensemble

    def broken(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(ensemble, "run_chunk", broken)
    with pytest.raises(RuntimeError):
        run_ensemble(context, EnsembleSpec(n_scenarios=10, chunk_size=5), tmp_path / "out.parquet", scheduler=None)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ allocation


def two_partner_problem(stock_b: float, joint: float = 0.0, **options) -> AllocationProblem:
    coords = [pd.Index(["A", "B"], name="partner"), pd.Index(["x"], name="market")]
    holders = pd.Index(["A", "B", JOINT], name="holder")
    return AllocationProblem(
        demand=xr.DataArray([[100.0], [100.0]], coords=coords),
        supply=xr.DataArray([[50.0], [100.0]], coords=coords),
        stocks=xr.DataArray([[0.0], [stock_b], [joint]], coords=[holders, coords[1]]),
        release_limit=xr.DataArray(np.full((3, 1), np.nan), coords=[holders, coords[1]]), **options)


def test_allocation_shares_the_shortfall_equally_by_hand():
    # A has 50 of 100, B all 100; B holds 10 t. Group short 40 of 200 → 20 % each after sharing
    result = allocate(two_partner_problem(10.0, restraint=False))
    partners = result.partners.set_index("partner")
    assert partners["unmet_pct"].tolist() == pytest.approx([20.0, 20.0])
    assert partners["sharing_bound"].all()
    assert result.releases.set_index("holder").loc["B", "bound"] == "stock exhausted"
    assert result.group.loc[0, "sharing_level_pct"] == pytest.approx(20.0)
    # lower tiers carry the shortfall: defence (5 %) and critical (25 %) fully served
    assert partners["unmet_defence_t"].tolist() == pytest.approx([0.0, 0.0])


def test_allocation_with_enough_stock_closes_the_gap_and_respects_limits():
    problem = two_partner_problem(30.0, joint=20.0, restraint=False)
    problem.release_limit.values[1, 0] = 25.0
    result = allocate(problem)
    releases = result.releases.set_index("holder")
    assert releases.loc["B", "release_t"] == pytest.approx(25.0)
    assert releases.loc["B", "bound"] == "release-rate limit"
    assert result.partners["unmet_t"].sum() == pytest.approx(5.0)


def test_restraint_triggers_follow_the_iep():
    np.testing.assert_allclose(restraint_level(np.array([0.05, 0.07, 0.11, 0.12, 0.5])), [0, 0.07, 0.07, 0.1, 0.1])
    result = allocate(two_partner_problem(0.0))  # group shortfall 25 % → 10 % restraint
    assert result.group.loc[0, "restraint_pct"] == pytest.approx(10.0)
    assert result.partners["restraint_t"].tolist() == pytest.approx([10.0, 10.0])


@settings(max_examples=25, deadline=None)
@given(supply_a=st.floats(0, 100), supply_b=st.floats(0, 100), stock_a=st.floats(0, 80), stock_b=st.floats(0, 80),
       joint=st.floats(0, 80))
def test_allocations_never_exceed_stocks(supply_a, supply_b, stock_a, stock_b, joint):
    problem = two_partner_problem(stock_b, joint=joint)
    problem.supply.values[:] = [[supply_a], [supply_b]]
    problem.stocks.values[0, 0] = stock_a
    result = allocate(problem)
    releases = result.releases.set_index("holder")["release_t"] if len(result.releases) else pd.Series(dtype=float)
    for h, holder in enumerate(["A", "B", JOINT]):
        assert releases.get(holder, 0.0) <= problem.stocks.values[h, 0] + 1e-6
    unmet = result.partners["unmet_t"].to_numpy()
    assert (unmet >= -1e-7).all()
    # nothing is created: served ≤ supply + releases
    served = (result.partners["demand_t"] - result.partners["shortfall_after_t"]).sum()
    assert served <= supply_a + supply_b + releases.sum() + 1e-6


def test_allocation_rejects_bad_input():
    problem = two_partner_problem(10.0)
    problem.supply.values[0, 0] = 150.0
    with pytest.raises(AllocationError, match="more than its demand"):
        allocate(problem)


def test_allocation_for_all_partners_and_markets(context):
    from minsec.scenarios.allocation import problem_from_outcome
    from minsec.scenarios.run import run_scenario
    from minsec.scenarios.schema import load_scenario

    outcome = run_scenario(load_scenario("rare_earths_graphite_controls_2025_10"), context, sensitivity=False)
    partners = ["USA", "EU27", "JPN", "CAN", "AUS", "GBR", "KOR"]
    # the five heavy rare earths as separated oxides, magnets and graphite: every partner × every market
    markets = set(outcome.by_region["market"])
    assert {"europium.refining", "ndfeb_magnets.manufacturing", "graphite.mining"} <= markets
    stocks = pd.DataFrame([{"holder": "JPN", "market": "europium.refining", "tonnes": 15.0},
                           {"holder": JOINT, "market": "graphite.mining", "tonnes": 5000.0}])
    result = allocate(problem_from_outcome(outcome.by_region, partners, stocks))
    assert result.status == "ok"
    assert len(result.partners) == len(partners) * len(markets)
    assert result.releases["release_t"].sum() == pytest.approx(5015.0)


# ------------------------------------------------------------------------------------------------ CLI


runner = CliRunner()


def test_cli_scenario_list_and_run_json():
    listed = runner.invoke(app, ["scenario", "list", "-f", "json"])
    assert listed.exit_code == 0
    names = {row["name"] for row in json.loads(listed.stdout)}
    assert "gallium_partnership_ban_12m" in names
    ran = runner.invoke(app, ["scenario", "run", "gallium_partnership_ban_12m", "-f", "json", "--no-sensitivity"])
    assert ran.exit_code == 0, ran.output
    payload = json.loads(ran.stdout)
    assert payload["summary"][0]["market"] == "gallium.refining"


def test_cli_scenario_bad_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nevents:\n  - {type: export_restriction, country: CHN, materials: [gallium], "
                   "fraction: 2, duration_months: 12}\n")
    result = runner.invoke(app, ["scenario", "run", str(bad)])
    assert result.exit_code == 2
    assert "events[0].fraction" in result.output
    assert "Traceback" not in result.output


def test_cli_ensemble_writes_parquet(tmp_path):
    out = tmp_path / "ens.parquet"
    result = runner.invoke(app, ["scenario", "ensemble", "--n", "500", "--seed", "1", "--scheduler", "none",
                                 "--out", str(out), "-f", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["rows_written"] == len(pd.read_parquet(out))
    bad = runner.invoke(app, ["scenario", "ensemble", "--n", "0", "--scheduler", "none"])
    assert bad.exit_code == 2 and "n_scenarios" in bad.output
    assert runner.invoke(app, ["scenario", "ensemble", "--out", str(tmp_path / "x.csv")]).exit_code != 0


def test_cli_emergency_allocate():
    result = runner.invoke(app, ["emergency", "allocate", "gallium_partnership_ban_12m", "--stock-days", "USA=60",
                                 "--joint-days", "30", "-f", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "ok"
    usa = next(row for row in payload["partners"] if row["partner"] == "USA")
    assert usa["unmet_t"] < usa["shortfall_before_t"]
    bad = runner.invoke(app, ["emergency", "allocate", "gallium_partnership_ban_12m", "--stock-days", "XXX=5"])
    assert bad.exit_code == 2
