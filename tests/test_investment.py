"""Joint investment selection: the pipeline (conversions, gaps, fills), benchmarks by hand, and MILP cases whose
best portfolio is known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from minsec.cli import app
from minsec.data import catalogue
from minsec.investment import benchmarks
from minsec.investment.pipeline import PipelineError, apply_fill, bundled_pipeline_path, load_projects
from minsec.investment.portfolio import needs_from_gaps, needs_from_shortfall, optimize, secured_curve

ROOT = Path(__file__).resolve().parents[1]
EU = catalogue.load_groups().members("EU27")


def projects(**columns) -> pd.DataFrame:
    base = {"project_id": ["a", "b", "c", "d"], "name": list("ABCD"), "material": ["lithium"] * 4,
            "country": ["FIN", "DEU", "FRA", "USA"], "stages": ["extraction"] * 4,
            "capacity_t_per_yr": [60.0, 50.0, 40.0, 100.0], "capex_usd": [30.0, 20.0, 20.0, 10.0],
            "expected_start_year": [2027.0] * 4, "ramp_up_years": [1.0] * 4, "evaluable": [True] * 4}
    return pd.DataFrame(base | columns)


def gap_needs(gap_t=90.0, stage="extraction", material="lithium"):
    gaps = pd.DataFrame({"region": ["EU27"], "material": [material], "stage": [stage], "gap_t": [gap_t]})
    return needs_from_gaps(gaps, {"EU27": EU})


def test_known_best_portfolio_within_budget_and_split():
    # budget 40: a alone closes 60/90 of the gap (0.67 point); b + c close 90/90 (1 point) for 40; d is in the US
    result = optimize(projects(), gap_needs(), 40.0, {"US": 0.25, "EU": 0.75}, funding="pooled")
    assert sorted(result.chosen["project_id"]) == ["b", "c"] and result.objective == pytest.approx(1.0)
    funded = result.chosen[["funding_US_usd", "funding_EU_usd"]].sum()
    assert funded["funding_US_usd"] <= 10 + 1e-6 and funded["funding_EU_usd"] <= 30 + 1e-6
    assert (result.chosen[["funding_US_usd", "funding_EU_usd"]].sum(axis=1) == result.chosen["capex_usd"]).all()
    assert result.chosen["cost_per_t_per_yr_usd"].tolist() == pytest.approx([20 / 50, 20 / 40])
    # 30 buys only a (0.667) or b/c (0.556): a; the next 10 dollars buy nothing better than a alone…
    small = optimize(projects(), gap_needs(), 30.0)
    assert small.chosen["project_id"].tolist() == ["a"] and small.objective == pytest.approx(60 / 90)
    assert small.marginal["objective_gain"] == pytest.approx(1 - 60 / 90)      # … until 40 buys b + c
    with pytest.raises(ValueError, match="sum to 1"):
        optimize(projects(), gap_needs(), 40.0, {"US": 0.5, "EU": 0.6}, funding="pooled")


def test_equally_good_portfolios_spend_least_and_late_projects_miss_2030():
    # the gap (90 t) is closed by a + b (50) or by b + c (40): the cheaper one, whatever the budget
    assert sorted(optimize(projects(), gap_needs(), 100.0).chosen["project_id"]) == ["b", "c"]
    shortfall = pd.DataFrame({"material": ["lithium"], "expected_shortfall_t": [80.0], "loss_usd_per_t": [1e4]})
    needs = needs_from_shortfall(shortfall, catalogue.load_groups().members("partnership"))
    assert optimize(projects(), needs, 40.0).chosen["project_id"].tolist() == ["d"]
    # counted in 2030: b starting in 2032 adds nothing then, c ramping over 4 years from 2029 half of its 40 t
    late = projects(expected_start_year=[2027.0, 2032.0, 2029.0, 2027.0], ramp_up_years=[1.0, 1.0, 4.0, 1.0])
    gaps = pd.DataFrame({"region": ["EU27"], "material": ["lithium"], "stage": ["extraction"], "gap_t": [90.0]})
    result = optimize(late, needs_from_gaps(gaps, {"EU27": EU}, 2030), 50.0)
    assert sorted(result.chosen["project_id"]) == ["a", "c"]
    assert result.objective == pytest.approx((60 + 20) / 90)


def test_integrated_project_serves_extraction_and_processing():
    table = projects(stages=["extraction;processing", "extraction", "processing", "extraction"])
    needs = pd.concat([gap_needs(50.0, "extraction"), gap_needs(50.0, "processing")], ignore_index=True)
    result = optimize(table, needs, 30.0)
    assert result.chosen["project_id"].tolist() == ["a"] and result.objective == pytest.approx(2.0)


def test_shortfall_objective_is_expected_loss_avoided():
    shortfall = pd.DataFrame({"material": ["lithium"], "expected_shortfall_t": [80.0], "loss_usd_per_t": [1e4]})
    needs = needs_from_shortfall(shortfall, catalogue.load_groups().members("partnership"))
    # d (US, 100 t for 10) covers the whole 80 t: 800,000 a year; more capacity adds nothing
    result = optimize(projects(), needs, 10.0)
    assert result.chosen["project_id"].tolist() == ["d"] and result.objective == pytest.approx(8e5)
    assert optimize(projects(), needs, 0.0).objective == 0.0


def test_a_capacity_secures_the_expected_shortfall_it_meets_not_min_of_capacity_and_mean():
    # S = 0 or 100 t with equal chance (E[S] = 50): 50 t of capacity secures E[min(50, S)] = 25 t, not 50 t
    t, secured = secured_curve(np.array([100.0]), np.array([0.5]))
    assert t.tolist() == [0, 100] and secured.tolist() == [0, 50]
    shortfall = pd.DataFrame({"material": ["lithium"], "expected_shortfall_t": [50.0], "loss_usd_per_t": [1.0]})
    needs = needs_from_shortfall(shortfall, catalogue.load_groups().members("partnership"))
    table = projects(capacity_t_per_yr=[50.0, 500.0, 500.0, 500.0], capex_usd=[1.0, 50.0, 50.0, 50.0])
    curves = {"shortfall lithium": (t, secured)}
    assert optimize(table, needs, 1.0).objective == pytest.approx(50)               # min(k, E[S]): overstated
    assert optimize(table, needs, 1.0, curves=curves).objective == pytest.approx(25)
    # 500 t (b) cover every scenario: all 50 t expected are secured
    assert optimize(table, needs, 50.0, curves=curves).objective == pytest.approx(50)
    # three scenarios, 10 / 40 / 100 t with 0.2 each (else 0): E[min(40, S)] = 0.2·10 + 0.2·40 + 0.2·40 = 18
    t, secured = secured_curve(np.array([40.0, 10.0, 100.0]), np.array([0.2, 0.2, 0.2]))
    assert dict(zip(t.tolist(), secured.tolist(), strict=True)) == pytest.approx({0: 0, 10: 6, 40: 18, 100: 30})


def test_shortfalls_a_rounding_apart_do_not_cap_the_curve():
    # two scenarios 100 t and 100 t + 1 ulp (summed shortfalls differ by rounding), and one of 300 t: 300 t of
    # capacity secures E[S] = 0.25·100 + 0.25·100 + 0.25·300 = 125 t (a chord of cancelled noise capped it at 65)
    shortfall = np.array([100.0, np.nextafter(100.0, 200.0), 300.0])
    t, secured = secured_curve(shortfall, np.full(3, 0.25))
    assert secured[-1] == pytest.approx(125) and np.interp(300, t, secured) == pytest.approx(125)
    need = pd.DataFrame({"material": ["lithium"], "expected_shortfall_t": [125.0], "loss_usd_per_t": [1.0]})
    needs = needs_from_shortfall(need, catalogue.load_groups().members("partnership"))
    table = projects(capacity_t_per_yr=[300.0, 1.0, 1.0, 1.0], capex_usd=[1.0, 50.0, 50.0, 50.0])
    assert optimize(table, needs, 1.0, curves={"shortfall lithium": (t, secured)}).objective == pytest.approx(125)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 1e4), st.floats(1e-4, 1.0)), min_size=1, max_size=40),
       st.floats(0, 2e4))
def test_secured_curve_is_the_expected_minimum_concave_and_bounded(scenarios, capacity):
    shortfall = np.array([s for s, _ in scenarios])
    probability = np.array([p for _, p in scenarios])
    probability = probability / probability.sum() * 0.9          # 10 % of the mass: no shortfall
    t, secured = secured_curve(shortfall, probability)
    exact = float((probability * np.minimum(capacity, shortfall)).sum())
    assert np.interp(capacity, t, secured) == pytest.approx(exact, rel=1e-9, abs=1e-9)
    assert np.all(np.diff(secured) >= -1e-9) and secured[-1] == pytest.approx(float(probability @ shortfall))
    slopes = np.diff(secured) / np.diff(t)
    assert np.all(np.diff(slopes) <= 1e-9) and np.all(slopes <= 0.9 + 1e-9)     # concave; slope = P(S > t)
    assert np.all(secured <= t + 1e-9)
    thinned_t, thinned = secured_curve(shortfall, probability, points=3)        # thinned: never above the curve
    assert np.all(np.interp(t, thinned_t, thinned) <= secured + 1e-9)


def test_one_partner_never_pays_for_another_partners_project_unless_the_rule_says_so():
    # a US plant (d) and an EU plant (b) both needed; US budget 10, EU 30; pooled lets the EU pay for d
    table = projects(material=["lithium", "lithium", "graphite", "lithium"],
                     country=["CAN", "DEU", "FRA", "USA"], capex_usd=[30.0, 20.0, 20.0, 20.0])
    needs = pd.DataFrame({"need": ["US lithium", "EU lithium"], "material": ["lithium", "lithium"],
                          "stages": ["extraction", "extraction"],
                          "countries": [frozenset({"USA"}), frozenset(EU)], "size_t": [100.0, 50.0],
                          "value_per_t": [1.0, 1.0], "year": [None, None]})
    territories = {"US": frozenset({"USA"}), "EU": frozenset(EU)}
    split = {"US": 0.25, "EU": 0.75}
    pooled = optimize(table, needs, 40.0, split, funding="pooled", territories=territories)
    assert sorted(pooled.chosen["project_id"]) == ["b", "d"] and pooled.objective == pytest.approx(150)
    assert pooled.chosen.set_index("project_id").loc["d", "funding_EU_usd"] >= 10 - 1e-6   # the US has only 10
    home = optimize(table, needs, 40.0, split, funding="home", territories=territories)
    assert home.chosen["project_id"].tolist() == ["b"] and home.objective == pytest.approx(50)
    assert home.chosen["funding_US_usd"].sum() == pytest.approx(0)
    # a third country's project (a, CAN) may be paid by either; pro-rata pays every project 25/75
    third = needs.assign(countries=[frozenset({"CAN"}), frozenset(EU)])
    assert optimize(table, third, 30.0, {"US": 0.5, "EU": 0.5}, funding="home",
                    territories=territories).chosen["project_id"].tolist() == ["a"]
    prorata = optimize(table, needs, 40.0, split, funding="pro-rata", territories=territories)
    paid = prorata.chosen[["funding_US_usd", "funding_EU_usd"]].to_numpy()
    assert paid / prorata.chosen["capex_usd"].to_numpy()[:, None] == pytest.approx(np.array([[0.25, 0.75]] *
                                                                                        len(paid)))
    with pytest.raises(ValueError, match="--funding"):
        optimize(table, needs, 40.0, split, funding="whoever")
    with pytest.raises(ValueError, match="needs each partner's territory: none given for US, EU"):
        optimize(table, needs, 40.0, split)                       # 'home' cannot be applied without them


def test_benchmarks_cover_every_material_with_a_consumption_and_list_the_rest():
    import minsec

    bench = minsec.load().invest.benchmarks()
    assessed = bench[bench["assessed"].astype(bool)]
    for region in ("EU27", "USA"):
        mine = set(assessed.loc[assessed["region"] == region, "material"])
        # trade-and-production materials, the baseline's partner demand and the rare-earth chain alike
        assert {"aluminium", "gallium", "germanium", "graphite", "lithium", "cobalt", "nickel", "tungsten",
                "dysprosium", "ndfeb_magnets"} <= mine
    # missing is never zero: a current capacity the data do not record leaves the share null, never 0 %
    unknown = assessed[~assessed["current_known"].astype(bool)]
    assert len(unknown) and unknown["share_now_pct"].isna().all() and unknown["share_end_pct"].isna().all()
    assert unknown["share_added_pct"].notna().all()
    recycling = assessed[assessed["stage"] == "recycling"]
    assert recycling["share_now_pct"].isna().all()           # recycling output is in no bundled source
    # materials in scope with no consumption are listed with why; rare earths are assessed element by element
    missing = bench[~bench["assessed"].astype(bool)]
    assert len(missing) and missing["note"].str.contains("--consumption").all()
    assert "rare_earths" not in set(missing["material"]) and "iridium" in set(missing["material"])
    assert missing["share_now_pct"].isna().all()


def test_pipeline_conversions_gaps_and_fill():
    table = load_projects()
    assert len(table) == 113
    keliber = table.set_index("project_id").loc["crma1-fi-keliber"]
    assert keliber["capacity_t_per_yr"] == pytest.approx(15_000 * 6.941 / 41.96, rel=1e-3)     # LiOH·H2O → Li
    tungsten = table.set_index("project_id").loc["crma2-gb-tungsten-west"]
    assert tungsten["capacity_t_per_yr"] == pytest.approx(331_000 * 0.01 * 183.84 / 231.84, rel=1e-3)
    assert not tungsten["evaluable"] and tungsten["not_evaluable"] == "capex missing"
    kings = table.set_index("project_id").loc["us-albemarle-kings-mountain-conc"]
    assert "no conversion" in kings["not_evaluable"]                 # spodumene concentrate: grade unknown
    assert table["evaluable"].sum() == 9       # Recover-It states nickel and copper together: not convertible
    filled = apply_fill(table, pd.DataFrame({"project_id": ["crma2-gb-tungsten-west", "my-plant"],
                                             "capex_usd": [2.0e8, 5e7], "capacity_t_per_yr": [None, 400],
                                             "name": [None, "My recycler"], "country": [None, "ITA"],
                                             "material": [None, "cobalt"], "stages": [None, "recycling"]}))
    by_id = filled.set_index("project_id")
    assert by_id.loc["crma2-gb-tungsten-west", "evaluable"] and by_id.loc["my-plant", "evaluable"]
    with pytest.raises(PipelineError, match=r"row 2: capex_usd 'lots' is not a number"):
        apply_fill(table, pd.DataFrame({"project_id": ["crma1-fi-keliber"], "capex_usd": ["lots"]}))
    with pytest.raises(PipelineError, match=r"row 2: new project x: country is missing"):
        apply_fill(table, pd.DataFrame({"project_id": ["x"], "name": ["X"], "material": ["cobalt"],
                                        "stages": ["recycling"], "country": [None]}))


def test_bundled_pipeline_is_the_raw_file():
    raw = ROOT / "data" / "raw" / "projects" / "critical_mineral_projects.csv"
    assert bundled_pipeline_path().read_bytes() == raw.read_bytes()


def test_benchmark_gap_and_trajectory_by_hand():
    use = pd.DataFrame({"region": ["EU27"], "material": ["lithium"], "consumption_t": [1000.0],
                        "current_extraction_t": [50.0], "current_processing_t": [np.nan],
                        "current_recycling_t": [np.nan]})
    gaps = benchmarks.gaps(use).set_index("stage")
    assert gaps.loc["extraction", "gap_t"] == 50 and gaps.loc["processing", "gap_t"] == 400
    assert not gaps.loc["processing", "current_known"]
    # 30 t a year from 2027 with a 3-year ramp: 10, 20, 30 t → 6 %, 7 %, 8 % of consumption; 60 t meet 10 % in 2029
    plant = projects().head(1).assign(capacity_t_per_yr=60.0, ramp_up_years=3.0)
    path = benchmarks.trajectory(benchmarks.gaps(use), plant, {"EU27": EU}, np.arange(2026, 2031))
    extraction = path[path["stage"] == "extraction"].set_index("year")
    assert extraction["added_t"].tolist() == pytest.approx([0, 20, 40, 60, 60])
    assert extraction["share_pct"].tolist() == pytest.approx([5, 7, 9, 11, 11])
    assert extraction["first_year_met"].iloc[0] == 2029


def test_cli_optimize_reports_the_portfolio_and_the_gaps(tmp_path):
    consumption = tmp_path / "use.csv"
    consumption.write_text("region,material,consumption_t,current_extraction_t\nEU27,lithium,10000,0\n"
                           "EU27,graphite,110000,563\n")
    result = CliRunner().invoke(app, ["invest", "optimize", "--budget", "1.5e9", "--regions", "EU27",
                                      "--consumption", str(consumption), "-f", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    chosen = {c["project_id"] for c in report["chosen"]}
    assert report["summary"]["spent_usd"] <= 1.5e9 and chosen
    assert all(c["capacity_t_per_yr"] > 0 for c in report["chosen"])
    assert report["summary"]["projects_not_evaluable"] == len(report["not_evaluated"]) == 104
    bad = CliRunner().invoke(app, ["invest", "optimize", "--budget", "1e9", "--objective", "hope"])
    assert bad.exit_code == 2 and "benchmarks or shortfall" in bad.output
    consumption.write_text("region,material,consumption_t\nEU27,lithium,0\n")
    bad = CliRunner().invoke(app, ["invest", "benchmarks", "--regions", "EU27", "--consumption", str(consumption)])
    assert bad.exit_code == 2 and "row 2: consumption_t must be a positive finite number" in bad.output
