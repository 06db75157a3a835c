"""Capacity benchmarks and their trajectory: the EU Critical Raw Materials Act's (Regulation (EU) 2024/1252,
Art. 5(1)(a)) — Union capacity to extract ≥ 10 %, process ≥ 40 % and recycle ≥ 25 % of the Union's annual
consumption of each strategic raw material by 2030 — and a US analogue (the same shares of US apparent
consumption from US-located capacity; the US has set no such numeric targets, so this is a yardstick, labelled
as one).

Consumption is apparent consumption P + M − X from the bundled data (:mod:`minsec.risk.import_reliance`,
latest year with a figure) or the user's table; current capacity is the region's production at the stage in
that year (processing: the refining series; recycling: not in the bundled data, counted as 0 and flagged).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGETS_PCT = {"extraction": 10.0, "processing": 40.0, "recycling": 25.0}
TARGET_YEAR = 2030
#: benchmark stage → the minsec stage whose production is the current capacity
PRODUCTION_STAGE = {"extraction": "mining", "processing": "refining"}
REGIONS = {"EU27": "EU CRMA (Regulation (EU) 2024/1252, Art. 5(1)(a))",
           "USA": "US analogue (the CRMA shares applied to US consumption; not a US target)"}


def consumption(chain, region: str) -> pd.DataFrame:
    """Apparent consumption per material (latest year with a figure; the refining stage's where there is one,
    else mining), with the region's production per stage that year."""
    from minsec.risk.tables import import_reliance_records

    table = import_reliance_records(chain, region, "all", None, "wmd")
    table = table[table["apparent_consumption_t"].notna() & (table["apparent_consumption_t"] > 0)]
    if table.empty:
        return pd.DataFrame(columns=["region", "material", "year", "consumption_t", "basis", "stage_basis"])
    latest = table.sort_values("year").groupby(["material", "stage"]).tail(1)
    rows = []
    for material, rows_m in latest.groupby("material"):
        pick = rows_m[rows_m["stage"] == "refining"]
        pick = pick if len(pick) else rows_m
        row = pick.iloc[0]
        out = {"region": region, "material": material, "year": int(row["year"]),
               "consumption_t": float(row["apparent_consumption_t"]), "basis": row["basis"],
               "stage_basis": row["stage"]}
        for stage_name, minsec_stage in PRODUCTION_STAGE.items():
            found = rows_m[rows_m["stage"] == minsec_stage]
            value = float(found["production_t"].iloc[0]) if len(found) and pd.notna(found["production_t"].iloc[0]) \
                else np.nan
            out[f"current_{stage_name}_t"] = value
        out["current_recycling_t"] = np.nan
        rows.append(out)
    return pd.DataFrame(rows)


def read_consumption(path) -> pd.DataFrame:
    """The user's consumption: ``region, material, consumption_t`` (optional ``current_extraction_t,
    current_processing_t, current_recycling_t, year``)."""
    from minsec.data.files import read_csv
    from minsec.investment.pipeline import PipelineError

    table = read_csv(path, "consumption table")
    missing = [c for c in ("region", "material", "consumption_t") if c not in table.columns]
    if missing:
        raise PipelineError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in [c for c in table.columns if c.endswith("_t")]:
        numbers = pd.to_numeric(table[column], errors="coerce")
        bad = (table[column].notna() & numbers.isna()) | (numbers < 0) | ~np.isfinite(numbers.fillna(0))
        if column == "consumption_t":
            bad |= numbers.isna() | (numbers <= 0)
        if bad.any():
            raise PipelineError(f"{path}, row {int(np.flatnonzero(bad.to_numpy())[0]) + 2}: {column} must be a "
                                f"{'positive' if column == 'consumption_t' else 'non-negative'} finite number")
        table[column] = numbers
    duplicated = table.duplicated(["region", "material"])
    if duplicated.any():
        raise PipelineError(f"{path}, row {int(np.flatnonzero(duplicated.to_numpy())[0]) + 2}: "
                            f"{table['region'][duplicated].iloc[0]} {table['material'][duplicated].iloc[0]} is given "
                            "twice")
    for column in ("current_extraction_t", "current_processing_t", "current_recycling_t"):
        if column not in table.columns:
            table[column] = np.nan
    return table.assign(basis="given by the user", stage_basis="")


def gaps(consumption_table: pd.DataFrame) -> pd.DataFrame:
    """Per region × material × stage: target tonnes, current tonnes (NaN → 0, flagged) and the gap."""
    rows = []
    for row in consumption_table.itertuples():
        for stage, pct in TARGETS_PCT.items():
            current = getattr(row, f"current_{stage}_t")
            target = pct / 100 * row.consumption_t
            rows.append({"region": row.region, "material": row.material, "stage": stage, "target_pct": pct,
                         "consumption_t": row.consumption_t, "target_t": target,
                         "current_t": 0.0 if pd.isna(current) else float(current),
                         "current_known": bool(pd.notna(current)),
                         "current_pct": 100 * (0.0 if pd.isna(current) else current) / row.consumption_t,
                         "gap_t": max(target - (0.0 if pd.isna(current) else float(current)), 0.0)})
    return pd.DataFrame(rows)


def online(capacity: np.ndarray, start: np.ndarray, ramp_years: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Capacity online per project × year: linear ramp from the start year to full output after
    ``ramp_years`` (year ``start`` produces 1/ramp of capacity)."""
    fraction = np.clip((years[None, :] - start[:, None] + 1) / ramp_years[:, None], 0.0, 1.0)
    return capacity[:, None] * np.nan_to_num(fraction)


def trajectory(gap_table: pd.DataFrame, projects: pd.DataFrame, members: dict[str, frozenset[str]],
               years: np.ndarray) -> pd.DataFrame:
    """Share of consumption covered per region × material × stage × year by current capacity plus the given
    projects (located in the region, adding that stage), and the first year each benchmark is met."""
    rows = []
    for need in gap_table.itertuples():
        mine = projects[(projects["material"] == need.material)
                        & projects["country"].isin(members[need.region])
                        & projects["stages"].str.split(";").map(lambda s, st=need.stage: st in s)]
        added = online(mine["capacity_t_per_yr"].to_numpy(float), mine["expected_start_year"].to_numpy(float),
                       mine["ramp_up_years"].to_numpy(float), years).sum(axis=0) if len(mine) else \
            np.zeros(len(years))
        share = 100 * (need.current_t + added) / need.consumption_t
        met = years[share >= need.target_pct - 1e-9]
        for y, a, s in zip(years, added, share, strict=True):
            rows.append({"region": need.region, "material": need.material, "stage": need.stage, "year": int(y),
                         "added_t": float(a), "share_pct": float(s), "target_pct": need.target_pct,
                         "met": bool(s >= need.target_pct - 1e-9),
                         "first_year_met": int(met[0]) if len(met) else None,
                         "current_known": need.current_known})
    return pd.DataFrame(rows)
