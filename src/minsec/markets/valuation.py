"""Monte Carlo valuation of price-support mechanisms: fiscal cost, its distribution, producer bankability.

Paths are simulated in chunks (memory stays at a few chunk-sized arrays whatever the number of paths); each
chunk draws from its own stream of one ``SeedSequence`` and chunks run on a thread pool (NumPy and SciPy
release the GIL in the heavy loops).  Per path the engine keeps only the PV of each mechanism's flows, whether
it paid at all, and whether the producer's revenue covered its debt service in every year — with and
without the mechanism.

Bankability (a simple debt-service-cover test): a path is bankable when in every year
``Σ_dates q·(producer price − unit cost) ≥ debt service``; the measure is the share of paths that are.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from minsec.markets.mechanisms import Mechanism, Schedule, analytic_pv, discount_weights
from minsec.markets.price_models import GBM, DumpingRegime, PriceModel
from minsec.markets.series import MarketInputError

#: paths per chunk: ~2 MB per (paths × 120 dates) array, which stays in cache (measured fastest on 2 cores)
DEFAULT_CHUNK = 2_000


@dataclass(frozen=True)
class Producer:
    """The protected producer: its operating cost per tonne and yearly debt service (USD)."""

    unit_cost: float = 0.0
    debt_service: float = 0.0


@dataclass
class Valuation:
    """Per-path results of one mechanism and their summary."""

    mechanism: Mechanism
    pv: np.ndarray                  # PV of the treasury's flows per path (USD; negative = revenue)
    paid: np.ndarray                # the treasury paid something on the path
    bankable: np.ndarray            # producer covered debt service every year, with the mechanism
    bankable_without: np.ndarray    # … without it
    min_annual_revenue: np.ndarray  # producer's lowest yearly revenue on the path, with the mechanism
    mean_producer_price: np.ndarray  # per path, mean over dates of the price the producer realises (USD/t)
    analytic: float | None
    schedule: Schedule

    def summary(self) -> dict[str, float | str | None]:
        n = len(self.pv)
        mean = float(self.pv.mean())
        se = float(self.pv.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        p5, p50, p95 = (float(v) for v in np.percentile(self.pv, [5, 50, 95]))
        floor = self.mechanism.revenue_floor()
        out = {"mechanism": self.mechanism.name, "paths": n,
               "expected_pv_cost_usd": mean, "std_error_usd": se,
               "p5_pv_cost_usd": p5, "p50_pv_cost_usd": p50, "p95_pv_cost_usd": p95,
               "prob_payout": float(self.paid.mean()),
               "analytic_pv_cost_usd": self.analytic,
               "mc_minus_analytic_in_se": (mean - self.analytic) / se if self.analytic is not None and se > 0
               else None,
               "revenue_floor_usd_per_year": floor * self.schedule.volume_per_year if floor is not None else None,
               "expected_producer_price_usd_per_t": float(self.mean_producer_price.mean()),
               "p5_min_annual_revenue_usd": float(np.percentile(self.min_annual_revenue, 5)),
               "prob_debt_service_covered": float(self.bankable.mean()),
               "prob_debt_service_covered_without": float(self.bankable_without.mean())}
        return out


def _simulate_chunk(model: PriceModel, s0: float, schedule: Schedule, mechanisms: tuple[Mechanism, ...],
                    weights: np.ndarray, regime_factor: np.ndarray | None, producer: Producer,
                    seed: np.random.SeedSequence, n_paths: int) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(seed)
    prices = model.paths(s0, schedule.dt, model.draws(rng, n_paths, schedule.n_steps, schedule.dt))
    if regime_factor is not None:
        prices *= regime_factor
    q = schedule.volume
    shape = (n_paths, schedule.years, schedule.per_year)
    cost = producer.unit_cost * schedule.volume_per_year
    market_revenue = prices.reshape(shape).sum(axis=2) * q           # yearly, without a mechanism
    bankable_without = (market_revenue - cost >= producer.debt_service).all(axis=1)
    out = []
    for mechanism in mechanisms:
        flow = mechanism.flow(prices)
        pv = flow @ weights
        paid = (flow != 0).any(axis=1)
        revenue = market_revenue + mechanism.producer_sign * q * flow.reshape(shape).sum(axis=2)
        bankable = (revenue - cost >= producer.debt_service).all(axis=1)
        mean_price = revenue.sum(axis=1) / (q * schedule.n_steps) if q > 0 else prices.mean(axis=1)
        out.append((pv, paid, bankable, bankable_without, revenue.min(axis=1), mean_price))
    return out


def value_mechanisms(model: PriceModel, s0: float, schedule: Schedule, mechanisms: list[Mechanism],
                     rate: float = 0.0, n_paths: int = 100_000, seed: int = 0,
                     regime: DumpingRegime | None = None, producer: Producer | None = None,
                     chunk_size: int = DEFAULT_CHUNK, workers: int = 2) -> list[Valuation]:
    """Simulate ``n_paths`` price paths of ``model`` from ``s0`` and value each mechanism on the same paths."""
    if not (np.isfinite(s0) and s0 > 0):
        raise MarketInputError(f"spot price must be a positive number in USD/t (got {s0})")
    if not np.isfinite(rate):
        raise MarketInputError(f"discount rate must be a finite number (got {rate})")
    if n_paths < 2:
        raise MarketInputError(f"at least 2 paths are needed for a standard error (got {n_paths})")
    producer = producer or Producer()
    if producer.unit_cost < 0 or producer.debt_service < 0:
        raise MarketInputError("unit cost and debt service must be non-negative")
    weights = discount_weights(schedule, rate)
    factor = regime.factor(schedule.times) if regime is not None else None
    sizes = [min(chunk_size, n_paths - start) for start in range(0, n_paths, chunk_size)]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    args = (model, s0, schedule, tuple(mechanisms), weights, factor, producer)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        chunks = list(pool.map(lambda job: _simulate_chunk(*args, *job), zip(seeds, sizes, strict=True)))
    results = []
    for k, mechanism in enumerate(mechanisms):
        parts = [np.concatenate([chunk[k][i] for chunk in chunks]) for i in range(6)]
        analytic = (analytic_pv(mechanism, s0, model.mu, model.sigma, rate, schedule, factor)
                    if isinstance(model, GBM) else None)
        results.append(Valuation(mechanism, *parts, analytic=analytic, schedule=schedule))
    return results

