"""``minsec scenario …`` and ``minsec emergency …``: disruption scenarios, ensembles, emergency allocation
(``sc.scenarios``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minsec.cli.core import (
    Format,
    FormatOption,
    ProgressBar,
    Working,
    chain,
    emit,
    emit_json,
    fail,
    note,
    records,
)

scenario_app = typer.Typer(help="Disruption scenarios: run one, run a Monte Carlo ensemble, see the calibration.",
                           no_args_is_help=True)
emergency_app = typer.Typer(help="Coordinated emergency allocation of stocks among partners.", no_args_is_help=True)

DemandOption = Annotated[Path | None, typer.Option(
    "--demand", help="CSV 'market,region,consumption_t' replacing computed consumption (e.g. partners' gallium use).")]
TABLES = ("summary", "regions", "elements", "prices", "sectors", "sensitivity", "parameters")


@scenario_app.command("list")
def scenario_list(fmt: FormatOption = Format.table) -> None:
    """The scenarios shipped with minsec (run one with `minsec scenario run NAME`)."""
    emit(chain().scenarios.library(), fmt, "Shipped scenarios")


@scenario_app.command("run")
def scenario_run(
    scenario: Annotated[str, typer.Argument(help="A scenario file (YAML/JSON) or a shipped scenario's name.")],
    demand: DemandOption = None,
    table: Annotated[str, typer.Option(help=f"With --format csv: {'|'.join(TABLES)}.")] = "regions",
    sensitivity: Annotated[bool, typer.Option(
        help="Also run with the demand and the supply elasticity ×0.5 and ×2.")] = True,
    fmt: FormatOption = Format.table,
) -> None:
    """Propagate one scenario: price path, shortfall per region and sector, value at risk."""
    if fmt is Format.csv and table not in TABLES:
        fail(f"--table must be one of {', '.join(TABLES)}")
    result = chain().scenarios.run(scenario, demand=demand, sensitivity=sensitivity)
    if fmt is Format.json:
        emit_json(result.to_dict())
        return
    if fmt is Format.csv:
        tables = {"summary": result.summary, "regions": result.by_region, "elements": result.by_element,
                  "prices": result.price_path,
                  "sectors": result.by_sector, "sensitivity": result.sensitivity,
                  "parameters": result.parameters.reset_index()}
        emit(tables[table], fmt)
        return
    emit(result.summary[["market", "peak_price_index_restricted", "peak_price_index_open", "lost_t",
                         "supply_response_t", "shortfall_t", "shortfall_pct_world", "value_at_risk_usd"]],
         fmt, f"{result.scenario.name}: per market over the {result.scenario.horizon_months:g}-month horizon")
    regions = result.by_region[result.by_region["demand_t"] > 0]
    months = result.scenario.horizon_months
    emit(regions[["market", "region", "targeted", "demand_t_per_year", "demand_t", "shortfall_t", "shortfall_pct",
                  "peak_month_shortfall_pct", "value_at_risk_usd", "gdp_loss_usd", "demand_basis"]], fmt,
         f"Per region: demand_t_per_year a year; demand_t, shortfall_t, value at risk and GDP loss (USD) over the "
         f"{months:g}-month horizon")
    if len(result.by_element):
        shown = result.by_element[result.by_element["total_shortfall_t"] > 0]
        emit(shown.drop(columns="basis"), fmt,
             "Rare-earth elements short over the horizon, directly and embedded in magnets (t of metal)")
    if len(result.by_sector):
        sectors = result.by_sector[result.by_sector["shortfall_t"] > 0]
        emit(sectors.groupby(["market", "sector"], as_index=False)[["shortfall_t", "gdp_loss_usd"]].sum(min_count=1),
             fmt, f"Sectors hit over the {months:g}-month horizon (first users, USGS MCS end uses)")
    if len(result.sensitivity):
        emit(result.sensitivity, fmt, "Sensitivity: one elasticity at a time ×0.5 and ×2 (over the horizon)")
    for warning in result.warnings:
        note(warning)


@scenario_app.command("calibrate")
def scenario_calibrate(
    check: Annotated[bool, typer.Option(help="Also replay each event with its shipped scenario and print modelled "
                                             "vs recorded price change and supply cut.")] = True,
    fmt: FormatOption = Format.table,
) -> None:
    """How the default elasticities were calibrated on recorded disruptions (E = supply cut / price change), and
    how far the model lands from each record (the calibration error)."""
    sc = chain()
    table = sc.scenarios.calibration()
    if not check:
        emit(table, fmt, "Calibration events (records in data/raw/parameters)")
        return
    with ProgressBar(fmt, "events", len(table)) as bar:
        checked = sc.scenarios.calibration_check()
        bar.advance(len(table))
    if fmt is Format.json:
        emit_json({"calibration": records(table), "check": records(checked)})
    elif fmt is Format.csv:
        emit(checked, fmt)
    else:
        emit(table.drop(columns="method"), fmt, "Calibration events (records in data/raw/parameters)")
        emit(checked, fmt, "Modelled vs recorded (price change and supply cut as shares; price_error = modelled − "
                           "recorded)")


@scenario_app.command("parameters")
def scenario_parameters(
    material: Annotated[str | None, typer.Option(help="Only this material.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Market parameters in use per market, with their source."""
    emit(chain().scenarios.parameters(material=material), fmt, "Market-response parameters")


@scenario_app.command("ensemble")
def scenario_ensemble(
    n: Annotated[int, typer.Option("--n", help="Number of scenarios.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed (results are reproducible from it).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Parquet file for the tidy rows.")] = None,
    scheduler: Annotated[str, typer.Option(help="'local' (Dask LocalCluster), 'threads' (Dask in this "
                                                 "process), 'none' (single process) or a Dask scheduler "
                                                 "address.")] = "local",
    chunk_size: Annotated[int, typer.Option(help="Scenarios per chunk (memory bound).")] = 10_000,
    spec: Annotated[Path | None, typer.Option(help="YAML/JSON file overriding the event-model parameters.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Monte Carlo ensemble of disruptions: expected shortfall, exceedance, CVaR, ranking by expected loss."""
    sc = chain()
    with ProgressBar(fmt, "scenarios", n, transient=False) as bar:
        result = sc.scenarios.ensemble(n, seed, scheduler=scheduler, out=out, chunk_size=chunk_size, spec=spec,
                                       progress=bar.advance)
    summary = result.summary
    if fmt is Format.json:
        emit_json(result.to_dict())
    elif fmt is Format.csv:
        emit(summary["by_market_importer"], fmt)
    else:
        emit(summary["ranking"].head(15), fmt, "Materials ranked by expected loss (value at risk, USD)")
        table = summary["by_market_importer"]
        partners = table[table["importer"].isin(sc.scenarios.context().baseline.regions[:-2])]
        top = partners.sort_values(table.columns[-1], ascending=False).head(15)
        months = result.spec.horizon_months
        emit(top, fmt, f"Largest tail shortfalls of partners (% of demand over the {months:g}-month horizon)")
        typer.echo(f"{result.spec.n_scenarios:,} scenarios on {result.executor}; "
                   f"{result.rows_written:,} rows" + (f" written to {out}" if out else ""), err=True)


@emergency_app.command("allocate")
def emergency_allocate(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name whose outcome is shared out.")],
    stocks: Annotated[Path | None, typer.Option(help="CSV 'holder,market,tonnes[,max_release_t]' (holder = a "
                                                     "partner region or JOINT).")] = None,
    stock_days: Annotated[list[str] | None, typer.Option(
        "--stock-days", help="REGION=DAYS: national stock of every affected market as days of the region's "
                             "consumption (e.g. JPN=60, Japan's JOGMEC target, record ST001).")] = None,
    joint_days: Annotated[float, typer.Option(help="Joint pool as days of the partners' combined consumption.")
                          ] = 0.0,
    sharing: Annotated[bool, typer.Option(help="Equal percentage shortfall across partners.")] = True,
    restraint: Annotated[bool, typer.Option(help="IEA-style demand restraint at 7 % / 12 % group shortfall.")
                         ] = True,
    demand: DemandOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Release orders and transfers that minimise weighted unmet demand, sharing the shortfall (LP, HiGHS)."""
    with Working("running the scenario and sharing out the stocks (LP, HiGHS)"):
        allocation = chain().scenarios.allocate(scenario, stocks=stocks, stock_days=stock_days,
                                                joint_days=joint_days, sharing=sharing, restraint=restraint,
                                                demand=demand)
    if fmt is Format.json:
        emit_json(allocation.to_dict())
    elif fmt is Format.csv:
        emit(allocation.partners, fmt)
    else:
        emit(allocation.group, fmt, f"{allocation.scenario}: group outcome (tonnes over the scenario's horizon)")
        emit(allocation.releases, fmt, "Release orders (tonnes over the scenario's horizon)")
        emit(allocation.transfers, fmt, "Transfers (tonnes over the scenario's horizon)")
        emit(allocation.partners[["partner", "market", "demand_t", "shortfall_before_t", "restraint_t",
                                  "unmet_t", "unmet_pct", "sharing_bound"]], fmt,
             "Partners after allocation (tonnes over the scenario's horizon)")
        typer.echo(f"LP {allocation.status} in {allocation.solve_seconds:.2f} s", err=True)
