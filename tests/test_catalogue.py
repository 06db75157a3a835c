"""The material catalogue against the lists it claims to carry (materials.PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from minsec.data import catalogue

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"

# Regulation (EU) 2024/1252, Annex I (strategic) and Annex II (critical), each name → minsec ids
EU_STRATEGIC = {
    "bismuth": ["bismuth"], "boron - metallurgy grade": ["boron"], "cobalt": ["cobalt"], "copper": ["copper"],
    "gallium": ["gallium"], "germanium": ["germanium"], "lithium - battery grade": ["lithium"],
    "magnesium metal": ["magnesium"], "manganese - battery grade": ["manganese"],
    "natural graphite - battery grade": ["graphite"], "nickel - battery grade": ["nickel"],
    "platinum group metals": ["platinum", "palladium", "rhodium", "ruthenium", "iridium", "osmium"],
    "rare earth elements for magnets": ["rare_earths", "neodymium", "praseodymium", "terbium", "dysprosium",
                                        "gadolinium", "samarium", "cerium"], "silicon metal": ["silicon"],
    "titanium metal": ["titanium"], "tungsten": ["tungsten"], "aluminium": ["aluminium"],
}
EU_CRITICAL_ONLY = {
    "antimony": ["antimony"], "arsenic": ["arsenic"], "bauxite/alumina/aluminium": ["bauxite"],
    "baryte": ["barite"], "beryllium": ["beryllium"], "coking coal": ["coking_coal"], "feldspar": ["feldspar"],
    "fluorspar": ["fluorspar"], "hafnium": ["hafnium"], "helium": ["helium"],
    "heavy rare earth elements": ["yttrium", "erbium", "europium", "holmium", "lutetium", "thulium", "ytterbium"],
    "light rare earth elements": ["lanthanum"], "niobium": ["niobium"],
    "phosphate rock": ["phosphate_rock"], "phosphorus": ["phosphorus"], "scandium": ["scandium"],
    "strontium": ["strontium"], "tantalum": ["tantalum"], "vanadium": ["vanadium"],
}
# the 2025 additions to the US list (final 2025 list = 2022 list + these), minsec ids
US_2025_ADDED = {"boron", "copper", "lead", "coking_coal", "phosphate_rock", "potash", "rhenium", "silicon",
                 "silver", "uranium"}


@pytest.fixture(scope="module")
def materials() -> pd.DataFrame:
    return catalogue.materials()


def test_eu_lists(materials):
    strategic = {m for ids in EU_STRATEGIC.values() for m in ids}
    critical_only = {m for ids in EU_CRITICAL_ONLY.values() for m in ids}
    assert len(EU_STRATEGIC) == 17
    # Annex II has 34 entries: the 17 strategic (aluminium and bauxite share one) + the critical-only ones
    assert len(EU_STRATEGIC) + len(EU_CRITICAL_ONLY) - 2 == 34
    assert set(materials.index[materials["eu_crma_2023"] == "strategic"]) == strategic
    assert set(materials.index[materials["eu_crma_2023"] == "critical"]) == critical_only
    assert set(materials["eu_crma_2023"]) == {"strategic", "critical", "no"}


def test_us_lists(materials):
    us2022 = set(materials.index[materials["us_critical_2022"] == "yes"])
    us2025 = set(materials.index[materials["us_critical_2025"] == "yes"])
    # 50 minerals in 2022 = 36 ids + 14 rare-earth element ids (+ rare_earths, their REO total, also yes);
    # aluminum → aluminium + bauxite
    assert len(us2022) == 52 and len(us2025) == 62
    elements = set(materials.index[materials["parent"] == "rare_earths"]) - {"ndpr_oxide", "scandium", "yttrium"}
    assert len(elements) == 14 and elements <= us2022
    assert us2025 - us2022 == US_2025_ADDED
    assert us2022 <= us2025   # the final 2025 list removed nothing
    for name in ("hafnium", "cesium", "rubidium", "iridium", "ruthenium", "scandium", "yttrium"):
        assert name in us2022


def test_every_geopolrisk_commodity_has_a_material(materials):
    """The 53 commodities geopolrisk-py 2.0.1 pairs with HS codes (its HS Code Map) all map to a material."""
    peer_map = pd.read_csv(RAW / "world_mining_data" / "geopolrisk_hs_code_map.csv")
    computable = peer_map.loc[peer_map["hs_code"] != "Not Available", "sheet_name"]
    assert len(computable) == 53
    series = catalogue.wmd_series().set_index("wmd_commodity")
    assert set(computable) <= set(series.index)
    assert set(series["material"]) <= set(materials.index)
    assert series.loc["Bauxite", "material"] == "bauxite" and series.loc["Aluminium", "material"] == "aluminium"


def test_hs_codes_are_unique_and_known(materials):
    codes = catalogue.hs_codes()
    assert not codes["hs92"].duplicated().any()
    assert set(codes["material"]) <= set(materials.index)
    assert len(codes) == 74


def test_parent_is_a_known_material_or_empty(materials):
    parents = set(materials["parent"]) - {""}
    assert parents <= set(materials.index)
