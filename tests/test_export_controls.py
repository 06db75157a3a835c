"""The export-control record (MOFCOM/GAC 2023–2026, USGS MCS 2026 Table 4) and the one status rule every consumer
uses: status at chosen dates, and the early warnings, the briefing, the commitments check, the material page
and the ensemble prior saying the same thing on 2026-12-04.

Raw rows the values come from (data/raw/china_export_controls/):
  2023–2025 file, row 11: CN-2025-57,…,2025-10-09,2025-11-08,Ho;Er;Tm;Eu;Yb,…,suspended,MOFCOM/GAC Announcement
      No. 70 of 2025,2026-11-10,…
  2023–2025 file, row 6:  CN-2024-46,…,2024-12-03,2024-12-03,Ga;Ge;Sb;C (superhard);C (graphite),…,Art.1 in force;
      Art.2 suspended,MOFCOM Announcement No. 72 of 2025 (Art.2 only),2026-11-27,…
  additions, row 2: CN-2025-70,…,2025-11-07,2025-11-07,…,suspension,…,2026-11-10,…,CHN,
      CN-2025-55;CN-2025-56;CN-2025-57;CN-2025-58;CN-2025-61;CN-2025-62,,,yes
  additions, row 3: CN-2025-72,…,2025-11-09,2025-11-09,…,2026-11-27,…,CHN,CN-2024-46 (Art. 2),,,yes
  additions, row 4: CN-2025-68,…,2025-10-26,2026-01-01,W;Sb;Ag,…,CHN,,2027-12-31,,
  Table 4, row 4: Indonesia,Export ban,"Bauxite (2023), copper concentrates (2023), and nickel ore (2020).",…
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from minsec.data.control_status import STATUS_COLUMNS, STATUSES, parse_suspends, status_on
from minsec.data.errors import DataFormatError
from minsec.data.loaders import export_controls
from tests.conftest import RAW_DIR, ROOT

FOLDER = RAW_DIR / "china_export_controls"
TODAY = dt.date(2026, 12, 4)
ENDED_70 = "suspension ended on 2026-11-10 — check current status"


@pytest.fixture(scope="module")
def record() -> pd.DataFrame:
    return export_controls.read_record(FOLDER)


@pytest.fixture(scope="module")
def fresh_chain(tmp_path_factory):
    """The supply chain of a dataset built from data/raw (the bundled one is rebuilt by the lead)."""
    import minsec
    from minsec.data import build

    out = build.write(build.build(RAW_DIR), tmp_path_factory.mktemp("controls") / "data")
    return minsec.load(out)


def _status(record: pd.DataFrame, measure_id: str, day: dt.date) -> dict:
    table = status_on(record, day)
    return table[table["measure_id"] == measure_id].iloc[0].to_dict()


# ------------------------------------------------------------------------------------------------ the record
def test_record_holds_the_three_files(record):
    assert len(record) == 15 + 1 + 19                          # 2023–2025 rows, one new MOFCOM row, Table 4
    assert record["measure_id"].is_unique
    assert set(record["record_source"]) == set(export_controls.SOURCES.values())
    revised = record.set_index("measure_id")
    assert revised.loc["CN-2025-70", "effective_date"] == pd.Timestamp("2025-11-07")
    assert revised.loc["CN-2025-72", "announced_date"] == pd.Timestamp("2025-11-09")
    assert revised.loc["CN-2025-72", "suspended_until"] == pd.Timestamp("2026-11-27")
    assert revised.loc["CN-2025-70", "record_source"].startswith("MOFCOM/GAC record, 2025–2026 additions")
    assert revised.loc["CN-2025-68", "ended_date"] == pd.Timestamp("2027-12-31")
    t4 = record[record["record_source"] == "USGS MCS 2026 Table 4"]
    assert len(t4) == 19 and t4["imposing_country"].is_unique
    assert {"CHN", "IDN", "COD", "ZAF", "KGZ", "LAO"} <= set(t4["imposing_country"])
    assert (record.loc[record["record_source"] != "USGS MCS 2026 Table 4", "imposing_country"] == "CHN").all()
    indonesia = revised.loc["USGS-MCS2026-T4-IDN"]
    assert indonesia["elements"] == "Al (bauxite);Cu;Ni"
    assert indonesia["effective_date"] == pd.Timestamp("2020-01-01")
    assert indonesia["effective_date_text"] == "2020 (year only; items dated 2020–2023)"
    assert indonesia["recorded_on"] == pd.Timestamp("2026-01-01")


def test_the_2023_2025_file_stays_the_shared_original():
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "china_export_controls"   # ../shared
    shared = shared / export_controls.ORIGINAL_FILE
    if not shared.exists():
        pytest.skip("shared data not mounted")
    assert (FOLDER / export_controls.ORIGINAL_FILE).read_bytes() == shared.read_bytes()


def test_table4_commodity_words():
    assert export_controls.t4_elements("Raw materials of iron, lead-zinc, chromite, manganese, apatite, and rare "
                                       "earths and deeply processed titanium (2012).") == \
        "Fe;Pb;Zn;Cr;Mn;P (apatite);REE;Ti"
    assert export_controls.t4_elements("Steel waste and scrap, tungsten scrap, and enriched uranium (2022).") == \
        "steel scrap;W (scrap);U (enriched)"
    assert parse_suspends("CN-2024-46 (Art. 2); CN-2025-55") == [("CN-2024-46", "Art. 2"), ("CN-2025-55", "")]


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "china_export_controls"
    shutil.copytree(FOLDER, folder)
    table4 = tmp_path / export_controls.USGS_T4_FILE
    table4.parent.mkdir(parents=True)
    shutil.copyfile(FOLDER.parent / export_controls.USGS_T4_FILE, table4)
    return folder


def test_a_repeated_id_must_say_it_revises(tmp_path):
    folder = _copy(tmp_path)
    path = folder / export_controls.ADDITIONS_FILE
    path.write_text(path.read_text(encoding="utf-8").replace(",,yes\n", ",,\n", 1), encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"row 2, column 'measure_id': repeats a measure_id"):
        export_controls.read_record(folder)


def test_a_suspension_date_must_match_its_instrument(tmp_path):
    folder = _copy(tmp_path)
    path = folder / export_controls.ADDITIONS_FILE
    path.write_text(path.read_text(encoding="utf-8").replace(",2026-11-27,", ",2026-11-28,", 1), encoding="utf-8")
    with pytest.raises(DataFormatError, match="CN-2024-46 is recorded suspended until 2026-11-27"):
        export_controls.read_record(folder)


# ------------------------------------------------------------------------------------------------ the rule
@pytest.mark.parametrize(("measure_id", "day", "status", "text"), [
    ("CN-2025-57", "2025-10-01", "not_yet_in_force", "not yet announced (announced 2025-10-09)"),
    ("CN-2025-57", "2025-10-20", "not_yet_in_force", "not yet in force: takes effect 2025-11-08"),
    ("CN-2025-57", "2025-11-07", "suspended", "suspended until 2026-11-10 by MOFCOM/GAC Ann. 70/2025"),
    ("CN-2025-57", "2026-11-10", "suspended", "suspended until 2026-11-10 by MOFCOM/GAC Ann. 70/2025"),
    ("CN-2025-57", "2026-11-11", "suspension_ended", ENDED_70),
    ("CN-2025-61", "2025-10-20", "in_force", "in force since 2025-10-09 (s.1(c)); 2025-12-01 (s.1(a)-(b))"),
    ("CN-2024-46", "2025-06-01", "in_force", "in force since 2024-12-03"),
    ("CN-2024-46", "2025-11-09", "suspended", "Art. 2 suspended until 2026-11-27 by MOFCOM Ann. 72/2025; the rest "
                                              "in force"),
    ("CN-2024-46", "2026-11-28", "suspension_ended", "suspension of Art. 2 ended on 2026-11-27 — check current "
                                                     "status"),
    ("CN-2025-70", "2026-01-01", "in_force", "in force: suspends CN-2025-55, CN-2025-56, CN-2025-57, CN-2025-58, "
                                             "CN-2025-61, CN-2025-62 until 2026-11-10"),
    ("CN-2025-70", "2026-12-04", "suspension_ended", ENDED_70),
    ("CN-2025-68", "2025-12-31", "not_yet_in_force", "not yet in force: takes effect 2026-01-01"),
    ("CN-2025-68", "2026-12-04", "in_force", "in force since 2026-01-01"),
    ("CN-2025-68", "2028-01-01", "lifted", "ended on 2027-12-31"),
    ("CN-2025-18", "2026-12-04", "in_force", "in force since 2025-04-04"),
    ("USGS-MCS2026-T4-IDN", "2019-06-01", "not_yet_in_force", "not yet in force: takes effect 2020 (year only; "
                                                              "items dated 2020–2023)"),
    ("USGS-MCS2026-T4-IDN", "2026-12-04", "in_force", "in force since 2020 (year only; items dated 2020–2023); "
     "recorded in force for January 2026 by USGS MCS 2026 Table 4, not re-checked since"),
])
def test_status_on_a_date(record, measure_id, day, status, text):
    got = _status(record, measure_id, dt.date.fromisoformat(day))
    assert (got["computed_status"], got["status_text"]) == (status, text)


def test_status_table_shape_and_determinism(record):
    table = status_on(record, TODAY)
    assert list(table.columns) == STATUS_COLUMNS and table.index.equals(record.index)
    assert set(table["computed_status"]) <= set(STATUSES)
    assert (table["as_of"] == TODAY).all()
    pd.testing.assert_frame_equal(table, status_on(record, "2026-12-04"))
    # a CSV copy (dates as text) gives the same statuses
    as_text = record.astype({c: str for c in export_controls.DATE_COLUMNS}).replace({"NaT": ""})
    pd.testing.assert_series_equal(status_on(as_text, TODAY)["status_text"], table["status_text"])
    ended = table[table["computed_status"] == "suspension_ended"]
    assert set(ended["measure_id"]) == {"CN-2025-55", "CN-2025-56", "CN-2025-57", "CN-2025-58", "CN-2025-61",
                                        "CN-2025-62", "CN-2025-70", "CN-2025-72", "CN-2024-46"}
    assert not table.loc[table["is_suspension"], "applies"].any()        # both instruments have run out


# -------------------------------------------------------------------------------- the consumers on 2026-12-04
def test_early_warnings_say_the_suspension_ended(fresh_chain):
    from minsec.signals import export_control_warnings

    warnings = [w for w in export_control_warnings(fresh_chain.export_controls, TODAY) if "CN-2025-57|" in w.key]
    assert {w.kind for w in warnings} == {"export_control", "suspension_lapsed"}
    for warning in warnings:                  # neither alert calls the measure suspended any more
        assert ENDED_70 in warning.body and "suspended until" not in warning.body
    listed = next(w for w in warnings if w.kind == "export_control")
    assert listed.key == "CN-2025-57|suspension_ended|2026-11-10" and ENDED_70 in listed.title
    # the basket and the five elements of Announcement No. 57 (Ho, Er, Tm, Eu, Yb)
    assert listed.countries == ["CHN"] and listed.materials[0] == "rare_earths"
    assert set(listed.materials[1:]) == {"holmium", "erbium", "thulium", "europium", "ytterbium"}


def test_the_briefing_says_the_same(fresh_chain):
    from minsec.web.brief import briefing_html

    html = briefing_html(fresh_chain, "rare_earths", today=TODAY)
    row = re.search(r"<tr><td>CN-2025-57</td>.*?</tr>", html, flags=re.DOTALL).group(0)
    assert f"<td>{ENDED_70}</td>" in row and "Status on 2026-12-04" in html


def test_the_material_page_row_says_the_same(fresh_chain):
    from minsec.web import views

    table = next(t for t in views.material(fresh_chain, "rare_earths", as_of=TODAY)["tables"]
                 if t.id == "export-controls")
    rows = {r["measure_id"]: r for r in table.rows}
    assert rows["CN-2025-57"]["status_text"] == ENDED_70
    assert rows["CN-2025-57"]["computed_status"] == "suspension_ended"
    assert rows["CN-2025-18"]["status_text"] == "in force since 2025-04-04"
    assert rows["USGS-MCS2026-T4-MYS"]["imposing_country"] == "MYS"
    assert [c.label for c in table.columns if c.key == "status_text"] == ["Status on 2026-12-04"]


def test_the_commitments_check_says_the_same(fresh_chain):
    from minsec.rules.commitments import recorded_measures

    measures = {m.measure_id: m for m in recorded_measures(fresh_chain.export_controls, TODAY)}
    assert "CN-2025-70" not in measures and "CN-2025-72" not in measures   # instruments are not measures
    assert measures["CN-2025-57"].status == ENDED_70 and measures["CN-2025-57"].in_force(TODAY)
    assert not measures["CN-2025-57"].in_force(dt.date(2026, 11, 10))      # still suspended that day
    assert measures["USGS-MCS2026-T4-IDN"].country == "IDN"
    assert measures["USGS-MCS2026-T4-COD"].measure_type == "export_quota"
    status = status_on(fresh_chain.export_controls, TODAY).set_index("measure_id")
    for measure in measures.values():         # in force on the day exactly when the shared rule says it applies
        assert measure.in_force(TODAY) == status.loc[measure.measure_id, "applies"], measure.measure_id
    check = fresh_chain.rules.commitments(date=TODAY)
    assert check.measures_checked == len(measures) and check.findings == []  # no recorded party restricts a party


def test_the_ensemble_prior_counts_by_the_same_rule(fresh_chain):
    from minsec.scenarios.ensemble import recorded_restrictions

    class Context:                             # recorded_restrictions reads only the chain
        chain = fresh_chain

    recorded = recorded_restrictions(Context(), TODAY).set_index(["country", "material"])["record"]
    assert recorded.loc[("CHN", "tungsten")] == "CN-2025-10"
    assert recorded.loc[("COD", "cobalt")] == "USGS-MCS2026-T4-COD"          # Table 4 rows, by imposing country
    assert recorded.loc[("ZWE", "lithium")] == "USGS-MCS2026-T4-ZWE"
    before = recorded_restrictions(Context(), dt.date(2023, 1, 1))
    assert "CN-2023-23" not in set(before["record"])                      # announced 2023-07-03


def test_no_consumer_reads_the_recorded_status():
    """Every consumer goes through status_on; none reads status_as_recorded or the suspension date columns."""
    consumers = ["signals.py", "rules/commitments.py", "rules/accessor.py", "web/views.py", "web/brief.py",
                 "scenarios/ensemble.py"]
    pattern = re.compile(r"status_as_recorded|row\.suspended_until|\[\"suspended_until\"\]|suspended_until_text")
    for name in consumers:
        text = (ROOT / "src" / "minsec" / name).read_text(encoding="utf-8")
        assert not pattern.search(text), name
        if name not in ("rules/accessor.py", "web/brief.py"):
            assert "status_on(" in text, name
    # the briefing shows the material page's table, computed on the briefing's date
    assert "views.material(chain, material, as_of=today)" in (ROOT / "src/minsec/web/brief.py").read_text()
    assert "recorded_measures(self._chain.export_controls, day)" in (ROOT / "src/minsec/rules/accessor.py").read_text()
