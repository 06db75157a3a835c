"""``minsec scenario …`` and ``minsec emergency …``: disruption scenarios, ensembles, emergency allocation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from minsec.cli import Format, FormatOption, State, emit, fail

scenario_app = typer.Typer(help="Disruption scenarios: run one, run a Monte Carlo ensemble, see the calibration.",
                           no_args_is_help=True)
emergency_app = typer.Typer(help="Coordinated emergency allocation of stocks among partners.", no_args_is_help=True)

DemandOption = Annotated[Path | None, typer.Option(
    "--demand", help="CSV 'market,region,consumption_t' replacing computed consumption (e.g. partners' gallium use).")]


def _guard(function):
    """Run ``function``; expected input errors become one line on stderr and exit code 2."""
    from minsec.data.countries import UnknownCountryError
    from minsec.data.dataset import DatasetError
    from minsec.data.errors import DataFormatError

    try:
        return function()
    except (DataFormatError, DatasetError, UnknownCountryError, FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    except KeyError as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
    return None


def read_demand(path: Path | None):
    """Read a demand-override CSV; errors name the row and column."""
    if path is None:
        return None
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype={"market": str, "region": str})
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read as CSV: {exc}") from None
    missing = [c for c in ("market", "region", "consumption_t") if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    numbers = pd.to_numeric(table["consumption_t"], errors="coerce")
    bad = numbers.isna() | (numbers < 0)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(f"{path}, row {row + 2}, column 'consumption_t': not a non-negative number "
                         f"({table['consumption_t'].iloc[row]!r})")
    return table.assign(consumption_t=numbers)


def _context(demand: Path | None = None):
    from minsec.scenarios.run import ScenarioContext

    return ScenarioContext.load(State.data, State.groups, demand=read_demand(demand))


@scenario_app.command("list")
def scenario_list(fmt: FormatOption = Format.table) -> None:
    """The scenarios shipped with minsec (run one with `minsec scenario run NAME`)."""

    def run():
        import pandas as pd

        from minsec.scenarios.schema import library, read_scenario

        rows = []
        for name, path in library().items():
            scenario = read_scenario(path)
            rows.append({"name": name, "start_date": scenario.start_date or "",
                         "events": len(scenario.events), "responses": len(scenario.responses),
                         "description": " ".join(scenario.description.split())})
        emit(pd.DataFrame(rows), fmt, "Shipped scenarios")

    _guard(run)


@scenario_app.command("run")
def scenario_run(
    scenario: Annotated[str, typer.Argument(help="A scenario file (YAML/JSON) or a shipped scenario's name.")],
    demand: DemandOption = None,
    table: Annotated[str, typer.Option(help="With --format csv: summary|regions|prices|sectors|sensitivity|"
                                             "parameters.")] = "regions",
    sensitivity: Annotated[bool, typer.Option(help="Also run with elasticities ×0.5 and ×2.")] = True,
    fmt: FormatOption = Format.table,
) -> None:
    """Propagate one scenario: price path, shortfall per region and sector, value at risk."""

    def run():
        from minsec.scenarios.run import run_scenario
        from minsec.scenarios.schema import load_scenario

        loaded = load_scenario(scenario)
        result = run_scenario(loaded, _context(demand), sensitivity=sensitivity)
        tables = {"summary": result.summary, "regions": result.by_region, "prices": result.price_path,
                  "sectors": result.by_sector, "sensitivity": result.sensitivity,
                  "parameters": result.parameters.reset_index()}
        if fmt is Format.json:
            import json

            sys.stdout.write(json.dumps(result.to_dict(), indent=1, default=str) + "\n")
        elif fmt is Format.csv:
            if table not in tables:
                raise ValueError(f"--table must be one of {', '.join(tables)}")
            emit(tables[table], fmt)
        else:
            emit(result.summary[["market", "peak_price_index_restricted", "peak_price_index_open", "lost_t",
                                 "supply_response_t", "shortfall_t", "shortfall_pct_world", "value_at_risk_usd"]],
                 fmt, f"{loaded.name}: per market over {loaded.horizon_months} months")
            regions = result.by_region[result.by_region["demand_t"] > 0]
            emit(regions[["market", "region", "targeted", "demand_t", "shortfall_t", "shortfall_pct",
                          "peak_month_shortfall_pct", "value_at_risk_usd", "demand_basis"]], fmt, "Per region")
            if len(result.sensitivity):
                emit(result.sensitivity, fmt, "Sensitivity to the elasticities")
            for warning in result.warnings:
                typer.echo(f"note: {warning}", err=True)

    _guard(run)


@scenario_app.command("calibrate")
def scenario_calibrate(fmt: FormatOption = Format.table) -> None:
    """How the default elasticities were calibrated on recorded disruptions (E = supply cut / price change)."""

    def run():
        context = _context()
        emit(context.calibration, fmt, "Calibration events (records in data/raw/parameters)")

    _guard(run)


@scenario_app.command("parameters")
def scenario_parameters(
    material: Annotated[str | None, typer.Option(help="Only this material.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Market parameters in use per market, with their source."""

    def run():
        context = _context()
        table = context.parameters.reset_index()
        if material is not None:
            context.chain.check_material(material)
            table = table[table["market"].str.split(".").str[0] == material]
        emit(table, fmt, "Market-response parameters")

    _guard(run)


@scenario_app.command("ensemble")
def scenario_ensemble(
    n: Annotated[int, typer.Option("--n", help="Number of scenarios.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed (results are reproducible from it).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Parquet file for the tidy rows.")] = None,
    scheduler: Annotated[str, typer.Option(help="'local' (Dask LocalCluster), 'none' (single process) or a "
                                                 "Dask scheduler address.")] = "local",
    chunk_size: Annotated[int, typer.Option(help="Scenarios per chunk (memory bound).")] = 10_000,
    spec: Annotated[Path | None, typer.Option(help="YAML/JSON file overriding the event-model parameters.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Monte Carlo ensemble of disruptions: expected shortfall, exceedance, CVaR, ranking by expected loss."""

    def run():
        import json

        import yaml
        from pydantic import ValidationError
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from minsec.scenarios.ensemble import EnsembleSpec, run_ensemble

        if out is not None and out.suffix != ".parquet":
            raise ValueError(f"--out {out}: the output must be a .parquet file")
        options = {}
        if spec is not None:
            try:
                options = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise ValueError(f"{spec}: cannot read: {exc}") from None
        options.update(n_scenarios=n, seed=seed, chunk_size=chunk_size)
        try:
            ensemble_spec = EnsembleSpec.model_validate(options)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"ensemble spec: {problems}") from None
        context = _context()
        address = None if scheduler == "none" else scheduler
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), transient=fmt is not Format.table, disable=fmt is not Format.table) \
                as bar:
            task = bar.add_task("scenarios", total=ensemble_spec.n_scenarios)
            result = run_ensemble(context, ensemble_spec, out, address,
                                  progress=lambda k: bar.advance(task, k))
        summary = result.summary
        if fmt is Format.json:
            payload = {"spec": ensemble_spec.model_dump(), "executor": result.executor,
                       "rows_written": result.rows_written, "out": str(out) if out else None,
                       **{k: v.replace({float("nan"): None}).to_dict(orient="records") for k, v in summary.items()}}
            sys.stdout.write(json.dumps(payload, indent=1, default=str) + "\n")
        elif fmt is Format.csv:
            emit(summary["by_market_importer"], fmt)
        else:
            emit(summary["ranking"].head(15), fmt, "Materials ranked by expected loss (value at risk, USD)")
            table = summary["by_market_importer"]
            partners = table[table["importer"].isin(context.baseline.regions[:-2])]
            top = partners.sort_values(table.columns[-1], ascending=False).head(15)
            emit(top, fmt, "Largest tail shortfalls of partners")
            typer.echo(f"{ensemble_spec.n_scenarios:,} scenarios on {result.executor}; "
                       f"{result.rows_written:,} rows" + (f" written to {out}" if out else ""), err=True)

    _guard(run)


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

    def run():
        import json

        import pandas as pd

        from minsec.scenarios.allocation import JOINT, allocate, problem_from_outcome
        from minsec.scenarios.run import run_scenario
        from minsec.scenarios.schema import load_scenario

        loaded = load_scenario(scenario)
        context = _context(demand)
        result = run_scenario(loaded, context, sensitivity=False)
        partners = [r for r in context.baseline.regions if r in context.chain.groups.definitions.get(
            "partnership", {}).get("members", [])]
        by_region = result.by_region
        rows = []
        if stocks is not None:
            try:
                rows += pd.read_csv(stocks).to_dict(orient="records")
            except (OSError, pd.errors.ParserError) as exc:
                raise ValueError(f"{stocks}: cannot read as CSV: {exc}") from None
            if rows and not {"holder", "market", "tonnes"} <= set(rows[0]):
                raise ValueError(f"{stocks}: needs columns holder, market, tonnes")
        horizon_days = loaded.horizon_months * 365.25 / 12
        for item in stock_days or []:
            region, _, days = item.partition("=")
            try:
                value = float(days)
            except ValueError:
                raise ValueError(f"--stock-days {item!r}: expected REGION=DAYS") from None
            if region not in partners or value < 0:
                raise ValueError(f"--stock-days {item!r}: region must be one of {partners} and days ≥ 0")
            for row in by_region[by_region["region"] == region].itertuples():
                rows.append({"holder": region, "market": row.market,
                             "tonnes": row.demand_t / horizon_days * value})
        if joint_days < 0:
            raise ValueError("--joint-days must not be negative")
        if joint_days > 0:
            for market, group in by_region[by_region["region"].isin(partners)].groupby("market"):
                rows.append({"holder": JOINT, "market": market,
                             "tonnes": group["demand_t"].sum() / horizon_days * joint_days})
        problem = problem_from_outcome(by_region, partners, pd.DataFrame(rows) if rows else None,
                                       sharing=sharing, restraint=restraint)
        allocation = allocate(problem)
        if fmt is Format.json:
            payload = {"status": allocation.status, "objective": allocation.objective,
                       "solve_seconds": allocation.solve_seconds,
                       **{name: getattr(allocation, name).replace({float("nan"): None}).to_dict(orient="records")
                          for name in ("group", "releases", "transfers", "partners")}}
            sys.stdout.write(json.dumps(payload, indent=1, default=str) + "\n")
        elif fmt is Format.csv:
            emit(allocation.partners, fmt)
        else:
            emit(allocation.group, fmt, f"{loaded.name}: group outcome")
            emit(allocation.releases, fmt, "Release orders")
            emit(allocation.transfers, fmt, "Transfers")
            emit(allocation.partners[["partner", "market", "demand_t", "shortfall_before_t", "restraint_t",
                                      "unmet_t", "unmet_pct", "sharing_bound"]], fmt, "Partners after allocation")
            typer.echo(f"LP {allocation.status} in {allocation.solve_seconds:.2f} s", err=True)

    _guard(run)
