"""What a finished background job shows on the Scenarios, Stockpile, Markets, Investments and Economic-impact
pages: figures, tables (with source and formula) and key figures built from the job's JSON result.

Pure: takes a job's result, returns a view."""

from __future__ import annotations

from typing import Any

import pandas as pd

from minsec.web import figures
from minsec.web.views import Column, Table, _rows, cell


def job_result(kind: str, result: dict[str, Any]) -> dict[str, Any]:
    """Figures, tables and key figures of a finished job (the Scenarios, Stockpile and Markets pages)."""
    builder = {"scenario_run": _scenario_run, "scenario_ensemble": _ensemble, "stockpile_optimize": _stockpile,
               "stockpile_frontier": _frontier, "markets_floor": _floor, "surveillance": _surveillance}.get(kind)
    if kind == "invest_portfolio":
        from minsec.web.invest import portfolio_result

        return portfolio_result(result)
    if kind == "emergency_allocate":
        return _allocation(result)
    if kind == "ensemble_summary":
        return _ensemble_summary(result)
    if kind == "early_warnings":
        return {"figures": {}, "tables": [], "warnings": [], "key_figures": [
            {"label": "Warnings found in the data", "value": str(result.get("warnings", 0))},
            {"label": "Published now", "value": str(result.get("created", 0))},
            {"label": "Published before", "value": str(result.get("existing", 0))}]}
    if kind == "economic_impact":
        from minsec.web.economic import impact_result

        return impact_result(result)
    if builder is None:
        return {"figures": {}, "tables": [], "key_figures": []}
    return builder(result)


def _scenario_run(result: dict[str, Any]) -> dict[str, Any]:
    from minsec.scenarios.baseline import REST_OF_WORLD

    name = result["scenario"]["name"]
    regions = pd.DataFrame(result["by_region"])
    # partners whose demand is known (the rest of the world is not a partner)
    known = regions[(regions["demand_t"] > 0) & (regions["region"] != REST_OF_WORLD)] if len(regions) else regions
    path = pd.DataFrame(result["price_path"])
    charts = {}
    if len(known):
        charts["shortfall"] = figures.bars(known.assign(label=known["market"] + " · " + known["region"]), "label",
                                           "shortfall_pct", f"Shortfall per partner — {name}",
                                           "shortfall over the horizon (% of demand)")
    if len(path):
        long = pd.concat([path.assign(series=path["market"] + " restricted buyers",
                                      price=path["price_index_restricted"]),
                          path.assign(series=path["market"] + " open market", price=path["price_index_open"])])
        charts["price"] = figures.lines(long, "month", "price", "series", f"Price path — {name}",
                                        "price index (baseline = 1)", "month")
    summary = pd.DataFrame(result["summary"])
    tables = [Table("scenario-regions", "Shortfall by region", [
        Column("market", "Market"), Column("region", "Region"), Column("targeted", "Targeted"),
        Column("demand_t_per_year", "Demand t/yr", "float"), Column("demand_t", "Demand t (horizon)", "float"),
        Column("shortfall_t", "Shortfall t (horizon)", "float"),
        Column("shortfall_pct", "Shortfall %", "float"), Column("peak_month_shortfall_pct", "Peak month %", "float"),
        Column("value_at_risk_usd", "Value at risk", "usd"), Column("gdp_loss_usd", "GDP loss", "usd"),
        Column("demand_basis", "Demand basis")],
        _rows(regions), source="minsec scenario engine over the bundled baseline (USGS, BACI)",
        formula="shortfall = lost supply − diverted − supply response, cleared per market and month "
                "(docs/methods.md, Scenarios)"),
        Table("scenario-summary", "Markets", [
            Column("market", "Market"), Column("peak_price_index_restricted", "Peak price (restricted)", "float"),
            Column("peak_price_index_open", "Peak price (open)", "float"), Column("lost_t", "Lost t", "float"),
            Column("shortfall_t", "Shortfall t", "float"), Column("value_at_risk_usd", "Value at risk", "usd")],
            _rows(summary))]
    keys = [{"label": "Peak price index (restricted)", "value": f"{summary['peak_price_index_restricted'].max():.2f}"},
            {"label": "Shortfall", "value": f"{summary['shortfall_t'].sum():,.1f} t"},
            {"label": "Value at risk", "value": cell(summary["value_at_risk_usd"].sum(), Column("v", "", "usd"))}
            ] if len(summary) else []
    return {"figures": charts, "tables": tables, "key_figures": keys, "warnings": result.get("warnings", [])}


def _ensemble(result: dict[str, Any]) -> dict[str, Any]:
    fan = pd.DataFrame(result["fan"])
    price = pd.DataFrame(result["price_fan"])
    exceed = pd.DataFrame(result["exceedance"])
    n = result["n_scenarios"]
    charts = {}
    warnings = [] if len(fan) else [f"no partner with a known demand for {result['material']} in the scenario "
                                    "baseline: no shortfall fan or exceedance to draw (prices only)"]
    for market, rows in (fan.groupby("market") if len(fan) else []):
        charts[f"fan-{market}"] = figures.fan(rows, f"Shortfall fan — {market} ({n:,} scenarios)",
                                              "shortfall in the quarter (% of demand)")
    for market, rows in (price.groupby("market") if len(price) else []):
        charts[f"price-{market}"] = figures.fan(rows, f"Price fan — {market}", "price index (baseline = 1)")
    for market, rows in (exceed.groupby("market") if len(exceed) else []):
        charts[f"exceedance-{market}"] = figures.exceedance(rows, f"Exceedance — {market}")
    at = exceed[exceed["shortfall_pct"].isin([1.0, 10.0, 25.0, 50.0])] if len(exceed) else exceed
    wide = (at.pivot_table(index=["market", "region"], columns="shortfall_pct", values="probability")
            .reset_index() if len(at) else pd.DataFrame(columns=["market", "region"]))
    wide.columns = [c if isinstance(c, str) else f"p_gt_{c:g}" for c in wide.columns]
    columns = [Column("market", "Market"), Column("region", "Partner")] + [
        Column(f"p_gt_{x:g}", f"P(> {x:g} %)", "share") for x in (1, 10, 25, 50)]
    tables = [Table("exceedance", "Probability that the shortfall over the horizon exceeds", columns, _rows(wide),
                    source=f"minsec ensemble, {n:,} scenarios, seed {result['seed']}",
                    formula="P(shortfall > x) = (number of scenarios above x) / N; event model in docs/methods.md "
                            "(Ensembles)")]
    return {"figures": charts, "tables": tables, "key_figures": [], "warnings": warnings}


def _stockpile(result: dict[str, Any]) -> dict[str, Any]:
    summary = result["summary"]
    plan = pd.DataFrame(result["plan"])
    bought = plan[plan["quantity_t"] > 1e-9] if len(plan) else plan
    charts = {}
    if len(bought):
        charts["plan"] = figures.bars(bought, "material", "cost_usd", "Purchases by material and holder (USD)",
                                      "USD", color="holder")
        covered = bought[bought["days_of_cover"].notna()]
        if len(covered):
            charts["cover"] = figures.bars(covered, "material", "days_of_cover", "Days of cover", "days",
                                           color="holder", threshold=60, threshold_label="60 days")
    usd = Column("v", "", "usd")
    keys = [{"label": "Budget", "value": cell(summary["budget_usd"], usd)},
            {"label": "Spent", "value": cell(summary["acquisition_usd"], usd)},
            {"label": "Expected annual loss avoided", "value": cell(summary["avoided_annual_loss_usd"], usd)},
            {"label": "Share of expected loss avoided",
             "value": f"{summary['share_of_expected_loss_avoided_pct']:.1f} %"},
            {"label": "Method", "value": str(summary["method"])}]
    tables = [Table("plan", "Plan: what to buy, held by whom", [
        Column("material", "Material", "link"), Column("holder", "Holder"), Column("quantity_t", "Tonnes", "float"),
        Column("cost_usd", "Cost", "usd"), Column("days_of_cover", "Days of cover", "float"),
        Column("expected_shortfall_t", "Expected shortfall t/yr", "float"),
        Column("expected_unmet_t", "Unmet with stock t/yr", "float"),
        Column("avoided_loss_usd_per_year", "Avoided loss /yr", "usd"),
        Column("share_of_world_supply_pct", "% of world supply", "float")], _rows(bought),
        source=str(summary.get("scenario_source", "")),
        formula="min E[loss] + acquisition + holding subject to the budget (two-stage stochastic LP, linopy + "
                "HiGHS, or the newsvendor fast path); docs/methods.md, Stockpiles")]
    return {"figures": charts, "tables": tables, "key_figures": keys, "warnings": result.get("warnings", [])}


def _frontier(result: dict[str, Any]) -> dict[str, Any]:
    table = pd.DataFrame(result["frontier"])
    chart = figures.lines(table.assign(budget_bn=table["budget_usd"] / 1e9,
                                       loss_bn=table["expected_annual_loss_usd"] / 1e9),
                          "budget_bn", "loss_bn", "arrangement", "Efficient frontier: joint pool vs separate "
                          "stockpiles", "expected annual loss (bn USD)", "budget (bn USD)")
    wide = table.pivot_table(index="budget_usd", columns="arrangement", values="expected_annual_loss_usd")
    rows = []
    for budget, row in wide.iterrows():
        joint, separate = row.get("joint pool"), row.get("separate national stockpiles")
        rows.append({"budget_usd": budget, "separate": separate, "joint": joint,
                     "value_of_cooperation": separate - joint if joint is not None and separate is not None
                     else None})
    split = ", ".join(f"{k} {100 * v:.0f} %" for k, v in result["split"].items())
    tables = [Table("frontier", f"Expected annual loss by budget (separate split {split})", [
        Column("budget_usd", "Budget", "usd"), Column("separate", "Separate", "usd"), Column("joint", "Joint", "usd"),
        Column("value_of_cooperation", "Value of cooperation /yr", "usd")], rows,
        formula="value of cooperation = expected annual loss with separate stockpiles − with the joint pool "
                "(same parties, same total budget)")]
    return {"figures": {"frontier": chart}, "tables": tables, "key_figures": [],
            "warnings": result.get("warnings", [])}


def _floor(result: dict[str, Any]) -> dict[str, Any]:
    results = pd.DataFrame(result["valuation"])
    charts = {}
    hist = result["floor_pv_histogram"]
    floor = results.iloc[0]
    charts["floor"] = figures.histogram(hist["counts"], hist["edges"], "Price floor: distribution of the fiscal cost",
                                        "PV of payments (million USD)", mean=floor["expected_pv_cost_usd"])
    usd = Column("v", "", "usd")
    keys = [{"label": "Expected PV cost of the floor", "value": cell(floor["expected_pv_cost_usd"], usd)},
            {"label": "95th percentile", "value": cell(floor["p95_pv_cost_usd"], usd)},
            {"label": "Probability of a payout", "value": f"{100 * floor['prob_payout']:.1f} %"}]
    tariff_rows = result.get("tariff") or []
    if tariff_rows:
        tariff = tariff_rows[0]
        t_hist = result["tariff_revenue_histogram"]
        charts["tariff"] = figures.histogram(t_hist["counts"], t_hist["edges"], "Variable tariff: revenue",
                                             "PV of duties collected (million USD)",
                                             mean=tariff["expected_pv_revenue_usd"])
        keys.append({"label": "Expected PV tariff revenue",
                     "value": cell(tariff["expected_pv_revenue_usd"], usd)})
    columns = [Column("mechanism", "Mechanism"), Column("expected_pv_cost_usd", "E[PV cost]", "usd"),
               Column("std_error_usd", "Std error", "usd"), Column("p5_pv_cost_usd", "5 %", "usd"),
               Column("p95_pv_cost_usd", "95 %", "usd"), Column("prob_payout", "P(payout)", "share"),
               Column("analytic_pv_cost_usd", "Closed form", "usd"),
               Column("mc_minus_analytic_in_se", "MC − closed form (SE)", "float")]
    tables = [Table("mechanisms", "Mechanisms valued on the same price paths", columns, _rows(results),
                    source=_model_source(floor),
                    formula="PV = Σ_t e^{−rt} × payment_t per path; expected value, standard error and quantiles over "
                            "paths; closed forms under GBM (docs/methods.md, Market mechanisms)")]
    if tariff_rows:
        tables.append(Table("tariff", "Variable tariff (treasury's side)", [
            Column("mechanism", "Mechanism"), Column("expected_pv_revenue_usd", "E[PV revenue]", "usd"),
            Column("std_error_usd", "Std error", "usd"), Column("p5_pv_revenue_usd", "5 %", "usd"),
            Column("p95_pv_revenue_usd", "95 %", "usd"), Column("prob_duty_collected", "P(duty)", "share"),
            Column("expected_landed_price_usd_per_t", "Landed price (USD/t)", "usd"),
            Column("reference_usd_per_t", "Reference (USD/t)", "usd")], tariff_rows,
            source=_model_source(floor), formula="duty_t = max(0, reference − price_t) per tonne imported"))
    return {"figures": charts, "tables": tables, "key_figures": keys, "warnings": []}


def _model_source(first: pd.Series) -> str:
    """Which price model valued the mechanisms and whether its parameters were given or fitted."""
    params = ", ".join(f"{k.removeprefix('param_')} {first[k]:.4g}" for k in first.index
                       if k.startswith("param_") and pd.notna(first[k]))
    fitted = first.get("calibrated_on")
    basis = f"fitted on {fitted}" if isinstance(fitted, str) and fitted else "as given"
    return f"{first['model']} price paths ({params}; {basis}), spot {first['spot_usd_per_t']:,.0f} USD/t"


def _surveillance(result: dict[str, Any]) -> dict[str, Any]:
    findings = pd.DataFrame(result["findings"])
    columns = [Column("kind", "Kind"), Column("material", "Material", "link"), Column("hs92", "HS"),
               Column("exporter", "Exporter"), Column("metric", "Metric"), Column("value", "Value", "float"),
               Column("threshold", "Threshold", "float"), Column("severity", "Severity"),
               Column("confidence", "Confidence"), Column("summary", "Finding")]
    tables = [Table("findings", f"Surveillance findings — {result['importer']}, {result['year']}", columns,
                    _rows(findings.drop(columns=["evidence"], errors="ignore")) if len(findings) else [],
                    source="CEPII BACI (unit values and volumes by HS code)",
                    formula="dumping margin = (normal value − export price) / export price, normal value = "
                            "quantity-weighted median price of undistorted exporters; surge = log-linear trend "
                            "ratio; docs/methods.md, Surveillance", empty="No findings.")]
    counts = findings["kind"].value_counts() if len(findings) else pd.Series(dtype=int)
    charts = {}
    if len(counts):
        charts["kinds"] = figures.bars(counts.rename_axis("kind").reset_index(name="findings"), "kind", "findings",
                                       "Findings by kind", "findings")
    return {"figures": charts, "tables": tables, "key_figures": [], "warnings": []}


def _allocation(result: dict[str, Any]) -> dict[str, Any]:
    """A finished ``emergency_allocate`` job: each partner's shortfall before and its unmet demand after, the
    release orders and the transfers."""
    partners = pd.DataFrame(result.get("partners", []))
    group = pd.DataFrame(result.get("group", []))
    charts = {}
    if len(partners):
        before = partners.assign(pct=100 * partners["shortfall_before_t"] / partners["demand_t"].where(
            partners["demand_t"] > 0), series="before")
        after = partners.assign(pct=partners["unmet_pct"], series="after allocation")
        both = pd.concat([before, after]).assign(label=lambda t: t["partner"] + " · " + t["market"])
        charts["allocation"] = figures.bars(both, "label", "pct", "Unmet demand, % of each partner's demand",
                                            "% of demand", color="series")
    tables = [
        Table("allocation-partners", "Partners after allocation (tonnes over the scenario's horizon)", [
            Column("partner", "Partner"), Column("market", "Market"), Column("demand_t", "Demand t", "float"),
            Column("shortfall_before_t", "Short before t", "float"), Column("restraint_t", "Restraint t", "float"),
            Column("unmet_t", "Unmet t", "float"), Column("unmet_pct", "Unmet %", "float"),
            Column("sharing_bound", "At the shared level")], _rows(partners),
            source="minsec emergency allocate (LP, HiGHS) on the scenario's outcome",
            formula="minimise Σ weight × unmet subject to stocks, release limits and equal percentage sharing "
                    "(docs/methods.md, Emergency allocation)"),
        Table("allocation-releases", "Release orders", [
            Column("holder", "Holder"), Column("market", "Market"), Column("release_t", "Release t", "float"),
            Column("stock_t", "Stock t", "float"), Column("bound", "Bound")], _rows(pd.DataFrame(
                result.get("releases", []))), empty="No release: no stock was given, or none was needed."),
        Table("allocation-transfers", "Transfers between partners", [
            Column("from", "From"), Column("to", "To"), Column("market", "Market"),
            Column("tonnes", "Tonnes", "float")], _rows(pd.DataFrame(result.get("transfers", []))),
            empty="No transfer: each partner's own supply and releases met the shared level.")]
    keys = [{"label": f"{row['market']}: group short before", "value": f"{row['group_shortfall_before_pct']:.1f} %",
             "source": "#allocation-partners"} for row in group.to_dict("records")[:2]]
    keys += [{"label": f"{row['market']}: shared unmet level", "value": f"{row['sharing_level_pct']:.1f} %",
              "source": "#allocation-partners"} for row in group.to_dict("records")[:2]
             if row.get("sharing_level_pct") is not None]
    return {"figures": charts, "tables": tables, "key_figures": keys,
            "warnings": [f"LP status: {result.get('status')}"] if result.get("status") != "ok" else []}


def _ensemble_summary(result: dict[str, Any]) -> dict[str, Any]:
    """A finished ``ensemble_summary`` job (``minsec scenario ensemble -f json``): the ranking by expected loss
    and the partners' largest tail shortfalls."""
    ranking = pd.DataFrame(result.get("ranking", []))
    cells = pd.DataFrame(result.get("by_market_importer", []))
    spec = result.get("spec", {})
    charts = {}
    if len(ranking):
        top = ranking.head(15).assign(loss_musd=lambda t: t["expected_loss_usd"] / 1e6)
        charts["ensemble-ranking"] = figures.bars(top, "material", "loss_musd",
                                                  "Expected loss of material value a year (US$ million)",
                                                  "US$ million")
    tail = cells.sort_values("cvar95_shortfall_pct", ascending=False).head(30) if len(cells) else cells
    tables = [
        Table("ensemble-ranking", f"Materials by expected loss ({spec.get('n_scenarios', 0):,} scenarios, seed "
                                  f"{spec.get('seed')})", [
            Column("rank", "Rank", "int"), Column("material", "Material", "link"),
            Column("expected_loss_usd", "Expected loss /yr", "usd")], _rows(ranking),
            source="minsec scenario ensemble (event model: restriction and outage rates by governance and history)",
            formula="expected loss = mean over scenarios of the material value not supplied"),
        Table("ensemble-tails", "The largest tail shortfalls (CVaR 95 %, % of demand over the horizon)", [
            Column("market", "Market"), Column("importer", "Importer"),
            Column("expected_shortfall_pct", "Expected %", "float"),
            Column("p_shortfall_gt_10pct", "P(> 10 %)", "share"),
            Column("cvar95_shortfall_pct", "CVaR 95 %", "float")], _rows(tail),
            formula="CVaR 95 % = mean shortfall over the worst 5 % of scenarios")]
    return {"figures": charts, "tables": tables, "key_figures": [], "warnings": []}
