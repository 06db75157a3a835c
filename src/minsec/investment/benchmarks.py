"""Capacity benchmarks and their trajectory: the EU Critical Raw Materials Act's (Regulation (EU) 2024/1252,
Art. 5(1)(a)) — Union capacity to extract ≥ 10 %, process ≥ 40 % and recycle ≥ 25 % of the Union's annual
consumption of each strategic raw material by 2030 — and a US analogue (the same shares of US apparent
consumption from US-located capacity; the US has set no such numeric targets, so this is a yardstick, labelled
as one).

Consumption is apparent consumption P + M − X from the bundled data (:mod:`minsec.risk.import_reliance`,
latest year with a figure) or the user's table; current capacity is the region's production at the stage in
that year (processing: the refining series; recycling: not in the bundled data, counted as 0 and flagged).

Rare-earth elements and magnets (:func:`chain_consumption`), which trade data cannot see element by element, come
from the scenario baseline's supply chain: a region consumes an element directly (the separated oxide or metal it
buys, metal as the oxide it is reduced from) and embedded in the NdFeB magnets it buys (t magnet × t element
metal per t magnet × t oxide per t metal, :func:`minsec.scenarios.chain.input_coefficients`), all in t of oxide;
its extraction is its element mine output and its processing its separated-oxide output.  For magnets, the
processing benchmark is magnet manufacturing in the region (there is no extraction of a manufactured product).
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
        return chain_consumption(chain, region)
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
    table = pd.DataFrame(rows)
    chain_rows = chain_consumption(chain, region)
    if len(chain_rows):
        kept = table[~table["material"].isin(chain_rows["material"])] if len(table) else table
        table = pd.concat([kept, chain_rows], ignore_index=True)
    return table


def chain_consumption(chain, region: str) -> pd.DataFrame:
    """The region's consumption of each rare-earth element and of NdFeB magnets from the supply-chain baseline (the
    module docstring), with current extraction and processing in the region; the rows of :func:`consumption`."""
    from minsec.data import catalogue
    from minsec.scenarios.chain import input_coefficients
    from minsec.stockpile.inputs import use_markets

    baseline = chain.scenarios.context().baseline
    markets = baseline.markets
    members = set(chain.members(region))
    if region not in baseline.regions:
        return pd.DataFrame()
    coefficients = input_coefficients(markets)
    demand = baseline.demand.to_pandas()
    production = baseline.production.to_pandas()            # market × producer
    producers = [p for p in production.columns if p in members]
    magnets = "ndfeb_magnets.manufacturing"
    magnet_use = float(demand.loc[magnets, region]) if magnets in markets else 0.0

    table = chain.production_table
    unattributed = table[(table["source"] == "minsec") & (table["measure"] == "production") & table["value"].isna()
                         & table["country"].isin(members)]
    unattributed = set(unattributed["material"] + "." + unattributed["stage"])

    def output(market: str) -> tuple[float, bool]:
        """The region's output of a market and whether it is known: a zero is known at the mines (USGS lists mine
        output country by country) unless a member's element content is not attributed (US Dy: Mountain Pass's
        Dy is 'NA' in USGS MYB 2022 Table 2); past the mines, producers outside the few recorded are not named."""
        value = float(production.loc[market, producers].sum()) if market in markets and producers else 0.0
        return value, value > 0 or (market.endswith(".mining") and market not in unattributed)

    rows = []
    for material in sorted(catalogue.parts("rare_earths")):
        stocked = f"{material}.refining"
        if stocked not in markets:
            continue
        use, factor = use_markets(baseline, material, [region]).get(region, (stocked, 1.0))
        # element content of ore a region buys feeds its own separation (MP Materials' Nd): not consumption
        direct = float(demand.loc[use, region]) * factor if not use.endswith(".mining") else 0.0
        metal = f"{material}.metal"
        per_magnet = coefficients.get((magnets, metal), 0.0) * coefficients.get((metal, stocked), 1.0)
        embedded = magnet_use * per_magnet
        if direct + embedded <= 0:
            continue
        extraction, extraction_known = output(f"{material}.mining")
        processing, processing_known = output(stocked)
        rows.append({"region": region, "material": material, "year": int(baseline.year),
                     "consumption_t": direct + embedded,
                     "basis": f"t oxide: {direct:,.0f} direct ({use}) + {embedded:,.0f} in {magnet_use:,.0f} t of "
                              f"NdFeB magnets × {per_magnet:.4g} t/t (minsec supply-chain baseline)",
                     "stage_basis": "refining", "benchmark_stages": "extraction;processing;recycling",
                     "current_extraction_t": extraction if extraction_known else np.nan,
                     "current_processing_t": processing if processing_known else np.nan,
                     "current_recycling_t": np.nan})
    if magnet_use > 0:
        made, known = output(magnets)
        rows.append({"region": region, "material": "ndfeb_magnets", "year": int(baseline.year),
                     "consumption_t": magnet_use,
                     "basis": f"t NdFeB: {baseline.demand_basis.sel(market=magnets, region=region).item()}",
                     "stage_basis": "manufacturing", "benchmark_stages": "processing;recycling",
                     "current_extraction_t": np.nan, "current_processing_t": made if known else np.nan,
                     "current_recycling_t": np.nan})
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
        applies = str(getattr(row, "benchmark_stages", "") or "").split(";")
        for stage, pct in TARGETS_PCT.items():
            if applies != [""] and stage not in applies:
                continue   # e.g. no extraction of a manufactured product (magnets)
            current = getattr(row, f"current_{stage}_t")
            target = pct / 100 * row.consumption_t
            rows.append({"region": row.region, "material": row.material, "stage": stage, "target_pct": pct,
                         "consumption_t": row.consumption_t, "target_t": target,
                         "current_t": 0.0 if pd.isna(current) else float(current),
                         "current_known": bool(pd.notna(current)),
                         "current_pct": 100 * (0.0 if pd.isna(current) else current) / row.consumption_t,
                         "gap_t": max(target - (0.0 if pd.isna(current) else float(current)), 0.0)})
    return pd.DataFrame(rows)


def adds(stages: str, benchmark_stage: str, material: str) -> bool:
    """Whether a project with ``stages`` adds capacity at ``benchmark_stage``: magnet manufacturing is the
    processing of a manufactured product (``magnets`` family)."""
    from minsec.data import catalogue

    named = str(stages).split(";")
    if benchmark_stage in named:
        return True
    family = catalogue.materials()["family"].get(material, "")
    return benchmark_stage == "processing" and family == "magnets" and "manufacturing" in named


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
                        & projects["stages"].map(lambda s, st=need.stage, m=need.material: adds(s, st, m))
                        .astype(bool)]
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
