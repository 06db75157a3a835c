"""The ``minsec`` command line (Typer + Rich): one module per command group, each a thin layer over the Python
API (:func:`minsec.load` and its accessors).  :mod:`minsec.cli.core` holds the app, the global options, output
formats and the one error guard (input errors: one line, exit code 2; bugs: exit code 1, ``--debug`` for the
traceback).  Heavy libraries are imported inside the commands so that ``minsec --help`` stays fast.
"""

from __future__ import annotations

from minsec.cli import data, invest, markets, research, risk, rules, scenarios, service, stockpile
from minsec.cli.core import Format, FormatOption, State, app, emit

app.add_typer(data.data_app, name="data")
app.command("materials")(data.materials)
app.add_typer(risk.risk_app, name="risk")
app.command("overview")(risk.overview)
app.command("brief")(risk.brief)
app.add_typer(scenarios.scenario_app, name="scenario")
app.add_typer(scenarios.emergency_app, name="emergency")
app.add_typer(stockpile.stockpile_app, name="stockpile")
app.add_typer(markets.markets_app, name="markets")
app.add_typer(rules.rules_app, name="rules")
app.add_typer(rules.commitments_app, name="commitments")
app.add_typer(invest.invest_app, name="invest")
app.add_typer(research.research_app, name="research")
app.command("serve")(service.serve)
app.add_typer(service.admin_app, name="admin")
app.add_typer(service.audit_app, name="audit")
app.add_typer(service.db_app, name="db")
app.add_typer(service.warnings_app, name="warnings")

__all__ = ["Format", "FormatOption", "State", "app", "emit", "main"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
