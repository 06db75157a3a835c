"""USGS Minerals Yearbook 2022 rare-earth tables (T2 deposit element shares, T3 oxide prices, T8 mine output).

Values are checked by hand against data/raw/usgs_rare_earths/usgs_myb2022_rare_earths_tables.xlsx; the raw
cells are quoted as ``sheet!cell``. Sheet rows are 1-based as in Excel (T2 header row 7, T3 row 6, T8 row 6).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from minsec.data.errors import DataFormatError
from minsec.data.loaders import usgs_rare_earths as ure

RAW = Path(__file__).resolve().parents[1] / "data" / "raw" / "usgs_rare_earths"
XLSX = RAW / "usgs_myb2022_rare_earths_tables.xlsx"

#: T2's rows "may not add to 100 percent" (footnote 1). Most deposits sum to 100 % within ±1.5 points
#: (two-to-four-digit published values, NA elements omitted). Three rows miss that by more than rounding
#: explains, as published: Manavalakurichi 97.9408 %, Xunwu 103.46 % (La 38 + Ce 3.5 + … + Y 10.07),
#: Southeast Guangdong xenotime 102.6 %. They are held to ±4 points and listed here so a change shows.
TOLERANCE = 0.015
OFF_100 = {"manavalakurichi": 0.979408, "xunwu": 1.0346, "southeast_guangdong_province": 1.026}


@pytest.fixture(scope="module")
def deposits() -> pd.DataFrame:
    return ure.read_deposit_distribution(XLSX)


def _share(frame: pd.DataFrame, deposit_id: str, element: str) -> pd.Series:
    rows = frame[(frame.deposit_id == deposit_id) & (frame.element == element)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_raw_copies_are_byte_for_byte():
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "usgs_rare_earths"   # ../shared, as in CI
    if not shared.is_dir():
        pytest.skip("shared data not mounted")
    for name in ("usgs_myb2022_rare_earths_tables.xlsx", "usgs_ds140_rare_earths_2020.xlsx"):
        assert (RAW / name).read_bytes() == (shared / name).read_bytes()


def test_deposits_and_countries(deposits):
    first = deposits.drop_duplicates("deposit_id").set_index("deposit_id")
    assert len(first) == 13 and len(deposits) == 13 * 15
    # T2!A8:E9 "Bastnaesite | China | Bayan Obo, Nei Mongol / Autonomous Region3"
    assert first.loc["bayan_obo", "deposit"] == "Bayan Obo, Nei Mongol Autonomous Region"
    assert first.loc["bayan_obo", ["iso3", "mineral"]].tolist() == ["CHN", "bastnaesite"]
    # T2!A16:E16 "Do. | United States | Mountain Pass, CA5" — ditto = bastnaesite, footnote 5 = Molycorp 10-K
    assert first.loc["mountain_pass", ["deposit", "iso3", "mineral"]].tolist() == ["Mountain Pass, CA", "USA",
                                                                                  "bastnaesite"]
    assert first.loc["mountain_pass", "note"].startswith("Source: Molycorp")
    # T2!A32:C32 "Xenotime | do." — the country ditto refers to Longnan's "China"
    assert first.loc["southeast_guangdong_province", "iso3"] == "CHN"
    assert first.loc["longnan", "mineral"] == "rare-earth laterite"  # the sheet never says "ion-adsorption"
    assert dict(first["iso3"].value_counts()) == {"CHN": 9, "USA": 1, "RUS": 1, "AUS": 1, "IND": 1}
    assert set(deposits.element) == set(ure.ELEMENTS.values())


def test_hand_checked_shares(deposits):
    assert _share(deposits, "bayan_obo", "cerium").share == pytest.approx(0.50)  # T2!I8 = 50
    assert _share(deposits, "mountain_pass", "neodymium").share == pytest.approx(0.117)  # T2!M16 = 11.7
    assert _share(deposits, "longnan", "yttrium").share == pytest.approx(0.649)  # T2!AI30 = 64.9
    assert _share(deposits, "manavalakurichi", "thulium").share == pytest.approx(0.000008)  # T2!AC24 = 0.0008
    assert _share(deposits, "revda", "lutetium").share == pytest.approx(0.0015)  # T2!AG17 = 0.15


def test_missing_is_never_zero(deposits):
    na = _share(deposits, "bayan_obo", "yttrium")  # T2!AI8 = "NA"
    assert math.isnan(na.share) and na.flag == "not_available"
    bound = _share(deposits, "longnan", "cerium")  # T2!I30 = "<1.09"
    assert math.isnan(bound.share) and bound.flag == "less_than" and bound.upper_bound == pytest.approx(0.0109)
    assert (deposits.share.isna() == (deposits.flag != "reported")).all()
    assert not (deposits.share == 0).any()
    assert dict(deposits.flag.value_counts()) == {"reported": 171, "not_available": 22, "less_than": 2}


def test_each_deposit_sums_to_100_percent(deposits):
    sums = deposits.groupby("deposit_id").share.sum()  # NaN (NA, "<x") omitted
    for deposit_id, total in sums.items():
        if deposit_id in OFF_100:
            assert total == pytest.approx(OFF_100[deposit_id], abs=1e-9)
            assert abs(total - 1) < 0.04
        else:
            assert abs(total - 1) <= TOLERANCE, (deposit_id, total)
    # Longnan: 98.54 % reported + the two bounds (<1.09 Ce, <0.37 Eu) = 100.00 % — consistent
    longnan = deposits[deposits.deposit_id == "longnan"]
    assert longnan.share.sum() <= 1 <= longnan.share.sum() + longnan.upper_bound.sum() + 1e-9


def test_element_prices():
    prices = ure.read_element_prices(XLSX)
    # 11 oxides, Sc, Y, La … Dy (T3!A7:A17): no Ho, Er, Tm, Yb or Lu price in this table
    assert len(prices) == 11 * 2 and set(prices.flag) == {"reported"}
    # T3!A16:G16 "Terbium4, 5 | 99.99 | 1350 | 2050"; footnote 5 "China, free on board."
    tb = prices[(prices.element == "terbium") & (prices.year == 2022)].iloc[0]
    assert tb.usd_per_kg == 2050 and tb.purity_pct == 99.99 and tb["product"] == "terbium oxide, 99.99% purity"
    assert "China, free on board." in tb.note
    # T3!A7:E7 "Scandium2, 3 | 99.99 | 2200"
    sc = prices[(prices.element == "scandium") & (prices.year == 2021)].iloc[0]
    assert sc.usd_per_kg == 2200 and "Five-kilogram lot size." in sc.note


def test_world_production():
    prod = ure.read_world_production(XLSX).set_index(["iso3", "year"])
    assert prod.loc[("CHN", 2018), "value_t_reo"] == 120000  # T8!C11 "China3 | 120000"
    assert prod.loc[("CHN", 2022), ["value_t_reo", "flag"]].tolist() == [210000, "estimated"]  # T8!K11:L11 e
    assert prod.loc[("MMR", 2020), ["value_t_reo", "flag"]].tolist() == [35500, "estimated"]  # "Burmae" 35500
    assert prod.loc[("MDG", 2021), "flag"] == "estimated+revised"  # T8!I13:J13 "6000 | r", name "Madagascare"
    assert prod.loc[("USA", 2022), "note"].startswith("Includes bastnaesite only")  # T8!L17 footnote "6"
    # T8!K10 "--", defined by the legend T8!A20 as "-- Zero." — a published zero, not a missing value
    assert prod.loc[("BDI", 2022), ["value_t_reo", "flag"]].tolist() == [0, "zero"]
    assert prod.loc[("WLD", 2022), "value_t_reo"] == 297000  # T8!K19 "Total | 297000"
    countries = prod.drop(index="WLD", level="iso3").xs(2022, level="year").value_t_reo.sum()
    assert countries == pytest.approx(297000, rel=0.01)  # rounded data "may not add to totals shown"


def _edited(tmp_path: Path, sheet: str, cell: str, value: object) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the workbook's print area "'T7'!$A:$K"
        book = openpyxl.load_workbook(XLSX)
    book[sheet][cell] = value
    out = tmp_path / "edited.xlsx"
    book.save(out)
    return out


def test_broken_files(tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    with pytest.raises(DataFormatError, match=r"junk\.xlsx: not a readable xlsx"):
        ure.read_deposit_distribution(junk)
    with pytest.raises(DataFormatError, match=r"row 16, column 'M'.*sheet 'T2': unexpected cell 'n/a'") as err:
        ure.read_deposit_distribution(_edited(tmp_path, "T2", "M16", "n/a"))
    assert err.value.row == 16 and err.value.column == "M"
    with pytest.raises(DataFormatError, match=r"row 7, column 'Dy'.*header lacks \['Dy'\]"):
        ure.read_deposit_distribution(_edited(tmp_path, "T2", "W7", "Dy2"))
    with pytest.raises(DataFormatError, match=r"row 4.*sheet 'T8': unit line"):
        ure.read_world_production(_edited(tmp_path, "T8", "A4", "(Thousand metric tons)"))
    with pytest.raises(DataFormatError, match=r"row 12, column 'A'.*unknown country name 'Atlantis'"):
        ure.read_world_production(_edited(tmp_path, "T8", "A12", "Atlantis"))
    with pytest.raises(DataFormatError, match=r"row 8, column 'A'.*unknown product 'Yttrium-europium"):
        ure.read_element_prices(_edited(tmp_path, "T3", "A8", "Yttrium-europium4"))
