"""Loaders on byte-exact extracts of the publishers' files, and on broken variants of them."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from minsec.data import countries
from minsec.data.errors import DataFormatError
from minsec.data.loaders import baci, usgs, wgi, wmd
from tests.frames import one_row

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GALLIUM = FIXTURES / "usgs_mcs2024" / "world" / "mcs2024-galli_world.csv"
LITHIUM = FIXTURES / "usgs_mcs2024" / "world" / "mcs2024-lithi_world.csv"
FLUORSPAR_SALIENT = FIXTURES / "usgs_mcs2024" / "salient" / "mcs2024-fluor_salient.csv"
GALLIUM_SALIENT = FIXTURES / "usgs_mcs2024" / "salient" / "mcs2024-galli_salient.csv"
WMD = FIXTURES / "world_mining_data" / "wmd_production_extract.csv"
BACI = FIXTURES / "cepii_baci" / "baci_extract.csv"
BACI_CODES = FIXTURES / "cepii_baci" / "country_codes.csv"
WGI = FIXTURES / "worldbank_wgi" / "wgi_extract.csv"


def _variant(tmp_path: Path, source: Path, old: bytes, new: bytes, name: str | None = None) -> Path:
    """Copy ``source`` into tmp_path (same file name unless given) with one byte string replaced."""
    data = source.read_bytes()
    assert data.count(old) == 1, f"{old!r} must occur exactly once in {source.name}"
    target = tmp_path / (name or source.name)
    target.write_bytes(data.replace(old, new))
    return target




# ---------------------------------------------------------------------------------------------- countries


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("Japane", "Japan"), ("Other countries4", "Other countries"), ("Korea, Republic ofe", "Korea, Republic of"),
     ("Russiae", "Russia"), ("New Caledonia11", "New Caledonia"), ("Ukraine", "Ukraine"),
     ("United\u00a0States", "United States"), ("Burma", "Burma")],
)
def test_clean_usgs_name(raw, clean):
    assert countries.clean_usgs_name(raw) == clean


@pytest.mark.parametrize(
    ("name", "iso3"),
    [("Japan", "JPN"), ("Korea, Republic of", "KOR"), ("Burma", "MMR"), ("Congo (Kinshasa)", "COD"),
     ("Russia", "RUS"), ("Ukraine", "UKR"), ("United States", "USA")],
)
def test_iso3_from_name(name, iso3):
    assert countries.iso3_from_name(name) == iso3


def test_iso3_from_unknown_name_raises():
    with pytest.raises(countries.UnknownCountryError, match="Atlantis"):
        countries.iso3_from_name("Atlantis")


@pytest.mark.parametrize(("code", "iso3"), [("ZAR", "COD"), ("ROM", "ROU"), ("S19", "TWN"), (" usa ", "USA"),
                                            ("XKX", "XKX"), ("WLD", "WLD")])
def test_normalise_iso3(code, iso3):
    assert countries.normalise_iso3(code) == iso3


def test_normalise_unknown_code_raises():
    with pytest.raises(countries.UnknownCountryError, match="QQQ"):
        countries.normalise_iso3("QQQ")


# ---------------------------------------------------------------------------------------------- USGS world


@pytest.fixture(scope="module")
def gallium() -> pd.DataFrame:
    return usgs.read_world_table(GALLIUM)


def test_usgs_fixture_keeps_publisher_quirks():
    data = GALLIUM.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfSource,Country,")
    assert b"\r\n" in data
    assert b"United\xc2\xa0States" in data


def test_usgs_world_kg_to_tonnes(gallium):
    china_2022 = one_row(gallium, country="CHN", measure="production", year=2022)
    assert china_2022["value"] == pytest.approx(600.0)  # 600 000 kg
    assert china_2022["unit"] == "t"
    assert china_2022["row"] == 3
    assert china_2022["release"] == "MCS2024"
    assert china_2022["usgs_code"] == "galli"
    assert not china_2022["estimated"]
    china_2023 = one_row(gallium, country="CHN", measure="production", year=2023)
    assert china_2023["value"] == pytest.approx(600.0)
    assert china_2023["estimated"]  # column Prod_kg_est_2023
    assert one_row(gallium, country="CHN", measure="capacity", year=2023)["value"] == pytest.approx(1000.0)


def test_usgs_world_kt_to_tonnes(tmp_path):
    path = _variant(tmp_path, GALLIUM, b"Prod_kg_2022,", b"Prod_kt_2022,")
    frame = usgs.read_world_table(path)
    assert one_row(frame, country="CHN", measure="production", year=2022)["value"] == 600_000_000.0
    assert one_row(frame, country="CHN", measure="production", year=2023)["value"] == pytest.approx(600.0)


def test_usgs_world_footnotes_and_estimate_markers(gallium):
    by_raw = gallium.drop_duplicates("country_raw").set_index("country_raw")["country"].to_dict()
    assert by_raw == {
        "United\u00a0States": "USA", "China": "CHN", "Japane": "JPN", "Korea, Republic ofe": "KOR",
        "Russiae": "RUS", "Other countries4": "OTH", "World total (rounded)": "WLD",
    }
    assert one_row(gallium, country="JPN", measure="production", year=2022)["value"] == pytest.approx(3.0)
    assert one_row(gallium, country="KOR", measure="capacity", year=2023)["value"] == pytest.approx(16.0)


def test_usgs_world_thousands_separators(gallium):
    world_cap = one_row(gallium, country="WLD", measure="capacity", year=2023)
    assert world_cap["value"] == pytest.approx(1100.0)  # "1,100,000" kg
    assert world_cap["note"] == "estimated"
    assert one_row(gallium, country="OTH", measure="capacity", year=2023)["value"] == pytest.approx(88.0)
    assert one_row(gallium, country="WLD", measure="production", year=2022)["value"] == pytest.approx(610.0)


def test_usgs_world_blank_rows_ignored(gallium):
    # 7 data rows × 3 value columns; the trailing ",,,,,,," rows produce nothing
    assert len(gallium) == 21
    assert gallium["row"].max() == 8
    assert gallium.attrs["years"] == [2022, 2023]


def test_usgs_withheld_is_nan_with_flag():
    lithium = usgs.read_world_table(LITHIUM)
    us = one_row(lithium, country="USA", measure="production", year=2022)
    assert math.isnan(us["value"])
    assert us["flag"] == "withheld"
    argentina = one_row(lithium, country="ARG", measure="production", year=2022)
    assert argentina["value"] == 6590.0
    assert argentina["flag"] == "reported"
    assert one_row(lithium, country="OTH", measure="production", year=2023)["value"] == 0.0
    assert one_row(lithium, country="WLD", measure="production", year=2023)["value"] == 180000.0
    reserves = one_row(lithium, country="CHN", measure="reserves")
    assert reserves["value"] == 3_000_000.0
    assert pd.isna(reserves["year"])


def test_usgs_world_release_reports_withheld(tmp_path):
    shutil.copy(GALLIUM, tmp_path)
    shutil.copy(LITHIUM, tmp_path)
    report = usgs.LoadReport()
    frame = usgs.read_world_release(tmp_path, codes={"lithi"}, report=report)
    assert set(frame["usgs_code"]) == {"lithi"}
    assert report.files == ["mcs2024-lithi_world.csv"]
    assert report.skipped == ["mcs2024-galli_world.csv: commodity not in the minsec catalogue"]
    assert report.gaps == ["mcs2024-lithi_world.csv: United States production withheld (W)"]


@pytest.mark.parametrize(
    ("raw", "value", "flag"),
    [("1,100,000", 1_100_000.0, "reported"), ("e5,000", 5000.0, "estimated"), ("W", math.nan, "withheld"),
     ("NA", math.nan, "not_available"), ("XX", math.nan, "not_applicable"), (">9,100,000", math.nan, "bound"),
     ("", math.nan, "blank"), (" 12.5 ", 12.5, "reported")],
)
def test_usgs_parse_value(raw, value, flag):
    parsed, parsed_flag = usgs.parse_value(raw, Path("x.csv"), 2, "Prod_t_2022")
    assert parsed_flag == flag
    if math.isnan(value):
        assert math.isnan(parsed)
    else:
        assert parsed == value


def test_usgs_unknown_value_names_row_and_column(tmp_path):
    path = _variant(tmp_path, GALLIUM, b"Japane,Primary production,3000,", b"Japane,Primary production,abc,")
    with pytest.raises(DataFormatError, match=r"row 4, column 'Prod_kg_2022'.*'abc'") as info:
        usgs.read_world_table(path)
    assert info.value.row == 4
    assert info.value.column == "Prod_kg_2022"
    assert "mcs2024-galli_world.csv" in str(info.value)


def test_usgs_negative_value_names_row_and_column(tmp_path):
    path = _variant(tmp_path, GALLIUM, b"Russiae,Primary production,5000,5000,", b"Russiae,Primary production,5000,-5,")
    with pytest.raises(DataFormatError, match=r"row 6, column 'Prod_kg_est_2023': negative quantity '-5'"):
        usgs.read_world_table(path)


def test_usgs_unknown_country_names_row(tmp_path):
    path = _variant(tmp_path, GALLIUM, b"MCS2024,Japane,", b"MCS2024,Atlantis,")
    with pytest.raises(DataFormatError, match=r"row 4, column 'Country': unknown country 'Atlantis'"):
        usgs.read_world_table(path)


def test_usgs_unknown_column_is_reported(tmp_path):
    path = _variant(tmp_path, GALLIUM, b"Cap_kg_2023,", b"Cap_furlongs_2023,")
    with pytest.raises(DataFormatError, match=r"row 1, column 'Cap_furlongs_2023': unknown column"):
        usgs.read_world_table(path)


def test_usgs_missing_country_column(tmp_path):
    path = _variant(tmp_path, GALLIUM, b"Source,Country,", b"Source,Nation,")
    with pytest.raises(DataFormatError, match=r"row 1: expected header starting Source,Country") as info:
        usgs.read_world_table(path)
    assert info.value.row == 1


def test_usgs_bad_file_name(tmp_path):
    path = tmp_path / "gallium.csv"
    shutil.copy(GALLIUM, path)
    with pytest.raises(DataFormatError, match=r"mcsYYYY-<code>_world\.csv"):
        usgs.read_world_table(path)


# ---------------------------------------------------------------------------------------------- USGS salient


def test_usgs_salient_shifted_rows_are_skipped_and_reported():
    report = usgs.LoadReport()
    frame = usgs.read_salient_table(FLUORSPAR_SALIENT, report)
    # Every fluorspar row has one value more than the header (a blank " " cell after Year): none is used.
    assert frame.empty
    assert [g.split(":")[0] for g in report.gaps] == ["mcs2024-fluor_salient.csv row 2",
                                                      "mcs2024-fluor_salient.csv row 3"]
    assert all("values may be shifted" in g for g in report.gaps)


def test_usgs_salient_mixed_file(tmp_path):
    shifted = b"MCS2024,Gallium,2021,0,8890,306000,NA,17100,625,254,2810,100,99,,,,,,,,\r\n"
    path = tmp_path / GALLIUM_SALIENT.name
    path.write_bytes(GALLIUM_SALIENT.read_bytes() + shifted)
    report = usgs.LoadReport()
    frame = usgs.read_salient_table(path, report)
    assert sorted(frame["year"].unique()) == [2019, 2020]
    assert report.gaps == ["mcs2024-galli_salient.csv row 4: more values than header fields "
                           "(values may be shifted) — row not used"]
    imports = one_row(frame, year=2019, field="Imports_GaAskg")
    assert imports["value"] == 289000.0
    assert imports["row"] == 2
    exports = one_row(frame, year=2020, field="Exports_g")
    assert math.isnan(exports["value"])
    assert exports["flag"] == "not_available"
    assert one_row(frame, year=2020, field="NIR_pct")["value"] == 100.0
    assert set(frame["commodity"]) == {"Gallium"}


def test_usgs_salient_bad_year(tmp_path):
    path = _variant(tmp_path, GALLIUM_SALIENT, b"Gallium,2020,", b"Gallium,20x0,")
    with pytest.raises(DataFormatError, match=r"row 3, column 'Year'"):
        usgs.read_salient_table(path)


def test_usgs_salient_world_layout_is_refused(tmp_path):
    path = tmp_path / "mcs2024-galli_salient.csv"
    shutil.copy(GALLIUM, path)
    with pytest.raises(DataFormatError, match="world-table layout"):
        usgs.read_salient_table(path)


# ---------------------------------------------------------------------------------------------- WMD


@pytest.fixture(scope="module")
def wmd_rows() -> pd.DataFrame:
    return wmd.read_production(WMD)


def test_wmd_total_row_is_world(wmd_rows):
    total = one_row(wmd_rows, commodity="Iron (Fe)", country="WLD")
    assert total["value"] == 1524626218.0
    assert total["flag"] == "total"
    assert total["row"] == 4
    assert "DELETE" not in set(wmd_rows["country"])


def test_wmd_kg_to_tonnes(wmd_rows):
    armenia = one_row(wmd_rows, commodity="Rhenium", country="ARM")
    assert armenia["value"] == pytest.approx(0.28)  # 280 kg
    assert armenia["unit"] == "t"
    assert armenia["flag"] == "estimated"
    assert one_row(wmd_rows, commodity="Rhenium", country="WLD")["value"] == pytest.approx(46.442)
    assert one_row(wmd_rows, commodity="Iron (Fe)", country="DZA")["value"] == 1178800.0


def test_wmd_empty_value_stays_missing(wmd_rows):
    angola = one_row(wmd_rows, commodity="Iron (Fe)", country="AGO")
    assert math.isnan(angola["value"])
    assert angola["flag"] == "not_listed"


def test_wmd_geopolrisk_pseudo_codes(wmd_rows):
    assert one_row(wmd_rows, commodity="Nickel", country="XKX")["value"] == 4790.0
    assert one_row(wmd_rows, commodity="Gold", country="TWN")["value"] == pytest.approx(0.004)
    assert list(wmd_rows["year"]) == [2018] * 8


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [(b"ARG,2018,13810.0,", b"ARG,2018,abc,", r"row 6, column 'value': value 'abc' is not a number"),
     (b"ARG,2018,13810.0,", b"ARG,2018,-13810.0,", r"row 6, column 'value': negative production"),
     (b"Armenia,51,ARM,", b"Armenia,51,QQQ,", r"row 7, column 'country_iso3': unknown country code 'QQQ'"),
     (b"ARM,2018,280,kg,", b"ARM,2018,280,lb,", r"row 7, column 'unit': unknown unit 'lb'"),
     (b"Angola,24,AGO,2018,", b"Angola,24,AGO,20x8,", r"row 3, column 'year'"),
     (b",unit,", b",units,", r"row 1: missing columns \['unit'\]")],
)
def test_wmd_broken(tmp_path, old, new, pattern):
    path = _variant(tmp_path, WMD, old, new)
    with pytest.raises(DataFormatError, match=pattern) as info:
        wmd.read_production(path)
    assert str(info.value).startswith(str(path))


# ---------------------------------------------------------------------------------------------- BACI


@pytest.fixture(scope="module")
def baci_codes() -> dict[int, str]:
    return baci.read_country_codes(BACI_CODES)


def test_baci_country_codes(baci_codes):
    assert baci_codes == {28: "ATG", 156: "CHN", 490: "TWN", 566: "NGA", 697: "R20", 842: "USA"}


def test_baci_trade(baci_codes):
    trade = baci.read_trade(BACI, baci_codes)
    assert list(trade.columns) == ["year", "exporter", "importer", "hs92", "value_kusd", "quantity_t"]
    assert len(trade) == 4
    taiwan = trade[(trade["exporter"] == "TWN") & (trade["hs92"] == "250410")].iloc[0]
    assert taiwan["importer"] == "USA"
    assert taiwan["year"] == 2022
    assert taiwan["value_kusd"] == pytest.approx(16.248)
    assert taiwan["quantity_t"] == pytest.approx(0.483)
    china = trade[trade["exporter"] == "CHN"].iloc[0]
    assert (china["importer"], china["quantity_t"]) == ("USA", pytest.approx(40709.556))
    first = trade.iloc[0]
    assert (first["exporter"], first["importer"], first["year"]) == ("ATG", "NGA", 2010)


def test_baci_filters(baci_codes):
    trade = baci.read_trade(BACI, baci_codes, hs_codes={"250490"}, years=(2020, 2024))
    assert len(trade) == 1
    assert trade.iloc[0]["quantity_t"] == pytest.approx(0.012)
    assert baci.read_trade(BACI, baci_codes, years=(2010, 2010))["importer"].tolist() == ["NGA"]


def test_baci_empty_quantity_stays_missing(tmp_path, baci_codes):
    path = _variant(tmp_path, BACI, b"16.248,0.483", b"16.248,")
    trade = baci.read_trade(path, baci_codes)
    assert trade["quantity_t"].isna().sum() == 1
    assert trade["value_kusd"].notna().all()


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [(b"16.248,0.483", b"16.248,-0.483", r"row 4, column 'q': negative quantity"),
     (b"4.637,0.012", b"-4.637,0.012", r"row 5, column 'v': negative value"),
     (b"2022,490,842,250410", b"2022,999,842,250410", r"row 4, column 'i': unknown BACI country code 999"),
     (b"2010,28,566,", b"2010,28,111,", r"row 2, column 'j': unknown BACI country code 111"),
     (b"t,i,j,k,v,q", b"t,i,j,k,v,qty", r"(missing columns|cannot read)")],
)
def test_baci_broken(tmp_path, baci_codes, old, new, pattern):
    path = _variant(tmp_path, BACI, old, new)
    with pytest.raises(DataFormatError, match=pattern):
        baci.read_trade(path, baci_codes)


def test_baci_country_codes_broken(tmp_path):
    path = _variant(tmp_path, BACI_CODES, b"566,Nigeria,NG,NGA", b"566,Nigeria,NG,NGQ")
    with pytest.raises(DataFormatError, match=r"row 5, column 'country_iso3': unknown country code 'NGQ'"):
        baci.read_country_codes(path)
    path = _variant(tmp_path, BACI_CODES, b"156,China", b"1x6,China", name="codes2.csv")
    with pytest.raises(DataFormatError, match=r"row 3, column 'country_code'"):
        baci.read_country_codes(path)


# ---------------------------------------------------------------------------------------------- WGI


def test_wgi_long():
    frame = wgi.read_wgi_long(WGI)
    assert list(frame["country"]) == ["AFG", "ASM", "COD", "ROU", "AFG", "USA"]
    assert list(frame["indicator"]) == ["cc", "cc", "cc", "cc", "pv", "pv"]
    assert math.isnan(frame["estimate"].iloc[1])  # American Samoa: no estimate, stays missing
    assert frame["estimate"].iloc[4] == pytest.approx(-2.417309522628784)
    assert frame["estimate"].iloc[5] == pytest.approx(0.008700686506927013)
    assert list(frame["year"]) == [1996] * 5 + [2022]


def test_wgi_missing_marker(tmp_path):
    path = _variant(tmp_path, WGI, b"American Samoa,1996,cc,,", b"American Samoa,1996,cc,..,")
    assert math.isnan(wgi.read_wgi_long(path)["estimate"].iloc[1])


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [(b"ROM,Romania,1996,cc,-0.446", b"ROM,Romania,1996,cc,abc", r"row 5, column 'estimate'"),
     (b"ROM,Romania,1996,cc,-0.446", b"ROM,Romania,1996,cc,-9.446", r"row 5, column 'estimate'.*outside"),
     (b"ROMcc1996,ROM,", b"ROMcc1996,RXM,", r"row 5, column 'code': unknown country code 'RXM'"),
     (b"Afghanistan,1996,pv,", b"Afghanistan,1996,px,", r"row 6, column 'indicator': unknown indicator 'px'"),
     (b",estimate,", b",estimat,", r"row 1: missing columns \['estimate'\]")],
)
def test_wgi_broken(tmp_path, old, new, pattern):
    path = _variant(tmp_path, WGI, old, new)
    with pytest.raises(DataFormatError, match=pattern):
        wgi.read_wgi_long(path)
