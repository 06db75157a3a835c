"""``minsec rules …`` and ``minsec commitments …``: policies for outside suppliers as data, compliance checks of
bills of materials, and the commitments register (``sc.rules``; the stock-report duties read the service
database)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from minsec.cli.core import Format, FormatOption, chain, emit, emit_json

rules_app = typer.Typer(help="Shared rules for outside suppliers: validate policies, check a product's supply "
                             "chain against them.", no_args_is_help=True)
commitments_app = typer.Typer(help="The commitments register: no export restrictions between partners, stock "
                                   "reporting; breaches become alerts.", no_args_is_help=True)


@rules_app.command("validate")
def rules_validate(
    policy: Annotated[str, typer.Argument(help="Policy file (YAML) or a shipped policy: us_30d, eu_crma, "
                                               "partnership_baseline.")],
    fmt: FormatOption = Format.table,
) -> None:
    """Check a policy file (unknown fields, thresholds outside 0–100 %, overlapping dates, unknown countries)
    and list its versions and rules; exit 2 with the file line of the first problems."""
    emit(chain().rules.validate(policy), fmt, "Policy versions")


@rules_app.command("list")
def rules_list(fmt: FormatOption = Format.table) -> None:
    """The policies shipped with minsec."""
    emit(chain().rules.policies(), fmt, "Shipped policies")


@rules_app.command("check")
def rules_check(
    bom: Annotated[Path, typer.Argument(help="Bill of materials: .json, or .csv (line, material, quantity_t, "
                                              "value_usd, stage, country, facility, owner).")],
    policy: Annotated[str, typer.Option("--policy", help="Policy file or shipped policy name.")],
    entities: Annotated[Path | None, typer.Option("--entities", help="Ownership CSV (entity, country, owner, "
                                                                    "share_pct, basis).")] = None,
    date: Annotated[str | None, typer.Option("--date", help="Check as of this date (YYYY-MM-DD; default "
                                                            "today).")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Verdict per rule (pass / fail / unknown / info) with the content percentages, the lines behind them,
    and what would have to change. Exit code 0 whatever the verdict; 2 on bad input."""
    report = chain().rules.check(bom, policy, entities=entities, date=date)
    if fmt is Format.json:
        emit_json(report.to_dict())
        return
    if fmt is Format.csv:
        report.table.to_csv(sys.stdout, index=False)
        return
    typer.echo(f"{report.title} — version {report.version}, as of {report.date}: {report.verdict.upper()}")
    emit(report.table[["rule", "verdict", "measured_pct", "threshold_pct", "explanation", "remedy"]], fmt, "Rules")
    if len(report.evidence):
        emit(report.evidence, fmt, "Evidence per line")
    emit(report.entities_table, fmt, "Entities (foreign entity of concern status)")


@rules_app.command("consumption")
def rules_consumption(
    policy: Annotated[str, typer.Option("--policy", help="Policy with a single-supplier rule on consumption "
                                                         "(shipped: eu_crma).")] = "eu_crma",
    material: Annotated[str | None, typer.Option("--material", help="One material (default: every one the "
                                                                   "region buys).")] = None,
    date: Annotated[str | None, typer.Option("--date", help="Rules in force on this date (YYYY-MM-DD; default "
                                                            "today).")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The single-third-country benchmark on what it concerns, the region's annual consumption (CRMA Art.
    5(1)(b): no third country above 65 % of the Union's consumption of a material at any stage): per market,
    the largest third country's share, the unnamed producers' share and exceeds / within / unknown."""
    table = chain().rules.consumption(policy, date=date, material=material)
    region = table["region"].iloc[0] if len(table) else ""
    emit(table, fmt, f"{region} annual consumption (t a year) by the largest single third country supplying it "
                     "(minsec supply-chain baseline)")


@commitments_app.command("check")
def commitments_check(
    register: Annotated[Path | None, typer.Option("--register", help="Commitments file (YAML; default: the "
                                                                      "partnership's shipped register).")] = None,
    measures: Annotated[Path | None, typer.Option("--measures", help="Your recorded measures, CSV: measure_id, "
                                                                    "country, materials, measure_type, "
                                                                    "destinations, start, end, source.")] = None,
    date: Annotated[str | None, typer.Option("--date", help="As of (YYYY-MM-DD; default today).")] = None,
    database: Annotated[str | None, typer.Option("--database", help="Service database whose stock reports are "
                                                                    "checked (and where --publish writes).")] = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish breaches as alerts (TLP:GREEN) in the "
                                                            "service database.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Recorded measures (the bundled export controls and yours) checked against the partners' commitments;
    overdue stock reports when a service database is given. A party's restriction toward non-partners is not a
    breach."""
    sc = chain()
    result = sc.rules.commitments(register, measures, date)
    published = None
    if database is not None or publish:
        published = _with_service(result, sc.groups, database, publish)
    if fmt is Format.json:
        emit_json(result.to_dict(published))
        return
    rows = result.table
    if len(rows):
        rows = rows.assign(materials=rows["materials"].map(", ".join),
                           affected_parties=rows["affected_parties"].map(lambda v: ", ".join(v) if v else ""))
    emit(rows, fmt, f"{result.register.title or result.register.name}: {result.measures_checked} measures checked "
                    f"on {result.date}")
    if published is not None and fmt is Format.table:
        typer.echo(f"alerts: {published['created']} published, {published['existing']} already there", err=True)


def _with_service(result, groups, database: str | None, publish: bool) -> dict | None:
    """Add the overdue stock reports found in the service database to ``result``; publish breaches as alerts."""
    from minsec.cli.service import open_database
    from minsec.rules.commitments import as_warnings, overdue_reports
    from minsec.service.sharing import stock_reporting

    with open_database(database) as db:
        result.findings += overdue_reports(stock_reporting(db, result, groups))
        if not publish:
            return None
        from minsec.service.warnings import publish as publish_warnings

        return publish_warnings(db, as_warnings(result.findings, result.date))
