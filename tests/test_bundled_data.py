"""The bundled dataset: published figures, provenance, reproducibility from data/raw, and validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from minsec.data import build, catalogue, dataset
from minsec.risk.concentration import concentration

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"

# Li2O → Li: 2 × 6.941 / (2 × 6.941 + 15.999) = 0.46452
LI_PER_LI2O = 0.46452


@pytest.fixture(scope="module")
def bundled() -> dataset.Dataset:
    return dataset.load()


# ---------------------------------------------------------------------------------------------- published figures


def test_usgs_2023_rare_earths_mining(chain):
    """MCS 2024, rare earths: world mine production 2023 350 000 t REO, China 240 000 t."""
    production = chain.production.sel(source="usgs")
    world = chain.world_total.sel(source="usgs")
    assert production.sel(material="rare_earths", stage="mining", country="CHN", year=2023).item() == 240_000.0
    assert world.sel(material="rare_earths", stage="mining", year=2023).item() == 350_000.0
    result = concentration(production, world).sel(material="rare_earths", stage="mining", year=2023)
    assert result["top_country"].item() == "CHN"
    # the named producers add up to 353,320 t, above the rounded world total: their sum is the denominator
    assert float(production.sel(material="rare_earths", stage="mining", year=2023).sum()) == 353_320.0
    assert result["top_share"].item() == pytest.approx(240_000 / 353_320)  # 0.679
    assert bool(result["exceeds_65pct"])


def test_usgs_2023_copper_refining_china(chain):
    """MCS 2024, copper: China refinery production 2023 12 000 kt (thousand metric tons)."""
    value = chain.production.sel(source="usgs", material="copper", stage="refining", country="CHN", year=2023)
    assert value.item() == 12_000_000.0


def test_usgs_2023_gallium_china(chain):
    """MCS 2024, gallium: China primary production 2023 600 000 kg (estimate)."""
    value = chain.production.sel(source="usgs", material="gallium", stage="refining", country="CHN", year=2023)
    assert value.item() == pytest.approx(600.0)


def test_usgs_withheld_stays_missing(bundled):
    production = bundled["production"]
    us_lithium = production[(production["release"] == "MCS2024") & (production["material"] == "lithium")
                            & (production["country"] == "USA") & (production["year"] == 2023)
                            & (production["measure"] == "production")]
    assert len(us_lithium) == 1
    assert us_lithium["value"].isna().all()
    assert us_lithium["flag"].iloc[0] == "withheld"


def test_wmd_lithium_converted_to_li_content(bundled):
    production = bundled["production"]
    lithium = production[(production["source"] == "wmd") & (production["material"] == "lithium")]
    assert len(lithium) > 20
    assert set(lithium["basis"]) == {"Li content"}
    known = lithium.dropna(subset=["value_reported"])
    np.testing.assert_allclose(known["value"], known["value_reported"] * LI_PER_LI2O, rtol=1e-12)
    argentina = lithium[(lithium["country"] == "ARG") & (lithium["year"] == 2018)].iloc[0]
    assert argentina["value_reported"] == 13810.0  # WMD: 13 810 t Li2O
    assert argentina["value"] == pytest.approx(6415.0212)


def test_wmd_empty_values_are_missing_not_zero(bundled):
    production = bundled["production"]
    wmd = production[production["source"] == "wmd"]
    # raw: "Manganese,Angola,24,AGO,2018,,metr. t,r" (no value) and "…,2020,0.0,metr. t,r" (a published zero)
    angola = wmd[(wmd["material"] == "manganese") & (wmd["country"] == "AGO") & (wmd["year"] == 2018)]
    assert len(angola) == 1
    assert np.isnan(angola["value"].iloc[0])
    assert angola["flag"].iloc[0] == "not_listed"
    not_listed = wmd[wmd["flag"] == "not_listed"]
    raw = pd.read_csv(RAW / "world_mining_data" / "wmd_production_by_country_2018_2024_long.csv",
                      keep_default_na=False)
    mapped = raw["commodity"].isin(catalogue.wmd_series()["wmd_commodity"])
    assert len(not_listed) == int((mapped & raw["value"].eq("")).sum()) > 100
    assert not_listed["value"].isna().all()
    zero = wmd[(wmd["material"] == "manganese") & (wmd["country"] == "AGO") & (wmd["year"] == 2020)]
    assert zero["value"].tolist() == [0.0]
    assert zero["flag"].tolist() == ["reported"]


# ---------------------------------------------------------------------------------------------- manifest


def test_manifest_lists_every_source(bundled):
    manifest = bundled.manifest
    assert manifest["format"] == dataset.FORMAT_VERSION
    assert set(manifest["sources"]) == set(build.SOURCES)
    for name, source in manifest["sources"].items():
        assert source["licence"], name
        assert source["licence"] == build.SOURCES[name]["licence"]
        assert source["citation"], name
        assert isinstance(source["rows"], int) and source["rows"] > 0, name
        assert source["files"], name
        assert len(source["years"]) == 2 and source["years"][0] <= source["years"][1], name
        assert source["provenance_sha256"] is not None and len(source["provenance_sha256"]) == 64, name
    assert manifest["sources"]["worldbank_wgi"]["licence"] == "CC BY 4.0"
    assert manifest["sources"]["cepii_baci"]["licence"] == "Etalab Open Licence 2.0"


def test_manifest_row_counts_match_tables(bundled):
    manifest = bundled.manifest
    for name, frame in bundled.tables.items():
        assert manifest["tables"][name]["rows"] == len(frame), name
        assert manifest["tables"][name]["columns"] == list(frame.columns), name
    production = bundled["production"]
    sources = manifest["sources"]
    assert sources["cepii_baci"]["rows"] == len(bundled["trade"])
    assert sources["world_mining_data"]["rows"] == int((production["source"] == "wmd").sum())
    assert sources["usgs_mcs2024"]["rows"] == int((production["release"] == "MCS2024").sum())
    assert sources["usgs_mcs2023"]["rows"] == int((production["release"] == "MCS2023").sum())
    assert sources["usgs_mcs2026"]["rows"] == int((production["release"] == "MCS2026").sum())
    assert (sources["usgs_mcs2026"]["rows"] + sources["usgs_mcs2024"]["rows"] + sources["usgs_mcs2023"]["rows"]
            + sources["world_mining_data"]["rows"] + sources["rare_earth_chain"]["rows"]) == len(production)
    assert sources["rare_earth_chain"]["rows"] == int((production["source"] == "minsec").sum()) > 0
    assert sources["cepii_baci"]["years"] == [2010, 2024]


# ---------------------------------------------------------------------------------------------- reproducibility


@pytest.mark.parametrize("table", list(dataset.SCHEMA))
def test_rebuild_from_raw_reproduces_bundled_table(rebuilt, bundled, table):
    pd.testing.assert_frame_equal(rebuilt.tables[table].reset_index(drop=True),
                                  bundled[table].reset_index(drop=True))


def test_rebuild_reproduces_manifest(rebuilt, bundled):
    fresh = {k: v for k, v in rebuilt.manifest.items() if k != "built"}
    shipped = {k: v for k, v in bundled.manifest.items() if k != "built"}
    assert fresh == shipped


def test_write_then_load_round_trip(rebuilt, bundled, tmp_path):
    out = build.write(rebuilt, tmp_path / "data")
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{t}.parquet" for t in rebuilt.tables]
                                                          + ["manifest.json"])
    reloaded = dataset.load(out, tables=("production",))
    pd.testing.assert_frame_equal(reloaded["production"], bundled["production"])
    assert reloaded.manifest == rebuilt.manifest
    assert not list(tmp_path.glob(".minsec-build-*"))  # staging directory moved into place


def test_build_missing_raw_dir(tmp_path):
    with pytest.raises(FileNotFoundError):
        build.build(tmp_path / "nope")


# ---------------------------------------------------------------------------------------------- validation


def test_load_corrupt_parquet_raises_dataset_error(tmp_path):
    directory = tmp_path / "data"
    shutil.copytree(dataset.bundled_dir(), directory)
    (directory / "production.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
    with pytest.raises(dataset.DatasetError, match=r"production\.parquet: not a readable Parquet file"):
        dataset.load(directory)


def test_load_missing_table(tmp_path):
    directory = tmp_path / "data"
    shutil.copytree(dataset.bundled_dir(), directory)
    (directory / "governance.parquet").unlink()
    with pytest.raises(dataset.DatasetError, match=r"table 'governance' missing"):
        dataset.load(directory)


def test_load_missing_directory(tmp_path):
    with pytest.raises(dataset.DatasetError, match="does not exist"):
        dataset.load(tmp_path / "nope")


def _tables(bundled: dataset.Dataset) -> dict[str, pd.DataFrame]:
    return {name: frame.copy() for name, frame in bundled.tables.items()}


def test_bundled_dataset_validates(bundled):
    dataset.validate(_tables(bundled))


def test_negative_production_fails_validation(bundled):
    tables = _tables(bundled)
    tables["production"].loc[5, "value"] = -1.0
    with pytest.raises(dataset.DatasetError, match=r"production, row 5, column 'value': negative quantity -1\.0"):
        dataset.validate(tables)


def test_negative_trade_quantity_fails_validation(bundled):
    tables = _tables(bundled)
    tables["trade"].loc[7, "quantity_t"] = -3.0
    with pytest.raises(dataset.DatasetError, match=r"trade, row 7, column 'quantity_t'"):
        dataset.validate(tables)


def test_unknown_material_fails_validation(bundled):
    tables = _tables(bundled)
    tables["production"].loc[3, "material"] = "unobtainium"
    with pytest.raises(dataset.DatasetError, match=r"production, row 3, column 'material': unknown value"):
        dataset.validate(tables)


def test_duplicate_key_fails_validation(bundled):
    tables = _tables(bundled)
    production = tables["production"]
    tables["production"] = pd.concat([production, production.iloc[[0]]], ignore_index=True)
    with pytest.raises(dataset.DatasetError, match=rf"production, row {len(production)}: duplicate key"):
        dataset.validate(tables)


def test_missing_column_fails_validation(bundled):
    tables = _tables(bundled)
    tables["governance"] = tables["governance"].drop(columns="estimate")
    with pytest.raises(dataset.DatasetError, match=r"governance: missing columns \['estimate'\]"):
        dataset.validate(tables)


def test_pv_outside_unit_interval_fails_validation(bundled):
    tables = _tables(bundled)
    governance = tables["governance"]
    row = governance.index[governance["indicator"] == "pv_gpr"][0]
    governance.loc[row, "estimate"] = 1.5
    with pytest.raises(dataset.DatasetError, match=rf"governance, row {row}, column 'estimate': pv_gpr outside"):
        dataset.validate(tables)


def test_negative_value_in_a_saved_dataset_is_refused(tmp_path, bundled):
    directory = tmp_path / "data"
    shutil.copytree(dataset.bundled_dir(), directory)
    production = bundled["production"].copy()
    production.loc[0, "value_reported"] = -2.0
    production.to_parquet(directory / "production.parquet", index=False)
    with pytest.raises(dataset.DatasetError, match=r"production, row 0, column 'value_reported'"):
        dataset.load(directory)


def test_baci_outliers_are_flagged_in_the_data_report(bundled):
    """US bauxite imports (HS 260600) 11.9 Mt in 2013, 1.3 Mt in 2014, 11.4 Mt in 2015: listed, not corrected."""
    outliers = build.trade_outliers(bundled["trade"])
    bauxite = outliers[(outliers["importer"] == "USA") & (outliers["hs92"] == "260600")]
    assert bauxite[["year", "kind"]].values.tolist() == [[2014, "dip"]]
    assert bauxite["quantity_t"].iloc[0] == pytest.approx(1_322_410, rel=1e-6)
    assert (outliers[["previous_t", "next_t"]].notna()).all().all()
    gaps = bundled.manifest["sources"]["cepii_baci"]["known_gaps"]
    assert any(f"{len(outliers)} importer × HS code × year totals break" in gap for gap in gaps)
