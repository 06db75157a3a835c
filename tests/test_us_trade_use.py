"""The ``us_trade`` table (USITC DataWeb, US imports to January–April 2026) in use: US import exposure
(``sc.risk.us_exposure``, ``minsec risk us-exposure``) and import-price surveillance
(``sc.markets.surveillance(source="usitc")``, ``minsec markets surveillance --source usitc``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import minsec
from minsec.cli import app
from minsec.errors import NoDataError
from minsec.markets.surveillance import SurveillanceSettings, surge_ratios
from minsec.markets.us_surveillance import surveil_us
from minsec.risk.us_exposure import choose_periods, prior_period, select_headings, us_exposure
from tests.frames import one_row

runner = CliRunner()
PARTNERSHIP = frozenset({"CAN", "DEU", "JPN", "AUS"})
HEADINGS = pd.DataFrame({
    "hs4": ["8110", "8112", "8106"], "material": ["antimony", "", "bismuth"], "stage": ["refining"] * 3,
    "mixed": ["no", "yes", "no"], "contains": ["antimony", "gallium;germanium", "bismuth"],
    "note": ["", "no single material: Ga, Ge …", ""]}).set_index("hs4")


def us_rows(rows: list[tuple]) -> pd.DataFrame:
    """A small ``us_trade`` of imports: (partner, hs4, period, value_usd, tonnes or None, flag), first unit in
    kilograms (a None quantity is suppressed, as the loader leaves it)."""
    frame = pd.DataFrame(rows, columns=["partner", "hs4", "period", "value_usd", "quantity_t", "flag"])
    ytd = frame["period"].str.contains("..", regex=False)
    return frame.assign(
        reporter="USA", flow="import", material=frame["hs4"].map(HEADINGS["material"]), stage="refining",
        mixed=frame["hs4"].map(HEADINGS["mixed"] == "yes"), year=frame["period"].str[:4].astype(int),
        months=np.where(ytd, 4, 12), quantity_kind="first", quantity=frame["quantity_t"] * 1000,
        quantity_unit="kilograms", quantity_basis="gross", source="usitc_dataweb",
        quantity_t=frame["quantity_t"].astype(float))


# ---------------------------------------------------------------------------------------------- exposure
def exposure_table() -> pd.DataFrame:
    y26, y25 = "2026-01..2026-04", "2025-01..2025-04"
    return us_rows([
        ("CHN", "8110", y26, 600.0, 10.0, "reported"), ("CAN", "8110", y26, 300.0, 5.0, "reported"),
        ("MYS", "8110", y26, 100.0, None, "quantity_suppressed"),
        ("CHN", "8110", y25, 400.0, 8.0, "reported"), ("CAN", "8110", y25, 400.0, 8.0, "reported"),
        ("MYS", "8110", y25, 200.0, 4.0, "reported"),
        ("CHN", "8110", "2025", 900.0, 20.0, "reported"), ("CHN", "8110", "2024", 1000.0, 20.0, "reported"),
        ("CHN", "8112", y26, 700.0, 7.0, "reported"), ("DEU", "8112", y26, 300.0, 1.0, "reported")])


def test_shares_and_change_against_the_same_months_a_year_earlier():
    out = us_exposure(exposure_table(), HEADINGS, PARTNERSHIP)          # latest: January–April 2026
    assert set(out["period"]) == {"2026-01..2026-04"}
    sb = one_row(out, hs4="8110")
    # 600 + 300 + 100 = 1,000 USD from the recorded partners; CAN is the only partnership member
    assert sb["imports_usd"] == 1000.0
    assert (sb["china_share"], sb["partnership_share"], sb["other_share"]) == pytest.approx((0.6, 0.3, 0.7))
    assert (sb["top_supplier"], sb["top_supplier_share"], sb["exceeds_65pct"]) == ("CHN", 0.6, False)
    assert sb["partner_shares"] == pytest.approx({"CHN": 0.6, "CAN": 0.3, "MYS": 0.1})
    # MYS's quantity is suppressed: the total tonnage is unknown, never 10 + 5 + 0
    assert np.isnan(sb["imports_t"]) and sb["imports_t_reported"] == 15.0
    assert "MYS quantity suppressed" in sb["quantity_note"]
    # against January–April 2025: 1,000 USD then too; China 400 / 1,000 → 0.6 (+0.2), CAN 0.4 → 0.3 (−0.1)
    assert sb["prior_period"] == "2025-01..2025-04" and sb["imports_usd_prior"] == 1000.0
    assert sb["imports_usd_change"] == pytest.approx(0.0) and sb["imports_t_prior"] == 20.0
    assert sb["china_share_change"] == pytest.approx(0.2) and sb["partnership_share_change"] == pytest.approx(-0.1)
    assert np.isnan(sb["imports_t_change"])                               # unknown tonnes have no change
    assert sb["coverage_note"].startswith("shares are of US imports from the 4 recorded partners (CAN, CHN, DEU, "
                                          "MYS), not of all US imports")
    mixed = one_row(out, hs4="8112")
    assert mixed["mixed"] and mixed["content_note"] == "no single material: Ga, Ge …"
    assert (mixed["top_supplier"], mixed["top_supplier_share"], mixed["exceeds_65pct"]) == ("CHN", 0.7, True)
    assert not mixed["top_supplier_in_partnership"]
    # no January–April 2025 row for 8112: the change is unknown, not −100 % or 0
    assert np.isnan(mixed["imports_usd_prior"]) and np.isnan(mixed["imports_usd_change"])


def test_calendar_year_by_partner_and_the_periods():
    table = exposure_table()
    annual = us_exposure(table, HEADINGS, PARTNERSHIP, period="2025")
    row = one_row(annual, hs4="8110")
    assert row["prior_period"] == "2024" and row["imports_usd_change"] == pytest.approx(900 / 1000 - 1)
    partners = us_exposure(table, HEADINGS, PARTNERSHIP, material="antimony", by_partner=True)
    assert partners["partner"].tolist() == ["CHN", "CAN", "MYS"]         # largest first
    china = one_row(partners, partner="CHN")
    assert china["unit_value_usd_per_t"] == pytest.approx(60.0) and china["value_change"] == pytest.approx(0.5)
    malaysia = one_row(partners, partner="MYS")
    assert np.isnan(malaysia["imports_t"]) and np.isnan(malaysia["unit_value_usd_per_t"])
    assert malaysia["quantity_flag"] == "quantity_suppressed" and malaysia["share_change"] == pytest.approx(-0.1)
    # ordered by the month each period ends in
    assert choose_periods(table, "all") == ["2024", "2025-01..2025-04", "2025", "2026-01..2026-04"]
    assert prior_period("2026-01..2026-04") == "2025-01..2025-04" and prior_period("2025") == "2024"
    with pytest.raises(NoDataError, match=r"2026 is not complete in the download: use 2026-01\.\.2026-04"):
        choose_periods(table, "2026")


def test_a_material_without_a_heading_lists_the_headings():
    assert select_headings(HEADINGS, "gallium") == ["8112"]               # held by the mixed heading
    with pytest.raises(NoDataError, match=r"no USITC DataWeb heading for platinum: .*8110 antimony; 8112 "
                                          r"\(gallium, germanium\)"):
        select_headings(HEADINGS, "platinum")


# ------------------------------------------------------------------------------------------- surveillance
def surveillance_table() -> pd.DataFrame:
    rows = []
    for year, china_t in ((2023, 50.0), (2024, 40.0), (2025, 60.0), (2026, 150.0)):
        period = f"{year}-01..{year}-04"
        for hs4 in ("8110", "8112"):
            rows += [("CAN", hs4, period, 100 * 20_000.0, 100.0, "reported"),       # 20,000 USD/t
                     ("CHN", hs4, period, china_t * 15_000, china_t, "reported")]   # 15,000 USD/t
        # MYS bismuth: a suppressed year in the window — its trend is unknown
        quantity = None if year == 2024 else (40.0 if year == 2026 else 10.0)
        rows += [("MYS", "8106", period, 600_000.0, quantity, "quantity_suppressed" if quantity is None
                  else "reported")]
    for year, china_t in ((2022, 100.0), (2023, 110.0), (2024, 100.0), (2025, 400.0)):
        rows += [("CHN", "8110", str(year), china_t * 15_000, china_t, "reported"),
                 ("CAN", "8110", str(year), 100 * 20_000.0, 100.0, "reported")]
    return us_rows(rows)


def test_undercutting_and_surge_on_january_to_april():
    partners = PARTNERSHIP | {"USA"}
    findings, notes = surveil_us(surveillance_table(), HEADINGS, partners, ["2026-01..2026-04"])
    got = {(f.kind, f.hs92, f.exporter): f for f in findings}
    # undercutting: (20,000 − 15,000) / 20,000 = 0.25; CHN has 150 of 250 t (60 %); one partner exporter → medium
    cut = got[("undercutting", "8110", "CHN")]
    assert cut.value == pytest.approx(0.25) and cut.confidence == "medium" and cut.severity == "medium"
    assert cut.record()["hs4"] == "8110" and cut.period == "2026-01..2026-04" and cut.months == 4
    assert cut.evidence == [{"exporter": "CHN", "importer": "USA", "year": 2026, "hs4": "8110",
                             "value_usd": 2_250_000.0, "quantity_t": 150.0, "unit_value_usd_per_t": 15_000.0,
                             "period": "2026-01..2026-04", "quantity_unit": "kilograms", "flag": "reported"}]
    # surge: 150 t against the mean of January–April 2023–2025, (50 + 40 + 60) / 3 = 50 → 3.0×, high
    surge = got[("surge", "8110", "CHN")]
    assert surge.value == pytest.approx(3.0) and surge.severity == "high"
    assert got[("surge", "8110", "outside")].value == pytest.approx(3.0)
    assert "mean of January–April 2023–2025" in surge.summary
    # the mixed heading: no price test by default, the surge is found and marked
    assert ("undercutting", "8112", "CHN") not in got
    assert got[("surge", "8112", "CHN")].mixed and "mixed heading" in got[("surge", "8112", "CHN")].summary
    assert any("skipped on the mixed headings 8112" in n for n in notes)
    # MYS bismuth: 40 t vs (10 + ? + 10) — with 2024 suppressed the trend is unknown, so no surge is claimed
    assert not any(f.hs92 == "8106" and f.kind == "surge" for f in findings)
    assert any("8106 MYS (2026-01..2026-04)" in n for n in notes)
    assert any("dumping is not tested" in n for n in notes)
    allowed, _ = surveil_us(surveillance_table(), HEADINGS, partners, ["2026-01..2026-04"], include_mixed=True)
    assert any(f.kind == "undercutting" and f.hs92 == "8112" for f in allowed)


def test_calendar_year_surge_is_the_log_linear_rule():
    findings, _ = surveil_us(surveillance_table(), HEADINGS, PARTNERSHIP | {"USA"}, ["2025"])
    surge = next(f for f in findings if f.kind == "surge" and f.exporter == "CHN")
    # 100, 110, 100 → slope 0, trend exp(mean log) — the BACI test's own rule
    assert surge.value == pytest.approx(400 / np.exp(np.log([100.0, 110.0, 100.0]).mean()))
    assert "log-linear trend of 2022–2024" in surge.summary
    # the trailing-mean option of the shared rule: 60 against (10 + 20 + 30) / 3
    assert surge_ratios(np.array([[10.0, 20.0, 30.0, 60.0]]), 3, "mean")[0, 3] == pytest.approx(3.0)
    with pytest.raises(minsec.MinsecError, match="surge trend must be"):
        SurveillanceSettings(surge_trend="median")


# ---------------------------------------------------------------------------------------- bundled data
def test_bundled_rare_earth_compounds_from_china():
    sc = minsec.load()
    latest = sc.risk.us_exposure(material="rare_earths")
    assert set(latest["period"]) == {"2026-01..2026-04"}                  # the default latest period
    assert set(latest["hs4"]) == {"2612", "2805", "2846", "8505"}         # headings of or holding rare earths
    # us_imports_for_consumption_1993-2026.xlsx, sheet 'Customs Value', row 131:
    #   China | 2846 | … | Value for: kilograms | 2025: 100698766
    # the 2025 values of the 15 partners listed under 2846 (AUS 23486, BRA 0, CAN 307855, CHN 100698766,
    # DEU 6992893, EST 2507994, FRA 2937982, HKG 0, IND 1752759, JPN 27925968, KOR 3905201, MYS 2554324,
    # RUS 125750, VNM 1177162, ZAF 4989447) sum to 155,899,587 USD
    year = one_row(sc.risk.us_exposure(material="rare_earths", period="2025"), hs4="2846")
    assert year["imports_usd"] == 155_899_587.0
    assert year["china_share"] == pytest.approx(100_698_766 / 155_899_587)          # 0.646
    # sheet 'Customs Value YTD', row 132: China | 2846 | 2025_Year_to_date 59229873 | 2026_Year_to_date 96366817
    ytd = one_row(latest, hs4="2846")
    assert ytd["imports_usd"] == 133_664_749.0 and ytd["imports_usd_prior"] == 82_713_820.0
    assert ytd["china_share"] == pytest.approx(96_366_817 / 133_664_749)            # 0.721
    assert ytd["mixed"] and "yttrium and scandium" in ytd["content_note"]
    assert "not of all US imports" in ytd["coverage_note"]


def test_bundled_suppressed_quantity_stays_null():
    sc = minsec.load()
    # sheet 'First Unit of Quantity', row 118: China | 8505 | kilograms | 2019: 15248142, 2019_Suppressed: 1
    magnets = one_row(sc.risk.us_exposure(material="rare_earths", period="2019"), hs4="8505")
    assert np.isnan(magnets["imports_t"]) and magnets["imports_t_reported"] > 15_248
    assert "CHN quantity partly suppressed" in magnets["quantity_note"]
    china = one_row(sc.risk.us_exposure(material="rare_earths", period="2019", by_partner=True), hs4="8505",
                    partner="CHN")
    assert np.isnan(china["imports_t"]) and china["quantity_flag"] == "quantity_partly_suppressed"
    # … and the value is all there: 324295451 (number) + 5217395 (no units) + 102668713 (kilograms), rows 116–118
    assert china["value_usd"] == 324_295_451 + 5_217_395 + 102_668_713


def test_cli_us_exposure_and_usitc_surveillance():
    found = runner.invoke(app, ["risk", "us-exposure", "--material", "gallium", "--period", "2025", "-f", "json"])
    assert found.exit_code == 0, found.output
    [row] = json.loads(found.stdout)
    assert row["hs4"] == "8112" and row["mixed"] and row["content_note"].startswith("no single material")
    missing = runner.invoke(app, ["risk", "us-exposure", "--material", "platinum"])
    assert missing.exit_code == 2 and missing.stdout == ""
    assert "no USITC DataWeb heading for platinum" in missing.stderr and "8112 (beryllium" in missing.stderr
    scan = runner.invoke(app, ["markets", "surveillance", "--source", "usitc", "-f", "json"])
    assert scan.exit_code == 0, scan.output
    findings = json.loads(scan.stdout)
    assert {f["period"] for f in findings} == {"2025", "2026-01..2026-04"}
    assert all(f["source"] == "usitc_dataweb" and f["evidence"] for f in findings)
    assert not any(f["kind"] == "undercutting" and f["mixed"] for f in findings)
    assert "price tests (undercutting) skipped on the mixed headings" in scan.stderr
    wrong = runner.invoke(app, ["markets", "surveillance", "--source", "usitc", "--importer", "EU27"])
    assert wrong.exit_code == 2 and "US imports only" in wrong.stderr
