"""World Bank Commodity Price Data ("Pink Sheet"), monthly nominal US-dollar prices.

Reads the "Monthly Prices" sheet of ``CMO-Historical-Data-Monthly.xlsx`` saved as CSV: a ``month`` column
(``1960M01`` …) and one column per series whose name carries the unit (``"Copper ($/mt)"``).  Missing
months (empty or ``…``) stay missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data.errors import DataFormatError

_SERIES = re.compile(r"^(?P<name>.+?)\s*\((?P<unit>[^()]+)\)$")
_MONTH = re.compile(r"^\d{4}M\d{2}$")


def read_monthly_prices(path: str | Path) -> pd.DataFrame:
    """Returns ``series, unit, month`` (first day of month), ``price``; unit strings as the World Bank writes them."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None
    if raw.columns[0] != "month":
        raise DataFormatError(path, f"first column must be 'month', got {raw.columns[0]!r}", row=1)
    bad_month = ~raw["month"].str.match(_MONTH)
    if bad_month.any():
        raise DataFormatError(path, f"month {raw.loc[bad_month, 'month'].iloc[0]!r} is not YYYYMmm",
                              row=int(np.flatnonzero(bad_month)[0]) + 2, column="month")
    month = pd.to_datetime(raw["month"].str.replace("M", "-", regex=False) + "-01")
    frames = []
    for column in raw.columns[1:]:
        match = _SERIES.match(column.strip())
        if match is None:
            continue  # index series without a unit, e.g. "Natural gas index (2010=100)" parse as units; others
        text = raw[column].str.strip().replace({"…": "", "..": ""})
        price = pd.to_numeric(text, errors="coerce")
        bad = price.isna() & text.ne("")
        if bad.any():
            raise DataFormatError(path, f"price {text[bad].iloc[0]!r} is not a number",
                                  row=int(np.flatnonzero(bad)[0]) + 2, column=column)
        frames.append(pd.DataFrame({"series": match.group("name").strip(), "unit": match.group("unit"),
                                    "month": month, "price": price}))
    if not frames:
        raise DataFormatError(path, "no price series with a unit in the column name", row=1)
    prices = pd.concat(frames, ignore_index=True)
    return prices.dropna(subset=["price"]).reset_index(drop=True)
