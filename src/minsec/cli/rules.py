"""``minsec rules …``: policies for outside suppliers as data, and compliance checks of bills of materials."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from minsec.cli import Format, FormatOption, State, _run, emit

rules_app = typer.Typer(help="Shared rules for outside suppliers: validate policies, check a product's supply "
                             "chain against them.", no_args_is_help=True)


@rules_app.command("validate")
def rules_validate(
    policy: Annotated[str, typer.Argument(help="Policy file (YAML) or a shipped policy: us_30d, eu_crma, "
                                               "partnership_baseline.")],
    fmt: FormatOption = Format.table,
) -> None:
    """Check a policy file (unknown fields, thresholds outside 0–100 %, overlapping dates, unknown countries)
    and list its versions and rules; exit 2 with the file line of the first problems."""

    def run():
        import pandas as pd

        from minsec.rules.policy import describe, load_policies

        emit(pd.DataFrame([describe(p) for p in load_policies(policy)]), fmt, "Policy versions")

    _run(run)


@rules_app.command("list")
def rules_list(fmt: FormatOption = Format.table) -> None:
    """The policies shipped with minsec."""

    def run():
        import pandas as pd

        from minsec.rules.policy import describe, library, load_policies

        rows = [describe(p) | {"file": name} for name in library() for p in load_policies(name)]
        emit(pd.DataFrame(rows), fmt, "Shipped policies")

    _run(run)


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

    def run():
        import pandas as pd

        from minsec.data import catalogue
        from minsec.rules.bom import load_bom
        from minsec.rules.check import check
        from minsec.rules.policy import load_policies, policy_on

        try:
            day = dt.date.fromisoformat(date) if date else dt.date.today()
        except ValueError:
            raise ValueError(f"--date {date!r}: expected YYYY-MM-DD") from None
        versions = load_policies(policy)
        chosen = policy_on(versions, day)
        report = check(load_bom(bom, entities), chosen, day, catalogue.load_groups(State.groups))
        if fmt is Format.json:
            sys.stdout.write(json.dumps(report.record(), indent=1, default=str) + "\n")
            return
        rules = pd.DataFrame([{k: v for k, v in r.record().items() if k not in ("lines",)}
                              for r in report.rules])
        if fmt is Format.csv:
            rules.to_csv(sys.stdout, index=False)
            return
        typer.echo(f"{chosen.title} — version {chosen.version}, as of {day}: {report.verdict.upper()}")
        emit(rules[["rule", "verdict", "measured_pct", "threshold_pct", "explanation", "remedy"]], fmt,
             "Rules")
        lines = pd.DataFrame([line | {"rule": r.rule} for r in report.rules for line in r.lines])
        if len(lines):
            emit(lines, fmt, "Evidence per line")
        emit(pd.DataFrame(report.entities), fmt, "Entities (foreign entity of concern status)")

    _run(run)


commitments_app = typer.Typer(help="The commitments register: no export restrictions between partners, stock "
                                   "reporting; breaches become alerts.", no_args_is_help=True)


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

    def run():
        import pandas as pd

        from minsec.data import catalogue
        from minsec.data.dataset import load
        from minsec.rules.commitments import (
            as_warnings,
            check_export_commitments,
            check_stock_reports,
            load_register,
            read_measures_csv,
            recorded_measures,
        )

        try:
            day = dt.date.fromisoformat(date) if date else dt.date.today()
        except ValueError:
            raise ValueError(f"--date {date!r}: expected YYYY-MM-DD") from None
        groups = catalogue.load_groups(State.groups)
        chosen = load_register(register)
        recorded = recorded_measures(load(State.data, tables=("export_controls",))["export_controls"])
        if measures is not None:
            try:
                text = measures.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"{measures}: cannot read: {exc.strerror}") from None
            recorded += read_measures_csv(text, str(measures))
        findings = check_export_commitments(chosen, recorded, day, groups)
        published = None
        if database is not None or publish:
            from minsec.cli.service import _database
            from minsec.service.db import Organisation, Submission

            with _database(database) as db:
                with db.reading() as session:
                    from sqlalchemy import select

                    submissions = pd.DataFrame(
                        [(s.org_id, s.kind, s.material, s.as_of) for s in session.execute(select(Submission))
                         .scalars()], columns=["org_id", "kind", "material", "as_of"])
                    organisations = pd.DataFrame(
                        [(o.id, o.slug, o.country, o.kind) for o in session.execute(select(Organisation)).scalars()],
                        columns=["id", "slug", "country", "kind"])
                findings += check_stock_reports(chosen, submissions, organisations, day, groups)
                if publish:
                    from minsec.service.warnings import publish as publish_warnings

                    published = publish_warnings(db, as_warnings(findings, day))
        rows = pd.DataFrame([f.record() for f in findings],
                            columns=["commitment", "kind", "country", "materials", "detail", "measure_id",
                                     "affected_parties"])
        if fmt is Format.json:
            sys.stdout.write(json.dumps({"register": chosen.name, "date": str(day), "measures_checked": len(recorded),
                                         "findings": rows.to_dict(orient="records"), "published": published},
                                        indent=1, default=str) + "\n")
            return
        emit(rows.assign(materials=rows["materials"].map(", ".join),
                         affected_parties=rows["affected_parties"].map(lambda v: ", ".join(v) if v else ""))
             if len(rows) else rows, fmt,
             f"{chosen.title or chosen.name}: {len(recorded)} measures checked on {day}")
        if published is not None and fmt is Format.table:
            typer.echo(f"alerts: {published['created']} published, {published['existing']} already there", err=True)

    _run(run)
