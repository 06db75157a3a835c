"""The commitments register as the dashboard page ``/commitments``: what the partners committed to, and the
recorded export measures checked against it on today's date (``minsec commitments check``).

Pure: takes the supply chain, returns a view (tables with sources and formulas)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from minsec.web.views import Column, Table, _rows


def commitments_view(chain, as_of: dt.date | None = None) -> dict[str, Any]:
    """The register (one row per commitment) and the breaches found on ``as_of`` (default today)."""
    from minsec.rules.commitments import load_register

    register = load_register()
    day = as_of or dt.date.today()
    rows = []
    for commitment in register.model_dump(mode="json")["commitments"]:
        parties = commitment["parties"]
        rows.append({"id": commitment["id"], "type": commitment["type"].replace("_", " "),
                     "parties": ", ".join(parties.get("groups", []) + parties.get("countries", [])),
                     "materials": commitment["materials"] if isinstance(commitment["materials"], str)
                     else ", ".join(commitment["materials"]),
                     "in_force_from": commitment["effective"]["start"],
                     "detail": ", ".join(commitment.get("measure_types", [])) or
                     (f"every {commitment['every_days']} days" if commitment.get("every_days") else ""),
                     "source": commitment["source"]})
    check = chain.rules.commitments(date=day)
    findings = check.table
    tables = [
        Table("register", register.title or register.name, [
            Column("id", "Commitment"), Column("type", "Type"), Column("parties", "Parties"),
            Column("materials", "Materials"), Column("in_force_from", "In force from"), Column("detail", "Covers"),
            Column("source", "Source")], _rows(pd.DataFrame(rows)),
            source="minsec/data/library/commitments (the partnership's register, YAML)"),
        Table("breaches", f"Recorded measures against the commitments on {day}", [
            Column("commitment", "Commitment"), Column("country", "Country"), Column("measure_id", "Measure"),
            Column("materials", "Materials"), Column("affected_parties", "Partners it reaches"),
            Column("detail", "Detail")], _rows(findings),
            source="the bundled export-control record (MOFCOM/GAC, USGS MCS 2026 Table 4) with each measure's "
                   f"status on {day}; your own measures: `minsec commitments check --measures FILE`",
            formula="a breach is a party's export measure in force that reaches another party; a party's "
                    "restriction toward non-partners is not a breach",
            empty=f"No breach on {day}: {check.measures_checked} recorded measures checked, none by a partner "
                  "reaching another partner.")]
    key_figures = [{"label": "Commitments in the register", "value": str(len(rows)), "source": "#register"},
                   {"label": f"Breaches on {day}", "value": str(len(findings)), "source": "#breaches"},
                   {"label": "Recorded measures checked", "value": str(check.measures_checked), "source": "#breaches"}]
    return {"name": "Commitments between partners", "key_figures": key_figures, "tables": tables, "figures": {}}
