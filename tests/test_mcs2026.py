"""USGS Mineral Commodity Summaries 2026 loader (minsec.data.loaders.mcs2026) on the real data release.

Every hand-checked value quotes its row of ``data/raw/usgs_mcs2026/usgs_mcs2026_commodities_data.csv``
(cp1252; line numbers as in the file, header = line 1).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from minsec.data import catalogue, dataset
from minsec.data.errors import DataFormatError
from minsec.data.loaders import mcs2026, usgs

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
SOURCE = RAW / mcs2026.SOURCE_DIR
DATA = SOURCE / mcs2026.DATA_FILE
HEADER = ",".join(mcs2026.HEADER)


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return mcs2026.read_commodities(DATA)


@pytest.fixture(scope="module")
def production_and_report() -> tuple[pd.DataFrame, usgs.LoadReport]:
    report = usgs.LoadReport()
    return mcs2026.tidy_production(RAW, report), report


@pytest.fixture(scope="module")
def production(production_and_report) -> pd.DataFrame:
    return production_and_report[0]


@pytest.fixture(scope="module")
def salient() -> pd.DataFrame:
    return mcs2026.tidy_salient(RAW, usgs.LoadReport())


def _one(frame: pd.DataFrame, **keys) -> pd.Series:
    rows = frame
    for column, value in keys.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, f"{keys}: {len(rows)} rows"
    return rows.iloc[0]


# ------------------------------------------------------------------------------------------------ parser
@pytest.mark.parametrize(("text", "notes", "flag", "op", "bound"), [
    ("W", "", "withheld", "", math.nan),
    ("NA", "", "not_available", "", math.nan),
    ("XX", "", "not_applicable", "", math.nan),
    ("E", "", "net_exporter", "", math.nan),
    (">50", "", "bound", ">", 50.0),
    ("<100,000", "", "bound", "<", 100_000.0),
    ("Large", "", "qualitative", "", math.nan),
    ("Variable, depending on type of product", "", "qualitative", "", math.nan),
    ("s", "Less than ½ unit.", "less_than_half_unit", "", math.nan),
    ("s", "Estimated. -- Less than 500 carats.", "small", "", math.nan),
    ("s", "See Appendix C … -- Included in “World total.”", "included_elsewhere", "", math.nan),
    ("s", "Large unreported investor stock purchases preclude calculation", "see_note", "", math.nan),
])
def test_codes_are_missing_with_their_flag_never_zero(text, notes, flag, op, bound):
    parsed = mcs2026.parse_value(text, notes)
    assert math.isnan(parsed.value)
    assert (parsed.flag, parsed.bound_op) == (flag, op)
    assert parsed.bound_value == bound or (math.isnan(bound) and math.isnan(parsed.bound_value))


def test_numbers_zero_ranges_and_lost_minus():
    assert mcs2026.parse_value("1,700,000")[:3] == (1_700_000.0, "reported", "")
    assert mcs2026.parse_value("138.5").value == 138.5
    assert mcs2026.parse_value("68\u00a0").value == 68.0             # wollastonite employment, non-breaking space
    assert mcs2026.parse_value("e5,000")[:2] == (5000.0, "estimated")
    assert mcs2026.parse_value("—")[:2] == (0.0, "zero")              # USGS's em-dash: zero
    assert mcs2026.parse_value("?1")[:2] == (-1.0, "minus_restored")  # cp1252 lost the Unicode minus
    span = mcs2026.parse_value("890–1,000")
    assert (span.flag, span.bound_op, span.bound_value, span.bound_high) == ("range", "range", 890.0, 1000.0)
    assert math.isnan(span.value)
    assert mcs2026.parse_value("10,000 - 15,000").bound_high == 15_000.0


@pytest.mark.parametrize("text", ["about 5", "1,00", "5 t", "-"])
def test_unknown_text_raises_with_file_and_row(text):
    with pytest.raises(DataFormatError, match=r"x\.csv, row 7.*unrecognised value"):
        mcs2026.parse_value(text, path="x.csv", row=7)


# ------------------------------------------------------------------------------------------------ the raw file
def test_every_row_is_read_decoded_as_cp1252(raw):
    assert len(raw) == 8886
    # line 4613: MANGANESE,World Mine Production (manganese content) and Reserves,Manganese,Côte d’Ivoire,
    #            Production,Mine production,thousand metric tons,2025,350,Estimated.,...
    row = _one(raw, row=4613)
    assert (row.country_raw, row.country, row.value) == ("Côte d’Ivoire", "CIV", 350.0)
    assert row.unit == "thousand metric tons"
    assert row.flag == "estimated" and row.estimated
    assert raw.loc[raw["value_raw"] == "—", "value"].eq(0.0).all()
    assert raw.loc[raw["value_raw"] == "W", "value"].isna().all()
    assert set(raw.loc[raw["value"] == 0, "flag"]) <= {"zero", "reported", "estimated"}   # published "0" stays 0
    assert set(raw["country"]) >= {"WLD", "OTH", "USA", "BHS", "CHN;DEU;RUS"}


def test_shifted_yttrium_row_is_repaired_and_said_so(raw):
    # line 8533: YTTRIUM,World Mine Production and Reserves,Yttrium,World total,Production,mine production of
    #            Y2O3 equivalent …,metric tons,2025,"10,000 - 15,000",Yes,Yttrium,
    row = _one(raw, row=8533)
    assert (row.critical_2025, row.notes, row.flag, row.bound_value, row.bound_high) == ("Yes", "", "range",
                                                                                        10_000.0, 15_000.0)
    assert "shifted" in row.repair


def _write(tmp_path: Path, body: str, encoding: str = "cp1252") -> Path:
    path = tmp_path / "bad.csv"
    path.write_bytes((HEADER + "\n" + body).encode(encoding))
    return path


def test_bad_files_fail_naming_file_and_row(tmp_path):
    good = ("LITHIUM,Salient Statistics—United States,Lithium,United States,Production,Production,metric tons,"
            "2024,W,,Yes,\n")
    assert mcs2026.read_commodities(_write(tmp_path, good)).iloc[0].flag == "withheld"
    with pytest.raises(DataFormatError, match=r"bad\.csv, row 3, column 'Value'.*'lots'"):
        mcs2026.read_commodities(_write(tmp_path, good + good.replace(",W,", ",lots,")))
    with pytest.raises(DataFormatError, match=r"row 2, column 'Country'.*Atlantis"):
        mcs2026.read_commodities(_write(tmp_path, good.replace("United States,Production", "Atlantis,Production")))
    with pytest.raises(DataFormatError, match=r"row 2.*11 cells"):
        mcs2026.read_commodities(_write(tmp_path, good.replace(",Yes,", ",Yes")))
    undecodable = tmp_path / "undecodable.csv"
    undecodable.write_bytes(HEADER.encode() + b"\n\x81\n")                      # 0x81 is undefined in cp1252
    with pytest.raises(DataFormatError, match=r"undecodable\.csv: not Windows-1252"):
        mcs2026.read_commodities(undecodable)
    (tmp_path / "header.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataFormatError, match=r"row 1.*expected header"):
        mcs2026.read_commodities(tmp_path / "header.csv")


# ------------------------------------------------------------------------------------------------ production
def test_kilograms_become_tonnes(production):
    assert catalogue.to_minsec_unit("kilograms") == ("t", 0.001)
    # line 2551: GALLIUM,World Low-Purity Production and Production Capacity,Gallium,China,Production,
    #            Primary production,kilograms,2024,"839,000",Source: Asian Metal Ltd.,Yes,...
    row = _one(production, material="gallium", stage="refining", measure="production", country="CHN", year=2024)
    assert (row.value, row.unit, row.basis, row.flag, row.estimated) == (839.0, "t", "Ga metal", "reported", False)


def test_hand_checked_production_rows(production):
    def value(material, country, year, measure="production", stage="mining"):
        return _one(production, material=material, stage=stage, measure=measure, country=country, year=year)
    # line 6094: RARE EARTHS,World Mine Production and Reserves,Rare Earths,China,Production,Mine production,
    #            metric tons,2025,"270,000",Estimated.,Yes,...
    row = value("rare_earths", "CHN", 2025)
    assert (row.value, row.flag, row.estimated, row.basis) == (270_000.0, "estimated", True, "REO equivalent")
    # line 1868: COBALT,World Mine Production and Reserves,Cobalt,Congo (Kinshasa),Production,Mine production,
    #            metric tons,2025,"230,000",Estimated.,Yes,...
    assert value("cobalt", "COD", 2025).value == 230_000.0
    # line 4259: LITHIUM,World Mine Production and Reserves,Lithium,World total,Production,Mine production: rounded,
    #            metric tons,2025,"290,000",Estimated. -- Excludes U.S. production.,Yes,...
    row = value("lithium", "WLD", 2025)
    assert row.value == 290_000.0 and "rounded" in row.note and "Excludes U.S. production." in row.note
    # line 4613 (above): Côte d’Ivoire manganese 350 thousand metric tons → 350,000 t Mn content
    assert value("manganese", "CIV", 2025).value == 350_000.0
    # line 3279: HELIUM AND RARE GASES,World Production and Reserves,Helium,United States,Production,
    #            Helium Production,million cubic meters,2025,81,Estimated. -- …
    row = value("helium", "USA", 2025)
    assert (row.value, row.unit) == (81.0, "Mm3")
    # line 6075: RARE EARTHS,…,Canada,Production,Mine production,metric tons,2024,—,,Yes,…  (em-dash = zero)
    row = value("rare_earths", "CAN", 2024)
    assert (row.value, row.flag) == (0.0, "zero")
    # lithium USA 2024 world table: "W"
    row = value("lithium", "USA", 2024)
    assert math.isnan(row.value) and row.flag == "withheld"


def test_withheld_is_never_zero(production, salient):
    assert production.loc[production["flag"].str.contains("withheld"), "value"].isna().all()
    assert salient.loc[salient["flag"] == "withheld", "value"].isna().all()
    assert set(production.loc[production["value"] == 0, "flag"]) == {"zero"}


def test_brazil_rare_earth_reserves_are_corrected_v1_3(production, raw):
    # line 6109: RARE EARTHS,World Mine Production and Reserves,Rare Earths,Brazil,Reserves,Reserves,metric tons,
    #            2025,"21,000,000",See Appendix C …   — v1.3 (2026-05-27): "21,000,000" → "11,000,000"
    assert _one(raw, row=6109).value == 21_000_000.0                # read_commodities keeps the file as published
    row = _one(production, material="rare_earths", measure="reserves", country="BRA", year=2025)
    assert row.value == 11_000_000.0
    assert "corrected per MCS2026 v1.3 (2026-05-27)" in row.note
    world = _one(production, material="rare_earths", measure="reserves", country="WLD", year=2025)
    assert math.isnan(world.value) and world.flag == "bound" and "'>75,000,000'" in world.note
    china = _one(production, material="rare_earths", measure="production", country="CHN", year=2024)
    assert "Production quota" not in china.note.split("corrected per")[0]           # v1.1 footnote move
    india = _one(production, material="rare_earths", measure="reserves", country="IND", year=2025)
    assert "OSCOM" in india.note


def test_a_correction_whose_old_value_does_not_match_fails(raw):
    corrections = mcs2026.read_corrections(SOURCE / mcs2026.CORRECTIONS_FILE)
    mcs2026.apply_corrections(raw, corrections)
    wrong = corrections.copy()
    wrong.loc[0, "old"] = "20,000,000"
    with pytest.raises(DataFormatError, match="expected '20,000,000', the data has '21,000,000'"):
        mcs2026.apply_corrections(raw, wrong)
    wrong = corrections.copy()
    wrong.loc[0, "country"] = "Atlantis"
    with pytest.raises(DataFormatError, match="matches 0 data rows"):
        mcs2026.apply_corrections(raw, wrong)


def test_no_dead_mapping_in_the_series_catalogue(raw):
    world = raw[raw["section"].str.startswith("World")]
    for spec in mcs2026.series_catalogue().itertuples():
        assert len(mcs2026.select_series(world, spec)), f"mcs2026_series.csv row matches nothing: {spec}"


def test_no_dead_mapping_in_the_salient_catalogue(raw):
    rows = raw[raw["section"].str.startswith("Salient")]
    for spec in mcs2026.salient_catalogue().itertuples():
        hit = (rows["chapter"] == spec.chapter) & rows["commodity"].str.fullmatch(spec.commodity_pattern, case=False) \
            & rows["detail"].str.fullmatch(spec.detail_pattern, case=False)
        assert hit.any(), f"mcs2026_salient_fields.csv row matches nothing: {spec}"


def _empty_tables() -> dict[str, pd.DataFrame]:
    kinds = {"str": object, "int": "int64", "float": "float64", "bool": bool, "date": "datetime64[ns]"}
    return {name: pd.DataFrame({c: pd.Series(dtype=kinds[k]) for c, (k, _) in columns.items()})
            for name, columns in dataset.SCHEMA.items()}


def test_production_passes_the_dataset_validation(production):
    assert list(production.columns) == list(dataset.SCHEMA["production"])
    tables = _empty_tables()
    tables["production"] = production[production["measure"] != "reserves"]
    dataset.validate(tables)
    # reserves are the one addition the dataset format may not allow yet (measure production/capacity)
    tables["production"] = production
    try:
        dataset.validate(tables)
    except dataset.DatasetError as exc:
        assert "column 'measure': unknown value 'reserves'" in str(exc)


def test_counts(production_and_report):
    production, report = production_and_report
    counts = production["measure"].value_counts().to_dict()
    assert counts == {"production": 1608, "reserves": 545, "capacity": 117}
    assert production["material"].nunique() == 58
    assert any("v1.3" in gap for gap in report.gaps)
    assert any("Alumina, refinery production" in s for s in report.skipped)


def test_comparable_with_mcs2024(production):
    """Same material/stage: MCS2024's 2023 and MCS2026's 2024 on the same basis, same order of magnitude."""
    from minsec.data import build

    old = build._usgs_production(RAW, "usgs_mcs2024", usgs.LoadReport())
    old = old[(old["year"] == 2023) & (old["measure"] == "production")].set_index(["material", "stage", "country"])
    new = production[(production["year"] == 2024) & (production["measure"] == "production")]
    new = new.set_index(["material", "stage", "country"])
    both = old[["value", "basis"]].merge(new[["value", "basis"]], left_index=True, right_index=True,
                                         suffixes=("_2024", "_2026"))
    world = both.xs("WLD", level="country")
    assert len(world) >= 40
    ratio = world["value_2026"] / world["value_2024"]
    assert ratio.between(1 / 3, 3).all(), ratio[~ratio.between(1 / 3, 3)]
    same_basis = world[world["basis_2024"] != world["basis_2026"]].index.get_level_values(0)
    assert set(same_basis) <= {"magnesite", "strontium"}          # relabelled: see mcs2026_series.csv notes
    for key in [("gallium", "refining", "CHN"), ("cobalt", "mining", "COD"), ("rare_earths", "mining", "CHN"),
                ("lithium", "mining", "AUS"), ("copper", "refining", "CHL")]:
        assert 1 / 3 <= both.loc[key, "value_2026"] / both.loc[key, "value_2024"] <= 3, key


def test_production_key_is_unique(production):
    key = ["material", "stage", "measure", "country", "year"]
    assert not production.duplicated(key).any()
    assert np.all(production["value"].dropna() >= 0)


# ------------------------------------------------------------------------------------------------ salient
def test_hand_checked_salient_rows(salient):
    def row(material, field, year):
        return _one(salient, material=material, field=field, year=year)
    # line 1844: COBALT,Salient Statistics—United States,Cobalt,United States,Net import reliance,Net import reliance
    #            as a percentage of apparent consumption,percent,2025,79,"Estimated. -- …
    assert row("cobalt", "NIR_pct", 2025).value == 79.0
    # line 2544: GALLIUM,…,Net import reliance as a percentage of reported consumption,percent,2025,100,Estimated. …
    assert row("gallium", "NIR_pct", 2025).value == 100.0
    # line 4232: LITHIUM,…,Net import reliance as a percentage of apparent consumption,percent,2025,>50,Estimated. …
    lithium = row("lithium", "NIR_pct", 2025)
    assert math.isnan(lithium.value) and (lithium.value_raw, lithium.flag) == (">50", "bound")
    # line 1079: BORON,…,Net import reliance as a percentage of apparent consumption,percent,2025,E,Estimated. …
    assert row("boron", "NIR_pct", 2025).flag == "net_exporter"
    # line 2855: GOLD,…,Net import reliance as a percentage of reported consumption,percent,2025,s,Estimated. --
    #            Defined as imports – exports. -- Large unreported investor stock purchases preclude calculation …
    gold = row("gold", "NIR_pct", 2025)
    assert math.isnan(gold.value) and gold.flag == "see_note"
    # line 234: ALUMINUM,…,Consumption,"Consumption, apparent",thousand metric tons,2024,"5,830",…
    assert row("aluminium", "Consump_kt", 2024).value == 5830.0
    # line 6576: SELENIUM,…,"Price, annual average, dollars per kilogram: Europe",dollars per kilogram,2023,19.3,…
    assert row("selenium", "Price_Europe_dlb", 2023).value == pytest.approx(19.3 / 2.20462)
    # line 8731: ZIRCONIUM AND HAFNIUM,…,"Production, zirconium ores and concentrates [zirconium oxide (ZrO2)
    #            content]",metric tons,2021,"<100,000",,Yes,…
    zircon = row("zirconium", "USprod_ZrO2_t", 2021)
    assert math.isnan(zircon.value) and zircon.flag == "bound"


def test_salient_fields_are_unique_and_every_row_of_a_material_kept(salient, raw):
    assert not salient.duplicated(["material", "field", "year"]).any()
    assert list(salient.columns) == list(dataset.SCHEMA["us_salient"])
    cobalt = raw[(raw["chapter"] == "COBALT") & raw["section"].str.startswith("Salient")]
    assert (salient["material"] == "cobalt").sum() == len(cobalt)          # 55 rows, none lost


def test_consumers_find_their_salient_fields(salient):
    """reference_prices.csv / us_consumption.csv look fields up by (material, field): MCS2026 must have them."""
    missing = []
    for row in catalogue.reference_prices().itertuples():
        if row.source != "usgs_salient":
            continue
        owner, _, field = row.series.rpartition("/")
        found = salient[(salient["material"] == (owner or row.material)) & (salient["field"] == field)]
        if found["value"].notna().sum() == 0:
            missing.append((row.material, row.series))
    # gallium's reference price is MCS 2026's import unit value (it no longer gives MCS 2024's low-purity quote)
    assert missing == []
    for row in catalogue.us_consumption().itertuples():
        assert ((salient["material"] == row.material) & (salient["field"] == row.field)).any(), row.field


# ------------------------------------------------------------------------------------------------ trends files
def test_net_import_reliance_figure():
    nir = mcs2026.read_net_import_reliance(SOURCE / mcs2026.NIR_FILE)
    assert len(nir) == 68 and set(nir["year"]) == {2025}
    # MCS2026,32,COBALT,79,"Norway, Finland, Canada, Japan",Descending order of import share.
    cobalt = _one(nir, commodity="COBALT")
    assert (cobalt.material, cobalt.nir_pct, cobalt.import_sources_iso3) == ("cobalt", 79.0, "NOR;FIN;CAN;JPN")
    # MCS2026,50,LITHIUM,>50,"Chile, Argentina",Descending order of import share.
    lithium = _one(nir, commodity="LITHIUM")
    assert math.isnan(lithium.nir_pct) and (lithium.flag, lithium.bound_op, lithium.bound_value) == ("bound", ">", 50)
    sponge = _one(nir, commodity="TITANIUM, sponge metal")
    assert (sponge.material, sponge.stage) == ("titanium", "refining")
    assert _one(nir, commodity="INDIUM").import_sources_iso3 == "KOR;JPN;CHN;CAN"   # "Republic of Korea"


def test_export_controls_table():
    t4 = mcs2026.read_export_controls_t4(SOURCE / mcs2026.EXPORT_CONTROLS_FILE)
    assert len(t4) == 19
    china = _one(t4, country="China")
    assert china.country_iso3 == "CHN" and china.years == "2023;2024;2025;2026"
    assert _one(t4, country="Congo (Kinshasa)").control_type == "Export quota"
    assert set(t4["control_type"]) >= {"Export ban", "Temporary export ban"}      # trailing space stripped


def test_a_salient_unit_other_than_the_catalogue_expects_fails():
    """The factor to a field's unit is only right for the unit the catalogue row names: never guess."""
    spec = mcs2026.salient_catalogue().query("chapter == 'ALUMINUM' and field == 'Consump_kt'").iloc[0]
    row = pd.Series({"chapter": "ALUMINUM", "commodity": "Aluminum", "detail": "Consumption, apparent",
                     "unit": "metric tons", "row": 99})
    with pytest.raises(DataFormatError, match=r"row 99, column 'Unit'.*expects 'thousand metric tons'"):
        mcs2026._match_salient(row, [spec], Path("data.csv"))
