"""Sourced market, stockpile and disruption facts (``data/raw/parameters``: nine CSVs, one fact per row).

Every file shares the conventions of its PROVENANCE.md: ``record_id``, a numeric ``value`` *or* a
``value_low``/``value_high`` range, ``value_kind``, ``unit``, year/date and the source (title, URL, tier,
confidence).  The files differ in what names the fact (``metric``, ``parameter``, ``elasticity_type`` …);
:func:`read_facts` maps each onto one long table with a ``metric`` column so that model code can look a
fact up by its record id and cite it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data.errors import DataFormatError

#: file stem → the column that names the fact in that file
METRIC_COLUMN = {
    "capacity": "parameter",
    "consumption": "metric",
    "disruption_history": "metric",
    "economy": "metric",
    "elasticities": "elasticity_type",
    "prices_recent": "price_type",
    "stockpiles": "parameter",
    "stocks": "metric",
    "value_at_risk": "metric",
}
#: file stem → the column naming the subject (place, programme, product) besides the material
SUBJECT_COLUMN = {
    "capacity": "site_or_company",
    "consumption": "scenario_or_context",
    "disruption_history": "event_name",
    "economy": "scenario_or_context",
    "elasticities": "horizon",
    "prices_recent": "product_spec",
    "stockpiles": "program",
    "stocks": "holder",
    "value_at_risk": "scenario_or_context",
}
COLUMNS = ["file", "record_id", "event_id", "material", "country", "subject", "metric", "value", "value_low",
           "value_high", "value_kind", "unit", "year", "date", "end_date", "source_title", "source_url", "source_tier",
           "confidence"]
_COMMON = ["record_id", "value", "value_low", "value_high", "value_kind", "unit", "source_title", "source_url",
           "confidence"]


def read_fact_file(path: str | Path) -> pd.DataFrame:
    """Read one parameters CSV in its publisher layout and return it in the common long layout."""
    path = Path(path)
    stem = path.stem
    if stem not in METRIC_COLUMN:
        raise DataFormatError(path, f"unknown parameters file; expected one of {sorted(METRIC_COLUMN)}")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None
    required = [*_COMMON, METRIC_COLUMN[stem]]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise DataFormatError(path, f"missing columns {missing}", row=1)
    duplicated = raw["record_id"].duplicated()
    if duplicated.any():
        row = int(duplicated.to_numpy().nonzero()[0][0]) + 2
        raise DataFormatError(path, f"duplicate record_id {raw['record_id'].iloc[row - 2]!r}", row=row,
                              column="record_id")
    out = pd.DataFrame({
        "file": stem,
        "record_id": raw["record_id"],
        "event_id": raw.get("event_id", ""),
        "material": raw.get("material", ""),
        "country": raw.get("country", ""),
        "subject": raw.get(SUBJECT_COLUMN[stem], ""),
        "metric": raw[METRIC_COLUMN[stem]],
        "value_kind": raw["value_kind"],
        "unit": raw["unit"],
        "source_title": raw["source_title"],
        "source_url": raw["source_url"],
        "source_tier": raw.get("source_tier", ""),
        "confidence": raw["confidence"],
    })
    for column in ("value", "value_low", "value_high"):
        numbers = pd.to_numeric(raw[column].str.replace(",", "", regex=False).str.strip(), errors="coerce")
        bad = numbers.isna() & (raw[column].str.strip() != "")
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise DataFormatError(path, f"not a number: {raw[column].iloc[row]!r}", row=row + 2, column=column)
        out[column] = numbers.astype(float)
    year = raw.get("year", pd.Series("", index=raw.index)).str.extract(r"^(\d{4})")[0]
    out["year"] = pd.to_numeric(year, errors="coerce").astype("Int64")
    date_column = next((c for c in ("start_date", "date", "price_date", "metric_date") if c in raw.columns), None)
    out["date"] = raw[date_column] if date_column else ""
    out["end_date"] = raw.get("end_date", "")
    return out[COLUMNS]


def read_facts(directory: str | Path) -> pd.DataFrame:
    """All the parameters files of ``directory`` as one long table (see :data:`COLUMNS`)."""
    directory = Path(directory)
    frames = [read_fact_file(directory / f"{stem}.csv") for stem in METRIC_COLUMN]
    return pd.concat(frames, ignore_index=True)


def point_value(fact: pd.Series) -> float:
    """A fact's single figure: ``value``, or the midpoint of ``value_low``–``value_high`` where the source gives
    a range (the files store no midpoints, PROVENANCE.md); NaN for a fact without a number (dates only)."""
    if np.isfinite(fact["value"]):
        return float(fact["value"])
    return float((fact["value_low"] + fact["value_high"]) / 2)
