"""``minsec stockpile …``: what to buy with a budget, the efficient frontier, the value of cooperation
(``sc.stockpile``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minsec.cli.core import Format, FormatOption, ProgressBar, chain, emit, emit_json, fail, note

stockpile_app = typer.Typer(help="Stockpile planning: optimise purchases over disruption scenarios.",
                            no_args_is_help=True)

BudgetOption = Annotated[float, typer.Option("--budget", "--budget-usd", help="Budget in USD (e.g. 12e9, Project "
                                                                             "Vault).")]
ScenariosOption = Annotated[Path | None, typer.Option(
    "--scenarios", help="Your scenario shortfalls, CSV/Parquet 'scenario,material,shortfall_t,probability"
                        "[,holder]'. Default: a minsec ensemble.")]
EnsembleOption = Annotated[int, typer.Option("--ensemble", help="Scenarios of the minsec ensemble (one year each).")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the ensemble.")]
HoldersOption = Annotated[str, typer.Option(
    "--holders", help="Who holds stock: partner regions (US, EU, JPN …) and/or 'joint' (a pool).")]
MembersOption = Annotated[str, typer.Option(
    "--members", help="Parties a joint pool serves, when no national holder is named.")]
PricesOption = Annotated[Path | None, typer.Option(
    "--prices", help="CSV 'material,price_usd_per_t' overriding the bundled reference prices.")]
LossOption = Annotated[Path | None, typer.Option(
    "--loss-per-tonne", help="CSV 'material,loss_usd_per_t' (default 4.31 × price, USGS MCS 2024 Fig. 1).")]
CvarOption = Annotated[float | None, typer.Option(
    "--cvar", help="Add the CVaR of the annual loss at this level (e.g. 0.95) to the objective.")]
HoldingOption = Annotated[float, typer.Option(
    "--holding-cost-rate", help="Holding cost per year as a share of purchase value (0 switches it off).")]
ShareOption = Annotated[float, typer.Option(
    "--max-market-share", help="At most this share of a year's world supply bought (1 switches it off).")]
YearsOption = Annotated[float, typer.Option("--horizon-years", help="Years the stockpile serves.")]
SharingOption = Annotated[str, typer.Option("--sharing", help="Joint pool: 'need' or 'pro_rata'.")]
MinDaysOption = Annotated[float, typer.Option(
    "--min-days", help="Minimum holding per holder and material in days of consumption (e.g. 60, JOGMEC).")]
MethodOption = Annotated[str, typer.Option("--method", help="auto (fast path where it applies), lp or fast.")]
MaterialsOption = Annotated[str | None, typer.Option(
    "--materials", help="Only these materials or families, comma-separated (e.g. rare_earths,magnets: the "
                        "separated rare-earth oxides and NdFeB magnets).")]
SchedulerOption = Annotated[str, typer.Option(
    "--scheduler", help="Ensemble executor: 'none' (in process), 'local', 'threads' (Dask in this process) or "
                        "a Dask scheduler address.")]


@stockpile_app.command("optimize")
def stockpile_optimize(
    budget: BudgetOption, scenarios: ScenariosOption = None, ensemble: EnsembleOption = 2_000, seed: SeedOption = 0,
    holders: HoldersOption = "US,EU,joint", members: MembersOption = "US,EU",
    cvar: CvarOption = None, prices: PricesOption = None, loss_per_tonne: LossOption = None,
    holding_cost_rate: HoldingOption = 0.02, max_market_share: ShareOption = 0.10,
    horizon_years: YearsOption = 15.0, sharing: SharingOption = "need", min_days: MinDaysOption = 0.0,
    method: MethodOption = "auto", scheduler: SchedulerOption = "none", materials: MaterialsOption = None,
    releases: Annotated[Path | None, typer.Option("--releases", help="Write the release policy per scenario "
                                                                    "(CSV or Parquet).")] = None,
    split: Annotated[str | None, typer.Option("--split", help="Also compare separate stockpiles with this "
                                                              "budget split (e.g. US=0.5,EU=0.5) and a joint "
                                                              "pool.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Which materials, how many tonnes, held by whom, and how much expected loss that avoids."""
    import pandas as pd

    from minsec.data.files import writable

    if releases is not None:
        writable(releases, "--releases")

    with ProgressBar(fmt, "ensemble", ensemble) as bar:
        result = chain().stockpile.optimize(
            budget, method=method, split=split, scenarios=scenarios, ensemble=ensemble, seed=seed, holders=holders,
            members=members, cvar=cvar, prices=prices, loss_per_tonne=loss_per_tonne,
            holding_cost_rate=holding_cost_rate, max_market_share=max_market_share, horizon_years=horizon_years,
            sharing=sharing, min_days=min_days, scheduler=scheduler, materials=materials, progress=bar.advance)
    if releases is not None:
        if releases.suffix.lower() == ".parquet":
            result.releases.to_parquet(releases, index=False)
        else:
            result.releases.to_csv(releases, index=False)
    if fmt is Format.json:
        emit_json(result.to_dict())
    elif fmt is Format.csv:
        emit(result.plan.assign(objective_usd=result.summary["objective_usd"],
                                budget_multiplier=result.summary["budget_multiplier"]), fmt)
    else:
        summary = result.summary
        emit(pd.DataFrame({"figure": list(summary), "value": [str(v) if not isinstance(v, float) else v
                                                              for v in summary.values()]}),
             fmt, "Stockpile plan: summary")
        columns = ["material", "holder", "quantity_t", "cost_usd", "days_of_cover", "expected_shortfall_t",
                   "expected_unmet_t", "avoided_loss_usd_per_year", "share_of_world_supply_pct"]
        shown = result.plan[result.plan["quantity_t"] > 1e-9] if len(result.plan) else result.plan
        emit(shown[columns] if len(shown) else result.plan, fmt, "Purchases per material and holder")
        emit(result.reference_points[["record_id", "program", "parameter", "reference_value", "unit", "plan_value",
                                      "comparison"]], fmt, "Compared with published stockpiles")
        if result.cooperation is not None:
            emit(result.cooperation, fmt, "Value of cooperation")
    for warning in result.warnings:
        note(warning)


@stockpile_app.command("frontier")
def stockpile_frontier(
    budgets: Annotated[str, typer.Option("--budgets", help="Comma-separated budgets in USD, e.g. 0,1e9,5e9,12e9."
                                         )] = "0,5e8,1e9,2e9,5e9,1.2e10,2e10",
    scenarios: ScenariosOption = None, ensemble: EnsembleOption = 2_000, seed: SeedOption = 0,
    holders: HoldersOption = "joint", members: MembersOption = "US,EU",
    cvar: CvarOption = None, prices: PricesOption = None, loss_per_tonne: LossOption = None,
    holding_cost_rate: HoldingOption = 0.02, max_market_share: ShareOption = 0.10,
    horizon_years: YearsOption = 15.0, sharing: SharingOption = "need", min_days: MinDaysOption = 0.0,
    method: MethodOption = "auto", scheduler: SchedulerOption = "none", materials: MaterialsOption = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the frontier chart (HTML, plotly.js "
                                                             "embedded: opens offline).")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Efficient frontier: budget → expected annual loss (the model is built once and re-solved)."""
    from minsec.data.files import writable
    from minsec.stockpile.plan import frontier_figure

    if plot is not None:
        writable(plot, "--plot")

    try:
        values = [float(b) for b in budgets.split(",") if b.strip()]
    except ValueError:
        fail(f"--budgets {budgets!r}: expected comma-separated numbers")
    with ProgressBar(fmt, "ensemble", ensemble) as bar:
        table = chain().stockpile.frontier(
            values, method=method, holders=holders, scenarios=scenarios, ensemble=ensemble, seed=seed,
            members=members, cvar=cvar, prices=prices, loss_per_tonne=loss_per_tonne,
            holding_cost_rate=holding_cost_rate, max_market_share=max_market_share, horizon_years=horizon_years,
            sharing=sharing, min_days=min_days, scheduler=scheduler, materials=materials, progress=bar.advance)
    if plot is not None:
        frontier_figure(table).write_html(plot, include_plotlyjs=True, full_html=True)
    emit(table, fmt, "Efficient frontier")
    for warning in table.attrs.get("warnings", []):
        note(warning)
    if plot is not None and fmt is Format.table:
        typer.echo(f"chart written to {plot}", err=True)
