"""Partner routes, import reliance and US imports to 2026 as the dashboard page ``/trade?importer=``; and the
calibration and price tables the Scenarios and Markets pages show under their forms.

Pure: takes the supply chain, returns a view (tables with sources and formulas, figures)."""

from __future__ import annotations

from typing import Any

from minsec.web import figures
from minsec.web.views import Column, Table, _rows

ROUTES_FORMULA = ("partner share = imports from partnership members / imports from outside the importer, by value "
                  "(BACI, latest year); the CRMA check flags one outside supplier above 65 %")
NIR_FORMULA = "net import reliance = (imports − exports) / (production + imports − exports); null where production " \
              "is not given (nir_note)"


def trade_view(chain, importer: str) -> dict[str, Any]:
    """Routes (partner vs outside suppliers, the largest outside supplier) per material, net import reliance in
    the latest year with production, and for the USA the USITC imports to 2026."""
    routes = chain.risk.routes(importer=importer, year="latest")
    reliance = chain.risk.import_reliance(importer=importer, year="all", source="wmd")
    latest = reliance.sort_values("year").groupby(["material", "stage"], as_index=False).tail(1)
    latest = latest.sort_values("net_import_reliance", ascending=False, na_position="last")
    figs = {}
    outside = routes.sort_values("outside_share", ascending=False).head(25)
    if len(outside):
        figs["routes"] = figures.bars(outside.assign(label=outside["material"] + " · " + outside["stage"]),
                                      "label", "max_outside_share",
                                      f"{importer}: largest single outside supplier's share of imports",
                                      "share of imports", percent=True, threshold=65.0,
                                      threshold_label="CRMA 65 %")
    year = int(routes["year"].max()) if len(routes) else None
    tables = [
        Table("routes", f"{importer}: partner and outside suppliers, {year}", [
            Column("material", "Material", "link"), Column("stage", "Stage"), Column("imports", "Imports (kUSD)",
                                                                                      "float"),
            Column("partner_share", "Partners", "share"), Column("outside_share", "Outside", "share"),
            Column("top_outside_supplier", "Largest outside supplier"),
            Column("max_outside_share", "Its share", "share"), Column("exceeds_65pct", "Over 65 %")],
            _rows(routes), source="CEPII BACI HS92 (bundled)", formula=ROUTES_FORMULA,
            download=f"/data/routes.csv?importer={importer}",
            empty=f"No imports of the catalogue's HS codes recorded for {importer}."),
        Table("reliance", f"{importer}: net import reliance (latest year with production)", [
            Column("material", "Material", "link"), Column("stage", "Stage"), Column("year", "Year", "year"),
            Column("production_t", "Production t", "float"), Column("net_imports_t", "Net imports t", "float"),
            Column("net_import_reliance", "Reliance", "share"), Column("nir_note", "Why no figure")],
            _rows(latest), source="World Mining Data 2025 (production), CEPII BACI (trade)", formula=NIR_FORMULA,
            download=f"/data/import-reliance.csv?importer={importer}")]
    if importer == "USA":
        us = chain.risk.us_exposure()
        tables.append(Table("us-imports", "US imports to 2026 by HS-4 heading (USITC DataWeb)", [
            Column("hs4", "HS-4"), Column("material", "Material", "link"), Column("period", "Period"),
            Column("imports_usd", "Imports", "usd"), Column("partnership_share", "Partnership", "share"),
            Column("top_supplier", "Largest supplier"), Column("top_supplier_share", "Its share", "share"),
            Column("china_share", "China", "share"), Column("imports_usd_change", "Change", "share")],
            _rows(us), source="USITC DataWeb (imports for consumption; shares of the 18 recorded partners)",
            formula="change against the same months a year earlier; mixed headings are HS-4 totals of several "
                    "products", download="/data/us-imports.csv"))
    flagged = int(routes["exceeds_65pct"].sum()) if len(routes) else 0
    known = latest.dropna(subset=["net_import_reliance"])
    keys = [{"label": "Materials over the 65 % single-supplier benchmark", "value": f"{flagged} of {len(routes)}",
             "source": "#routes"},
            {"label": "Materials over 90 % import reliant", "value": str(int((known["net_import_reliance"] > 0.9)
                                                                           .sum())), "source": "#reliance"}]
    return {"name": f"Trade routes and import reliance — {importer}", "key_figures": keys, "tables": tables,
            "figures": figs, "importer": importer}


def calibration_tables(chain) -> list[Table]:
    """The Scenarios page's tables: modelled against recorded disruptions, and the parameters in use."""
    check = chain.scenarios.calibration_check()
    parameters = chain.scenarios.parameters()
    return [
        Table("calibration", "The model against recorded disruptions", [
            Column("event_id", "Event"), Column("market", "Market"),
            Column("recorded_price_change", "Recorded price change", "share"),
            Column("modelled_price_change", "Modelled", "share"),
            Column("recorded_supply_cut", "Recorded supply cut", "share"),
            Column("modelled_supply_cut", "Modelled", "share"), Column("used_in_calibration", "Used"),
            Column("note", "Note")], _rows(check),
            source="the sourced facts (disruption_history, stocks) and the shipped scenarios",
            formula="minsec scenario calibrate: each recorded event rerun as a scenario; an event that does not "
                    "identify an elasticity is shown, not used", download="/data/calibration.csv"),
        Table("parameters", "Market-response parameters in use", [
            Column("market", "Market"), Column("demand_elasticity", "Demand elasticity", "float"),
            Column("source_demand_elasticity", "Source"), Column("supply_elasticity", "Supply elasticity", "float"),
            Column("source_supply_elasticity", "Source"), Column("spare_capacity_share", "Spare capacity", "share"),
            Column("ramp_up_months", "Ramp-up (months)", "float"), Column("source_ramp_up_months", "Source")],
            _rows(parameters),
            source="minsec scenario parameters (each with its source or marked a shared assumption)",
            download="/data/parameters.csv")]


def price_tables(chain) -> list[Table]:
    """The Markets page's table of bundled price series (latest price, span, source)."""
    series = chain.markets.price_series()
    return [Table("price-series", "Bundled price series", [
        Column("material", "Material", "link"), Column("stage", "Stage"), Column("source", "Source"),
        Column("frequency", "Frequency"), Column("first", "From"), Column("last", "To"),
        Column("latest_usd_per_t", "Latest USD/t", "usd")], _rows(series),
        source="USGS MCS salient tables, World Bank Pink Sheet, company and agency reports (markets/PROVENANCE)",
        formula="minsec markets prices; a floor or tariff calibrates on one of these with --material",
        download="/data/price-series.csv")]


def price_model_table(chain, material: str) -> Table:
    """The price models fitted on one material's bundled series, each parameter with its standard error and
    whether the series identifies it (``minsec markets calibrate``)."""
    table = chain.markets.calibrate(material=material)
    skipped = "; ".join(table.attrs.get("skipped", []))
    return Table("price-models", table.attrs.get("title", f"Price models for {material}"), [
        Column("model", "Model"), Column("parameter", "Parameter"), Column("estimate", "Estimate", "float"),
        Column("std_error", "Std error", "float"), Column("identified", "Identified"),
        Column("aic", "AIC", "float"), Column("points", "Prices", "int"), Column("period", "Period")],
        _rows(table), source=(table["source"].iloc[0] if len(table) else "") + (f" — not fitted: {skipped}"
                                                                               if skipped else ""),
        formula="maximum likelihood; a parameter is identified when its standard error is no larger than the "
                "estimate — a valuation never uses one that is not (docs/methods.md, Market mechanisms)",
        empty=f"No model could be fitted: {skipped}")


def reference_table(chain, material: str) -> Table:
    """The market-based reference price of one material (``minsec markets reference-price``)."""
    table = chain.markets.reference_price(material, "market")
    return Table("reference-price", f"Reference price: {material}", [
        Column("method", "Method"), Column("reference_usd_per_t", "USD/t", "usd"),
        Column("window_years", "Window (years)", "float"), Column("observations", "Prices", "int"),
        Column("excluded_as_distorted", "Left out as distorted", "int"), Column("first", "From"),
        Column("last", "To"), Column("source", "Source")], _rows(table),
        formula="the trailing mean of the undistorted prices over the window (cost-based and basket references: "
                "`minsec markets reference-price --method cost|basket`)")


def sources_view(chain) -> dict[str, Any]:
    """Every source of the loaded dataset: edition, years, licence, rows and its known gaps (``minsec data
    info``)."""
    table = chain.sources()
    table = table.assign(gaps=table["known_gaps"].map(len),
                         first_gaps=table["known_gaps"].map(lambda gaps: " | ".join(gaps[:3])))
    manifest = chain.manifest
    return {"name": "Data sources", "tables": [Table("sources", f"The dataset (format {manifest['format']}, built "
                                                                f"{manifest['built']})", [
        Column("source", "Source"), Column("title", "Title"), Column("edition", "Edition"),
        Column("years", "Years"), Column("licence", "Licence"), Column("rows", "Rows", "int"),
        Column("gaps", "Known gaps", "int"), Column("first_gaps", "The first of them")], _rows(table),
        source="each source's PROVENANCE.md in data/raw/; the bundled dataset's manifest",
        download="/data/sources.csv")], "key_figures": [], "figures": {}}
