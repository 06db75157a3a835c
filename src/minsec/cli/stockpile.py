"""``minsec stockpile …``: what to buy with a budget, the efficient frontier, the value of cooperation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from minsec.cli import Format, FormatOption, emit
from minsec.cli.scenarios import _context, _guard

stockpile_app = typer.Typer(help="Stockpile planning: optimise purchases over disruption scenarios.",
                            no_args_is_help=True)

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
SchedulerOption = Annotated[str, typer.Option(
    "--scheduler", help="Ensemble executor: 'none' (in process), 'local' or a Dask scheduler address.")]


def _prepare(scenarios, ensemble, seed, holders, members, prices, loss, budget, cvar, holding_cost_rate,
             max_market_share, horizon_years, sharing, min_days, scheduler, fmt):
    from minsec.stockpile.inputs import JOINT, annual_sample, read_material_values, read_shortfall_table
    from minsec.stockpile.setup import parse_holders, prepare_problem

    holder_list = parse_holders(holders)
    context = _context()
    if scenarios is not None:
        sample = read_shortfall_table(scenarios)
    else:
        if ensemble < 1:
            raise ValueError("--ensemble must be at least 1")
        parties = [h for h in holder_list if h != JOINT]
        if JOINT in holder_list and not parties:
            parties = list(parse_holders(members))
        address = None if scheduler == "none" else scheduler
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), transient=True, disable=fmt is not Format.table) as bar:
            task = bar.add_task("ensemble", total=ensemble)
            sample = annual_sample(context, parties, ensemble, seed, address, progress=lambda k: bar.advance(task, k))
    price = read_material_values(prices, "price_usd_per_t") if prices is not None else None
    losses = read_material_values(loss, "loss_usd_per_t") if loss is not None else None
    return prepare_problem(context, sample, budget, holder_list, price, losses, cvar_alpha=cvar,
                           holding_cost_rate=holding_cost_rate, horizon_years=horizon_years,
                           max_market_share=max_market_share, sharing=sharing, min_days=min_days,
                           drop_unpriced=scenarios is None), context


def _records(frame):
    import numpy as np

    return frame.replace({np.nan: None}).to_dict(orient="records")


@stockpile_app.command("optimize")
def stockpile_optimize(
    budget: Annotated[float, typer.Option("--budget", help="Budget in USD (e.g. 12e9, Project Vault).")],
    scenarios: ScenariosOption = None, ensemble: EnsembleOption = 2_000, seed: SeedOption = 0,
    holders: HoldersOption = "US,EU,joint", members: MembersOption = "US,EU",
    cvar: CvarOption = None, prices: PricesOption = None, loss_per_tonne: LossOption = None,
    holding_cost_rate: HoldingOption = 0.02, max_market_share: ShareOption = 0.10,
    horizon_years: YearsOption = 15.0, sharing: SharingOption = "need", min_days: MinDaysOption = 0.0,
    method: MethodOption = "auto", scheduler: SchedulerOption = "none",
    releases: Annotated[Path | None, typer.Option("--releases", help="Write the release policy per scenario "
                                                                    "(CSV or Parquet).")] = None,
    split: Annotated[str | None, typer.Option("--split", help="Also compare separate stockpiles with this "
                                                              "budget split (e.g. US=0.5,EU=0.5) and a joint "
                                                              "pool.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Which materials, how many tonnes, held by whom, and how much expected loss that avoids."""

    def run():
        from minsec.stockpile.plan import cooperation, optimize, reference_points
        from minsec.stockpile.setup import parse_holders

        if method not in ("auto", "lp", "fast"):
            raise ValueError(f"--method must be auto, lp or fast (got {method!r})")
        prepared, context = _prepare(scenarios, ensemble, seed, holders, members, prices, loss_per_tonne, budget,
                                     cvar, holding_cost_rate, max_market_share, horizon_years, sharing,
                                     min_days, scheduler, fmt)
        plan = optimize(prepared.problem, prepared.facts, method)
        references = reference_points(plan, context.chain.dataset["parameter_facts"])
        coop = None
        if split:
            shares = {}
            for item in split.split(","):
                party, _, value = item.partition("=")
                try:
                    shares[parse_holders(party)[0]] = float(value)
                except ValueError:
                    raise ValueError(f"--split {item!r}: expected PARTY=SHARE") from None
            coop = cooperation(prepared.problem, shares, prepared.facts)
        if releases is not None:
            if releases.suffix.lower() == ".parquet":
                plan.releases.to_parquet(releases, index=False)
            else:
                plan.releases.to_csv(releases, index=False)
        table = plan.plan.assign(objective_usd=plan.summary["objective_usd"],
                                 budget_multiplier=plan.summary["budget_multiplier"])
        if fmt is Format.json:
            payload = {"objective_usd": plan.summary["objective_usd"],
                       "budget_multiplier": plan.summary["budget_multiplier"], "summary": plan.summary,
                       "plan": _records(plan.plan), "by_party": _records(plan.by_party),
                       "reference_points": _records(references), "warnings": prepared.warnings}
            if coop is not None:
                payload["cooperation"] = _records(coop)
            sys.stdout.write(json.dumps(payload, indent=1, default=str) + "\n")
        elif fmt is Format.csv:
            emit(table, fmt)
        else:
            import pandas as pd

            emit(pd.DataFrame({"figure": list(plan.summary), "value": [str(v) if not isinstance(v, float) else v
                                                                        for v in plan.summary.values()]}),
                 fmt, "Stockpile plan: summary")
            columns = ["material", "holder", "quantity_t", "cost_usd", "days_of_cover", "expected_shortfall_t",
                       "expected_unmet_t", "avoided_loss_usd_per_year", "share_of_world_supply_pct"]
            shown = plan.plan[plan.plan["quantity_t"] > 1e-9] if len(plan.plan) else plan.plan
            emit(shown[columns] if len(shown) else plan.plan, fmt, "Purchases per material and holder")
            emit(references[["record_id", "program", "parameter", "reference_value", "unit", "plan_value",
                             "comparison"]], fmt, "Compared with published stockpiles")
            if coop is not None:
                emit(coop, fmt, "Value of cooperation")
        for warning in prepared.warnings:
            typer.echo(f"note: {warning}", err=True)

    _guard(run)


@stockpile_app.command("frontier")
def stockpile_frontier(
    budgets: Annotated[str, typer.Option("--budgets", help="Comma-separated budgets in USD, e.g. 0,1e9,5e9,12e9."
                                         )] = "0,5e8,1e9,2e9,5e9,1.2e10,2e10",
    scenarios: ScenariosOption = None, ensemble: EnsembleOption = 2_000, seed: SeedOption = 0,
    holders: HoldersOption = "joint", members: MembersOption = "US,EU",
    cvar: CvarOption = None, prices: PricesOption = None, loss_per_tonne: LossOption = None,
    holding_cost_rate: HoldingOption = 0.02, max_market_share: ShareOption = 0.10,
    horizon_years: YearsOption = 15.0, sharing: SharingOption = "need", min_days: MinDaysOption = 0.0,
    method: MethodOption = "auto", scheduler: SchedulerOption = "none",
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the frontier chart (HTML, plotly.js "
                                                             "embedded: opens offline).")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Efficient frontier: budget → expected annual loss (the model is built once and re-solved)."""

    def run():
        from minsec.stockpile.plan import frontier, frontier_figure

        try:
            values = [float(b) for b in budgets.split(",") if b.strip()]
        except ValueError:
            raise ValueError(f"--budgets {budgets!r}: expected comma-separated numbers") from None
        if not values:
            raise ValueError("--budgets: give at least one budget")
        prepared, _ = _prepare(scenarios, ensemble, seed, holders, members, prices, loss_per_tonne, max(values),
                               cvar, holding_cost_rate, max_market_share, horizon_years, sharing, min_days,
                               scheduler, fmt)
        table = frontier(prepared.problem, values, method)
        if plot is not None:
            frontier_figure(table).write_html(plot, include_plotlyjs=True, full_html=True)
        emit(table, fmt, "Efficient frontier")
        for warning in prepared.warnings:
            typer.echo(f"note: {warning}", err=True)
        if plot is not None and fmt is Format.table:
            typer.echo(f"chart written to {plot}", err=True)

    _guard(run)
