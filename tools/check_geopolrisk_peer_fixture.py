"""Compare minsec's GeoPolRisk with the peer fixture (geopolrisk-py 2.0.1) and explain each difference.

Run with minsec's own environment (no peer package needed)::

    .venv/bin/python tools/check_geopolrisk_peer_fixture.py

Reads ``tests/fixtures/geopolrisk_peer/peer_geopolrisk_2020_2022.csv`` (written by
``tools/make_geopolrisk_peer_fixture.py``) and prints, per term, how many of the overlapping results agree
within 1e-3 relative — first with minsec as it is, then with minsec fed the peer's two input quirks (its
political-stability table as the peer joins it, and its import price), which must close every gap.
Exits 1 if a difference is left that those two quirks do not explain.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "geopolrisk_peer" / "peer_geopolrisk_2020_2022.csv"
RAW = ROOT / "data" / "raw"
YEARS = [2020, 2021, 2022]
RTOL = 1e-3
TERMS = {"hhi": ("hhi", "hhi"), "import_risk": ("import_risk", "import_risk"),
         "score": ("geopolrisk_score", "geopolrisk_score"),
         "cf": ("characterization_factor_kg_cu_eq_per_kg", "characterisation_factor"),
         "price": ("price_usd_per_kg", "price_usd_per_kg"), "imports_t": ("total_imports_t", "imports_t"),
         "domestic": ("domestic_production", "domestic_production_t")}


def peer_political_stability(codes: dict[int, str]) -> xr.DataArray:
    """The normalised PV table as geopolrisk-py joins it to BACI: by numeric code, first row per code (so
    "Guyana" 328 gets the first of its two rows), 0.0 placeholders kept, rows without a code (Taiwan "NA")
    left out — the peer then reads a missing score as 0.5."""
    table = pd.read_csv(RAW / "world_mining_data" / "geopolrisk_wgi_pv_normalized.csv", dtype=str,
                        keep_default_na=False)
    table = table[table["country_code"].str.isdigit()].drop_duplicates("country_code", keep="first")
    table["country"] = table["country_code"].astype(int).map(codes)
    long = table.dropna(subset=["country"]).melt(id_vars="country", value_vars=[str(y) for y in YEARS],
                                                 var_name="year", value_name="ps")
    long["ps"] = pd.to_numeric(long["ps"].replace({"None": "", "nan": ""}), errors="coerce")
    long["year"] = long["year"].astype(int)
    return xr.DataArray.from_series(long.drop_duplicates(["country", "year"]).set_index(["country", "year"])["ps"])


def peer_price(chain, series_hs: pd.DataFrame, entities: dict[str, frozenset[str]]) -> pd.DataFrame:
    """The peer's import price: value of *every* flow (also those without a quantity) / Σ quantity."""
    flows = chain.trade.drop(columns=["material", "stage"]).merge(series_hs, on="hs92")
    flows = flows[flows["year"].isin(YEARS)]
    parts = []
    for entity, members in entities.items():
        sums = flows[flows["importer"].isin(members)].groupby(["material", "stage", "year"]).agg(
            value=("value_kusd", "sum"), quantity=("quantity_t", "sum"))
        parts.append(sums.assign(importer=entity).reset_index())
    sums = pd.concat(parts)
    return sums.assign(peer_price=sums["value"] / sums["quantity"])[["importer", "material", "stage", "year",
                                                                    "peer_price"]]


def agree(ours: pd.Series, peer: pd.Series) -> pd.Series:
    return (np.abs(ours - peer) <= RTOL * np.abs(peer)) | ((ours == 0) & (peer == 0))


def main() -> int:
    import minsec
    from minsec.data import catalogue
    from minsec.data.loaders import baci
    from minsec.risk.geopolrisk import CF_COPPER, geopolrisk

    peer = pd.read_csv(FIXTURE)
    series = catalogue.wmd_series()[["wmd_commodity", "material", "stage"]]
    peer = peer.drop(columns="stage").merge(series, left_on="wmd_sheet", right_on="wmd_commodity", how="left")
    chain = minsec.load()
    singles = sorted(set(peer["importer_iso3"]) - {"EU27"})
    ours = pd.concat([chain.risk.geopolrisk(importer=singles, year=YEARS),
                      chain.risk.geopolrisk(importer="EU27", year=YEARS, intra_group="zero_risk")])
    keys = ["importer", "material", "stage", "year"]
    joined = peer.rename(columns={"importer": "peer_importer", "importer_iso3": "importer"}).merge(
        ours, on=keys, how="left", suffixes=("_peer", ""))
    # no imports at all: the peer records IR = score = CF = price = 0 (its 0/0 → 0); minsec has no row
    # (no production either), NaN with a reason (HS 811230 germanium: no flow anywhere), or IR = 0
    no_trade = joined["total_imports_t"] == 0
    absent = joined["import_risk"].isna()
    print(f"{len(peer)} peer results; {int(no_trade.sum())} without any import (peer IR = 0): minsec "
          f"{int((no_trade & absent).sum())} missing/NaN, {int((no_trade & ~absent).sum())} computed "
          f"(IR = 0 agrees: {int((no_trade & (joined['import_risk'] == 0)).sum())})")
    if (absent & ~no_trade).any():
        print(f"  minsec misses {int((absent & ~no_trade).sum())} results the peer computes from trade:")
        print(joined.loc[absent & ~no_trade, keys].to_string(index=False))
    both = joined[~absent & ~no_trade]
    for term, (p, m) in TERMS.items():
        print(f"  minsec as is   {term:12s} {int(agree(both[m], both[p + '_peer' if p in ours else p]).sum())}"
              f"/{len(both)} within {RTOL:g}")

    # minsec fed the peer's inputs: PS as the peer joins it, and its price
    inputs = chain.geopolrisk_inputs()
    codes = baci.read_country_codes(RAW / "cepii_baci" / "country_codes.csv")
    entities = {code: frozenset({code}) for code in singles} | {"EU27": chain.groups.members("EU27")}
    same = pd.concat([
        geopolrisk(chain.trade, inputs["production"], peer_political_stability(codes), inputs["series_hs"], YEARS,
                   importers=singles),
        geopolrisk(chain.trade, inputs["production"], peer_political_stability(codes), inputs["series_hs"], YEARS,
                   importers=["EU27"], groups={"EU27": entities["EU27"]}, intra_group="zero_risk")])
    same = same.merge(peer_price(chain, inputs["series_hs"], entities), on=keys, how="left")
    same["price_usd_per_kg"] = same["peer_price"].fillna(0.0)
    same["characterisation_factor"] = same["geopolrisk_score"] * same["price_usd_per_kg"] / CF_COPPER
    joined = peer.rename(columns={"importer": "peer_importer", "importer_iso3": "importer"}).merge(
        same, on=keys, how="inner", suffixes=("_peer", ""))
    joined = joined[joined["total_imports_t"] > 0]
    left = 0
    for term, (p, m) in TERMS.items():
        good = agree(joined[m], joined[p + "_peer" if p in same else p])
        left += int((~good).sum())
        print(f"  peer's inputs  {term:12s} {int(good.sum())}/{len(joined)} within {RTOL:g}")
    print("PASS: every difference is the peer's PS join or its price" if left == 0 else f"FAIL: {left} left")
    return 0 if left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
