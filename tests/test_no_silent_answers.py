"""Missing is never zero, empty is never silent: the risk commands other than GeoPolRisk.

Expectations are derived from the loaded chain (which sources, stages and years hold a world total; which HS codes
a material has) rather than from counts, so the tests hold when the catalogue grows; the few hand-checked values
quote their raw row.
"""

from __future__ import annotations

import csv
import io
import json
import math

import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from minsec.cli import app
from minsec.cli.core import _cell
from minsec.errors import InputError, NoDataError, UnknownNameError
from minsec.risk import tables
from minsec.risk.concentration import concentration
from minsec.risk.import_reliance import NIR_TOLERANCE, compare_with_published
from minsec.risk.routes import import_sources

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def refused(*args: str) -> str:
    """The one stderr line of a command that found nothing (exit 2, nothing on stdout)."""
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    return lines[0]


def covered(chain, **where) -> pd.DataFrame:
    rows = tables.world_coverage(chain)
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return rows


# ------------------------------------------------------------------------------------ 1, 2: concentration
@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_germanium_withheld_by_usgs_points_to_the_source_that_has_it(chain, fmt):
    # MCS2024 mcs2024-germa_world.csv: "United States,Primary and secondary refinery production,W,W" and
    # "World total (rounded),Primary and secondary refinery production,NA,NA"
    message = refused("risk", "concentration", "--material", "germanium", "--year", "2023", "--format", fmt)
    assert "withheld for USA" in message and "world total not available" in message
    others = set(covered(chain, material="germanium", year=2023)["source"]) - {"usgs"}
    assert others, "some source has germanium 2023"
    for source in others:
        assert f"--source {source}" in message


def test_a_stage_without_a_series_lists_the_stages_that_exist(chain):
    message = refused("risk", "concentration", "--material", "rare_earths", "--stage", "refining")
    have = covered(chain, material="rare_earths")
    assert covered(chain, material="rare_earths", stage="refining").empty
    for (source, stage), rows in have.groupby(["source", "stage"]):
        assert f"{source}: " in message and f"{stage} {tables.span(rows['year'])}" in message


def test_a_year_outside_the_chosen_source_lists_that_sources_years(chain):
    usgs_years = set(covered(chain, source="usgs")["year"])
    year = next(y for y in sorted(set(covered(chain, material="gallium")["year"]), reverse=True)
                if y not in usgs_years)                                   # a year WMD has and USGS does not
    message = refused("risk", "concentration", "--material", "gallium", "--year", str(year))
    assert f"usgs holds {tables.span(usgs_years)}" in message
    assert "--source wmd" in message
    # the check is the chosen source's, not the union of all sources': WMD answers the same question
    wmd = chain.risk.concentration(material="gallium", year=year, source="wmd")
    assert len(wmd) == 1 and wmd.loc[0, "year"] == year
    with pytest.raises(NoDataError, match=f"year {year} not in the data of usgs"):
        chain.risk.concentration(material="gallium", year=year)


def test_no_data_is_an_input_error_and_the_python_api_keeps_the_reason(chain):
    assert issubclass(NoDataError, InputError)
    # the table function keeps the reason on the empty frame (pages show it); the accessor raises it
    empty = tables.concentration_table(chain, "usgs", "germanium", None, 2023)
    assert empty.empty and "usgs has no world total for germanium" in empty.attrs["no_data"]
    with pytest.raises(NoDataError, match="usgs has no world total for germanium"):
        chain.risk.concentration(material="germanium", year=2023)
    full = tables.concentration_table(chain, "usgs", "gallium", None, 2023)
    assert tables.require_rows(full) is full


def test_unknown_count_and_benchmark_are_null_not_zero():
    withheld = xr.DataArray([float("nan")] * 2, dims="country", coords={"country": ["AAA", "BBB"]})
    result = concentration(withheld, xr.DataArray(100.0))
    assert math.isnan(result["n_producers"].item())
    assert math.isnan(result["exceeds_65pct"].item())


# ------------------------------------------------------------------------------------ 3: material ids
@pytest.mark.parametrize("spelling", ["Cobalt", "COBALT", " cobalt "])
def test_material_ids_ignore_case(chain, spelling):
    assert chain.check_material(spelling) == "cobalt"
    assert chain.risk.concentration(material=spelling).equals(chain.risk.concentration(material="cobalt"))
    assert chain.risk.routes(importer="EU27", material=spelling).equals(
        chain.risk.routes(importer="EU27", material="cobalt"))
    with pytest.raises(NoDataError) as by_spelling:    # no HS code on cobalt's Co-content basis: said, not empty
        chain.risk.import_reliance(importer="EU27", material=spelling)
    with pytest.raises(NoDataError) as by_id:
        chain.risk.import_reliance(importer="EU27", material="cobalt")
    assert str(by_spelling.value) == str(by_id.value)


@pytest.mark.parametrize("spelling", ["RARE_EARTHS", "rare earths", "Rare-Earths", "Rare earths"])
def test_material_separators_and_names_are_accepted(chain, spelling):
    assert chain.check_material(spelling) == "rare_earths"


def test_unknown_material_suggests_the_closest_ids(chain):
    with pytest.raises(UnknownNameError, match=r"unknown material 'coblt'; see `minsec materials` — did you mean "
                                               r"cobalt"):
        chain.check_material("coblt")
    message = refused("risk", "import-reliance", "--material", "galium")
    assert "did you mean gallium" in message


# ------------------------------------------------------------------------------------ 1, 5: import reliance
def test_usa_cobalt_says_which_hs_codes_fail_to_convert(chain):
    from minsec.data import catalogue

    message = refused("risk", "import-reliance", "--importer", "USA", "--material", "cobalt")
    codes = catalogue.hs_codes()
    for code in codes[codes["material"] == "cobalt"].itertuples():
        assert code.hs92 in message
        if pd.isna(code.content_factor):
            assert f"{code.hs92} (" in message and "no fixed content factor" in message
    published = chain.salient("cobalt", "NIR_pct")
    if len(published):
        assert f"USGS publishes a US cobalt NIR of {published.iloc[-1]['value_raw']} %" in message


def test_missing_production_gives_a_null_nir_with_its_reason_never_one(chain):
    # MCS2024 mcs2024-barit_world.csv: "United States,"Mine production, barite",W,W" — withheld, not zero
    table = chain.risk.import_reliance(importer="USA", source="usgs", year=2022)
    missing = table[table["production_missing"]]
    assert len(missing) and missing["net_import_reliance"].isna().all()
    assert missing["apparent_consumption_t"].isna().all()
    assert (missing["nir_note"] != "").all()
    barite = table.set_index(["material", "stage"]).loc[("barite", "mining")]
    assert "withheld" in barite["nir_note"] and math.isnan(barite["net_import_reliance"])
    assert barite["net_imports_t"] == pytest.approx(barite["imports_t"] - barite["exports_t"])
    # where NIR is a number, it has both sides and no note
    present = table[table["net_import_reliance"].notna()]
    assert len(present) and (present["nir_note"] == "").all() and present["production_t"].notna().all()


def test_a_year_without_the_sources_production_names_both_spans(chain):
    trade = {int(y) for y in chain.trade["year"].unique()}
    outside = sorted(trade - set(chain.years("usgs")))
    with pytest.raises(NoDataError, match=f"usgs production {tables.span(chain.years('usgs'))}"):
        chain.risk.import_reliance(importer="USA", source="usgs", year=outside[0])
    assert set(chain.risk.import_reliance(importer="USA", source="usgs")["year"]) <= set(chain.years("usgs"))


def test_magnesite_nir_far_from_usgs_is_flagged(chain):
    # WMD "Magnesite,United States,842,USA,2023,523540.0,metr. t,r"; the latest release reporting 2023 is
    # MCS 2026: "MAGNESIUM COMPOUNDS,…,Net import reliance,…,percent,2023,48,…" (MCS 2024 said 52 %)
    table = chain.risk.import_reliance(importer="USA", material="magnesite", year=2023)
    row = table[table["net_import_reliance"].notna()].iloc[0]
    assert row["production_t"] == 523_540 and row["usgs_nir_published"] == "48"
    assert row["net_import_reliance"] < 0.01
    assert row["differs_from_published"] is True or row["differs_from_published"] == True  # noqa: E712
    assert "USGS 48 %" in row["difference_note"] and "percentage points" in row["difference_note"]


@pytest.mark.parametrize(("nir", "published", "differs"), [
    (0.45, "52", False), (0.40, "52", True), (0.70, ">75", False), (0.60, ">75", True), (0.36, "<25", True),
    (0.30, "<25", False), (0.05, "E", False), (0.20, "E", True), (0.50, "W", None), (float("nan"), "52", None),
    (0.50, "", None),
])
def test_published_nir_comparison_is_bound_aware(nir, published, differs):
    flag, note = compare_with_published(nir, published)
    assert flag is differs
    assert bool(note) == (published not in ("",) and not math.isnan(nir))
    assert NIR_TOLERANCE == 0.10


# ------------------------------------------------------------------------------------ 4: one stage per HS code
def test_routes_label_each_stage_as_the_hs_code_does(chain):
    from minsec.data import catalogue

    stage = catalogue.hs_codes().set_index("hs92")["stage"]
    routes = chain.risk.routes(importer="EU27", year="all")
    for row in routes.itertuples():
        assert {stage[code] for code in row.hs92.split(";")} == {row.stage}
    # HS 2846 (rare-earth compounds) and 280530 (rare-earth metals) are separated products: refining
    assert set(chain.risk.routes(importer="USA", material="rare_earths")["stage"]) == {"refining"}


# ------------------------------------------------------------------------------------ routes
def test_flows_without_quantity_give_null_shares_and_are_counted():
    trade = pd.DataFrame([(2022, "CHN", "DEU", "platinum", "refining", float("nan"), 30.0, "711011"),
                          (2022, "ZAF", "FRA", "platinum", "refining", float("nan"), 10.0, "711011"),
                          (2022, "CHN", "DEU", "graphite", "mining", 40.0, 8.0, "250410"),
                          (2022, "MOZ", "DEU", "graphite", "mining", float("nan"), 2.0, "250490")],
                         columns=["year", "exporter", "importer", "material", "stage", "quantity_t", "value_kusd",
                                  "hs92"])
    summary, _ = import_sources(trade, {"EU": {"DEU", "FRA"}}, {"DEU", "FRA"}, [2022])
    rows = summary.set_index("material")
    assert math.isnan(rows.loc["platinum", "imports"]) and math.isnan(rows.loc["platinum", "partner_share"])
    assert math.isnan(rows.loc["platinum", "max_outside_share"])
    assert pd.isna(rows.loc["platinum", "exceeds_65pct"])
    assert rows.loc["platinum", "unquantified_value_share"] == pytest.approx(1.0)
    assert rows.loc["graphite", "unquantified_value_share"] == pytest.approx(0.2)   # 2 of 10 kUSD
    assert rows.loc["graphite", "max_outside_share"] == pytest.approx(1.0)


def test_routes_of_a_material_without_hs_code_say_so(chain):
    from minsec.data import catalogue

    without = sorted(set(catalogue.materials().index) - set(catalogue.hs_codes()["material"]))
    if not without:
        pytest.skip("every material has an HS code")
    message = refused("risk", "routes", "--importer", "USA", "--material", without[0])
    assert f"the catalogue maps no HS code to {without[0]}" in message


# ------------------------------------------------------------------------------------ 6: nulls in every format
def test_a_null_nir_is_null_in_json_empty_in_csv_and_a_dash_in_the_table():
    # US barite production is withheld (W, MCS2024 mcs2024-barit_world.csv); other materials have a NIR
    args = ("risk", "import-reliance", "--importer", "USA", "--source", "usgs", "--year", "2022")
    records = {(r["material"], r["stage"]): r for r in json.loads(invoke(*args, "--format", "json").stdout)}
    barite = records[("barite", "mining")]
    assert barite["net_import_reliance"] is None and barite["apparent_consumption_t"] is None
    assert barite["production_t"] is None and "withheld" in barite["nir_note"]
    assert any(r["net_import_reliance"] is not None for r in records.values())
    lines = csv.DictReader(io.StringIO(invoke(*args, "--format", "csv").stdout))
    barite_csv = next(r for r in lines if (r["material"], r["stage"]) == ("barite", "mining"))
    assert barite_csv["net_import_reliance"] == "" and barite_csv["production_t"] == ""
    table = invoke(*args, "--format", "table").stdout
    assert "—" in table and "nan" not in table and "None" not in table and "<NA>" not in table
    refused(*args, "--material", "barite", "--format", "json")      # nothing but nulls: refused, with the reason


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, pd.NaT])
def test_table_cells_show_a_dash_for_every_kind_of_missing(missing):
    assert _cell(missing) == "—"
    assert _cell(0.0) == "0" and _cell(False) == "False"


def test_a_group_with_a_withheld_member_has_no_nir(chain):
    """USGS withholds US fluorspar/bauxite/selenium output: the partnership's production is unknown, not the sum
    of the other members (which would count the USA as producing nothing)."""
    table = chain.risk.import_reliance(importer="partnership", year=2024, source="usgs").set_index("material")
    for material in ("bauxite", "selenium"):
        row = table.loc[material]
        assert row["production_missing"] and pd.isna(row["net_import_reliance"])
        assert "USA withheld" in row["nir_note"]
