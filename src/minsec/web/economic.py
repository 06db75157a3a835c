"""The economic cost of disruptions as the dashboard page ``/economic``: the partnership's ranking of materials by
expected GDP loss, each partner's losses, and the US ranking beside the USGS 2025 one; a larger run with the
partnership's levers as a job (its result drawn by :func:`impact_result`).

Pure: takes the supply chain (or a job's result), returns a view (tables with sources and formulas, figures)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from minsec.web import figures
from minsec.web.research import PAGE_SCENARIOS
from minsec.web.views import Column, Table, _rows

#: the sourced fact holding the USGS 2025 order of the ten largest US losses (OFR 2025-1047)
USGS_RANKING_RECORD = "VR050"
METHOD = ("expected GDP loss = Σ over year-long disruption scenarios (equal weights 1/n, drawn from the event model) "
          "of the quantity channel (lost output of the first-using industries through the Leontief inverse) + the "
          "price channel (extra cost of what buyers still get); USGS OFR 2025-1047 method, simplified: "
          "docs/methods.md, 'Economic cost'")
SOURCE = ("minsec risk economic-impact: bundled supply and trade (USGS MCS 2026, CEPII BACI), input-output tables "
          "(BEA 2024 summary, WIOD 2013), first users (data/raw/io_tables, catalogue first_users.csv)")


def usgs_ranking(chain) -> list[str]:
    """The USGS 2025 top ten in order, from the sourced-facts table (empty when the record is absent)."""
    facts = chain.parameter_facts
    row = facts[facts["record_id"] == USGS_RANKING_RECORD]
    return [m.strip() for m in str(row["material"].iloc[0]).split(";")] if len(row) else []


def economic_view(chain) -> dict[str, Any]:
    """The page: the partnership's ranking (chart and table), the losses per partner, the USGS comparison."""
    impact = chain.scenarios.economic_impact("partnership", PAGE_SCENARIOS, 0)
    ranking = impact.partnership
    known = ranking.dropna(subset=["expected_gdp_loss_usd"])
    top = known.head(15).assign(loss_busd=lambda t: t["expected_gdp_loss_usd"] / 1e9)
    figs = {"ranking": figures.bars(top, "material", "loss_busd",
                                    f"Partnership: expected GDP loss a year by material ({PAGE_SCENARIOS:,} "
                                    "scenarios)", "US$ bn a year")}
    by_material = impact.by_material
    totals = by_material.groupby("importer")["expected_gdp_loss_usd"].sum(min_count=1).reset_index()
    order = {importer: i for i, importer in
             enumerate(totals.sort_values("expected_gdp_loss_usd", ascending=False)["importer"])}
    # partners in the order of their total loss, each one's five largest
    per_partner = (by_material.dropna(subset=["expected_gdp_loss_usd"])
                   .assign(_order=lambda t: t["importer"].map(order))
                   .sort_values(["_order", "expected_gdp_loss_usd"], ascending=[True, False])
                   .groupby("importer", sort=False).head(5).drop(columns="_order"))
    figs["partners"] = figures.bars(totals.sort_values("expected_gdp_loss_usd", ascending=False)
                                    .assign(loss_busd=lambda t: t["expected_gdp_loss_usd"] / 1e9),
                                    "importer", "loss_busd", "Expected GDP loss a year by partner, all materials",
                                    "US$ bn a year")
    comparison = usgs_comparison(by_material, usgs_ranking(chain))
    unknown = ranking[ranking["expected_gdp_loss_usd"].isna()]
    tables = [
        Table("ranking", f"The partnership's ranking ({PAGE_SCENARIOS:,} year-long scenarios, seed 0)", [
            Column("rank", "Rank", "int"), Column("material", "Material", "link"),
            Column("expected_gdp_loss_usd", "Expected GDP loss /yr", "usd"),
            Column("material_value_at_risk_usd", "Material value at risk /yr", "usd"),
            Column("importers", "Partners"), Column("importers_unknown", "No figure for")], _rows(ranking),
            source=SOURCE, formula=METHOD, download="/data/economic-ranking.csv",
            empty="No material has a loss figure: the economic model found no first users with prices "
                  "(run `minsec risk economic-impact` for the reasons per material)."),
        Table("partners", "Each partner's five largest expected losses", [
            Column("importer", "Partner"), Column("material", "Material", "link"),
            Column("expected_gdp_loss_usd", "Expected /yr", "usd"), Column("p95_gdp_loss_usd", "95th pct", "usd"),
            Column("expected_shortfall_t", "Expected shortfall t", "float"),
            Column("industries_most_hit", "Industries most hit"), Column("basis", "Demand basis")],
            _rows(per_partner), source=SOURCE, formula=METHOD, download="/data/economic-impact.csv"),
        Table("usgs", "The US ranking beside the USGS 2025 ranking", [
            Column("usgs_rank", "USGS rank", "int"), Column("material", "Material", "link"),
            Column("minsec_us_rank", "minsec US rank", "int"),
            Column("expected_gdp_loss_usd", "minsec US expected loss /yr", "usd"), Column("note", "Note")],
            _rows(comparison), source=f"USGS OFR 2025-1047 (sourced fact {USGS_RANKING_RECORD}); minsec's US rows",
            formula="why they differ: docs/methods.md, 'Against the USGS 2025 ranking'",
            empty=f"The sourced fact {USGS_RANKING_RECORD} (the USGS order) is not in the loaded data.")]
    overlap = int((comparison["minsec_us_rank"] <= 10).sum()) if len(comparison) else None
    key_figures = [
        {"label": "Partnership expected GDP loss a year",
         "value": f"US${known['expected_gdp_loss_usd'].sum() / 1e9:,.1f} bn", "source": "#ranking"},
        {"label": "Largest", "value": f"{known['material'].iloc[0]}" if len(known) else "none", "source": "#ranking"},
        {"label": "Materials without a figure", "value": f"{len(unknown)} of {len(ranking)}", "source": "#ranking"},
        {"label": "USGS top ten in minsec's US top ten",
         "value": f"{overlap} of {len(comparison)}" if overlap is not None else "not available", "source": "#usgs"}]
    return {"name": "Economic cost of disruptions", "key_figures": key_figures, "tables": tables, "figures": figs}


def usgs_comparison(by_material: pd.DataFrame, usgs: list[str]) -> pd.DataFrame:
    """The USGS top ten in order with minsec's US rank and expected loss for each (null, with a note, where
    minsec has no US figure for the material)."""
    us = by_material[(by_material["importer"] == "USA")].dropna(subset=["expected_gdp_loss_usd"])
    us = us.sort_values("expected_gdp_loss_usd", ascending=False).reset_index(drop=True)
    rank = {material: i + 1 for i, material in enumerate(us["material"])}
    loss = dict(zip(us["material"], us["expected_gdp_loss_usd"], strict=True))
    rows = []
    for i, material in enumerate(usgs, start=1):
        mine = rank.get(material)
        rows.append({"usgs_rank": i, "material": material, "minsec_us_rank": mine,
                     "expected_gdp_loss_usd": loss.get(material),
                     "note": "" if mine is not None else "no US figure in minsec (no price or no first users)"})
    return pd.DataFrame(rows, columns=["usgs_rank", "material", "minsec_us_rank", "expected_gdp_loss_usd", "note"])


def impact_result(result: dict[str, Any]) -> dict[str, Any]:
    """A finished ``economic_impact`` job: the ranking, the largest losses and, with levers, what each removes."""
    ensemble = result.get("ensemble", {})
    n = ensemble.get("n_scenarios")
    ranking = pd.DataFrame(result.get("partnership", []))
    by_material = pd.DataFrame(result.get("by_material", []))
    levers = pd.DataFrame(result.get("levers", []))
    figs = {}
    if len(ranking):
        known = ranking.dropna(subset=["expected_gdp_loss_usd"]).head(15)
        figs["impact-ranking"] = figures.bars(known.assign(loss_busd=known["expected_gdp_loss_usd"] / 1e9),
                                              "material", "loss_busd", f"Expected GDP loss a year ({n:,} scenarios)",
                                              "US$ bn a year")
    tables = [Table("impact-ranking", f"Ranking ({n:,} scenarios, seed {ensemble.get('seed')})", [
        Column("rank", "Rank", "int"), Column("material", "Material", "link"),
        Column("expected_gdp_loss_usd", "Expected GDP loss /yr", "usd"), Column("importers", "Importers"),
        Column("importers_unknown", "No figure for")], _rows(ranking), source=SOURCE, formula=METHOD)]
    if len(by_material):
        top = by_material.dropna(subset=["expected_gdp_loss_usd"]).sort_values("expected_gdp_loss_usd",
                                                                                ascending=False).head(30)
        tables.append(Table("impact-largest", "Largest losses by importer and material", [
            Column("importer", "Importer"), Column("material", "Material", "link"),
            Column("expected_gdp_loss_usd", "Expected /yr", "usd"), Column("p95_gdp_loss_usd", "95th pct", "usd"),
            Column("industries_most_hit", "Industries most hit")], _rows(top), source=SOURCE, formula=METHOD))
    if len(levers):
        removed = [c for c in levers.columns if c.startswith("removed_pct_")]
        tables.append(Table("impact-levers", "What the partnership's levers remove (share of the expected loss)", [
            Column("importer", "Importer"), Column("expected_gdp_loss_usd", "Expected loss /yr", "usd"),
            *[Column(c, c.removeprefix("removed_pct_").replace("_", " ") + " %", "float") for c in removed]],
            _rows(levers), source="levers: " + "; ".join(f"{k}: {v}" for k, v in
                                                         (result.get("levers_assumed") or {}).items()),
            formula="removed % = 100 × (1 − loss with the lever / loss without), on the same scenarios"))
    total = ranking["expected_gdp_loss_usd"].sum() if len(ranking) else None
    keys = [{"label": "Expected GDP loss a year, all materials",
             "value": f"US${total / 1e9:,.1f} bn" if total is not None else "none", "source": "#impact-ranking"}]
    return {"figures": figs, "tables": tables, "key_figures": keys}
