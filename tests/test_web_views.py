"""What the dashboard and the briefings show, checked against the data by hand: shares, partner flows, the
figures' numbers, the ensemble outlook's invariants, the cooperation frontier, and ``minsec brief``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import minsec
from minsec.cli import app
from minsec.data import catalogue
from minsec.web import figures, job_views, views
from minsec.web.brief import CHROMIUM


@pytest.fixture(scope="module")
def chain():
    return minsec.load()


def test_production_shares_are_country_over_published_world_total(chain):
    rows = chain.production_table
    # the latest year of the primary source: MCS 2026's 2025 estimates
    rows = rows[(rows["source"] == "usgs") & (rows["material"] == "cobalt") & (rows["stage"] == "mining")
                & (rows["year"] == 2025)].set_index("country")["value"]
    shares, year = views.production_shares(chain, "cobalt", "mining")
    assert year == 2025
    cod = shares.set_index("country").loc["COD"]
    assert cod["value"] == rows["COD"] and cod["share"] == pytest.approx(rows["COD"] / rows["WLD"])
    assert shares["share"].is_monotonic_decreasing and (shares["value"] > 0).all()
    figure = figures.choropleth(shares, "t")
    trace = figure["data"][0]
    assert trace["locations"][0] == "COD" and trace["z"][0] == pytest.approx(100 * rows["COD"] / rows["WLD"])


def test_shares_over_time_sum_to_one_with_the_rest_of_the_world(chain):
    frame = views.shares_over_time(chain, "rare_earths", "mining", top=4)
    totals = frame.groupby("year")["share"].sum()
    assert np.allclose(totals, 1.0) and set(frame["country"]) >= {"CHN", "rest of world"}


def test_partner_flows_count_each_partner_once_and_leave_intra_eu_trade_out():
    groups = catalogue.load_groups()
    trade = pd.DataFrame({
        "year": [2024] * 6, "material": ["cobalt"] * 5 + ["copper"],
        "exporter": ["CHN", "DEU", "FIN", "COD", "USA", "CHN"],
        "importer": ["FRA", "FRA", "USA", "BEL", "JPN", "USA"],
        "value_kusd": [100.0, 50.0, 30.0, 20.0, 5.0, 999.0], "quantity_t": [1.0] * 6, "hs92": ["810520"] * 6,
        "stage": ["refining"] * 6})
    flows = views.partner_flows(trade, groups, "cobalt", 2024, top=2)
    got = {(r.source, r.target): r.value for r in flows.itertuples()}
    # DEU → FRA is inside the EU (left out); FIN is EU27 exporting to the US; two leaders, the rest summed
    assert got == {("CHN", "EU27"): 100.0, ("EU27", "USA"): 30.0, ("other suppliers", "EU27"): 20.0,
                   ("other suppliers", "JPN"): 5.0}
    figure = figures.sankey(flows, "t")
    assert sum(figure["data"][0]["link"]["value"]) == pytest.approx(155.0)


def test_material_view_has_its_sources_and_the_recorded_export_controls(chain):
    view = views.material(chain, "gallium")
    tables = {t.id: t for t in view["tables"]}
    assert {r["measure_id"] for r in tables["export-controls"].rows} >= {"CN-2023-23"}
    urls = [r["primary_source_url"] for r in tables["export-controls"].rows]
    assert all(u.startswith("http") and ";" not in u and " " not in u for u in urls if u)
    assert all(t.source for t in view["tables"]) and tables["concentration"].formula.startswith("share_i")
    assert {"map-refining", "hhi", "prices"} <= set(view["figures"])
    for figure in view["figures"].values():
        json.loads(figures.to_json(figure))                       # valid JSON, no NaN
    with pytest.raises(KeyError):
        views.material(chain, "unobtainium")


def test_cells_format_what_they_claim():
    col = views.Column
    assert views.cell(0.7388, col("s", "", "share")) == "73.9 %"
    assert views.cell(1.52e9, col("u", "", "usd")) == "US$1.52 bn"
    assert views.cell(4.02e6, col("u", "", "usd")) == "US$4.02 M"
    assert views.cell(-1.76e9, col("u", "", "usd")) == "−US$1.76 bn"
    assert views.cell(1180.4, col("f", "", "float")) == "1,180"
    assert views.cell(float("nan"), col("f", "", "float")) == "no data"
    assert views.cell(None, col("f", "", "share")) == "no data"
    assert views.cell("GIB", col("i", "", "int")) == "GIB"
    assert views.cell(True, col("b", "")) == "yes"


def test_figure_json_escapes_script_endings():
    figure = figures.lines(pd.DataFrame({"x": [1, 2], "y": [1.0, float("nan")], "s": ["</script><b>", "a"]}),
                           "x", "y", "s", "t", "y")
    text = figures.to_json(figure)
    assert "<" not in text and ">" not in text and json.loads(text)["data"][0]["name"] == "</script><b>"
    assert json.loads(text)["data"][0]["y"] == [1.0] and json.loads(text)["data"][1]["y"] == [None]


def test_ensemble_outlook_invariants():
    from minsec.scenarios import ScenarioContext
    from minsec.scenarios.ensemble import EnsembleSpec, material_outlook

    context = ScenarioContext.load()
    spec = EnsembleSpec(n_scenarios=1500, seed=3, horizon_months=12, period_months=3, chunk_size=500)
    out = material_outlook(context, spec, "gallium")
    fan, price, exceed = out["fan"], out["price_fan"], out["exceedance"]
    quantiles = fan[["q05", "q25", "q50", "q75", "q95"]].to_numpy()
    assert (np.diff(quantiles, axis=1) >= -1e-9).all() and (quantiles >= 0).all()
    assert set(fan["month"]) == {3.0, 6.0, 9.0, 12.0} and (price["q05"] > 0).all()
    for _, rows in exceed.groupby(["market", "region"]):
        probability = rows.sort_values("shortfall_pct")["probability"].to_numpy()
        assert (np.diff(probability) <= 1e-12).all() and 0 <= probability[0] <= 1   # a survival function
    # the same seed gives the same scenarios
    again = material_outlook(context, spec, "gallium")
    pd.testing.assert_frame_equal(out["exceedance"], again["exceedance"])
    with pytest.raises(ValueError, match="no market"):
        material_outlook(context, spec, "unobtainium")


def test_ensemble_view_of_a_material_without_partner_demand_has_prices_only():
    """A result whose fan is empty (no partner with a demand for the material: since every material has a
    published or estimated partner demand, made by hand here) has prices only, and the page says so."""
    from minsec.service.jobs import EnsembleOutlook, _jsonable, run_outlook

    result = _jsonable(run_outlook(EnsembleOutlook(material="tellurium", n_scenarios=200), lambda _: None, None))
    assert result["fan"], "tellurium: the partners' estimated demand gives a shortfall fan"
    result["fan"], result["exceedance"] = [], []
    view = job_views.job_result("scenario_ensemble", result)
    assert view["warnings"] and "tellurium" in view["warnings"][0]
    assert view["figures"] and all(k.startswith("price-") for k in view["figures"])


def test_cooperation_frontier_separates_the_budget_by_the_split():
    """A hand-made two-party problem: separate stockpiles get exactly their share of each budget."""
    from minsec.stockpile.inputs import JOINT, ShortfallSample
    from minsec.stockpile.model import StockpileProblem
    from minsec.stockpile.plan import cooperation_frontier

    sample = ShortfallSample(scenarios=np.arange(2), probability=np.array([0.5, 0.5]), materials=("x",),
                             parties=("US", "EU27"), scenario=np.array([0, 1]), material=np.array([0, 0]),
                             party=np.array([0, 1]), shortfall_t=np.array([10.0, 10.0]), source="hand-made")
    problem = StockpileProblem(sample=sample, price=pd.Series({"x": 1.0}), loss=pd.Series({"x": 100.0}),
                               budget=20.0, holders=(JOINT,), joint_members=("US", "EU27"), horizon_years=1.0,
                               holding_cost_rate=0.0)
    table = cooperation_frontier(problem, {"US": 0.5, "EU27": 0.5}, [0.0, 10.0], "lp")
    loss = table.set_index(["arrangement", "budget_usd"])["expected_annual_loss_usd"]
    # no stock: each party is short 10 t with probability 1/2 → 2 × 0.5 × 10 × 100 = 1,000 a year
    assert loss[("separate national stockpiles", 0.0)] == pytest.approx(1000.0)
    # 10 t: separately 5 t each cover half of each shortage (500); pooled, 10 t cover whoever is short (0)
    assert loss[("separate national stockpiles", 10.0)] == pytest.approx(500.0)
    assert loss[("joint pool", 10.0)] == pytest.approx(0.0)


runner = CliRunner()


def test_brief_html_is_self_contained(tmp_path):
    out = tmp_path / "gallium.html"
    result = runner.invoke(app, ["brief", "--material", "gallium", "--importer", "USA", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "Critical-minerals briefing: Gallium" in text and "CN-2023-23" in text
    assert re.findall(r'<script[^>]+src=', text) == [] and "world_110m" in text     # nothing fetched
    figures_json = re.search(r"var figures = (\{.*?\});\n", text, re.S).group(1)
    drawn = json.loads(figures_json)
    assert set(drawn) == {"map", "chart"}
    # gallium has no partner trade to draw: the chart is the refining shares over time
    assert drawn["chart"]["layout"]["title"]["text"].startswith("Refining: shares over time")
    # China's refining share in 2025 (MCS 2026: China 900 t, Russia 6 t, Japan 3 t, rounded world total 900 t):
    # over the named producers' sum, as risk concentration — 99 %, not 100 %
    assert "China 99 %" in text
    # the research section: the registry's programmes naming gallium (as the material page lists them)
    named = minsec.load().research.programmes(material="gallium")
    named = named[named["materials"].map(lambda ms: "gallium" in ms)]
    assert f"{len(named)} public programmes in the registry name gallium" in re.sub(r"\s+", " ", text)


def test_brief_rejects_bad_input(tmp_path):
    result = runner.invoke(app, ["brief", "--material", "unobtainium", "--out", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "unobtainium" in result.output
    result = runner.invoke(app, ["brief", "--material", "cobalt", "--out", str(tmp_path / "x.docx")])
    assert result.exit_code == 2 and ".html or .pdf" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed")
def test_brief_pdf_is_printed_by_chromium(tmp_path):
    out = tmp_path / "cobalt.pdf"
    result = runner.invoke(app, ["brief", "--material", "cobalt", "--importer", "EU27", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert data.startswith(b"%PDF") and 1 <= pages <= 2
    assert not (tmp_path / "cobalt.pdf.partial").exists()


def test_portfolio_job_result_shows_the_chosen_projects():
    """A finished invest_portfolio job (the CLI's JSON) as the /invest page draws it."""
    result = {"summary": {"budget_usd": 5e9, "spent_usd": 1.985e9, "projects_chosen": 1,
                          "objective_unit": "USD a year of expected loss avoided"},
              "chosen": [{"project_id": "crma1-fi-keliber", "name": "Keliber Lithium", "country": "FIN",
                          "material": "lithium", "capacity_t_per_yr": 2481.0, "capex_usd": 6.5e8,
                          "expected_start_year": 2026}]}
    view = job_views.job_result("invest_portfolio", result)
    assert view["tables"][0].rows[0]["project_id"] == "crma1-fi-keliber"
    assert view["key_figures"][0]["value"] == "US$1.99 bn of 5.00"


def test_years_are_never_printed_with_a_thousands_separator():
    from minsec.web.views import Column, cell

    assert cell(2026, Column("start_year", "From", "year")) == "2026"
    assert cell(2026.0, Column("year", "Year", "year")) == "2026"
    assert cell(float("nan"), Column("year", "Year", "year")) == "no data"
    assert cell(12345, Column("n", "N", "int")) == "12,345"


def test_us_ranking_beside_usgs_keeps_missing_figures_null():
    """Hand case: minsec ranks B > A > C for the USA; the USGS order is C, A, D (D without a US figure)."""
    from minsec.web.economic import usgs_comparison

    by_material = pd.DataFrame({"importer": ["USA", "USA", "USA", "EU27", "USA"],
                                "material": ["a", "b", "c", "d", "d"],
                                "expected_gdp_loss_usd": [2e9, 5e9, 1e6, 9e9, np.nan]})
    table = usgs_comparison(by_material, ["c", "a", "d"])
    assert table["minsec_us_rank"].tolist()[:2] == [3, 2]
    assert pd.isna(table.loc[2, "minsec_us_rank"]) and pd.isna(table.loc[2, "expected_gdp_loss_usd"])
    assert "no US figure" in table.loc[2, "note"]


def test_economic_page_ranks_the_partnership_and_reads_the_usgs_order_from_the_facts(chain):
    from minsec.web.economic import economic_view, usgs_ranking
    from minsec.web.research import PAGE_SCENARIOS

    assert usgs_ranking(chain)[:6] == ["samarium", "rhodium", "lutetium", "terbium", "dysprosium", "gallium"]
    view = economic_view(chain)
    ranking = next(t for t in view["tables"] if t.id == "ranking")
    impact = chain.scenarios.economic_impact("partnership", PAGE_SCENARIOS, 0)
    known = impact.partnership.dropna(subset=["expected_gdp_loss_usd"])
    assert [r["material"] for r in ranking.rows][:5] == known["material"].tolist()[:5]
    total = next(k for k in view["key_figures"] if k["label"].startswith("Partnership"))
    assert total["value"] == f"US${known['expected_gdp_loss_usd'].sum() / 1e9:,.1f} bn"
    # a material without a figure stays null in the table (never 0)
    unknown = impact.partnership[impact.partnership["expected_gdp_loss_usd"].isna()]["material"]
    rows = {r["material"]: r for r in ranking.rows}
    assert len(unknown) and all(rows[m]["expected_gdp_loss_usd"] is None for m in unknown)


def test_rules_verdict_view_and_csv_keep_each_rule_with_its_lines(chain):
    from minsec.web.rules import verdict_csv, verdict_view

    document = chain.rules.check("ev_battery_pack.json", "partnership_baseline", date="2026-12-07").to_dict()
    view = verdict_view(document)
    assert view["key_figures"][0]["value"] == document["verdict"].upper() == "FAIL"
    rules = next(t for t in view["tables"] if t.id == "verdict-rules")
    assert [r["rule"] for r in rules.rows] == [r["rule"] for r in document["rules"]]
    lines = next(t for t in view["tables"] if t.id == "verdict-lines")
    assert {c.key for c in lines.columns} >= {"line", "qualifies", "top_country", "share_pct"}
    csv_rows = pd.read_csv(__import__("io").StringIO(verdict_csv(document)))
    # each rule's own row comes first, then its lines
    first = csv_rows.groupby("rule", sort=False).head(1)
    assert first["line"].isna().all() and first["verdict"].notna().all()
    assert len(csv_rows) == len(document["rules"]) + sum(len(r.get("lines") or []) for r in document["rules"])
    assert "partner_content" in json.dumps(view["figures"]["verdict-shares"])


def test_benchmark_download_leaves_unrecorded_capacity_empty_not_zero(chain):
    from minsec.web import downloads

    raw = chain.invest.benchmarks()
    shown = downloads.TABLES["invest-benchmarks"](chain)
    unknown = ~raw["current_known"].astype(bool)
    assert unknown.any() and shown.loc[unknown, "share_now_pct"].isna().all()
    assert (shown.loc[~unknown, "share_now_pct"] == raw.loc[~unknown, "share_now_pct"]).all()


def test_trade_page_counts_the_65_percent_breaches_and_keeps_missing_reliance_null(chain):
    from minsec.web.trade import trade_view

    view = trade_view(chain, "EU27")
    routes = chain.risk.routes(importer="EU27", year="latest")
    flagged = next(k for k in view["key_figures"] if "65 %" in k["label"])
    assert flagged["value"] == f"{int(routes['exceeds_65pct'].sum())} of {len(routes)}"
    reliance = next(t for t in view["tables"] if t.id == "reliance")
    unknown = [r for r in reliance.rows if r["net_import_reliance"] is None]
    assert unknown and all(r["nir_note"] for r in unknown)         # null with its reason, never 0
    assert all(t.id != "us-imports" for t in view["tables"])        # USITC imports only for the USA


def test_every_material_ensemble_result_ranks_as_the_cli_does():
    result = CliRunner().invoke(app, ["scenario", "ensemble", "--n", "300", "--scheduler", "none", "-f", "json"])
    document = json.loads(result.stdout)
    view = job_views.job_result("ensemble_summary", document)
    ranking = next(t for t in view["tables"] if t.id == "ensemble-ranking")
    assert [r["material"] for r in ranking.rows] == [r["material"] for r in document["ranking"]]
    tails = next(t for t in view["tables"] if t.id == "ensemble-tails")
    cvar = [r["cvar95_shortfall_pct"] for r in tails.rows]
    assert cvar == sorted(cvar, reverse=True) and len(cvar) <= 30
    assert "ensemble-ranking" in view["figures"]
