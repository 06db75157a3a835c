"""The ``minsec`` command line (Typer + Rich).

Heavy libraries (pandas, xarray) are imported inside the commands so that ``minsec --help`` stays fast.
Every command that prints data takes ``--format table|json|csv``.  Bad input (unknown material, country,
year, a broken data directory) gives a one-line error and exit code 2 — never a traceback.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="minsec — supply-chain map, supply-risk indices and emergency planning for critical "
                       "minerals.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
data_app = typer.Typer(help="The bundled dataset: build it from the publishers' files, show what is in it.",
                       no_args_is_help=True)
risk_app = typer.Typer(help="Supply-risk indices: concentration, GeoPolRisk, import reliance, routes.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(risk_app, name="risk")


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class State:
    data: Path | None = None
    groups: Path | None = None


DataOption = Annotated[Path | None, typer.Option("--data", help="Tidy data directory (default: bundled dataset).")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


@app.callback()
def _global(data: DataOption = None,
            groups: Annotated[Path | None, typer.Option("--groups", help="Country-groups YAML file.")] = None) -> None:
    State.data = data
    State.groups = groups


def _tables():
    from minsec.risk import tables

    return tables


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _chain():
    from minsec.model import SupplyChain

    return SupplyChain.load(State.data, State.groups)


def emit(frame, fmt: Format, title: str = "") -> None:
    """Print a DataFrame as a Rich table, JSON records or CSV."""
    import json

    import numpy as np

    if fmt is Format.json:
        records = frame.replace({np.nan: None}).to_dict(orient="records")
        sys.stdout.write(json.dumps(records, indent=1, default=str, ensure_ascii=False) + "\n")
    elif fmt is Format.csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title or None, show_lines=False)
        for column in frame.columns:
            table.add_column(str(column), overflow="fold")
        for row in frame.itertuples(index=False):
            table.add_row(*[_cell(v) for v in row])
        Console().print(table)


def _cell(value) -> str:
    if isinstance(value, float):
        if value != value:
            return "—"
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def _run(function):
    """Turn expected user errors into one-line messages."""
    from minsec.data.countries import UnknownCountryError
    from minsec.data.dataset import DatasetError
    from minsec.data.errors import DataFormatError

    try:
        return function()
    except (DataFormatError, DatasetError, UnknownCountryError, FileNotFoundError) as exc:
        fail(str(exc))
    except KeyError as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
    except ValueError as exc:
        fail(str(exc))
    return None


# ------------------------------------------------------------------------------------------------ materials
@app.command()
def materials(fmt: FormatOption = Format.table) -> None:
    """The material catalogue: id, name, family, EU CRMA status, stages and sources that cover it."""

    def run():
        from minsec.data import catalogue

        table = catalogue.materials().reset_index()
        usgs = catalogue.usgs_series().groupby("material")["stage"].agg(lambda s: ",".join(sorted(set(s))))
        wmd = catalogue.wmd_series().groupby("material")["stage"].agg(lambda s: ",".join(sorted(set(s))))
        hs = catalogue.hs_codes().groupby("material")["hs92"].agg(",".join)
        table["usgs_stages"] = table["material"].map(usgs).fillna("")
        table["wmd_stages"] = table["material"].map(wmd).fillna("")
        table["hs92"] = table["material"].map(hs).fillna("")
        emit(table, fmt, "minsec materials")

    _run(run)


# ------------------------------------------------------------------------------------------------ data
@data_app.command("info")
def data_info(fmt: FormatOption = Format.table) -> None:
    """Every source of the dataset: years, licence, row counts and known gaps."""

    def run():
        import pandas as pd

        from minsec.data import dataset

        manifest = dataset.load(State.data).manifest
        if not manifest:
            fail("the data directory has no manifest.json")
        rows = []
        for name, source in manifest["sources"].items():
            years = source.get("years") or []
            gaps = source.get("known_gaps", [])
            rows.append({"source": name, "title": source["title"], "years": "–".join(map(str, years)),
                         "licence": source["licence"], "rows": source["rows"],
                         "known_gaps": gaps if fmt is Format.json else len(gaps),
                         "first_gaps": " | ".join(gaps[:2])})
        emit(pd.DataFrame(rows), fmt, f"dataset format {manifest['format']}, built {manifest['built']}")

    _run(run)


@data_app.command("schema")
def data_schema() -> None:
    """Print the tidy data format (tables, columns, types, meanings) as Markdown."""
    from minsec.data import dataset

    typer.echo(dataset.format_markdown())


@data_app.command("build")
def data_build(
    raw: Annotated[Path, typer.Option(help="Directory with the publishers' original files.")] = Path("data/raw"),
    out: Annotated[Path | None, typer.Option(help="Output directory (default: the bundled dataset).")] = None,
) -> None:
    """Rebuild the tidy dataset from the publishers' original files (all or nothing)."""

    def run():
        from minsec.data import build, dataset

        result = build.build(raw)
        target = build.write(result, out or dataset.bundled_dir())
        for name, meta in result.manifest["tables"].items():
            typer.echo(f"{name:16s} {meta['rows']:>8,d} rows")
        typer.echo(f"written to {target}")

    _run(run)


# ------------------------------------------------------------------------------------------------ risk
@risk_app.command("concentration")
def risk_concentration(
    material: Annotated[str | None, typer.Option(help="Material id (see `minsec materials`).")] = None,
    stage: Annotated[str | None, typer.Option(help="mining or refining.")] = None,
    year: Annotated[int | None, typer.Option(help="Year.")] = None,
    source: Annotated[str, typer.Option(help="usgs or wmd.")] = "usgs",
    fmt: FormatOption = Format.table,
) -> None:
    """Production shares, leading producer, HHI and producer count per material × stage × year.

    Shares are relative to the published world total; HHI counts named producers only (the unallocated
    remainder is treated as atomised; hhi_upper treats it as one producer)."""
    _run(lambda: emit(_tables().concentration_table(_chain(), source, material, stage, year), fmt,
                      "Production concentration"))


@risk_app.command("geopolrisk")
def risk_geopolrisk(
    importer: Annotated[str, typer.Option(help="ISO3 code, a group (EU27, partnership) or 'all'.")] = "all",
    year: Annotated[str, typer.Option(help="Year or 'all' (2018–2022).")] = "all",
    material: Annotated[str | None, typer.Option(help="Material id.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """GeoPolRisk score and characterisation factor (Gemechu et al. 2016; geopolrisk-py 2.0.1 method)."""
    _run(lambda: emit(_tables().geopolrisk_table(_chain(), importer, year, material), fmt, "GeoPolRisk"))


@risk_app.command("import-reliance")
def risk_import_reliance(
    importer: Annotated[str, typer.Option(help="ISO3 code, a group (EU27, partnership) or 'all' groups.")] = "EU27",
    year: Annotated[str, typer.Option(help="Year or 'all'.")] = "all",
    material: Annotated[str | None, typer.Option(help="Material id.")] = None,
    source: Annotated[str, typer.Option(help="Production source: usgs or wmd.")] = "wmd",
    fmt: FormatOption = Format.table,
) -> None:
    """Net import reliance (M − X)/(P + M − X) from trade and production, basis-checked per HS code."""
    _run(lambda: emit(_tables().import_reliance_records(_chain(), importer, year, material, source), fmt,
                      "Net import reliance"))


@risk_app.command("routes")
def risk_routes(
    importer: Annotated[str, typer.Option(help="ISO3, a group (EU27, partnership) or 'all' partners.")] = "all",
    year: Annotated[str, typer.Option(help="Year or 'all'.")] = "2022",
    material: Annotated[str | None, typer.Option(help="Material id.")] = None,
    suppliers: Annotated[bool, typer.Option(help="One row per outside supplier instead of the summary.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Partner routes: share of imports from partners vs outside suppliers, and from each outside supplier.

    For EU27 this is the CRMA import-dependence check per stage (exceeds_65pct: one third country > 65 %)."""
    _run(lambda: emit(_tables().routes_table(_chain(), importer, year, material, suppliers), fmt, "Import routes"))


# ------------------------------------------------------------------------------------------------ overview
@app.command()
def overview(
    year: Annotated[int | None, typer.Option(help="Concentration year (default: latest USGS year).")] = None,
    fmt: FormatOption = Format.table,
    top: Annotated[int, typer.Option(help="Rows per section.")] = 10,
) -> None:
    """The risk overview: most concentrated materials per stage, CRMA 65 % breaches, top GeoPolRisk (US, EU)."""

    def run():
        import json

        import numpy as np
        from rich.console import Console

        from minsec.risk.tables import overview_sections

        sections = overview_sections(_chain(), year, top)
        if fmt is Format.json:
            payload = {title: frame.replace({np.nan: None}).to_dict(orient="records")
                       for title, frame in sections.items()}
            sys.stdout.write(json.dumps(payload, indent=1, default=str) + "\n")
            return
        if fmt is Format.csv:
            for title, frame in sections.items():
                sys.stdout.write(f"# {title}\n")
                frame.to_csv(sys.stdout, index=False)
            return
        console = Console()
        console.print("[bold]minsec supply-risk overview[/bold] — bundled data: USGS MCS 2023/2024, "
                      "World Mining Data, BACI, WGI. Shares are of the published world total; HHI 0–1.")
        for title, frame in sections.items():
            emit(frame, Format.table, title)

    _run(run)


@app.command()
def brief(
    material: Annotated[str, typer.Option("--material", help="Material id (see `minsec materials`).")],
    out: Annotated[Path, typer.Option("--out", help="FILE.html (self-contained, opens offline) or FILE.pdf "
                                                     "(printed by Chromium).")],
    importer: Annotated[str | None, typer.Option(help="Add an importer's figures: ISO3 or a group (EU27, "
                                                      "partnership).")] = None,
) -> None:
    """A one-to-two-page briefing on a material: key figures, a map, a chart, export controls and sources."""

    def run():
        from minsec.data.dataset import load
        from minsec.web.brief import BriefError, briefing_html, write_brief

        if out.suffix.lower() not in (".html", ".htm", ".pdf"):
            raise ValueError(f"--out {out}: the briefing is written as .html or .pdf")
        chain = _chain()
        dataset = load(State.data, tables=("prices", "us_salient", "export_controls"))
        tables = {name: dataset[name] for name in ("prices", "us_salient", "export_controls")}
        try:
            written = write_brief(briefing_html(chain, tables, material, importer), out)
        except BriefError as exc:
            raise ValueError(str(exc)) from None
        typer.echo(f"briefing written to {written} ({written.stat().st_size / 1e6:.1f} MB)", err=True)

    _run(run)


from minsec.cli.scenarios import emergency_app, scenario_app  # noqa: E402 - registers on the app above

app.add_typer(scenario_app, name="scenario")
app.add_typer(emergency_app, name="emergency")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

from minsec.cli.stockpile import stockpile_app  # noqa: E402 - registers on the app above

app.add_typer(stockpile_app, name="stockpile")

from minsec.cli.markets import markets_app  # noqa: E402 - registers on the app above

app.add_typer(markets_app, name="markets")

from minsec.cli.rules import commitments_app, rules_app  # noqa: E402 - registers on the app above

app.add_typer(rules_app, name="rules")
app.add_typer(commitments_app, name="commitments")

from minsec.cli.invest import invest_app  # noqa: E402 - registers on the app above

app.add_typer(invest_app, name="invest")

from minsec.cli.service import admin_app, audit_app, db_app, serve, warnings_app  # noqa: E402 - registers the

app.command("serve")(serve)
app.add_typer(admin_app, name="admin")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(warnings_app, name="warnings")
