"""The commitments register: only partner-to-partner restrictions are breaches; stock reports overdue; breaches
published once as alerts; bad measures named by row."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from minsec.cli import app
from minsec.data import catalogue
from minsec.data.dataset import load
from minsec.rules.commitments import (
    check_export_commitments,
    load_register,
    overdue_reports,
    read_measures_csv,
    recorded_measures,
    stock_report_status,
)
from minsec.rules.policy import PolicyError

GROUPS = catalogue.load_groups()
DAY = dt.date(2026, 12, 1)
HEADER = "measure_id,country,materials,measure_type,destinations,start,end,source\n"


def findings(rows: str, day: dt.date = DAY):
    return check_export_commitments(load_register(), read_measures_csv(HEADER + rows), day, GROUPS)


def test_only_restrictions_between_partners_are_breaches():
    found = findings("CA-1,CAN,graphite,export_licence,all,2026-05-01,,\n"          # to everyone: breach
                     "US-1,USA,gallium;germanium,export_ban,CHN;RUS,2026-01-01,,\n"  # toward outsiders only: fine
                     "DE-1,DEU,tungsten,export_quota,FRA,2026-03-01,,\n"              # inside the partnership
                     "JP-1,JPN,rare_earths,export_tax,EU27,2026-03-01,2026-06-30,\n"  # ended before DAY
                     "CN-X,CHN,antimony,export_ban,all,2026-01-01,,\n")              # an outsider: early warning
    assert [(f.measure_id, f.kind) for f in found] == [("CA-1", "breach"), ("DE-1", "breach")]
    assert "USA" in found[0].affected_parties and "CAN" not in found[0].affected_parties
    assert found[1].affected_parties == ["FRA"]


def test_commitment_starts_on_its_date():
    rows = "CA-1,CAN,graphite,export_licence,USA,2025-05-01,,\n"
    assert findings(rows, dt.date(2026, 2, 3)) == [] and len(findings(rows, dt.date(2026, 2, 4))) == 1


def test_bundled_chinese_controls_are_no_breach_of_partner_commitments():
    measures = recorded_measures(load(tables=("export_controls",))["export_controls"], DAY)
    # China's MOFCOM/GAC record and USGS MCS 2026 Table 4's countries: none is a partner
    assert measures and "CHN" in {m.country for m in measures}
    assert not {m.country for m in measures} & GROUPS.members("partnership")
    assert check_export_commitments(load_register(), measures, DAY, GROUPS) == []


@pytest.mark.parametrize(("row", "message"), [
    ("X,XXQ,graphite,export_ban,all,2026-01-01,,", "row 2: unknown country 'XXQ'"),
    ("X,CAN,unobtainium,export_ban,all,2026-01-01,,", "row 2: materials 'unobtainium'"),
    ("X,CAN,graphite,embargo,all,2026-01-01,,", "row 2: measure_type 'embargo'"),
    ("X,CAN,graphite,export_ban,all,2026-05-01,2026-04-01,", "row 2: end 2026-04-01 is before start"),
    ("X,CAN,graphite,export_ban,all,1 May 2026,,", "row 2: start/end must be dates"),
])
def test_bad_measures_are_named_by_row(row, message):
    with pytest.raises(PolicyError, match=message):
        read_measures_csv(HEADER + row)


def test_overdue_stock_reports():
    organisations = pd.DataFrame({"id": [1, 2, 3, 4], "slug": ["usa", "ec", "jpn", "industry"],
                                  "country": ["USA", "EU27", "JPN", None],
                                  "kind": ["member", "member", "member", "observer"]})
    submissions = pd.DataFrame({"org_id": [1, 2], "kind": ["stockpile_holding"] * 2, "material": ["gallium"] * 2,
                                "as_of": [dt.date(2026, 11, 1), dt.date(2026, 5, 1)]})
    register = load_register()
    found = [f for f in overdue_reports(stock_report_status(register, submissions, organisations, DAY, GROUPS))
             if f.materials == ["gallium"]]
    # USA reported a month ago; the Commission's report is 214 days old; Japan never reported; observers owe none
    assert sorted(f.detail.split(":")[0] for f in found) == ["ec", "jpn"]
    assert "last report 2026-05-01" in next(f.detail for f in found if f.detail.startswith("ec"))


def test_cli_publishes_breaches_once(tmp_path):
    measures = tmp_path / "m.csv"
    measures.write_text(HEADER + "CA-1,CAN,graphite,export_licence,all,2026-05-01,,ministry notice\n")
    url = f"sqlite:///{tmp_path / 'service.db'}"
    runner = CliRunner()
    args = ["commitments", "check", "--measures", str(measures), "--date", "2026-12-01", "--database", url,
            "--publish", "-f", "json"]
    first = json.loads(runner.invoke(app, args).output)
    assert first["published"] == {"created": 1, "existing": 0}
    assert [f["kind"] for f in first["findings"]].count("breach") == 1
    assert json.loads(runner.invoke(app, args).output)["published"] == {"created": 0, "existing": 1}
    from minsec.service.db import Alert, connect

    database = connect(url)
    with database.reading() as session:
        alert = session.query(Alert).one()
        assert alert.tlp == "GREEN" and alert.kind == "early_warning" and "CAN" in alert.title
    database.dispose()
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "X,XXQ,graphite,export_ban,all,2026-01-01,,\n")
    result = runner.invoke(app, ["commitments", "check", "--measures", str(bad)])
    assert result.exit_code == 2 and "row 2: unknown country" in result.output
