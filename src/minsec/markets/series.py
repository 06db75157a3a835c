"""Price series for calibration: the bundled World Bank Pink Sheet (monthly) and USGS salient prices (annual),
or a user's CSV (``date,price``).

All prices are converted to US dollars per tonne of the market basis named in the catalogue
(``reference_prices.csv``: the series and its unit factor).  Time is measured in years from the first
observation (``days / 365.25``) so that models calibrated on monthly and annual series share units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data.errors import DataFormatError
from minsec.data.loaders.parameters import point_value
from minsec.errors import InputError

DAYS_PER_YEAR = 365.25


class MarketInputError(InputError):
    """Bad input to a market mechanism or price model; the message names the field."""


@dataclass(frozen=True)
class PriceSeries:
    """Dated prices in USD per tonne, oldest first, with where they came from."""

    dates: np.ndarray          # datetime64[D]
    prices: np.ndarray         # USD/t, > 0
    source: str
    label: str

    def __post_init__(self) -> None:
        if len(self.dates) != len(self.prices):
            raise MarketInputError("dates and prices differ in length")
        if len(self.prices) and (not np.isfinite(self.prices).all() or (self.prices <= 0).any()):
            row = int(np.flatnonzero(~(np.isfinite(self.prices) & (self.prices > 0)))[0])
            raise MarketInputError(f"{self.label}: price on {self.dates[row]} is {self.prices[row]}; prices must "
                                   "be positive numbers")
        if len(self.dates) > 1 and (np.diff(self.dates.astype("datetime64[D]").astype(np.int64)) <= 0).any():
            raise MarketInputError(f"{self.label}: dates must be strictly increasing")

    @property
    def times(self) -> np.ndarray:
        """Years since the first observation."""
        days = self.dates.astype("datetime64[D]").astype(np.int64)
        return (days - days[0]) / DAYS_PER_YEAR

    @property
    def frequency(self) -> str:
        if len(self.dates) < 2:
            return "single"
        step = float(np.median(np.diff(self.times)))
        return "monthly" if step < 0.1 else "quarterly" if step < 0.3 else "annual"

    def since(self, year: int | None) -> PriceSeries:
        if year is None:
            return self
        keep = self.dates >= np.datetime64(f"{year}-01-01")
        return PriceSeries(self.dates[keep], self.prices[keep], self.source, self.label)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"date": self.dates, "price_usd_per_t": self.prices})


def catalogue_prices() -> pd.DataFrame:
    """The catalogue's material → price series map (``material, stage, source, series, to_usd_per_t, note``)."""
    from minsec.data import catalogue

    return catalogue.reference_prices()


def material_series(chain, material: str, stage: str | None = None) -> PriceSeries:
    """The bundled price series of ``material`` (at ``stage`` if it has several), in USD/t, from a SupplyChain.

    Pink Sheet series (``chain.prices``) are monthly; USGS salient prices are annual (each year from the latest
    release that reports it: MCS 2024 revises MCS 2023's figures — :meth:`SupplyChain.salient`, the one lookup
    the scenario baseline uses too), dated 1 July of the year.
    """
    table = catalogue_prices()
    rows = table[table["material"] == material]
    if stage is not None:
        rows = rows[rows["stage"] == stage]
    if rows.empty:
        known = ", ".join(sorted(table["material"].unique()))
        where = f" at stage {stage!r}" if stage else ""
        raise MarketInputError(f"no bundled price series for material {material!r}{where}; known: {known} "
                               "(or give a CSV with --prices)")
    row = rows.iloc[0]
    label = f"{material} ({row['source']}: {row['series']})"
    if row["source"] == "facts_ratio":
        value, year = facts_ratio(chain.parameter_facts, str(row["series"]))
        dates = np.array([f"{year}-07-01"], dtype="datetime64[D]")
        prices = np.array([value * row["to_usd_per_t"]])
        source = (f"unit value from the sourced facts {row['series']} (× {row['to_usd_per_t']:g} → USD/t), "
                  f"{year}: a single annual observation")
        return PriceSeries(dates, prices, source, label)
    if row["source"] == "pinksheet":
        pink = chain.prices
        found = pink[pink["series"] == row["series"]].sort_values("month")
        dates = pd.to_datetime(found["month"]).to_numpy().astype("datetime64[D]")
        prices = found["price"].to_numpy(float) * row["to_usd_per_t"]
        source = f"World Bank Pink Sheet, monthly nominal: {row['series']} × {row['to_usd_per_t']:g} → USD/t"
    else:
        owner, _, field = str(row["series"]).rpartition("/")
        found = chain.salient(owner or material, field)
        dates = np.array([f"{y}-07-01" for y in found["year"]], dtype="datetime64[D]")
        prices = found["value"].to_numpy(float) * row["to_usd_per_t"]
        editions = ", ".join(dict.fromkeys(found["release"])) if "release" in found else ""
        source = (f"USGS Mineral Commodity Summaries salient table{f' ({editions})' if editions else ''}, annual: "
                  f"{field} × {row['to_usd_per_t']:g} → USD/t")
    return PriceSeries(dates, prices, source, label)


def facts_ratio(facts: pd.DataFrame, series: str) -> tuple[float, int]:
    """``"RM104/RM103"``: the ratio of two sourced facts (a value over a quantity, i.e. a unit value) and the
    numerator's year."""
    numerator, _, denominator = series.partition("/")
    found = facts.set_index("record_id")
    missing = [r for r in (numerator, denominator) if r not in found.index]
    if missing:
        raise MarketInputError(f"price series {series}: sourced facts {missing} are not in the dataset")
    top, bottom = found.loc[numerator], found.loc[denominator]
    return point_value(top) / point_value(bottom), int(top["year"])


def read_price_csv(path: str | Path, material: str | None = None) -> PriceSeries:
    """A user's price series: columns ``date`` (ISO date or ``YYYY`` / ``YYYY-MM``) and ``price`` (USD/t);
    an optional ``material`` column selects rows when the file holds several materials."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None
    missing = [c for c in ("date", "price") if c not in frame.columns]
    if missing:
        raise DataFormatError(path, f"missing column(s) {missing}; expected date,price[,material]", row=1)
    if "material" in frame.columns and material is not None:
        frame = frame[frame["material"].str.strip() == material]
        if frame.empty:
            raise DataFormatError(path, f"no rows for material {material!r}", column="material")
    text = frame["date"].str.strip()
    text = text.where(~text.str.fullmatch(r"\d{4}"), text + "-07-01")
    text = text.where(~text.str.fullmatch(r"\d{4}-\d{2}"), text + "-01")
    dates = pd.to_datetime(text, errors="coerce", format="ISO8601")
    price = pd.to_numeric(frame["price"].str.strip(), errors="coerce")
    for column, bad in (("date", dates.isna()), ("price", price.isna()), ("price", price <= 0)):
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            row = int(frame.index[position]) + 2
            value = frame[column].iloc[position]
            reason = "is not a positive number" if column == "price" else "is not a date"
            raise DataFormatError(path, f"{value!r} {reason}", row=row, column=column)
    order = np.argsort(dates.to_numpy(), kind="stable")
    dated = dates.to_numpy()[order].astype("datetime64[D]")
    duplicate = np.flatnonzero(np.diff(dated.astype(np.int64)) == 0)
    if len(duplicate):
        raise DataFormatError(path, f"date {dated[duplicate[0]]} appears twice", column="date")
    return PriceSeries(dated, price.to_numpy(float)[order], f"user file {path.name}",
                       material or path.stem)
