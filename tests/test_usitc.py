"""USITC DataWeb loader (US imports for consumption / domestic exports by partner and HS-4 heading).

Values are checked by hand against the workbooks in data/raw/usitc_dataweb (sheet!cell quoted; sheet rows
are 1-based, the header is row 3, data start at row 4).
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from minsec.data import catalogue, dataset
from minsec.data.errors import DataFormatError
from minsec.data.loaders import usitc
from minsec.data.loaders.usgs import LoadReport
from minsec.errors import MissingFileError
from tests.frames import one_row

RAW_DIR = Path(__file__).resolve().parents[1] / "data" / "raw"
IMPORTS = RAW_DIR / "usitc_dataweb" / "us_imports_for_consumption_1993-2026.xlsx"
EXPORTS = RAW_DIR / "usitc_dataweb" / "us_domestic_exports_1993-2026.xlsx"


@pytest.fixture(scope="module")
def loaded() -> tuple[pd.DataFrame, LoadReport]:
    report = LoadReport()
    return usitc.tidy(RAW_DIR, report), report


@pytest.fixture(scope="module")
def table(loaded) -> pd.DataFrame:
    return loaded[0]




def _first(table, **where) -> pd.Series:
    return one_row(table, quantity_kind="first", **where)


# ------------------------------------------------------------------------------------ values read by hand
def test_imports_of_rare_earth_compounds_from_china_2024(table):
    # Customs Value!AK131 (column 2024): "Customs Value | China | 2846 | RARE-EARTH METAL COMPOUNDS… |
    # Value for: kilograms | … 112644992.0"; First Unit of Quantity!AK131: "… | kilograms | … 10240357.0"
    row = _first(table, flow="import", partner="CHN", hs4="2846", period="2024")
    assert row.value_usd == 112_644_992
    assert row.quantity == 10_240_357 and row.quantity_unit == "kilograms"
    assert row.quantity_t == pytest.approx(10_240.357)
    assert (row.material, row.stage, row.flag, row.year, row.months) == ("rare_earths", "refining", "reported",
                                                                         2024, 12)
    assert row.mixed  # yttrium and scandium compounds are in the heading too
    assert (row.reporter, row.source) == ("USA", "usitc_dataweb")


def test_magnets_total_2025_over_partners_and_unit_groups(table):
    # Customs Value column AL (2025), the 50 rows with HTS Number 8505 (rows 11 … 394) sum to 702,246,908;
    # China's: AL116 "Value for: number" 344128552.0, AL117 "Value for: no units collected" 0.0,
    # AL118 "Value for: kilograms" 74061130.0 (PROVENANCE's kg-valued figure)
    magnets = table[(table.flow == "import") & (table.hs4 == "8505") & (table.period == "2025")
                    & (table.quantity_kind == "first")]
    assert len(magnets) == 50
    assert magnets["value_usd"].sum() == 702_246_908
    china = magnets[magnets.partner == "CHN"].set_index("quantity_unit")["value_usd"]
    assert china.to_dict() == {"kilograms": 74_061_130, "no units collected": 0, "number": 344_128_552}
    assert set(magnets["material"]) == {""} and set(magnets["stage"]) == {"manufacturing"}


def test_year_to_date_2026(table):
    # Customs Value YTD!AM132 (2026_Year_to_date): China 2846 "Value for: kilograms" 96366817.0;
    # First Unit of Quantity YTD!AM132: 4301236.0 kilograms
    row = _first(table, flow="import", partner="CHN", hs4="2846", period="2026-01..2026-04")
    assert (row.value_usd, row.quantity, row.year, row.months) == (96_366_817, 4_301_236, 2026, 4)
    # Customs Value YTD column AM, all 8505 rows: 316,384,831
    ytd = table[(table.flow == "import") & (table.hs4 == "8505") & (table.period == "2026-01..2026-04")]
    assert ytd["value_usd"].sum() == 316_384_831
    # the same months a year earlier are their own period, for like-for-like comparison
    assert _first(table, flow="import", partner="CHN", hs4="2846", period="2025-01..2025-04").months == 4


def test_annual_2026_column_is_not_read_as_zero(table, loaded):
    # Customs Value!AM131 (column 2026) is 0.0 for China 2846, as in every row: the year had four months
    raw = usitc.read_dataweb(IMPORTS, "import")
    cell = raw[(raw.data_type == "Customs Value") & ~raw.ytd & (raw.country == "China") & (raw.hs4 == "2846")
               & (raw.year == 2026)]
    assert cell["value"].tolist() == [0.0] and cell["row"].tolist() == [131]
    annual = table[table.months == 12]
    assert annual["year"].max() == 2025 and "2026" not in set(table["period"])
    assert sorted(table.loc[table.year == 2026, "period"].unique()) == ["2026-01..2026-04"]
    assert any("annual column(s) [2026] not read" in gap for gap in loaded[1].gaps)


def test_exports_fas_value_and_quantity(table):
    # FAS Value!I4 (1996): "FAS Value | Australia | 2605 | COBALT ORES AND CONCENTRATES | Value for: kilograms
    # | … 142066.0"; First Unit of Quantity!I4: 3000.0 kilograms
    row = _first(table, flow="export", partner="AUS", hs4="2605", period="1996")
    assert (row.value_usd, row.quantity, row.quantity_t) == (142_066, 3_000, 3.0)
    assert (row.material, row.stage) == ("cobalt", "mining")


def test_second_unit_of_quantity_has_no_value(table):
    # Second Unit of Quantity!AL42 (2025): "Second Unit of Quantity | China | 8505 | … | kilograms | 23232987.0"
    # (the kilograms of the lines counted in number: First Unit of Quantity!AL116 728097842.0 number)
    row = one_row(table, flow="import", partner="CHN", hs4="8505", period="2025", quantity_kind="second")
    assert row.quantity == 23_232_987 and row.quantity_t == pytest.approx(23_232.987)
    assert math.isnan(row.value_usd)
    counted = _first(table, flow="import", partner="CHN", hs4="8505", period="2025", quantity_unit="number")
    assert counted.quantity == 728_097_842 and math.isnan(counted.quantity_t) and counted.quantity_basis == ""


# ------------------------------------------------------------------------------- missing is never zero
def test_suppressed_quantity_is_missing_not_zero(table):
    # FAS Value!F73 (1993): Canada 8505 "Value for: number" 21051802.0; First Unit of Quantity!F73: 0.0
    # with AN73 (1993_Suppressed) 229.0
    row = _first(table, flow="export", partner="CAN", hs4="8505", period="1993", quantity_unit="number")
    assert row.value_usd == 21_051_802 and math.isnan(row.quantity) and row.flag == "quantity_suppressed"
    # First Unit of Quantity!AF118 (2019) China 8505 kilograms 15248142.0 with BN118 (2019_Suppressed) 1.0;
    # Customs Value!AF118: 102668713.0 — kept, a lower bound
    row = _first(table, flow="import", partner="CHN", hs4="8505", period="2019", quantity_unit="kilograms")
    assert (row.value_usd, row.quantity, row.flag) == (102_668_713, 15_248_142, "quantity_partly_suppressed")


def test_no_units_collected_is_missing_not_zero(table):
    # Customs Value!F15 (1993): Australia 8505 "Value for: no units collected" 79184.0; the quantity sheet's
    # row 15 holds 0.0 — no quantity exists for these lines
    row = _first(table, flow="import", partner="AUS", hs4="8505", period="1993", quantity_unit="no units collected")
    assert row.value_usd == 79_184 and math.isnan(row.quantity) and row.flag == "no_quantity_unit"


def test_no_zero_quantity_beside_a_value(table):
    first = table[table.quantity_kind == "first"]
    assert not ((first["value_usd"] > 0) & (first["quantity"] == 0)).any()
    assert not ((first["value_usd"] > 0) & (first["quantity_t"] == 0)).any()


# ---------------------------------------------------------------------------------------- table shape
def test_partners_mapped_to_iso3(table):
    assert set(table["partner"]) == {"AUS", "BRA", "CAN", "CHL", "CHN", "COD", "DEU", "EST", "FRA", "HKG", "IND",
                                     "JPN", "KOR", "MMR", "MYS", "RUS", "VNM", "ZAF"}
    # Customs Value!AB307: "Customs Value | Myanmar (Burma) | 2611 | TUNGSTEN ORES AND CONCENTRATES | …"
    assert (table[table.partner == "MMR"]["hs4"] == "2611").any()
    names = pd.Series(["Myanmar (Burma)", "Democratic Republic of the Congo", "South Korea", "World", "All Countries"])
    assert usitc._partners(names, pd.Series([4, 5, 6, 7, 8]), IMPORTS).tolist() == ["MMR", "COD", "KOR", "WLD",
                                                                                    "WLD"]
    with pytest.raises(DataFormatError, match=r"us_imports_for_consumption_1993-2026.xlsx, row 9, column 'Country'"):
        usitc._partners(pd.Series(["Atlantis"]), pd.Series([9]), IMPORTS)


def test_table_matches_schema_and_key_is_unique(table):
    assert list(table.columns) == list(dataset.SCHEMA["us_trade"])
    assert {kind for kind, _ in dataset.SCHEMA["us_trade"].values()} <= {"str", "int", "float", "bool", "date"}
    for column, (kind, _) in dataset.SCHEMA["us_trade"].items():
        if kind in ("int", "float"):
            assert pd.api.types.is_numeric_dtype(table[column]), column
    assert not table[["year", "months"]].isna().any().any()
    key = ["flow", "partner", "hs4", "quantity_kind", "quantity_unit", "period"]
    assert not table.duplicated(key).any()
    assert set(table["flow"]) == {"import", "export"} and set(table["months"]) == {4, 12}
    assert (table[["value_usd", "quantity", "quantity_t"]].fillna(0) >= 0).all().all()
    assert len(table) == 69_983


def test_unit_values(table):
    uv = usitc.unit_values(table[table.hs4 == "2846"])
    china = one_row(uv, flow="import", partner="CHN", period="2024")
    assert china.unit_value_usd_per_t == pytest.approx(112_644_992 / 10_240.357)


# ------------------------------------------------------------------------------------------- catalogue
def test_every_heading_in_the_files_has_a_catalogue_row(table):
    headings = usitc.hts4_materials()
    raw = usitc.read_dataweb(EXPORTS, "export")
    in_files = set(table["hs4"]) | set(raw["hs4"])
    assert len(in_files) == 25 and in_files == set(headings.index)
    named = {m for cell in headings["material"] for m in cell.split(";") if m}
    assert named <= set(catalogue.materials().index)
    assert headings.loc[["2805", "2825", "7202", "8112", "8505"], "mixed"].eq("yes").all()
    assert headings.loc[["8505", "8112", "7202"], "material"].eq("").all()
    assert headings.loc["2606", "material"] == "bauxite" and headings.loc["2601", "material"] == "iron_ore"
    # a heading of one material agrees with the catalogue's HS-6 codes under it (BACI's mapping)
    hs6 = catalogue.hs_codes()
    for hs4, spec in headings[headings["mixed"] == "no"].iterrows():
        under = hs6[hs6["hs92"].str.startswith(hs4)]
        assert set(under["material"]) <= {spec["material"]}, hs4


def test_heading_without_catalogue_row_is_an_error(monkeypatch):
    headings = usitc.hts4_materials()
    monkeypatch.setattr(usitc, "hts4_materials", lambda: headings.drop(index="2846"))
    with pytest.raises(DataFormatError, match=r"us_imports_for_consumption_1993-2026.xlsx, row \d+, column "
                                              r"'HTS Number': HS-4 heading '2846' has no row"):
        usitc.tidy(RAW_DIR)


# --------------------------------------------------------------------------------------- broken files
def test_not_a_workbook_names_the_file(tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_text("Data Type,Country\n")
    with pytest.raises(DataFormatError, match=r"broken\.xlsx: not a readable xlsx workbook"):
        usitc.read_dataweb(broken, "import")
    with pytest.raises(MissingFileError, match=r"absent\.xlsx"):
        usitc.read_dataweb(tmp_path / "absent.xlsx", "import")


def test_wrong_flow_is_an_error():
    with pytest.raises(DataFormatError, match=r"us_domestic_exports_1993-2026.xlsx, column 'Trade Flow': Trade Flow "
                                              r"is 'Domestic Exports', expected 'Imports For Consumption'"):
        usitc.read_dataweb(EXPORTS, "import")


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the imports workbook with one string of the 'Customs Value' sheet's XML (xl/worksheets/
    sheet2.xml, cells written inline) replaced; every other member is copied byte for byte."""
    target = tmp_path / "edited.xlsx"
    with zipfile.ZipFile(IMPORTS) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet2.xml":
                assert data.count(old.encode()) == 1, old
                data = data.replace(old.encode(), new.encode())
            out.writestr(item, data)
    return target


VALUE_2024 = '<c r="AK131" s="2" t="n"><v>1.12644992E8</v></c>'  # China 2846 kilograms, 2024


def test_text_in_a_value_cell_names_sheet_row_and_column(tmp_path):
    edited = _variant(tmp_path, VALUE_2024, '<c r="AK131" s="1" t="inlineStr"><is><t>n/a</t></is></c>')
    with pytest.raises(DataFormatError, match=r"edited\.xlsx, row 131, column '2024': sheet 'Customs Value': "
                                              r"'n/a' is not a non-negative number"):
        usitc.read_dataweb(edited, "import")


def test_rows_that_do_not_add_up_to_the_total_row(tmp_path):
    # Customs Value!AK402: "Total: | … | 8,142,935,589" (column 2024); one dollar more in AK131 breaks it
    edited = _variant(tmp_path, VALUE_2024, VALUE_2024.replace("1.12644992E8", "1.12644993E8"))
    with pytest.raises(DataFormatError, match=r"edited\.xlsx, row 402, column '2024': sheet 'Customs Value': "
                                              r"rows sum to 8,142,935,590, Total row says 8,142,935,589"):
        usitc.read_dataweb(edited, "import")


def test_a_repeated_row_is_an_error(tmp_path):
    # row 130 is China | 2836 | Value for: kilograms; as 2846 it repeats row 131's partner, heading and unit
    edited = _variant(tmp_path, '<c r="C130" s="1" t="inlineStr"><is><t>2836</t></is></c>',
                      '<c r="C130" s="1" t="inlineStr"><is><t>2846</t></is></c>')
    with pytest.raises(DataFormatError, match=r"edited\.xlsx, row 131: sheet 'Customs Value': second row for"):
        usitc.read_dataweb(edited, "import")
