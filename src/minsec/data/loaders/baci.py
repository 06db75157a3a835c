"""CEPII BACI bilateral trade (Gaulier & Zignago 2010), HS 1992 nomenclature.

Reads BACI's standard CSV layout (``t, i, j, k, v, q``: year, exporter and importer as BACI numeric
country codes, HS-6 product, value in thousand current USD, quantity in metric tonnes) with its
``country_codes`` table.  BACI's numeric code 490 "Other Asia, nes" (ISO3 ``S19``) is Taiwan; codes of
dissolved states (Czechoslovakia, USSR, …) keep their historical ISO3.  Quantities BACI could not estimate
are empty and stay missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data import countries
from minsec.data.errors import DataFormatError

TRADE_COLUMNS = ["t", "i", "j", "k", "v", "q"]


def read_country_codes(path: str | Path) -> dict[int, str]:
    """BACI numeric code → ISO3 (pseudo-code for BACI's regional aggregates)."""
    path = Path(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("country_code", "country_iso3"):
        if column not in raw.columns:
            raise DataFormatError(path, f"missing column {column!r}", row=1)
    mapping: dict[int, str] = {}
    for row, (code, iso3) in enumerate(zip(raw["country_code"], raw["country_iso3"], strict=True), start=2):
        if not code.strip().isdigit():
            raise DataFormatError(path, f"country code {code!r} is not a number", row=row,
                                  column="country_code")
        try:
            mapping[int(code)] = countries.normalise_iso3(iso3)
        except countries.UnknownCountryError as exc:
            raise DataFormatError(path, str(exc), row=row, column="country_iso3") from None
    return mapping


def read_trade(path: str | Path, country_codes: dict[int, str], hs_codes: set[str] | None = None,
               years: tuple[int, int] | None = None) -> pd.DataFrame:
    """Read BACI flows. Returns ``year, exporter, importer, hs92, value_kusd, quantity_t``.

    ``hs_codes`` and ``years`` (inclusive range) filter while reading; unknown country codes, negative
    values or quantities raise :class:`DataFormatError` naming the row.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype={"t": "int64", "i": "int64", "j": "int64", "k": str, "v": "float64",
                                       "q": "float64"}, na_values=["", "NA", "   NA"], engine="c")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise DataFormatError(path, f"cannot read as BACI CSV (t,i,j,k,v,q): {exc}") from None
    missing = [c for c in TRADE_COLUMNS if c not in raw.columns]
    if missing:
        raise DataFormatError(path, f"missing columns {missing}", row=1)
    raw["row"] = np.arange(2, len(raw) + 2)
    raw["k"] = raw["k"].str.strip().str.zfill(6)
    keep = pd.Series(True, index=raw.index)
    if hs_codes is not None:
        keep &= raw["k"].isin(hs_codes)
    if years is not None:
        keep &= raw["t"].between(*years)
    raw = raw.loc[keep]
    for column, label in (("v", "value"), ("q", "quantity")):
        negative = raw[column] < 0
        if negative.any():
            raise DataFormatError(path, f"negative {label}", row=int(raw.loc[negative, "row"].iloc[0]),
                                  column=column)
    code_map = pd.Series(country_codes)
    exporter = raw["i"].map(code_map)
    importer = raw["j"].map(code_map)
    for series, column in ((exporter, "i"), (importer, "j")):
        unknown = series.isna()
        if unknown.any():
            first = raw.loc[unknown].iloc[0]
            raise DataFormatError(path, f"unknown BACI country code {int(first[column])}", row=int(first.row),
                                  column=column)
    return pd.DataFrame({
        "year": raw["t"].astype("int16").to_numpy(), "exporter": exporter.to_numpy(),
        "importer": importer.to_numpy(), "hs92": raw["k"].to_numpy(),
        "value_kusd": raw["v"].to_numpy(), "quantity_t": raw["q"].to_numpy(),
    })
