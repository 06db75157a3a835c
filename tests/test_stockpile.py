"""Stockpile planning: newsvendor closed forms, fast path = LP, invariants, bad input, CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from minsec.cli import app
from minsec.stockpile.inputs import JOINT, ShortfallSample, StockpileInputError, sample_from_table
from minsec.stockpile.model import InfeasiblePlanError, StockpileLP, StockpileProblem, solve
from minsec.stockpile.plan import cooperation, evaluate, frontier, optimize

runner = CliRunner()


def one_material(budget: float = 1e9, loss: float = 4.0, **kw) -> StockpileProblem:
    """D = 0 (p 0.5), 10 t (p 0.3), 30 t (p 0.2); price 1 USD/t; one-year horizon, no holding cost."""
    table = pd.DataFrame({"scenario": ["a", "b", "c"], "material": "x", "shortfall_t": [0.0, 10.0, 30.0],
                          "probability": [0.5, 0.3, 0.2]})
    options = {"horizon_years": 1.0, "holding_cost_rate": 0.0, **kw}
    return StockpileProblem(sample_from_table(table), pd.Series({"x": 1.0}), pd.Series({"x": loss}), budget,
                            **options)


def objective(problem: StockpileProblem, method: str) -> float:
    return evaluate(problem, solve(problem, method)).summary["objective_usd"]


# --------------------------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize(("loss", "expected"), [(4.0, 10.0), (2.5, 10.0), (1.5, 0.0), (6.0, 30.0)])
@pytest.mark.parametrize("method", ["fast", "lp"])
def test_optimal_stock_is_the_newsvendor_quantile(loss, expected, method):
    # smallest x with P(D > x) ≤ c / L: P(D>0)=0.5, P(D>10)=0.2, P(D>30)=0
    solution = solve(one_material(loss=loss), method)
    assert solution.buy[0, 0] == pytest.approx(expected, abs=1e-6)
    assert solution.budget_multiplier == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("method", ["fast", "lp"])
def test_binding_budget_and_its_multiplier(method):
    # budget 5 t: marginal value L·P(D>5) − c = 4·0.5 − 1 = 1 per dollar
    plan = evaluate(one_material(budget=5.0), solve(one_material(budget=5.0), method))
    assert plan.solution.buy[0, 0] == pytest.approx(5.0)
    assert plan.summary["budget_multiplier"] == pytest.approx(1.0, rel=1e-6)
    # expected loss: 4 · (0.3·5 + 0.2·25) = 26; objective = 26 + 5
    assert plan.summary["expected_annual_loss_usd"] == pytest.approx(26.0)
    assert plan.summary["objective_usd"] == pytest.approx(31.0)
    assert plan.summary["expected_annual_loss_without_usd"] == pytest.approx(4 * (3 + 6))


def test_horizon_and_holding_cost_move_the_fractile():
    # threshold (1 + Y·ρ)·c / (Y·L) = (1 + 10·0.05) / (10·0.2) = 0.75 → x = 0; with ρ = 0: 0.5 → x = 0 (P(D>0)
    # = 0.5 ≤ 0.5); L = 0.3: 1/3 → x = 10
    assert solve(one_material(loss=0.2, horizon_years=10, holding_cost_rate=0.05)).buy[0, 0] == 0
    assert solve(one_material(loss=0.3, horizon_years=10)).buy[0, 0] == pytest.approx(10.0)


def test_market_absorption_and_minimum_holdings():
    capped = one_material(world_supply=pd.Series({"x": 40.0}), max_market_share=0.1)
    assert solve(capped).buy[0, 0] == pytest.approx(4.0)
    with pytest.raises(InfeasiblePlanError, match="exceeds its storage limit or the market-absorption"):
        one_material(world_supply=pd.Series({"x": 40.0}), max_market_share=0.1,
                     minimum=pd.DataFrame({JOINT: [5.0]}, index=["x"]))
    with pytest.raises(InfeasiblePlanError, match="minimum holdings cost 20 USD, more than the budget 10 USD"):
        one_material(budget=10.0, minimum=pd.DataFrame({JOINT: [20.0]}, index=["x"]))


# ------------------------------------------------------------------------------------- fast path versus LP
def random_sample(seed: int, n_scenarios: int, n_materials: int, parties: tuple[str, ...], p_short: float
                  ) -> ShortfallSample:
    rng = np.random.default_rng(seed)
    hit = rng.random((n_scenarios, n_materials, len(parties))) < p_short
    s, m, p = np.nonzero(hit)
    weights = rng.random(n_scenarios) + 0.1
    return ShortfallSample(np.arange(n_scenarios), weights / weights.sum(),
                           tuple(f"m{i}" for i in range(n_materials)), parties, s, m, p,
                           np.round(rng.lognormal(2.0, 1.0, len(s)), 3))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), budget=st.floats(0, 2_000), holders=st.sampled_from(["national", "joint"]))
def test_fast_path_equals_the_lp(seed, budget, holders):
    sample = random_sample(seed, 40, 4, ("USA", "EU27"), 0.3)
    price = pd.Series({f"m{i}": 1.0 + i for i in range(4)})
    problem = StockpileProblem(sample, price, price * 4.31, budget,
                               holders=("USA", "EU27") if holders == "national" else (JOINT,))
    fast, lp = objective(problem, "fast"), objective(problem, "lp")
    assert fast == pytest.approx(lp, rel=1e-6)
    assert solve(problem, "fast").budget_multiplier == pytest.approx(solve(problem, "lp").budget_multiplier,
                                                                     rel=1e-5, abs=1e-7)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), budgets=st.lists(st.floats(0, 3_000), min_size=2, max_size=5))
def test_more_budget_never_increases_expected_loss(seed, budgets):
    sample = random_sample(seed, 60, 3, ("USA",), 0.4)
    price = pd.Series({"m0": 1.0, "m1": 5.0, "m2": 20.0})
    problem = StockpileProblem(sample, price, price * 10, 0.0, holders=("USA",))
    table = frontier(problem, budgets)
    assert np.all(np.diff(table["expected_annual_loss_usd"]) <= 1e-9 * table["expected_annual_loss_usd"].max())
    for budget in budgets:
        solution = solve(replace(problem, budget=budget))
        assert (solution.buy >= -1e-12).all()
        assert (solution.buy.sum(axis=1) * price.to_numpy()).sum() <= budget * (1 + 1e-9) + 1e-9


def test_lp_is_rebuilt_never_for_new_budgets():
    sample = random_sample(3, 50, 4, ("USA", "EU27"), 0.3)
    price = pd.Series({f"m{i}": 1.0 + i for i in range(4)})
    problem = StockpileProblem(sample, price, price * 4.31, 10.0, holders=("USA", "EU27", JOINT))
    lp = StockpileLP.build(problem)
    first = lp.solve()
    resolved = lp.solve(80.0)
    fresh = StockpileLP.build(replace(problem, budget=80.0)).solve()
    assert resolved.unmet_by_scenario_loss.sum() == pytest.approx(fresh.unmet_by_scenario_loss.sum(), rel=1e-7)
    assert first.unmet_by_scenario_loss.sum() > resolved.unmet_by_scenario_loss.sum()
    # stock is never released beyond what is short, nor beyond what is held
    releases = resolved.served
    held = pd.Series(resolved.buy.sum(axis=1), index=problem.materials)
    per_scenario = releases.groupby(["scenario", "material"])["release_t"].sum()
    assert (per_scenario.to_numpy() <= held.reindex(per_scenario.index.get_level_values(1)).to_numpy() + 1e-6).all()


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), budget=st.floats(1, 200), sharing=st.sampled_from(["need", "pro_rata"]))
def test_national_and_pooled_stock_second_stage_is_exact(seed, budget, sharing):
    # Given the plan, the best second stage has a closed form per (scenario, material): each party first uses
    # its national stock x_p; the residual r_p = (D_p − x_p)⁺ is met by the pool J — by need: total unmet
    # (Σ r_p − J)⁺ (one loss per tonne per material, so any split is optimal); pro rata: Σ (r_p − s_p·J)⁺.
    sample = random_sample(seed, 60, 3, ("USA", "EU27"), 0.45)
    price = pd.Series({"m0": 1.0, "m1": 3.0, "m2": 9.0})
    problem = StockpileProblem(sample, price, price * 6, budget, holders=("USA", "EU27", JOINT), sharing=sharing,
                               joint_shares={"USA": 0.6, "EU27": 0.4})
    solution = solve(problem, "lp")
    shortfall = sample.dense()
    national, pool = solution.buy[:, :2], solution.buy[:, 2]
    residual = np.clip(shortfall - national[None, :, :], 0.0, None)
    if sharing == "need":
        unmet = np.clip(residual.sum(axis=2) - pool[None, :], 0.0, None)
    else:
        unmet = np.clip(residual - np.array([0.6, 0.4])[None, None, :] * pool[None, :, None], 0.0, None).sum(axis=2)
    loss = (unmet * (price * 6).to_numpy()[None, :]).sum(axis=1)
    assert solution.unmet_by_scenario_loss == pytest.approx(loss, rel=1e-6, abs=1e-6)
    # the release policy never draws more than a holder holds, nor more than a party is short
    releases = solution.served.merge(pd.DataFrame({"scenario": sample.scenarios}), on="scenario")
    held = pd.DataFrame(solution.buy, index=problem.materials, columns=problem.holders)
    drawn = releases.groupby(["scenario", "material", "holder"])["release_t"].sum().reset_index()
    assert (drawn["release_t"].to_numpy() <= held.stack().reindex(
        pd.MultiIndex.from_frame(drawn[["material", "holder"]])).to_numpy() + 1e-6).all()
    per_party = releases.groupby(["scenario", "material", "party"])["release_t"].sum()
    index = per_party.index
    short = shortfall[index.get_level_values(0).to_numpy(), [problem.materials.index(m) for m in
                                                              index.get_level_values(1)],
                      [sample.parties.index(p) for p in index.get_level_values(2)]]
    assert (per_party.to_numpy() <= short + 1e-6).all()


def test_pooling_is_worth_at_least_separate_stockpiles():
    sample = random_sample(5, 80, 3, ("USA", "EU27"), 0.25)
    price = pd.Series({"m0": 1.0, "m1": 2.0, "m2": 4.0})
    problem = StockpileProblem(sample, price, price * 8, 30.0, holders=(JOINT,))
    table = cooperation(problem, {"USA": 0.5, "EU27": 0.5}).set_index("arrangement")
    assert table.loc["joint pool", "expected_annual_loss_usd"] <= \
        table.loc["separate national stockpiles", "expected_annual_loss_usd"] + 1e-9
    assert table.loc["joint pool", "value_of_cooperation_usd_per_year"] >= -1e-9


def test_cvar_term_uses_the_lp_and_protects_the_tail():
    sample = random_sample(7, 100, 3, ("USA",), 0.2)
    price = pd.Series({"m0": 1.0, "m1": 2.0, "m2": 4.0})
    base = StockpileProblem(sample, price, price * 3, 20.0, holders=("USA",))
    tail = replace(base, cvar_alpha=0.9)
    assert not tail.fast_path()[0]
    plan = optimize(tail)
    assert plan.summary["method"].startswith("LP")
    cvar = plan.summary["cvar_annual_loss_usd"]
    assert cvar >= plan.summary["expected_annual_loss_usd"]
    neutral = evaluate(base, solve(base))

    def cvar_of(losses: np.ndarray, alpha: float = 0.9) -> float:
        # Rockafellar–Uryasev: min over η of η + E[(loss − η)⁺]/(1 − α); the minimum is at a loss value
        p = sample.probability
        return min(eta + (p * np.maximum(losses - eta, 0)).sum() / (1 - alpha) for eta in losses)

    assert cvar == pytest.approx(cvar_of(plan.solution.unmet_by_scenario_loss), rel=1e-6)
    # minimising with the tail term never leaves a worse tail than the risk-neutral plan
    assert cvar <= cvar_of(neutral.solution.unmet_by_scenario_loss) + 1e-6


# ---------------------------------------------------------------------------------------------- bad input
def test_probabilities_must_sum_to_one():
    table = pd.DataFrame({"scenario": ["a", "b"], "material": "x", "shortfall_t": [1.0, 2.0],
                          "probability": [0.5, 0.47]})
    with pytest.raises(StockpileInputError, match=r"sum to 0.97, not 1 \(short by 0.03\)"):
        sample_from_table(table)


def test_bad_rows_and_prices_are_named():
    table = pd.DataFrame({"scenario": ["a", "b"], "material": "x", "shortfall_t": [1.0, -2.0],
                          "probability": [0.5, 0.5]})
    with pytest.raises(StockpileInputError, match=r"row 3, column 'shortfall_t'"):
        sample_from_table(table)
    with pytest.raises(StockpileInputError, match="budget must be a non-negative number"):
        one_material(budget=-1.0)
    sample = one_material().sample
    with pytest.raises(StockpileInputError, match=r"no price \(USD/t\) for \['x'\]"):
        StockpileProblem(sample, pd.Series(dtype=float), pd.Series({"x": 1.0}), 10.0)
    with pytest.raises(StockpileInputError, match="negative price"):
        StockpileProblem(sample, pd.Series({"x": -1.0}), pd.Series({"x": 1.0}), 10.0)


# ---------------------------------------------------------------------------------------------------- CLI
def test_cli_optimize_on_a_user_table(tmp_path):
    scenarios = tmp_path / "shortfalls.csv"
    pd.DataFrame({"scenario": ["a", "b", "c", "a", "b"], "material": ["x", "x", "x", "unobtainium", "unobtainium"],
                  "holder": ["US", "US", "EU", "EU", "US"], "shortfall_t": [0.0, 10.0, 30.0, 4.0, 2.0],
                  "probability": [0.5, 0.3, 0.2, 0.5, 0.3]}).to_csv(scenarios, index=False)
    prices = tmp_path / "prices.csv"
    pd.DataFrame({"material": ["x", "unobtainium"], "price_usd_per_t": [1.0, 3.0]}).to_csv(prices, index=False)
    losses = tmp_path / "loss.csv"
    pd.DataFrame({"material": ["x", "unobtainium"], "loss_usd_per_t": [4.0, 30.0]}).to_csv(losses, index=False)
    args = ["stockpile", "optimize", "--scenarios", str(scenarios), "--budget", "1000", "--prices", str(prices),
            "--loss-per-tonne", str(losses), "--holders", "US,EU", "--holding-cost-rate", "0",
            "--max-market-share", "1", "--horizon-years", "1"]
    result = runner.invoke(app, [*args, "-f", "csv"])
    assert result.exit_code == 0, result.output
    from io import StringIO

    table = pd.read_csv(StringIO(result.stdout))
    assert {"material", "holder", "quantity_t", "cost_usd", "days_of_cover", "expected_unmet_t", "objective_usd",
            "budget_multiplier"} <= set(table.columns)
    x_us = table[(table["material"] == "x") & (table["holder"] == "USA")].iloc[0]
    assert x_us["quantity_t"] == pytest.approx(10.0)   # US: D = 0 / 10 / 0 with p .5/.3/.2; 4·0.3 > 1 → 10 t
    payload = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert payload["summary"]["method"].startswith("newsvendor")
    assert payload["budget_multiplier"] == 0.0


def test_cli_errors_are_clear(tmp_path):
    scenarios = tmp_path / "bad.csv"
    pd.DataFrame({"scenario": ["a", "b"], "material": "gallium", "shortfall_t": [1.0, 2.0],
                  "probability": [0.6, 0.6]}).to_csv(scenarios, index=False)
    result = runner.invoke(app, ["stockpile", "optimize", "--scenarios", str(scenarios), "--budget", "1e6"])
    assert result.exit_code == 2
    assert "sum to 1.2, not 1 (over by 0.2)" in result.output
    result = runner.invoke(app, ["stockpile", "optimize", "--budget", "-5", "--ensemble", "50"])
    assert result.exit_code == 2 and "budget -5 USD is outside [0, 1e+13]" in result.output


def test_cli_ensemble_plan_and_frontier(tmp_path):
    result = runner.invoke(app, ["stockpile", "optimize", "--budget", "1e9", "--ensemble", "300", "--seed", "2",
                                 "--holders", "joint", "--split", "US=0.5,EU=0.5", "-f", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["summary"]["acquisition_usd"] <= 1e9 * (1 + 1e-9)
    assert payload["summary"]["scenario_source"] == "minsec ensemble (n=300, seed=2)"
    references = {r["record_id"]: r for r in payload["reference_points"]}
    assert references["ST036"]["reference_value"] == 12.0 and references["ST036"]["unit"] == "billion USD"
    assert references["ST001"]["reference_value"] == 60.0
    arrangements = {r["arrangement"] for r in payload["cooperation"]}
    assert arrangements == {"separate national stockpiles", "joint pool"}
    plot = tmp_path / "frontier.html"
    result = runner.invoke(app, ["stockpile", "frontier", "--budgets", "0,1e8,1e9", "--ensemble", "300",
                                 "--plot", str(plot), "-f", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["budget_usd"] for r in rows] == [0.0, 1e8, 1e9]
    assert rows[0]["expected_annual_loss_usd"] >= rows[-1]["expected_annual_loss_usd"]
    assert plot.stat().st_size > 1_000_000 and "cdn.plot.ly" not in plot.read_text()[:5000]
