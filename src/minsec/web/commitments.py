"""The commitments register as the dashboard page ``/commitments``: what the partners committed to, and the
recorded export measures checked against it on today's date (``minsec commitments check``).

Pure: takes the supply chain, returns a view (tables with sources and formulas)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from minsec.web.views import Column, Table, _rows


def register_rows() -> pd.DataFrame:
    """The shipped register, one row per commitment (parties, materials, in force from, what it covers, source)."""
    from minsec.rules.commitments import load_register

    rows = []
    for commitment in load_register().model_dump(mode="json")["commitments"]:
        parties = commitment["parties"]
        rows.append({"id": commitment["id"], "type": commitment["type"].replace("_", " "),
                     "parties": ", ".join(parties.get("groups", []) + parties.get("countries", [])),
                     "materials": commitment["materials"] if isinstance(commitment["materials"], str)
                     else ", ".join(commitment["materials"]),
                     "in_force_from": commitment["effective"]["start"],
                     "detail": ", ".join(commitment.get("measure_types", [])) or
                     (f"every {commitment['every_days']} days" if commitment.get("every_days") else ""),
                     "source": commitment["source"]})
    return pd.DataFrame(rows)


def commitments_view(chain, as_of: dt.date | None = None) -> dict[str, Any]:
    """The register (one row per commitment) and the breaches found on ``as_of`` (default today)."""
    from minsec.rules.commitments import load_register

    register = load_register()
    day = as_of or dt.date.today()
    rows = register_rows()
    check = chain.rules.commitments(date=day)
    findings = check.table
    tables = [
        Table("register", register.title or register.name, [
            Column("id", "Commitment"), Column("type", "Type"), Column("parties", "Parties"),
            Column("materials", "Materials"), Column("in_force_from", "In force from"), Column("detail", "Covers"),
            Column("source", "Source")], _rows(rows),
            source="minsec/data/library/commitments (the partnership's register, YAML)",
            download="/data/commitments-register.csv"),
        Table("breaches", f"Recorded measures against the commitments on {day}", [
            Column("commitment", "Commitment"), Column("country", "Country"), Column("measure_id", "Measure"),
            Column("materials", "Materials"), Column("affected_parties", "Partners it reaches"),
            Column("detail", "Detail")], _rows(findings),
            source="the bundled export-control record (MOFCOM/GAC, USGS MCS 2026 Table 4) with each measure's "
                   f"status on {day}; your own measures: `minsec commitments check --measures FILE`",
            formula="a breach is a party's export measure in force that reaches another party; a party's "
                    "restriction toward non-partners is not a breach",
            empty=f"No breach on {day}: {check.measures_checked} recorded measures checked, none by a partner "
                  "reaching another partner.", download="/data/commitments-breaches.csv")]
    key_figures = [{"label": "Commitments in the register", "value": str(len(rows)), "source": "#register"},
                   {"label": f"Breaches on {day}", "value": str(len(findings)), "source": "#breaches"},
                   {"label": "Recorded measures checked", "value": str(check.measures_checked), "source": "#breaches"}]
    return {"name": "Commitments between partners", "key_figures": key_figures, "tables": tables, "figures": {}}


def reports_view(status: pd.DataFrame, day: dt.date) -> dict[str, Any]:
    """Every stock-reporting obligation in force on ``day`` with who is overdue (``status``:
    :func:`minsec.service.sharing.stock_reporting`, dates only: a holding's quantity never leaves its
    organisation): the table and a chart of the reports' status per organisation."""
    from minsec.web import figures

    counts = (status.groupby(["organisation", "status"], as_index=False).size().rename(columns={"size": "reports"})
              if len(status) else status)
    figs = {"reports": figures.to_json(figures.bars(counts, "organisation", "reports",
                                                    f"Stock reports due on {day}, by organisation and status",
                                                    "materials", color="status"))} if len(counts) else {}
    return {"table": _reports_table(status, day), "figures": figs}


def _reports_table(status: pd.DataFrame, day: dt.date) -> Table:
    late = int((status["status"] != "ok").sum())
    return Table("reports", f"Stock reports due on {day}: {late} of {len(status)} overdue or never made", [
        Column("organisation", "Organisation"), Column("country", "Speaks for"), Column("material", "Material", "link"),
        Column("every_days", "Every (days)", "int"), Column("last_report", "Last report"),
        Column("due_by", "Next due"), Column("days_overdue", "Days overdue", "int"), Column("status", "Status")],
        _rows(status), source="the service's confidential submissions (stockpile holdings): their dates only",
        formula="due by = last report + every_days; overdue when today is later; never reported: no date to count "
                "from (days overdue empty)",
        empty="No stock-reporting obligation in force today, or no member organisation in this service speaks for a "
              "party (add them with `minsec admin org`).", download="/data/commitments-reports.csv")
