"""``minsec risk …``, ``minsec overview`` and ``minsec brief``: supply-risk indices (``sc.risk``) and briefings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from minsec.cli.core import Format, FormatOption, chain, emit, emit_json, fail, note, records

risk_app = typer.Typer(help="Supply-risk indices: concentration, GeoPolRisk, import reliance, routes; "
                                "economic impact.",
                       no_args_is_help=True)

MATERIAL_HELP = "Material id or name, any case (see `minsec materials`)."


@risk_app.command("concentration")
def risk_concentration(
    material: Annotated[str | None, typer.Option(help=MATERIAL_HELP)] = None,
    stage: Annotated[str | None, typer.Option(help="mining or refining.")] = None,
    year: Annotated[int | None, typer.Option(help="Year (one the source covers: USGS MCS 2021–2025, WMD "
                                                  "2018–2024 in the bundled data).")] = None,
    source: Annotated[str, typer.Option(help="auto (USGS; minsec's derived rare-earth chain where USGS has no "
                                             "figure), usgs, wmd or minsec.")] = "auto",
    fmt: FormatOption = Format.table,
) -> None:
    """Production shares, leading producer, HHI and producer count per material × stage × year.

    Shares are relative to the published world total; HHI counts named producers only (the unallocated
    remainder is treated as atomised; hhi_upper treats it as one producer).

    A selection with no figure prints nothing on stdout (table, CSV and JSON alike) and exits 2 with one line on
    stderr saying why and which source, stage or year has one (e.g. USGS withholds germanium: try --source wmd);
    a missing value inside a result stays missing: '—' in the table, empty in CSV, null in JSON, never 0."""
    emit(chain().risk.concentration(material=material, stage=stage, year=year, source=source), fmt,
         "Production concentration")


@risk_app.command("economic-impact")
def risk_economic_impact(
    importer: Annotated[str, typer.Option(help="A region of the model (USA, EU27, JPN, KOR, GBR, CAN, AUS, CHN), "
                                               "several separated by commas, or 'partnership'.")] = "partnership",
    n: Annotated[int, typer.Option("--n", min=100, max=1_000_000,
                                   help="Year-long disruption scenarios in the ensemble.")] = 10_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed (results are reproducible from it).")] = 0,
    scheduler: Annotated[str, typer.Option(help="'none' (this process), 'local' (Dask LocalCluster), 'threads' "
                                                "(Dask in this process) or a Dask scheduler address: the same "
                                                "numbers either way.")] = "none",
    top: Annotated[int, typer.Option(min=1, help="Materials shown per importer in the table.")] = 15,
    levers: Annotated[bool, typer.Option(help="Also the loss with the partnership's levers: own stocks, shared "
                                              "stocks, the investments a joint portfolio selects.")] = False,
    invest_budget: Annotated[float, typer.Option(min=0, max=1e12, help="Budget (USD) of the joint portfolio "
                                                                       "evaluated with --levers.")] = 5e9,
    fmt: FormatOption = Format.table,
) -> None:
    """GDP lost by each importer from disruptions of every material (USGS OFR 2025-1047 method, simplified).

    Per importer × material: expected_gdp_loss_usd (mean over the ensemble's year-long disruption scenarios, i.e.
    probability-weighted), p95_gdp_loss_usd, the industries most hit, the material value at risk beside it; the
    partnership's ranking (all importers together). A loss that cannot be computed (no reference price, no
    first-using industries, no input-output table) is null with the reason in `basis`. Method: docs/methods.md."""
    from minsec.cli.core import ProgressBar
    from minsec.investment.levers import impact_with_levers

    with ProgressBar(fmt, "scenarios", n) as bar:
        result, described = impact_with_levers(chain(), importer, n, seed, levers=levers, invest_budget=invest_budget,
                                               scheduler=scheduler, progress=bar.advance)
    if fmt is Format.json:
        emit_json({**result.to_dict(), "levers_assumed": described})
        return
    if fmt is Format.csv:
        emit(result.by_material, fmt)
        return
    shown = ["material", "expected_gdp_loss_usd", "p95_gdp_loss_usd", "material_value_at_risk_usd",
             "expected_shortfall_t", "industries_most_hit"]
    for region, table in result.by_material.groupby("importer", sort=False):
        emit(table[shown].head(top), fmt, f"{region}: expected GDP loss per year, {n:,} scenarios (USD)")
    if result.by_material["importer"].nunique() > 1:
        emit(result.partnership.head(top), fmt, "All importers together: materials ranked by expected GDP loss")
    if levers:
        emit(result.levers, fmt, "Expected GDP loss a year (USD) with the partnership's levers, on the same scenarios")
        for name, text in described.items():
            note(f"{name}: {text}")


@risk_app.command("geopolrisk")
def risk_geopolrisk(
    importer: Annotated[str, typer.Option(help="ISO3 code, a group (EU27, partnership) or 'all'.")] = "all",
    year: Annotated[str, typer.Option(help="Year or 'all' (every year with trade and WMD production).")] = "all",
    material: Annotated[str | None, typer.Option(help="Material id.")] = None,
    intra_group: Annotated[str, typer.Option(help="A group's internal trade: 'exclude' (one economic entity) or "
                                                  "'zero_risk' (kept with PS 0, as geopolrisk-py's EU).")] = "exclude",
    political_stability: Annotated[str, typer.Option(
        help="'minsec' (scores joined by ISO3) or 'geopolrisk-py' (as the peer joins them: reproduces its "
             "numbers).")] = "minsec",
    fmt: FormatOption = Format.table,
) -> None:
    """GeoPolRisk score and characterisation factor (Gemechu et al. 2016; geopolrisk-py 2.0.1 method).

    A figure that cannot be computed is empty (CSV) / null (JSON) / '—' (table) with `reason` saying why."""
    result = chain().risk.geopolrisk(importer=importer, year=year, material=material, intra_group=intra_group,
                                      political_stability=political_stability)
    title = "GeoPolRisk"
    if fmt is Format.table and len(result):   # the editions once in the title, not in every row of the table
        title = f"GeoPolRisk — {result['sources'].iloc[0]}"
        result = result.drop(columns="sources")
    emit(result, fmt, title)


@risk_app.command("import-reliance")
def risk_import_reliance(
    importer: Annotated[str, typer.Option(help="ISO3 code, a group (EU27, partnership) or 'all' groups.")] = "EU27",
    year: Annotated[str, typer.Option(help="Year or 'all' (years with both trade and the source's "
                                           "production).")] = "all",
    material: Annotated[str | None, typer.Option(help=MATERIAL_HELP)] = None,
    source: Annotated[str, typer.Option(help="Production source: usgs or wmd.")] = "wmd",
    fmt: FormatOption = Format.table,
) -> None:
    """Net import reliance (M − X)/(P + M − X) from trade and production, basis-checked per HS code.

    NIR is null where production is not given (withheld, not listed: never counted as zero) or no HS code is on
    the production basis; nir_note says which.  For the USA, USGS's published NIR is beside it and
    differs_from_published flags a gap of more than 10 percentage points (difference_note gives both).

    When no row has a NIR, nothing is printed on stdout (table, CSV and JSON alike) and the command exits 2 with
    one line on stderr saying why and what would give one; missing values stay '—' / empty / null, never 0."""
    emit(chain().risk.import_reliance(importer=importer, year=year, material=material, source=source),
         fmt, "Net import reliance")


@risk_app.command("routes")
def risk_routes(
    importer: Annotated[str, typer.Option(help="ISO3, a group (EU27, partnership) or 'all' partners.")] = "all",
    year: Annotated[str, typer.Option(help="Year, 'all' or 'latest' (the newest trade year).")] = "latest",
    material: Annotated[str | None, typer.Option(help=MATERIAL_HELP)] = None,
    suppliers: Annotated[bool, typer.Option(help="One row per outside supplier instead of the summary.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Partner routes: share of imports from partners vs outside suppliers, and from each outside supplier.

    For EU27 this is the CRMA import-dependence check per stage (exceeds_65pct: one third country > 65 %).  The
    stage is the HS code's (hs92 column): rare-earth compounds (HS 2846) are refining.

    An empty selection prints nothing on stdout (table, CSV and JSON alike) and exits 2 with one line on stderr
    saying why (no HS code for the material, no import that year …); missing values stay '—' / empty / null."""
    emit(chain().risk.routes(importer=importer, year=year, material=material, suppliers=suppliers), fmt,
         "Import routes")


@risk_app.command("us-exposure")
def risk_us_exposure(
    material: Annotated[str | None, typer.Option(help=MATERIAL_HELP + " The headings of the material or holding "
                                                 "it (gallium → 8112, a mixed heading).")] = None,
    period: Annotated[str, typer.Option(help="2025, 2026-01..2026-04, 'latest' (the newest: January–April 2026) "
                                             "or 'all'.")] = "latest",
    by_partner: Annotated[bool, typer.Option(help="One row per partner instead of the heading summary.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """US imports per HS-4 heading to 2026 (USITC DataWeb): value, tonnes, partnership vs other shares, the
    largest supplier (65 % flag), China's share and the change against the same months a year earlier.

    Shares are of imports from the 18 recorded partners of the DataWeb query, by value — not of all US imports
    (coverage_note).  Mixed headings (8112, 2846, 8505 …) are HS-4 totals of several products (content_note,
    in JSON).  A suppressed quantity stays '—' / empty / null with its flag (quantity_note); an empty selection
    prints nothing on stdout and exits 2 saying why (e.g. a material with no heading: the headings are listed)."""
    table = chain().risk.us_exposure(material=material, period=period, by_partner=by_partner)
    if fmt is not Format.table:
        emit(table.assign(partner_shares=table["partner_shares"].map(_shares_text)) if fmt is Format.csv
             and "partner_shares" in table else table, fmt)
        return
    columns = (["hs4", "period", "partner", "in_partnership", "value_usd", "share", "imports_t",
                "unit_value_usd_per_t", "value_change", "share_change", "quantity_flag"] if by_partner else
               ["hs4", "material", "period", "imports_usd", "imports_t", "partnership_share", "top_supplier",
                "top_supplier_share", "china_share", "imports_usd_change"])
    emit(table[columns], fmt, "US imports (USITC DataWeb)")
    typer.echo(f"Note: {table['coverage_note'].iloc[0]}. Changes are against the same months a year earlier "
               "(share changes: differences of shares).")
    mixed = sorted(set(table.loc[table["mixed"], "hs4"]))
    if mixed:
        typer.echo(f"Mixed headings {', '.join(mixed)}: HS-4 totals of several products (content_note in -f json).")


def _shares_text(shares: dict | None) -> str:
    """``CHN 0.721; KOR 0.088 …`` for CSV (JSON keeps the mapping)."""
    return "; ".join(f"{partner} {share:.4f}" for partner, share in shares.items()) if shares else ""


def overview(
    year: Annotated[int | None, typer.Option(help="Concentration year (default: latest USGS year).")] = None,
    fmt: FormatOption = Format.table,
    top: Annotated[int, typer.Option(help="Rows per section.")] = 10,
) -> None:
    """The risk overview: most concentrated materials per stage, CRMA 65 % breaches, top GeoPolRisk (US, EU)."""
    from rich.console import Console

    sections = chain().risk.overview(year=year, top=top)
    if fmt is Format.json:
        emit_json({title: records(frame) for title, frame in sections.items()})
        return
    if fmt is Format.csv:
        for title, frame in sections.items():
            sys.stdout.write(f"# {title}\n")
            frame.to_csv(sys.stdout, index=False)
        return
    Console().print("[bold]minsec supply-risk overview[/bold] — bundled data: USGS MCS 2023/2024, "
                    "World Mining Data, BACI, WGI. Shares are of the published world total; HHI 0–1.")
    for title, frame in sections.items():
        emit(frame, Format.table, title)


def brief(
    material: Annotated[str, typer.Option("--material", help="Material id (see `minsec materials`).")],
    out: Annotated[Path, typer.Option("--out", help="FILE.html (self-contained, opens offline) or FILE.pdf "
                                                     "(printed by Chromium).")],
    importer: Annotated[str | None, typer.Option(help="Add an importer's figures: ISO3 or a group (EU27, "
                                                      "partnership).")] = None,
) -> None:
    """A one-to-two-page briefing on a material: key figures, a map, a chart, export controls and sources."""
    from minsec.data.files import writable
    from minsec.web.brief import briefing_html, write_brief

    if out.suffix.lower() not in (".html", ".htm", ".pdf"):
        fail(f"--out {out}: the briefing is written as .html or .pdf")
    writable(out, "--out")
    from minsec.cli.core import Working

    with Working(f"building the {material} briefing"):
        html = briefing_html(chain(), material, importer)
    with Working("printing it with Chromium" if out.suffix.lower() == ".pdf" else "writing it"):
        written = write_brief(html, out)
    typer.echo(f"briefing written to {written} ({written.stat().st_size / 1e6:.1f} MB)", err=True)
