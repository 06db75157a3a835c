"""Reference prices per material and stage, with the method and inputs recorded.

* **Cost-based**: partner producers' cost curve (capacity and unit cost per producer).  Sorted by cost, the
  reference is the unit cost of the producer at which cumulative capacity first reaches the chosen share
  ``p`` of the total (the volume-weighted ``p``-percentile, i.e. the marginal cost of supplying ``p`` of
  partner capacity), plus a margin: ``R = c_(p) · (1 + m)``.
* **Market-based**: the mean of the market series over a trailing window ending at the as-of date, leaving
  out observations flagged as distorted (dumping periods found by surveillance, or given by the user):
  ``R = mean{P_t : as_of − window < t ≤ as_of, t not flagged}``.
* **Basket** (a single reference price for rare earths): the market-based reference of each separated oxide,
  weighted by the tonnes of each element in a documented basket, per tonne of rare-earth oxide:
  ``R = Σₑ wₑ·Rₑ / Σₑ wₑ`` over the elements with a price series; the basket's share of elements without one is
  reported, never priced at zero.  The industry's "basket price" of a concentrate is the same sum over its
  element distribution (Lynas reports its average selling price per kg of REO sold: parameter facts RK073–RK079).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data.errors import DataFormatError
from minsec.markets.series import MarketInputError, PriceSeries


@dataclass(frozen=True)
class ReferencePrice:
    """A reference price with how it was obtained."""

    material: str
    method: str
    usd_per_t: float
    inputs: dict = field(default_factory=dict)

    def record(self) -> dict:
        return {"material": self.material, "method": self.method, "reference_usd_per_t": self.usd_per_t,
                **self.inputs}


def _read_csv(path: Path, required: list[str]) -> pd.DataFrame:
    """A user's CSV with the ``required`` columns; errors name the file (and row 1 for a missing column)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataFormatError(path, f"missing column(s) {missing}; expected {', '.join(required)}", row=1)
    return frame


def read_cost_curve(path: str | Path) -> pd.DataFrame:
    """A cost curve CSV: ``producer, capacity_t, unit_cost_usd_per_t`` (+ optional ``country``)."""
    path = Path(path)
    required = ["producer", "capacity_t", "unit_cost_usd_per_t"]
    frame = _read_csv(path, required)
    for column in required[1:]:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFormatError(path, f"{frame[column].iloc[position]} is not a non-negative number",
                                  row=position + 2, column=column)
        frame[column] = values.astype(float)
    return frame


def cost_based(material: str, curve: pd.DataFrame, percentile: float = 0.9, margin: float = 0.1
               ) -> ReferencePrice:
    """Volume-weighted ``percentile`` of the producers' unit costs plus ``margin`` (module docstring)."""
    if not 0 < percentile <= 1:
        raise MarketInputError(f"percentile must be in (0, 1] (got {percentile})")
    if margin < 0:
        raise MarketInputError(f"margin must be ≥ 0 (got {margin})")
    ordered = curve.sort_values("unit_cost_usd_per_t", kind="stable")
    capacity = ordered["capacity_t"].to_numpy(float)
    total = capacity.sum()
    if total <= 0:
        raise MarketInputError("the cost curve has no capacity")
    share = np.cumsum(capacity) / total
    marginal = int(np.searchsorted(share, percentile - 1e-12))
    cost = float(ordered["unit_cost_usd_per_t"].iloc[marginal])
    return ReferencePrice(material, "cost-based", cost * (1 + margin), {
        "percentile": percentile, "margin": margin, "marginal_producer": str(ordered["producer"].iloc[marginal]),
        "marginal_unit_cost_usd_per_t": cost, "producers": len(ordered), "capacity_t": float(total)})


def parse_periods(text: str | None) -> list[tuple[np.datetime64, np.datetime64]]:
    """``"2015-01:2016-06,2023-03:2023-09"`` → inclusive date ranges (months expand to their whole month)."""
    if not text:
        return []
    periods = []
    for part in text.split(","):
        start, sep, end = part.strip().partition(":")
        if not sep:
            raise MarketInputError(f"period {part!r} must be START:END, e.g. 2015-01:2016-06")
        try:
            first = np.datetime64(start.strip(), "D")
            last_month = np.datetime64(end.strip(), "M") if len(end.strip()) <= 7 else None
            last = (last_month + 1).astype("datetime64[D]") - 1 if last_month is not None else np.datetime64(
                end.strip(), "D")
        except ValueError:
            raise MarketInputError(f"period {part!r}: dates must be YYYY-MM or YYYY-MM-DD") from None
        if last < first:
            raise MarketInputError(f"period {part!r} ends before it starts")
        periods.append((first, last))
    return periods


def market_based(material: str, series: PriceSeries, window_years: float = 3.0, as_of: str | None = None,
                 exclude: list[tuple[np.datetime64, np.datetime64]] | None = None) -> ReferencePrice:
    """Trailing mean of undistorted market prices (module docstring)."""
    if window_years <= 0:
        raise MarketInputError(f"window must be > 0 years (got {window_years})")
    end = np.datetime64(as_of, "D") if as_of else series.dates[-1]
    start = end - np.timedelta64(round(window_years * 365.25), "D")
    in_window = (series.dates > start) & (series.dates <= end)
    flagged = np.zeros(len(series.dates), dtype=bool)
    for first, last in exclude or []:
        flagged |= (series.dates >= first) & (series.dates <= last)
    used = in_window & ~flagged
    if not used.any():
        raise MarketInputError(f"{series.label}: no undistorted prices between {start} and {end}")
    return ReferencePrice(material, "market-based (trailing mean)", float(series.prices[used].mean()), {
        "window_years": window_years, "as_of": str(end), "observations": int(used.sum()),
        "excluded_as_distorted": int((in_window & flagged).sum()), "first": str(series.dates[used][0]),
        "last": str(series.dates[used][-1]), "source": series.source})


def read_weights(path: str | Path) -> pd.Series:
    """Basket weights from a CSV ``material,weight`` (tonnes or shares; non-negative, not all zero)."""
    path = Path(path)
    frame = _read_csv(path, ["material", "weight"])
    values = pd.to_numeric(frame["weight"], errors="coerce")
    bad = values.isna() | (values < 0) | ~np.isfinite(values.fillna(0))
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(path, f"{frame['weight'].iloc[position]} is not a non-negative number",
                              row=position + 2, column="weight")
    materials = frame["material"].astype(str).str.strip()
    if materials.duplicated().any():
        raise DataFormatError(path, f"material {materials[materials.duplicated()].iloc[0]!r} appears twice")
    if values.sum() <= 0:
        raise DataFormatError(path, "the weights add up to zero")
    return pd.Series(values.to_numpy(float), index=pd.Index(materials, name="material"), name="weight")


def basket(material: str, components: dict[str, ReferencePrice], weights: pd.Series, basis: str
           ) -> pd.DataFrame:
    """The basket reference price (module docstring) and its components: one row for the basket (first), then
    one per element with its weight, reference and contribution; elements of the basket without a price are
    listed with their weight and a null reference."""
    weights = weights[weights > 0]
    if weights.empty:
        raise MarketInputError("the basket has no element with a positive weight")
    priced = [m for m in weights.index if m in components]
    if not priced:
        raise MarketInputError("no element of the basket has a price series")
    total, covered = float(weights.sum()), float(weights[priced].sum())
    rows = []
    for element, weight in weights.sort_values(ascending=False).items():
        reference = components.get(element)
        share = weight / covered if reference is not None else np.nan
        rows.append({"material": element, "method": "market-based (trailing mean)" if reference else "no price",
                     "weight_t": float(weight), "weight_share": float(weight / total),
                     "reference_usd_per_t": reference.usd_per_t if reference else np.nan,
                     "contribution_usd_per_t": share * reference.usd_per_t if reference else np.nan,
                     "observations": reference.inputs["observations"] if reference else 0,
                     "window": f"{reference.inputs['first']} … {reference.inputs['last']}" if reference else
                     "no bundled price series: left out of the basket", "source": reference.inputs["source"]
                     if reference else ""})
    value = float(np.nansum([r["contribution_usd_per_t"] for r in rows]))
    left_out = [r["material"] for r in rows if r["method"] == "no price"]
    missing = f"{', '.join(left_out) if left_out else 'none'} ({100 * (1 - covered / total):.2g} % of the basket)"
    head = {"material": material, "method": f"basket ({basis})", "weight_t": total, "weight_share": 1.0,
            "reference_usd_per_t": value, "contribution_usd_per_t": value,
            "observations": sum(r["observations"] for r in rows),
            "window": f"{len(priced)} oxides; left out (no price): {missing}",
            "source": "USGS Mineral Commodity Summaries oxide prices (per element rows)"}
    return pd.DataFrame([head, *rows])
