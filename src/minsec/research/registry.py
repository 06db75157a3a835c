"""The registry of public R&D programmes (``minsec/data/library/research/programmes.csv``, provenance in
``data/raw/research/PROVENANCE.md``): read, validated against the catalogue, budgets put in US dollars.

A row is a programme or one of its projects.  Budgets are as published in their currency; ``budget_usd``
converts them at the 2023 annual-average exchange rates of the sourced facts (``economy.csv``, FX001–FX006:
Federal Reserve G.5A), null where
the source states no budget or the rate is missing.  A programme's funding is the largest budget any of its rows
states — rows of one programme (a call and its awards, a programme and its waves) are never added up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data import catalogue
from minsec.data import library as shipped
from minsec.data.files import read_csv
from minsec.errors import InputError

STAGES = ("exploration", "extraction", "separation", "refining", "magnets_alloys", "substitution", "recycling")
GENERAL = "critical_minerals"
PARTNERS = ("USA", "EU27", "JPN", "KOR", "CAN", "AUS", "GBR", "MULTI")
COLUMNS = ["programme", "project", "funder", "partner", "budget", "currency", "budget_note", "start_year", "end_year",
           "materials", "stages", "trl", "source_title", "source_url", "locator", "confidence"]
#: currency → the FX fact giving its US-dollar value (USD per unit, or units per USD where ``per_usd``)
FX_FACTS = {"EUR": ("USD per EUR", False), "JPY": ("JPY per USD", True), "KRW": ("KRW per USD", True),
            "CAD": ("CAD per USD", True), "AUD": ("USD per AUD", False), "GBP": ("USD per GBP", False)}


class RegistryError(InputError):
    """A registry file that cannot be used: the message names the row and column."""


def bundled_path() -> Path:
    return shipped.folder("research") / "programmes.csv"


def usd_rates(facts: pd.DataFrame) -> dict[str, tuple[float, str]]:
    """Currency → (USD per unit, the fact's id) from the FX facts (2023 annual averages, Federal Reserve G.5A)."""
    rates = {"USD": (1.0, "")}
    fx = facts[facts["record_id"].astype(str).str.startswith("FX")]
    for currency, (metric, per_usd) in FX_FACTS.items():
        rows = fx[fx["metric"] == metric]
        if len(rows) and np.isfinite(rows["value"].iloc[0]) and rows["value"].iloc[0] > 0:
            value = float(rows["value"].iloc[0])
            rates[currency] = (1.0 / value if per_usd else value, str(rows["record_id"].iloc[0]))
    return rates


def read_programmes(path: str | Path | None = None, facts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The registry, validated (errors name the row and column), with ``materials`` and ``stages`` as lists and
    ``budget_usd`` (null where not stated or not convertible, with ``budget_usd_note``)."""
    path = Path(path) if path is not None else bundled_path()
    table = read_csv(path, "research registry", dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise RegistryError(f"{path}: missing columns {missing}")
    known = set(catalogue.materials().index) | {GENERAL}
    rows = []
    rates = usd_rates(facts) if facts is not None else {"USD": (1.0, "")}
    for i, row in enumerate(table.to_dict(orient="records"), start=2):
        where = f"{path.name}, row {i}"
        materials = [m.strip() for m in row["materials"].split(";") if m.strip()]
        stages = [s.strip() for s in row["stages"].split(";") if s.strip()]
        bad = [m for m in materials if m not in known]
        if bad or not materials:
            raise RegistryError(f"{where}, column 'materials': {bad or 'empty'} not in the catalogue")
        bad = [s for s in stages if s not in STAGES]
        if bad or not stages:
            raise RegistryError(f"{where}, column 'stages': {bad or 'empty'}; known: {', '.join(STAGES)}")
        if row["partner"] not in PARTNERS and not (len(row["partner"]) == 3 and row["partner"].isupper()):
            raise RegistryError(f"{where}, column 'partner': {row['partner']!r}")
        budget = pd.to_numeric(row["budget"], errors="coerce") if row["budget"] else np.nan
        if row["budget"] and not (np.isfinite(budget) and budget >= 0):
            raise RegistryError(f"{where}, column 'budget': not a non-negative number ({row['budget']!r})")
        years = {}
        for column in ("start_year", "end_year"):
            value = pd.to_numeric(row[column], errors="coerce") if row[column] else np.nan
            if row[column] and not (np.isfinite(value) and 1950 <= value <= 2100):
                raise RegistryError(f"{where}, column '{column}': not a year ({row[column]!r})")
            years[column] = value
        rate = rates.get(row["currency"]) if np.isfinite(budget) else None
        rows.append({**row, "materials": materials, "stages": stages, "budget": budget, **years,
                     "budget_usd": budget * rate[0] if rate else np.nan,
                     "budget_usd_note": "" if rate or not np.isfinite(budget) else
                     f"no exchange rate for {row['currency'] or 'an unstated currency'}"})
    out = pd.DataFrame(rows)
    out["start_year"] = out["start_year"].astype("Int64")
    out["end_year"] = out["end_year"].astype("Int64")
    return out


def programme_funding(programmes: pd.DataFrame) -> pd.DataFrame:
    """One row per programme × partner: its funding (the largest budget its rows state, USD), its materials and
    stages (the union of its rows'), the rows it has."""
    grouped = programmes.groupby(["programme", "partner"], sort=False)
    return pd.DataFrame({
        "budget_usd": grouped["budget_usd"].max(),
        "materials": grouped["materials"].apply(lambda x: sorted({m for ms in x for m in ms})),
        "stages": grouped["stages"].apply(lambda x: sorted({s for ss in x for s in ss})),
        "rows": grouped.size()}).reset_index()
