"""``minsec invest …``: the project pipeline, capacity benchmarks and joint portfolio selection (``sc.invest``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minsec.cli.core import Format, FormatOption, chain, emit, emit_json

invest_app = typer.Typer(help="Joint investments: the project pipeline, CRMA benchmarks and a US analogue, and "
                              "the portfolio that buys the most security per dollar.", no_args_is_help=True)

ProjectsOption = Annotated[Path | None, typer.Option("--projects", help="Pipeline CSV in the bundled format "
                                                                        "(default: the 113 bundled projects).")]
FillOption = Annotated[Path | None, typer.Option("--fill", help="CSV filling gaps or adding projects: "
                                                                "project_id and any of capex_usd, "
                                                                "capacity_t_per_yr, expected_start_year, "
                                                                "ramp_up_years (new projects: also name, "
                                                                "country, material, stages).")]
ConsumptionOption = Annotated[Path | None, typer.Option("--consumption", help="CSV region, material, "
                                                                              "consumption_t (optional current_*_t) "
                                                                              "replacing the bundled apparent "
                                                                              "consumption.")]
RegionsOption = Annotated[str, typer.Option("--regions", help="Benchmark regions: EU27 (the CRMA), USA (the US "
                                                              "analogue), or both.")]
YearsOption = Annotated[str, typer.Option("--years", help="Trajectory years FIRST:LAST.")]
DefaultStartOption = Annotated[int, typer.Option("--default-start", help="Start year assumed for projects whose "
                                                                        "source states none (flagged).")]


@invest_app.command("pipeline")
def invest_pipeline(projects: ProjectsOption = None, fill: FillOption = None,
                    evaluable_only: Annotated[bool, typer.Option("--evaluable", help="Only projects the optimiser "
                                                                                    "can evaluate.")] = False,
                    fmt: FormatOption = Format.table) -> None:
    """The project pipeline with minsec's material, stages, converted capacity and what is missing."""
    sc = chain()
    table = sc.invest.pipeline(projects, fill)
    shown = table[table["evaluable"]] if evaluable_only else table
    from minsec.investment.accessor import PIPELINE_COLUMNS

    emit(shown[PIPELINE_COLUMNS], fmt,
         f"Project pipeline ({int(shown['evaluable'].sum())} of {len(shown)} evaluable)")


@invest_app.command("benchmarks")
def invest_benchmarks(regions: RegionsOption = "EU27,USA", projects: ProjectsOption = None, fill: FillOption = None,
                      consumption: ConsumptionOption = None, years: YearsOption = "2026:2035",
                      default_start: DefaultStartOption = 2030, fmt: FormatOption = Format.table) -> None:
    """Where each region stands against the capacity benchmarks (10 % extraction, 40 % processing, 25 %
    recycling of consumption), and when the evaluable pipeline would meet them."""
    emit(chain().invest.benchmarks(regions, projects, fill, consumption, years, default_start), fmt,
         "Benchmarks: share of consumption from the region's capacity (current + pipeline projects with a "
         "capacity)")


@invest_app.command("optimize")
def invest_optimize(
    budget: Annotated[float, typer.Option("--budget", "--budget-usd", help="Joint budget in USD.")],
    objective: Annotated[str, typer.Option("--objective", help="benchmarks (CRMA gap points) or shortfall "
                                                               "(expected annual loss avoided, from the "
                                                               "ensemble).")] = "benchmarks",
    regions: RegionsOption = "EU27,USA", split: Annotated[str | None, typer.Option(
        "--split", help="Each partner's share of the budget, e.g. US=0.5,EU=0.5 (default: one joint "
                        "funder).")] = None,
    funding: Annotated[str, typer.Option(
        "--funding", help="Who may pay for which project with --split: home (a partner pays for projects on its "
                          "own territory and in third countries, never on another partner's), pro-rata (every "
                          "project in the budget shares) or pooled (any budget, any project).")] = "home",
    projects: ProjectsOption = None, fill: FillOption = None, consumption: ConsumptionOption = None,
    ensemble: Annotated[int, typer.Option("--ensemble", help="Scenarios for the shortfall objective.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Ensemble seed.")] = 0,
    years: YearsOption = "2026:2035", default_start: DefaultStartOption = 2030, fmt: FormatOption = Format.table,
) -> None:
    """Choose projects and funding shares under a joint budget: chosen projects, cost per tonne, the needs they
    meet, the benchmark trajectory with and without them, the marginal value of the next dollar, and the
    projects that could not be evaluated (fill them with --fill)."""
    import pandas as pd

    from minsec.cli.core import Working

    with Working("choosing the portfolio (MILP, HiGHS)"):
        result = chain().invest.optimize(budget, objective, regions=regions, split=split, projects=projects,
                                         fill=fill, consumption=consumption, ensemble=ensemble, seed=seed,
                                         years=years, default_start=default_start, funding=funding)
    if fmt is Format.json:
        emit_json(result.to_dict())
        return
    summary = result.summary
    emit(pd.DataFrame([{k: v for k, v in summary.items() if k != "marginal_value"}
                       | {f"marginal_{k}": v for k, v in summary["marginal_value"].items()}]), fmt, "Portfolio")
    emit(result.chosen, fmt, "Chosen projects")
    if fmt is Format.table:
        emit(result.needs.drop(columns=["countries"]), fmt, "Needs and how far they are met")
        emit(result.trajectory, fmt, "Benchmark trajectory (with the portfolio vs without)")
        emit(result.not_evaluated, fmt, "Not evaluated (fill with --fill)")
