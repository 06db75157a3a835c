"""Economic impact performance (issue: every partner's exposure and the economic cost of a disruption).

Targets, measured side by side in one process:

1. economic impact for every partner × every material over a 10,000-scenario ensemble in ≤ 30 s on 2 cores
   (single process), and the Dask LocalCluster path giving identical numbers;
2. faster than a straightforward per-scenario loop computing the same figures: on the same seed and the same
   1,000 sampled scenarios, the loop clears each scenario's markets in plain Python (``bench_ensemble``'s loop)
   and prices each (scenario, material, importer) GDP loss one at a time; the expected losses are checked equal
   and both times printed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ensemble import loop_chunk
from minsec.scenarios.economic import economic_impact
from minsec.scenarios.engine import MarketArrays, SparseOutcome
from minsec.scenarios.ensemble import EnsembleSpec, candidates, sample_events, tabulate_chunk
from minsec.scenarios.gdp import coefficients
from minsec.scenarios.run import ScenarioContext

N_SCENARIOS = 10_000
LOOP_SCENARIOS = 1_000
TARGET_SECONDS = 30.0


def loop_expected_losses(context: ScenarioContext, spec: EnsembleSpec, importers: list[str]) -> dict:
    """Per-scenario loop: sample, clear every scenario in plain Python, then each row's GDP loss one by one."""
    arrays = MarketArrays.from_baseline(context.baseline, context.parameters)
    cands = candidates(context, spec)
    leakage = context.parameters.reindex(context.baseline.markets)["leakage"].to_numpy(float)
    events, n = sample_events(spec, cands, 0, leakage)
    shortfall, price_a, price_b, targeted = loop_chunk(arrays, events, n, spec)
    rows = tabulate_chunk(0, n, spec, arrays, SparseOutcome.from_dense(shortfall, price_a, price_b, targeted),
                          context.baseline.markets, list(context.baseline.regions)).rows.to_pylist()
    table = coefficients(context).table
    coef = {(r.market, r.region): r for r in table.itertuples() if r.use_market and r.region in importers}
    years = spec.horizon_months / 12
    totals: dict[tuple[str, str], float] = {}
    for row in rows:
        c = coef.get((f"{row['material']}.{row['stage']}", row["importer"]))
        if c is None or not np.isfinite(c.usd_per_t):
            continue
        short, demand = float(row["shortfall_t"]), c.demand_t_per_year * years
        rise = short / (c.demand_elasticity * demand) if demand > 0 else 0.0
        loss = short * c.usd_per_t + rise * c.price_usd_per_t * max(demand - short, 0.0) * c.net_import_share
        key = (row["importer"], row["material"])
        totals[key] = totals.get(key, 0.0) + loss
    return {key: value / n for key, value in totals.items()}


def main() -> int:
    context = ScenarioContext.load()
    importers = [r for r in context.baseline.regions if r not in ("CHN", "ROW")]
    ok = True
    spec = EnsembleSpec(n_scenarios=N_SCENARIOS, seed=2026, horizon_months=12.0)
    coefficients(context)   # the input-output coefficients, once per context (as every run after the first)
    started = time.perf_counter()
    single = economic_impact(context, importers, spec, scheduler=None)
    single_seconds = time.perf_counter() - started
    started = time.perf_counter()
    dask = economic_impact(context, importers, spec, scheduler="local")
    dask_seconds = time.perf_counter() - started
    columns = ["importer", "material", "expected_gdp_loss_usd", "p95_gdp_loss_usd"]
    same = single.by_material[columns].equals(dask.by_material[columns])
    cells = single.by_material["expected_gdp_loss_usd"].notna().sum()
    print(f"economic impact: {len(importers)} partners × {single.by_material['material'].nunique()} materials "
          f"({cells} with a figure), {N_SCENARIOS:,} year-long scenarios")
    print(f"  single process: {single_seconds:6.2f} s; Dask LocalCluster (2 workers): {dask_seconds:6.2f} s; "
          f"identical numbers: {same}")
    passed = single_seconds <= TARGET_SECONDS and same
    ok &= passed
    print(f"  target ≤ {TARGET_SECONDS:.0f} s and Dask identical: {'PASS' if passed else 'FAIL'}")

    loop_spec = EnsembleSpec(n_scenarios=LOOP_SCENARIOS, seed=2026, horizon_months=12.0,
                             chunk_size=LOOP_SCENARIOS)
    started = time.perf_counter()
    fast = economic_impact(context, importers, loop_spec, scheduler=None).by_material
    vector_seconds = time.perf_counter() - started
    started = time.perf_counter()
    slow = loop_expected_losses(context, loop_spec, importers)
    loop_seconds = time.perf_counter() - started
    known = fast[fast["expected_gdp_loss_usd"].notna()]
    mine = pd.Series({(r.importer, r.material): r.expected_gdp_loss_usd for r in known.itertuples()})
    theirs = pd.Series(slow).reindex(mine.index).fillna(0.0)
    equal = bool(np.allclose(mine.to_numpy(), theirs.to_numpy(), rtol=1e-4, atol=1.0))
    ratio = loop_seconds / vector_seconds
    print(f"loop baseline: {LOOP_SCENARIOS:,} scenarios, {len(mine)} importer × material losses")
    print(f"  per-scenario loop: {loop_seconds:6.2f} s; vectorised: {vector_seconds:6.2f} s; ratio {ratio:,.1f}×; "
          f"expected losses equal: {equal}")
    ok &= equal and ratio > 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
