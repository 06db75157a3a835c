"""Ensemble and allocation performance (issue: emergency planning).

Targets, measured side by side in one process:

1. 100,000 scenarios over every market in the bundled data in ≤ 10 s on 2 cores (vectorised, single
   process and on a Dask LocalCluster, Parquet output included);
2. ≥ 20× faster than a straightforward per-scenario Python loop computing the same results: both run on the
   same seed and the same sampled events, the tidy rows are checked equal, and both times are printed;
3. peak memory < 2 GB for 1,000,000 scenarios (chunked; measured in a child process);
4. the allocation LP for all partners × markets × priority tiers solves in < 1 s.
"""

from __future__ import annotations

import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from minsec.scenarios.engine import MarketArrays, SparseOutcome
from minsec.scenarios.ensemble import EnsembleSpec, candidates, run_ensemble, sample_events, tabulate_chunk
from minsec.scenarios.run import ScenarioContext

N_SCENARIOS = 100_000
LOOP_SCENARIOS = 2_000
TARGET_SECONDS = 10.0
TARGET_RATIO = 20.0
MEMORY_SCENARIOS = 1_000_000
MEMORY_TARGET_GB = 2.0
LP_TARGET_SECONDS = 1.0


def clear_scalar(gap, demand, capacity, eps_d, eps_s, floor):
    """The market-clearing equations for one segment, one period, in plain Python."""
    if demand <= 0:
        return 1.0, 0.0, 0.0
    eps_d = abs(eps_d)
    rise = gap / (demand * (eps_d + eps_s))
    response = eps_s * rise * demand
    if gap > 0 and response > capacity:
        rise = (gap - capacity) / (demand * eps_d)
        response = capacity
    if rise < floor - 1:
        rise = floor - 1
        response = eps_s * rise * demand
    return 1 + rise, response, eps_d * rise * demand


def clear_pair(gap_a, gap_b, demand_a, demand_b, capacity, outsiders, friction, args):
    """Both segments of one market and period, linked by the producers outside the restrictions: they move
    ``shift`` from open to restricted buyers until the open rise is (1 − φ) of the restricted one (at most what
    they sell to open buyers); the restrictor's own output cut is withheld volume, not a supply response; where
    restricted buyers would pay less than open ones the two clear as one market.  Returns the price indices and
    shortfalls of both segments."""
    gap_a, gap_b = min(gap_a, demand_a), min(gap_b, demand_b)
    shift = 0.0
    if demand_a > 0:
        denominator = demand_a + (1 - friction) * demand_b
        if denominator > 0:
            shift = ((1 - friction) * gap_a * demand_b - gap_b * demand_a) / denominator
        shift = min(max(shift, 0.0), outsiders)
    xa, response_a, short_a = clear_scalar(gap_a - shift, demand_a, capacity, *args)
    xb, _, short_b = clear_scalar(gap_b + shift, demand_b, capacity - max(response_a, 0.0), *args)
    if demand_a > 0 and xb > xa:
        x, _, short = clear_scalar(gap_a + gap_b, demand_a + demand_b, capacity, *args)
        share = demand_a / (demand_a + demand_b)
        return x, x, short * share, short * (1 - share)
    return xa, xb, short_a, short_b


def loop_chunk(arrays: MarketArrays, events, n: int, spec: EnsembleSpec):
    """Per-scenario loop: for each scenario, for each market it touches, for each period and region."""
    n_markets, _, n_regions = arrays.supply.shape
    periods, length = spec.n_periods, spec.period_months
    per_period = length / 12
    demand = arrays.supply.sum(axis=1) * per_period
    inputs: dict[int, list[tuple[int, float]]] = {}   # downstream market → its (upstream market, weight)
    level = {}
    for downstream, upstream, weight, stage_level in arrays.links:
        inputs.setdefault(downstream, []).append((upstream, weight))
        level[downstream] = stage_level
    shortfall = np.zeros((n, n_markets, n_regions))
    price_a = np.full((n, n_markets, periods), np.nan)
    price_b = np.ones((n, n_markets, periods))
    targeted_all = np.zeros((n, n_markets, n_regions), dtype=bool)
    by_scenario: dict[int, list[int]] = {}
    for e, s in enumerate(events.scenario):
        by_scenario.setdefault(int(s), []).append(e)
    for s in range(n):
        mine = by_scenario.get(s, [])
        markets = sorted({int(events.market[e]) for e in mine})
        for downstream, upstream, _weight, _level in arrays.links:   # in level order: down the whole chain
            if upstream in markets and downstream not in markets:
                markets.append(downstream)
        ore_short = {}
        for m in sorted(markets, key=lambda m: level.get(m, 0)):  # a stage after the stages that feed it
            own = [e for e in mine if events.market[e] == m]
            targeted = [any(events.restriction[e] and events.targets[e][r] for e in own) for r in range(n_regions)]
            gap_a, gap_b = [0.0] * periods, [0.0] * periods
            spare = arrays.spare[m].sum()
            first = math.inf
            for e in own:
                p = events.producer[e]
                kept = 1 - events.leakage[e] if events.restriction[e] else 1.0
                withheld, into_a = 0.0, 0.0
                for r in range(n_regions):
                    lost = events.fraction[e] * arrays.supply[m, p, r] * per_period * events.targets[e][r] * kept
                    withheld += lost
                    into_a += lost if targeted[r] else 0.0
                diverted = arrays.diversion[m] * withheld if events.restriction[e] else 0.0
                for t in range(periods):
                    start, end = max(events.start[e], t * length), min(events.start[e] + events.duration[e],
                                                                          (t + 1) * length)
                    active = max(end - start, 0.0) / length
                    gap_a[t] += into_a * active
                    gap_b[t] += (withheld - into_a - diverted) * active
                spare -= events.fraction[e] * arrays.spare[m, p]
                first = min(first, events.start[e])
            fed = [(ore_short[u], w) for u, w in inputs.get(m, []) if u in ore_short]
            if fed:
                for q in range(arrays.supply.shape[1]):
                    source = arrays.producer_region[q]
                    for t in range(periods):
                        # the scarcest input limits the output (Leontief), each weighted by who needs it
                        short = max(min(w * share[t][source], 1.0) for share, w in fed)
                        for r in range(n_regions):
                            lost = short * arrays.supply[m, q, r] * per_period
                            if targeted[r]:
                                gap_a[t] += lost
                            else:
                                gap_b[t] += lost
            demand_a = sum(demand[m, r] for r in range(n_regions) if targeted[r])
            demand_b = demand[m].sum() - demand_a
            restrictors = {int(events.producer[e]) for e in own if events.restriction[e]}
            held = sum(arrays.supply[m, p, r] * per_period for p in restrictors for r in range(n_regions)
                       if not targeted[r])
            outsiders = max(demand_b - held, 0.0) if restrictors else 0.0
            spare = max(spare, 0.0)
            region_share = [[0.0] * n_regions for _ in range(periods)]
            for t in range(periods):
                mid = (t + 0.5) * length - first
                months = arrays.ramp_up_months[m]
                ramp = min(max(mid / months, 0.0), 1.0) if months > 0 else float(mid >= 0)
                capacity = spare * ramp * per_period
                args = (arrays.demand_elasticity[m], arrays.supply_elasticity[m], arrays.price_floor[m])
                xa, xb, short_a, short_b = clear_pair(gap_a[t], gap_b[t], demand_a, demand_b, capacity, outsiders,
                                                      arrays.trade_friction[m], args)
                if any(targeted) and demand_a > 0:
                    price_a[s, m, t] = xa
                price_b[s, m, t] = xb if demand_b > 1e-6 * (demand_a + demand_b) else math.nan
                for r in range(n_regions):
                    if targeted[r]:
                        share = short_a / demand_a if demand_a > 0 else 0.0
                    else:
                        share = short_b / demand_b if demand_b > 0 else 0.0
                    shortfall[s, m, r] += share * demand[m, r]
                    region_share[t][r] = max(share, 0.0)
            ore_short[m] = region_share
            targeted_all[s, m] = targeted
    return shortfall, price_a, price_b, targeted_all


def peak_rss_gb(n: int) -> float:
    """Peak resident memory of a child process running an n-scenario ensemble to Parquet.

    The child reads its own high-water mark (``VmHWM`` in /proc/self/status): Linux keeps ``ru_maxrss`` across
    fork and exec, so ``getrusage`` in the child reported this benchmark's own peak (2.2 GB after the 100,000-
    scenario runs) whenever that was the larger."""
    code = (
        "import tempfile, pathlib\n"
        "from minsec.scenarios.run import ScenarioContext\n"
        "from minsec.scenarios.ensemble import EnsembleSpec, run_ensemble\n"
        "ctx = ScenarioContext.load()\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        f"    run_ensemble(ctx, EnsembleSpec(n_scenarios={n}, seed=1), pathlib.Path(d) / 'e.parquet', None)\n"
        "hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
        "print(int(hwm.split()[1]) / 1e6)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    context = ScenarioContext.load()
    ok = True
    spec = EnsembleSpec(n_scenarios=N_SCENARIOS, seed=2026)
    n_markets = len(context.baseline.markets)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        single = run_ensemble(context, spec, Path(folder) / "single.parquet", scheduler=None)
        single_seconds = time.perf_counter() - started
        started = time.perf_counter()
        run_ensemble(context, spec, Path(folder) / "dask.parquet", scheduler="local")
        dask_seconds = time.perf_counter() - started
        started = time.perf_counter()
        run_ensemble(context, spec, Path(folder) / "threads.parquet", scheduler="threads")
        threads_seconds = time.perf_counter() - started
        rows = pd.read_parquet(Path(folder) / "single.parquet")
        same = rows.equals(pd.read_parquet(Path(folder) / "dask.parquet"))
        same_threads = rows.equals(pd.read_parquet(Path(folder) / "threads.parquet"))
        del rows
    print(f"ensemble: {N_SCENARIOS:,} scenarios × {n_markets} markets, {single.rows_written:,} rows to Parquet")
    print(f"  single process (vectorised): {single_seconds:6.2f} s   ({N_SCENARIOS / single_seconds:,.0f} scenarios/s)")
    print(f"  Dask LocalCluster, 2 workers: {dask_seconds:6.2f} s   (cluster start-up included); "
          f"identical rows: {same}")
    print(f"  Dask in this process, threads: {threads_seconds:6.2f} s   (cluster start-up included); "
          f"identical rows: {same_threads}")
    same = same and same_threads
    best = min(single_seconds, dask_seconds, threads_seconds)
    passed = best <= TARGET_SECONDS and same
    ok &= passed
    print(f"  target ≤ {TARGET_SECONDS:.0f} s: {'PASS' if passed else 'FAIL'} ({best:.2f} s)")

    # vectorised vs per-scenario loop, same seed, same sampled events
    loop_spec = EnsembleSpec(n_scenarios=LOOP_SCENARIOS, seed=2026, chunk_size=LOOP_SCENARIOS)
    arrays = MarketArrays.from_baseline(context.baseline, context.parameters)
    cands = candidates(context, loop_spec)
    leakage = context.parameters.reindex(context.baseline.markets)["leakage"].to_numpy(float)
    markets, regions = context.baseline.markets, list(context.baseline.regions)
    events, n = sample_events(loop_spec, cands, 0, leakage)
    from minsec.scenarios.engine import simulate

    started = time.perf_counter()
    fast = simulate(arrays, events, n, loop_spec.n_periods, loop_spec.period_months, detail=False)
    fast_rows = tabulate_chunk(0, n, loop_spec, arrays, fast.sparse, markets, regions).rows
    vector_seconds = time.perf_counter() - started
    started = time.perf_counter()
    shortfall, price_a, price_b, targeted = loop_chunk(arrays, events, n, loop_spec)
    slow_rows = tabulate_chunk(0, n, loop_spec, arrays, SparseOutcome.from_dense(shortfall, price_a, price_b, targeted),
                               markets, regions).rows
    loop_seconds = time.perf_counter() - started
    fast_frame, slow_frame = fast_rows.to_pandas(), slow_rows.to_pandas()
    equal = len(fast_frame) == len(slow_frame) and all(
        np.allclose(fast_frame[c].to_numpy(float), slow_frame[c].to_numpy(float), rtol=1e-5, atol=1e-6,
                    equal_nan=True) for c in ("scenario", "shortfall_t", "shortfall_pct", "peak_price_index"))
    ratio = loop_seconds / vector_seconds
    print(f"loop baseline: {LOOP_SCENARIOS:,} scenarios, {len(events):,} events, {len(fast_frame):,} rows")
    print(f"  per-scenario Python loop: {loop_seconds:6.2f} s; vectorised: {vector_seconds:6.3f} s; "
          f"ratio {ratio:,.0f}× (target ≥ {TARGET_RATIO:.0f}×); results equal: {equal}")
    passed = ratio >= TARGET_RATIO and equal
    ok &= passed
    print(f"  {'PASS' if passed else 'FAIL'}")

    gigabytes = peak_rss_gb(MEMORY_SCENARIOS)
    passed = gigabytes < MEMORY_TARGET_GB
    ok &= passed
    print(f"memory: {MEMORY_SCENARIOS:,} scenarios, peak RSS {gigabytes:.2f} GB (target < {MEMORY_TARGET_GB} GB): "
          f"{'PASS' if passed else 'FAIL'}")

    # allocation LP: every partner × every market × 3 tiers, on a disruption that touches every market
    from minsec.scenarios.allocation import JOINT, allocate, problem_from_outcome
    from minsec.scenarios.run import run_scenario
    from minsec.scenarios.schema import parse_scenario

    partners = [r for r in regions if r in context.chain.groups.definitions["partnership"]["members"]]
    everything = parse_scenario({"name": "China withholds 50 % of every material from the partnership",
                                 "horizon_months": 12, "events": [
                                     {"type": "export_restriction", "country": "CHN", "materials": [m],
                                      "targets": "partnership", "fraction": 0.5, "duration_months": 12}
                                     for m in sorted({m.split(".")[0] for m in markets})]})
    outcome = run_scenario(everything, context, sensitivity=False)
    rows = outcome.by_region[outcome.by_region["region"].isin(partners)]
    stocks = pd.DataFrame([{"holder": r.region, "market": r.market, "tonnes": r.demand_t * 60 / 365}
                           for r in rows.itertuples()] +
                          [{"holder": JOINT, "market": m, "tonnes": g["demand_t"].sum() * 30 / 365}
                           for m, g in rows.groupby("market")])
    problem = problem_from_outcome(outcome.by_region, partners, stocks)
    started = time.perf_counter()
    result = allocate(problem)
    total = time.perf_counter() - started
    size = len(partners) * len(problem.demand.market) * 3
    passed = total < LP_TARGET_SECONDS
    ok &= passed
    print(f"allocation LP: {len(partners)} partners × {len(problem.demand.market)} markets × 3 tiers "
          f"({size:,} demand cells): build {total - result.solve_seconds:.2f} s + solve (HiGHS) "
          f"{result.solve_seconds:.2f} s = {total:.2f} s, status {result.status}; target < {LP_TARGET_SECONDS:.0f} s "
          f"({total / LP_TARGET_SECONDS:.0%} of it): {'PASS' if passed else 'FAIL'}")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
