"""Joint investments as the dashboard page ``/invest``: where each region stands against the capacity benchmarks
and the project pipeline; a portfolio run as a job (its result drawn by :func:`portfolio_result`).

Pure: takes the supply chain (or a job's result), returns a view (tables with sources and formulas, figures)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from minsec.web import figures
from minsec.web.views import Column, Table, _rows

BENCHMARKS_FORMULA = ("share = the region's capacity at the stage (current + pipeline projects with a capacity) / "
                      "its consumption; targets 10 % extraction, 40 % processing, 25 % recycling (EU CRMA, "
                      "Regulation (EU) 2024/1252 Art. 5); a share whose current capacity is not recorded is empty, "
                      "not 0: the pipeline's addition is then shown alone, a lower bound; a material in scope "
                      "without a consumption is listed as not assessed, with why")


def benchmark_shares(chain) -> pd.DataFrame:
    """``minsec invest benchmarks``: a share whose current capacity the data do not record is null, not 0."""
    return chain.invest.benchmarks()


def invest_view(chain) -> dict[str, Any]:
    """The page: benchmark shares now and at the end of the span per region, material and stage; the pipeline."""
    bench = benchmark_shares(chain)
    processing = bench[bench["stage"] == "processing"].dropna(subset=["share_end_pct"])
    processing = processing[processing["share_end_pct"] > 0].assign(
        label=lambda t: t["material"] + " · " + t["region"])
    figs = {}
    if len(processing):
        figs["benchmarks"] = figures.bars(processing.sort_values("share_end_pct", ascending=False).head(25),
                                          "label", "share_end_pct",
                                          "Processing capacity with the pipeline, % of consumption (2035)",
                                          "% of consumption", threshold=40.0, threshold_label="CRMA 40 %")
    pipeline = chain.invest.pipeline()
    from minsec.investment.accessor import PIPELINE_COLUMNS

    by_country = pipeline.groupby("country", as_index=False).size().rename(columns={"size": "projects"})
    figs["pipeline"] = figures.bars(by_country.sort_values("projects", ascending=False), "country", "projects",
                                    "Pipeline projects by country", "projects")
    tables = [
        Table("benchmarks", "Capacity benchmarks by region, material and stage", [
            Column("region", "Region"), Column("material", "Material", "link"), Column("stage", "Stage"),
            Column("target_pct", "Target %", "float"), Column("share_now_pct", "Now %", "float"),
            Column("share_end_pct", "With pipeline %", "float"),
            Column("share_added_pct", "Pipeline adds %", "float"), Column("first_year_met", "Met in", "year"),
            Column("consumption_t", "Consumption t/yr", "float"), Column("note", "Note")],
            _rows(bench), source="minsec invest benchmarks: bundled production and consumption, the project "
                                 "pipeline (data/raw/projects)", formula=BENCHMARKS_FORMULA,
            download="/data/invest-benchmarks.csv"),
        Table("pipeline", f"Project pipeline ({int(pipeline['evaluable'].sum())} of {len(pipeline)} evaluable)",
              [Column("project_id", "Project"), Column("name", "Name"), Column("country", "Country"),
               Column("material", "Material", "link"), Column("stages", "Stages"),
               Column("capacity_t_per_yr", "Capacity t/yr", "float"), Column("capex_usd", "Capex", "usd"),
               Column("expected_start_year", "Start", "year"), Column("not_evaluable", "Missing")],
              _rows(pipeline[PIPELINE_COLUMNS]), source="data/raw/projects/PROVENANCE.md (EU CRMA strategic "
                                                       "projects, US programmes, company filings)",
              formula="capacity converted to minsec's basis; a project without capex or capacity cannot be "
                      "evaluated by the optimiser (fill them with `minsec invest optimize --fill`)",
              download="/data/invest-projects.csv")]
    met = bench[bench["first_year_met"].notna()]
    key_figures = [{"label": "Pipeline projects", "value": f"{len(pipeline)} ({int(pipeline['evaluable'].sum())} "
                                                           "evaluable)", "source": "#pipeline"},
                   {"label": "Benchmarks met by 2035 with the pipeline",
                    "value": f"{len(met)} of {int(bench['assessed'].sum())}", "source": "#benchmarks"},
                   {"label": "Materials in scope not assessed",
                    "value": f"{int((~bench['assessed'].astype(bool)).sum())}", "source": "#benchmarks"}]
    return {"name": "Joint investments", "key_figures": key_figures, "tables": tables, "figures": figs}


def portfolio_result(result: dict[str, Any]) -> dict[str, Any]:
    """A finished ``invest_portfolio`` job: the chosen projects and the needs they meet."""
    summary = result.get("summary", {})
    chosen = pd.DataFrame(result.get("chosen", []))
    paid_by = [Column(c, f"Paid by {c[len('funding_'):-len('_usd')]}", "usd") for c in chosen.columns
               if c.startswith("funding_")]
    tables = [Table("portfolio-chosen", "Chosen projects", [
        Column("project_id", "Project"), Column("name", "Name"), Column("country", "Country"),
        Column("material", "Material", "link"), Column("capacity_t_per_yr", "Capacity t/yr", "float"),
        Column("capex_usd", "Capex", "usd"), *paid_by, Column("expected_start_year", "Start", "year")],
        _rows(chosen), source="minsec invest optimize (MILP, HiGHS)",
        formula=f"{summary.get('objective_unit', '')}; funding: {summary.get('funding_rule', '')}",
        empty="No project chosen: none of the evaluable projects closes a need within the budget.")]
    spent, budget = summary.get("spent_usd", 0) / 1e9, summary.get("budget_usd", 0) / 1e9
    key_figures = [{"label": "Spent of the budget", "value": f"US${spent:,.2f} bn of {budget:,.2f}",
                    "source": "#portfolio-chosen"},
                   {"label": "Projects chosen", "value": str(summary.get("projects_chosen", 0)),
                    "source": "#portfolio-chosen"}]
    return {"figures": {}, "tables": tables, "key_figures": key_figures}
