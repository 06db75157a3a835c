"""China's export-control measures on critical minerals (MOFCOM / GAC announcements), compiled table.

One row per measure: ``measure_id, announced_date, effective_date, elements`` (chemical symbols separated
by ``;``), scope, control type, destination scope, status and sources.  Dates are validated (effective on
or after announced, at least one of them present); every row must name at least one element.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from minsec.data.errors import DataFormatError

REQUIRED = ["measure_id", "announcement_en", "announced_date", "effective_date", "elements",
            "materials_scope", "control_type", "destination_scope", "status_as_recorded", "primary_source_url"]


def read_measures(path: str | Path) -> pd.DataFrame:
    """Read and validate the measures table; dates become ``datetime64`` (effective date may be empty)."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise DataFormatError(path, f"missing columns {missing}", row=1)
    out = raw.copy()
    for column in ("announced_date", "effective_date", "suspended_until"):
        if column not in out.columns:
            continue
        # Some measures take effect in parts ("2025-10-09 (s.1(c)); 2025-12-01 (s.1(a)-(b))"): the first
        # date counts, the full text is kept in <column>_text.
        out[f"{column}_text"] = out[column]
        dates = []
        for row, text in enumerate(out[column], start=2):
            found = re.findall(r"\d{4}-\d{2}-\d{2}", text)
            if text.strip() and not found:
                raise DataFormatError(path, f"date {text!r} is not YYYY-MM-DD", row=row, column=column)
            try:
                dates.append(min(pd.Timestamp(d) for d in found) if found else pd.NaT)
            except ValueError:
                raise DataFormatError(path, f"date {text!r} is not a calendar date", row=row,
                                      column=column) from None
        out[column] = pd.to_datetime(pd.Series(dates, index=out.index))
    undated = out["announced_date"].isna() & out["effective_date"].isna()
    if undated.any():  # a blank announced date is allowed ("not seen in the evidence"), no date at all is not
        row = int(undated.to_numpy().nonzero()[0][0]) + 2
        raise DataFormatError(path, "neither announced nor effective date", row=row, column="announced_date")
    early = out["effective_date"] < out["announced_date"]
    if early.any():
        raise DataFormatError(path, "effective before announced", row=int(early.to_numpy().nonzero()[0][0]) + 2,
                              column="effective_date")
    empty = out["elements"].str.strip().eq("")
    if empty.any():
        raise DataFormatError(path, "no element named", row=int(empty.to_numpy().nonzero()[0][0]) + 2,
                              column="elements")
    if out["measure_id"].duplicated().any():
        row = int(out["measure_id"].duplicated().to_numpy().nonzero()[0][0]) + 2
        raise DataFormatError(path, "duplicate measure_id", row=row, column="measure_id")
    return out
