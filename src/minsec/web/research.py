"""The research pillar as the dashboard page ``/research``: where the partnership's research effort sits against
its risk (the gaps), the overlaps between partners, and the registry of programmes with their sources.

Pure: takes the supply chain, returns a view (tables with sources and formulas, figures)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from minsec.web import figures
from minsec.web.views import Column, Table, _rows

#: scenarios behind the page's expected GDP losses (the CLI's `research gaps` default is larger)
PAGE_SCENARIOS = 2_000
GAPS_FORMULA = ("attention = the partnership's expected GDP loss from disruptions of the material (+ the magnets' "
                "loss × the share of their output that needs it) × the leading country's share of the stage; gap = "
                "attention / max(research US$ on the material and stage, US$1 M) — docs/methods.md, 'Research "
                "programmes'")


def research_view(chain) -> dict[str, Any]:
    """The page: the gaps (chart and table), the overlaps, research money by partner and stage, the registry."""
    programmes = chain.research.programmes()
    gaps = chain.research.gaps(PAGE_SCENARIOS, 0)
    top = gaps.head(20).assign(label=lambda t: t["material"] + " · " + t["stage"])
    figs = {"gaps": figures.bars(top, "label", "attention_per_research_usd",
                                 f"Largest gaps: expected loss per research dollar ({PAGE_SCENARIOS:,} scenarios)",
                                 "USD of weighted expected loss a year per USD of research")}
    spend = programmes.explode("stages").dropna(subset=["budget_usd"])
    by_stage = (spend.groupby(["stages", "partner"], as_index=False)["budget_usd"].sum()
                .rename(columns={"stages": "stage"}))
    if len(by_stage):
        figs["spend"] = figures.bars(by_stage.assign(budget_musd=by_stage["budget_usd"] / 1e6), "stage",
                                     "budget_musd", "Research budgets stated, by stage and partner (US$ M)",
                                     "US$ M", color="partner")
    overlaps = gaps[gaps["overlap"]].sort_values("attention_usd", ascending=False)
    registry = programmes.assign(materials=programmes["materials"].map(", ".join),
                                 stages=programmes["stages"].map(", ".join))
    tables = [
        Table("gaps", "Research gaps by material and stage", [
            Column("gap_rank", "Rank", "int"), Column("material", "Material", "link"), Column("stage", "Stage"),
            Column("expected_gdp_loss_usd", "Expected GDP loss a year", "usd"), Column("top_country", "Leader"),
            Column("top_share", "Leader share", "share"), Column("programmes", "Programmes", "int"),
            Column("partners", "Partners"), Column("research_usd", "Research US$", "usd"),
            Column("attention_per_research_usd", "Loss per research $", "float")], _rows(gaps),
            source=f"minsec research gaps: ensemble of {PAGE_SCENARIOS:,} year-long scenarios, input-output tables "
                   "(BEA 2024, WIOD 2011), USGS/WMD concentration, the registry below", formula=GAPS_FORMULA,
            download="/data/research-gaps.csv"),
        Table("overlaps", "Overlaps: the same material and stage researched by several partners", [
            Column("material", "Material", "link"), Column("stage", "Stage"), Column("partners", "Partners"),
            Column("programmes", "Programmes", "int"), Column("research_usd", "Research US$", "usd"),
            Column("programme_names", "Programmes named")], _rows(overlaps),
            source="the registry below", formula="a material × stage with programmes of two or more partners",
            empty="No material and stage is researched by two partners."),
        Table("programmes", f"Registry: {programmes['programme'].nunique()} programmes, {len(programmes)} rows", [
            Column("programme", "Programme"), Column("project", "Project"), Column("partner", "Partner"),
            Column("funder", "Funder"), Column("budget", "Budget", "float"), Column("currency", "Currency"),
            Column("budget_usd", "US$", "usd"), Column("start_year", "From", "year"), Column("end_year", "To", "year"),
            Column("materials", "Materials"), Column("stages", "Stages"), Column("source_title", "Source")],
            _rows(registry.drop(columns=["source_url"])),
            source="data/raw/research/PROVENANCE.md (public sources per row; budgets in US$ at the Federal "
                   "Reserve's 2023 annual averages, facts FX001–FX006)",
            formula="a budget the source does not state stays empty; a programme's rows are not sums",
            download="/data/research-programmes.csv")]
    best = gaps.iloc[0] if len(gaps) else None
    no_programme = gaps[gaps["programmes"] == 0]
    key_figures = [{"label": "Programmes in the registry", "value": f"{programmes['programme'].nunique()}",
                    "source": "#programmes"},
                   {"label": "Material × stage pairs with no programme", "value": f"{len(no_programme)} of {len(gaps)}",
                    "source": "#gaps"}]
    if best is not None:
        key_figures.append({"label": "Largest gap", "value": f"{best['material']} · {best['stage']}",
                            "source": "#gaps"})
    return {"name": "Research programmes against risk", "key_figures": key_figures, "tables": tables,
            "figures": figs}


def research_section(chain, material: str) -> pd.DataFrame:
    """The programmes on one material (and the general ones) for its briefing page."""
    return chain.research.programmes(material=material)
