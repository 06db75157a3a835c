"""First-order partial-equilibrium clearing of a market segment after a supply shock (pure, vectorised).

For one segment (the buyers a restriction targets, or the open market) in one period, with baseline demand
*D*, a net supply gap *G* (lost supply − stock releases − restraint − substitution + demand shocks), short-run
demand elasticity ε_d < 0, supply elasticity ε_s ≥ 0 of non-disrupted producers and spare capacity *K*
available in the period, the price index *x = P/P₀* solves the linearised balance

    D·(1 + ε_d·(x − 1)) = D − G + R(x),   R(x) = min(ε_s·(x − 1)·D, K)        (incidence formula)

so that, with g = G/D,

    x − 1 = g / (|ε_d| + ε_s)                      while ε_s·(x − 1)·D ≤ K
    x − 1 = (G − K) / (|ε_d|·D)                    once spare capacity is exhausted
    shortfall = |ε_d|·(x − 1)·D = G − R             (demand priced out = unmet baseline demand)

A negative gap (a glut, e.g. diverted volume flooding non-targeted buyers) lowers the price symmetrically down
to ``price_floor``; the output producers cut back at the lower price (ε_s·(x − 1)·D < 0) and the volume
neither consumed nor cut back are both ``unsold`` (withheld), so the supply response — the extra output a higher
price calls forth — is never negative.  Identity checked by the tests: ``G = response + shortfall − unsold``
(shortfall < 0 means extra consumption).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SegmentOutcome:
    """Arrays of the input shape: price index, supply response, shortfall (signed) and unsold volume (t)."""

    price_index: np.ndarray
    response: np.ndarray
    shortfall: np.ndarray
    unsold: np.ndarray


def clear_segment(gap: np.ndarray, demand: np.ndarray, capacity: np.ndarray, demand_elasticity: np.ndarray,
                  supply_elasticity: np.ndarray, price_floor: np.ndarray | float = 0.2) -> SegmentOutcome:
    """Clear one segment per element of the (broadcast) inputs; see the module docstring for the equations."""
    gap, demand = np.asarray(gap, float), np.asarray(demand, float)
    capacity = np.maximum(np.asarray(capacity, float), 0.0)
    eps_d = np.abs(np.asarray(demand_elasticity, float))
    eps_s = np.asarray(supply_elasticity, float)
    has_demand = demand > 0
    safe_demand = np.where(has_demand, demand, 1.0)
    uncapped = gap / (safe_demand * (eps_d + eps_s))
    capped = (gap - capacity) / (safe_demand * eps_d)
    use_cap = (gap > 0) & (eps_s * uncapped * safe_demand > capacity)
    rise = np.where(use_cap, capped, uncapped)
    floor = np.asarray(price_floor, float) - 1.0
    rise = np.where(has_demand, np.maximum(rise, floor), 0.0)
    response = np.where(use_cap, capacity, eps_s * rise * safe_demand)
    shortfall = eps_d * rise * safe_demand
    response = np.where(has_demand, response, 0.0)
    shortfall = np.where(has_demand, shortfall, 0.0)
    unsold = np.where(has_demand, response + shortfall - gap, np.maximum(-gap, 0.0))
    # below the baseline price producers sell less: volume they withhold, counted unsold — the supply response
    # is the extra output higher prices call forth, never negative (the price and the identity are unchanged)
    withheld = np.maximum(-response, 0.0)
    return SegmentOutcome(1.0 + rise, response + withheld, shortfall, np.maximum(unsold, 0.0) + withheld)


def active_share(start: np.ndarray, duration: np.ndarray, n_periods: int, period_months: float) -> np.ndarray:
    """Share of each period ``[t·L, (t+1)·L)`` covered by each interval ``[start, start + duration)``.

    Shape ``(*start.shape, n_periods)``.
    """
    edges = np.arange(n_periods + 1, dtype=float) * period_months
    begin = np.maximum(start[..., None], edges[:-1])
    end = np.minimum((start + duration)[..., None], edges[1:])
    return np.clip(end - begin, 0.0, None) / period_months


def ramp(first_start: np.ndarray, ramp_months: np.ndarray, n_periods: int, period_months: float) -> np.ndarray:
    """Share of spare capacity usable in each period: linear from the first disruption to ``ramp_months``.

    Evaluated at each period's midpoint; ``ramp_months = 0`` means immediately available.
    """
    mid = (np.arange(n_periods, dtype=float) + 0.5) * period_months
    elapsed = mid - first_start[..., None]
    months = np.asarray(ramp_months, float)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(months > 0, elapsed / np.where(months > 0, months, 1.0), np.where(elapsed >= 0, 1.0, 0.0))
    return np.clip(share, 0.0, 1.0)
