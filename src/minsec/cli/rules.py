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
