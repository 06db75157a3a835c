"""Capacity benchmarks and their trajectory: the EU Critical Raw Materials Act's (Regulation (EU) 2024/1252,
Art. 5(1)(a)) — Union capacity to extract ≥ 10 %, process ≥ 40 % and recycle ≥ 25 % of the Union's annual
consumption of each strategic raw material by 2030 — and a US analogue (the same shares of US apparent
consumption from US-located capacity; the US has set no such numeric targets, so this is a yardstick, labelled
as one).

Consumption is apparent consumption P + M − X from the bundled data (:mod:`minsec.risk.import_reliance`,
latest year with a figure) or the user's table; current capacity is the region's production at the stage in
that year (processing: the refining series; recycling: not in the bundled data, so unknown).  Materials with
neither come from the partner demand of the scenario baseline (:func:`baseline_consumption`).  A current capacity
the data do not record is unknown: the benchmark share is then null, never 0 % (the portfolio's gap still counts
it as 0, flagged ``current_known`` false).

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
        table = pd.concat([kept, chain_rows], ignore_index=True) if len(kept) else chain_rows
    covered = set(table["material"]) if len(table) else set()
    more = baseline_consumption(chain, region, covered)
    return pd.concat([table, more], ignore_index=True) if len(more) else table


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
    magnets = "ndfeb_magnets.manufacturing"
    magnet_use = float(demand.loc[magnets, region]) if magnets in markets else 0.0
    output = _region_output(chain, baseline, members)
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


def _region_output(chain, baseline, members: set[str]):
    """``output(market) → (t, known)``: the members' output of a baseline market and whether it is known.  A
    zero is known at the mines (USGS lists mine output country by country) unless a member's element content is
    not attributed (US Dy: Mountain Pass's Dy is 'NA' in USGS MYB 2022 Table 2); past the mines, producers
    outside the few recorded are not named, so a zero there is unknown."""
    production = baseline.production.to_pandas()            # market × producer
    producers = [p for p in production.columns if p in members]
    table = chain.production_table
    unattributed = table[(table["source"] == "minsec") & (table["measure"] == "production") & table["value"].isna()
                         & table["country"].isin(members)]
    unattributed = set(unattributed["material"] + "." + unattributed["stage"])

    def output(market: str) -> tuple[float, bool]:
        value = float(production.loc[market, producers].sum()) if market in baseline.markets and producers else 0.0
        return value, value > 0 or (market.endswith(".mining") and market not in unattributed)

    return output


def baseline_consumption(chain, region: str, covered: set[str]) -> pd.DataFrame:
    """The region's demand for the materials trade and production series leave without an apparent consumption
    (``covered`` have one): the scenario baseline's partner demand at the stage the region buys (its use market,
    with the demand's basis: published consumption, trade, or a flagged share-of-world estimate), with its current
    extraction (mine output) and processing (refinery output) from the same baseline."""
    from minsec.data import catalogue

    baseline = chain.scenarios.context().baseline
    if region not in baseline.regions:
        return pd.DataFrame()
    output = _region_output(chain, baseline, set(chain.members(region)))
    skip = covered | set(catalogue.parts("rare_earths")) | {"rare_earths", "ndfeb_magnets"}
    rows = []
    for material in sorted({m.split(".")[0] for m in baseline.markets} - skip):
        use = baseline.use_market(material, region)
        if use is None:
            continue
        extraction, extraction_known = output(f"{material}.mining")
        processing, processing_known = output(f"{material}.refining")
        basis = str(baseline.demand_basis.sel(market=use, region=region).item())
        rows.append({"region": region, "material": material, "year": int(baseline.year),
                     "consumption_t": float(baseline.demand.sel(market=use, region=region)),
                     "basis": f"partner demand at {use} (minsec supply-chain baseline: {basis})",
                     "stage_basis": use.rsplit(".", 1)[1], "benchmark_stages": "extraction;processing;recycling",
                     "current_extraction_t": extraction if extraction_known else np.nan,
                     "current_processing_t": processing if processing_known else np.nan,
                     "current_recycling_t": np.nan})
    return pd.DataFrame(rows)


def in_scope(region: str) -> set[str]:
    """The materials a region's benchmarks concern (:func:`minsec.data.catalogue.benchmark_scope`)."""
    from minsec.data import catalogue

    return catalogue.benchmark_scope(region)


def not_assessed(chain, members: dict[str, frozenset[str]], assessed: set[tuple[str, str]]) -> pd.DataFrame:
    """The materials in each region's scope (:func:`in_scope`) it cannot assess, and why: neither an apparent
    consumption (production + trade) nor a partner demand in the supply-chain baseline."""
    from minsec.data import catalogue

    baseline = chain.scenarios.context().baseline
    rows = []
    for region in members:
        for material in sorted(in_scope(region)):
            if (region, material) in assessed or any((region, m) in assessed for m in catalogue.parts(material)):
                continue            # rare earths: assessed element by element
            markets = baseline.market_ids(material)
            why = (f"no consumption: {material} is not traded or produced under a code minsec reads for {region}"
                   if not markets else f"no consumption: the baseline records no {region} demand for "
                                       f"{', '.join(markets)}")
            rows.append({"region": region, "material": material, "stage": None, "assessed": False,
                         "consumption_t": np.nan, "current_known": False,
                         "note": why + "; give it with --consumption"})
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
        stages = getattr(row, "benchmark_stages", "")
        applies = ("" if pd.isna(stages) else str(stages)).split(";")   # NaN (a concatenated table) = all
        for stage, pct in TARGETS_PCT.items():
            if applies != [""] and stage not in applies:
                continue   # e.g. no extraction of a manufactured product (magnets)
            current = getattr(row, f"current_{stage}_t")
            target = pct / 100 * row.consumption_t
            rows.append({"region": row.region, "material": row.material, "stage": stage, "target_pct": pct,
                         "consumption_t": row.consumption_t, "basis": getattr(row, "basis", None),
                         "target_t": target,
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
