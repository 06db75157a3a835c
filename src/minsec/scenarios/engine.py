"""Propagate disruption events through the baseline market, vectorised over scenarios (pure array code).

Events of any number of scenarios are one :class:`EventTable` (one row per event: scenario, market,
producer, restriction or outage, fraction, start, duration, target regions).  :func:`simulate` turns them
into per-(scenario, market, period) supply gaps of two segments — the regions some restriction targets
("restricted") and the rest ("open") — and clears both with :func:`minsec.scenarios.market.clear_segment`.
Method (docs/methods.md, "Market response"):

* an export restriction of fraction *f* by producer *c* towards targets *T* removes ``f·(1 − leakage)·F[c, r]``
  from each targeted region *r*; ``diversion`` of that volume is sold to the open segment instead;
* a production outage removes ``f·F[c, r]`` from every region *r* and ``f`` of *c*'s spare capacity;
* spare capacity of the other producers ramps up linearly over ``ramp_up_months`` from the first event and
  serves the restricted segment first (its price is higher), the rest goes to the open segment;
* responses (stock releases, demand restraint, substitution) and demand shocks change the gap of the
  segment their region belongs to;
* refining markets whose material has a mining market lose, in each region, the share of output that the
  region's ore shortfall represents (mining → refining propagation), after the mining markets are cleared;
* each region's shortfall is its demand × its segment's shortfall share (+ its own demand restraint).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minsec.scenarios.baseline import MarketBaseline
from minsec.scenarios.market import SegmentOutcome, active_share, clear_segment, ramp


@dataclass(frozen=True)
class EventTable:
    """Disruption events of many scenarios, as parallel arrays (length E; ``targets`` is E × regions)."""

    scenario: np.ndarray
    market: np.ndarray
    producer: np.ndarray
    restriction: np.ndarray
    fraction: np.ndarray
    start: np.ndarray
    duration: np.ndarray
    targets: np.ndarray
    leakage: np.ndarray

    def __len__(self) -> int:
        return len(self.scenario)

    @classmethod
    def empty(cls, n_regions: int) -> EventTable:
        return cls(*(np.zeros(0, dtype=t) for t in (np.int64, np.int64, np.int64, bool, float, float, float)),
                   np.zeros((0, n_regions), dtype=bool), np.zeros(0))


@dataclass(frozen=True)
class MarketArrays:
    """Baseline and parameters as plain arrays, aligned on the baseline's market/producer/region order."""

    supply: np.ndarray            # market × producer × region, t/yr
    spare: np.ndarray             # market × producer, t/yr (NaN filled with the share parameter)
    price: np.ndarray             # market, USD/t
    demand_elasticity: np.ndarray
    supply_elasticity: np.ndarray
    ramp_up_months: np.ndarray
    diversion: np.ndarray
    value_multiplier: np.ndarray
    price_floor: np.ndarray
    refining_links: tuple[tuple[int, int], ...]   # (refining market, mining market)
    feedstock: np.ndarray         # market × region × source region (NaN where no link)
    producer_region: np.ndarray   # producer → region index

    @classmethod
    def from_baseline(cls, baseline: MarketBaseline, parameters) -> MarketArrays:
        table = parameters.reindex(baseline.markets)
        supply = baseline.supply.values
        production = supply.sum(axis=2)
        spare = np.where(np.isnan(baseline.spare.values),
                         production * table["spare_capacity_share"].to_numpy()[:, None], baseline.spare.values)
        markets = baseline.markets
        links = tuple((markets.index(m), markets.index(m.replace(".refining", ".mining"))) for m in markets
                      if m.endswith(".refining") and m.replace(".refining", ".mining") in markets)
        return cls(supply=supply, spare=spare, price=baseline.price.values,
                   demand_elasticity=table["demand_elasticity"].to_numpy(float),
                   supply_elasticity=table["supply_elasticity"].to_numpy(float),
                   ramp_up_months=table["ramp_up_months"].to_numpy(float),
                   diversion=table["diversion"].to_numpy(float),
                   value_multiplier=table["value_multiplier"].to_numpy(float),
                   price_floor=table["price_floor"].to_numpy(float),
                   refining_links=links, feedstock=baseline.feedstock.values,
                   producer_region=baseline.producer_region())


@dataclass
class Exogenous:
    """Dense scenario responses, scenario × market × period × region, in tonnes per period."""

    release: np.ndarray
    restraint: np.ndarray
    substitution: np.ndarray
    demand_shock: np.ndarray

    @classmethod
    def zeros(cls, shape: tuple[int, int, int, int]) -> Exogenous:
        return cls(*(np.zeros(shape) for _ in range(4)))

    def net_gap(self) -> np.ndarray:
        return self.demand_shock - self.release - self.restraint - self.substitution


@dataclass
class SimulationResult:
    """Outcome arrays (S = scenarios, M = markets, T = periods, R = regions); tonnes per period."""

    price_restricted: np.ndarray   # S × M × T price index of the restricted segment (NaN: no restriction)
    price_open: np.ndarray         # S × M × T
    targeted: np.ndarray           # S × M × R bool
    shortfall: np.ndarray          # S × M × T × R (detail) or S × M × R summed over periods
    gap: np.ndarray                # S × M × T total net gap
    lost: np.ndarray               # S × M × T supply withheld or lost
    diverted: np.ndarray           # S × M × T
    response: np.ndarray           # S × M × T
    unsold: np.ndarray             # S × M × T
    demand: np.ndarray             # M × R per period
    period_months: float


def _segment_sums(values: np.ndarray, index: np.ndarray, size: int, active: np.ndarray) -> np.ndarray:
    """Σ over events of ``values[e] · active[e, t]`` per flat (scenario·market) index → size × T."""
    out = np.empty((size, active.shape[1]))
    for t in range(active.shape[1]):  # a handful of periods; events are summed with bincount
        out[:, t] = np.bincount(index, weights=values * active[:, t], minlength=size)
    return out


def simulate(arrays: MarketArrays, events: EventTable, n_scenarios: int, n_periods: int,
             period_months: float, exogenous: Exogenous | None = None, detail: bool = True) -> SimulationResult:
    """Clear every (scenario, market, period); see the module docstring. Pure: no I/O, no globals."""
    n_markets, _, n_regions = arrays.supply.shape
    size = n_scenarios * n_markets
    per_period = period_months / 12.0
    demand = arrays.supply.sum(axis=1) * per_period                          # M × R per period
    flat = events.scenario * n_markets + events.market
    flows = arrays.supply[events.market, events.producer] * per_period       # E × R
    active = active_share(events.start, events.duration, n_periods, period_months)  # E × T
    restriction = events.restriction
    kept = np.where(restriction, 1.0 - events.leakage, 1.0)
    lost_by_region = events.fraction[:, None] * flows * events.targets * kept[:, None]
    withheld = lost_by_region.sum(axis=1)
    diverted = np.where(restriction, arrays.diversion[events.market] * withheld, 0.0)

    targeted = np.zeros((size, n_regions))
    np.add.at(targeted, flat[restriction], events.targets[restriction].astype(float))
    targeted = targeted > 0
    lost_restricted = (lost_by_region * targeted[flat]).sum(axis=1)
    lost_open = withheld - lost_restricted
    gap_a = _segment_sums(lost_restricted, flat, size, active)
    gap_b = _segment_sums(lost_open - diverted, flat, size, active)
    lost = _segment_sums(withheld, flat, size, active)
    diverted_total = _segment_sums(diverted, flat, size, active)

    # spare capacity of producers not disrupted, ramping up from the first event of each scenario-market
    spare_lost = np.bincount(flat, weights=events.fraction * arrays.spare[events.market, events.producer],
                             minlength=size)
    spare = np.maximum(np.tile(arrays.spare.sum(axis=1), n_scenarios) - spare_lost, 0.0)
    first_start = np.full(size, np.inf)
    np.minimum.at(first_start, flat, events.start)
    ramp_months = np.tile(arrays.ramp_up_months, n_scenarios)
    capacity = spare[:, None] * ramp(first_start, ramp_months, n_periods, period_months) * per_period

    target4 = targeted.reshape(n_scenarios, n_markets, 1, n_regions)
    restraint = None
    if exogenous is not None:
        net = exogenous.net_gap()
        gap_a += (net * target4).sum(axis=3).reshape(size, n_periods)
        gap_b += (net * ~target4).sum(axis=3).reshape(size, n_periods)
        restraint = exogenous.restraint

    demand_a = (demand[None] * targeted.reshape(n_scenarios, n_markets, n_regions)).sum(axis=2).reshape(size, 1)
    demand_b = demand.sum(axis=1)[None].repeat(n_scenarios, 0).reshape(size, 1) - demand_a
    eps_d = np.tile(arrays.demand_elasticity, n_scenarios)[:, None]
    eps_s = np.tile(arrays.supply_elasticity, n_scenarios)[:, None]
    floor = np.tile(arrays.price_floor, n_scenarios)[:, None]

    a = SegmentOutcome(*(np.zeros((size, n_periods)) for _ in range(4)))
    b = SegmentOutcome(*(np.zeros((size, n_periods)) for _ in range(4)))
    a.price_index[:] = 1.0
    b.price_index[:] = 1.0

    def clear(rows: np.ndarray) -> None:
        """Clear the given (scenario·market) rows in place; untouched rows stay at the baseline."""
        cap = capacity[rows]
        ra = clear_segment(gap_a[rows], demand_a[rows], cap, eps_d[rows], eps_s[rows], floor[rows])
        rb = clear_segment(gap_b[rows], demand_b[rows], cap - np.maximum(ra.response, 0.0), eps_d[rows],
                           eps_s[rows], floor[rows])
        for full, part in ((a, ra), (b, rb)):
            for name in ("price_index", "response", "shortfall", "unsold"):
                getattr(full, name)[rows] = getattr(part, name)

    # Only scenario-markets with an event (or a response) can leave the baseline: clear those alone.
    if exogenous is not None:
        rows = np.arange(size)
    else:
        hit = np.zeros((n_scenarios, n_markets), dtype=bool)
        hit.ravel()[flat] = True
        for refining, mining in arrays.refining_links:
            hit[:, refining] |= hit[:, mining]
        rows = np.flatnonzero(hit)
    clear(rows)
    if arrays.refining_links:
        gap_a, gap_b = _propagate_to_refining(arrays, a, b, targeted, per_period, demand_a, demand_b, gap_a, gap_b,
                                              n_scenarios, n_periods)
        refining_markets = np.array([r for r, _ in arrays.refining_links])
        clear(rows[np.isin(rows % n_markets, refining_markets)])

    with np.errstate(invalid="ignore", divide="ignore"):
        share_a = np.where(demand_a > 0, a.shortfall / demand_a, 0.0).reshape(n_scenarios, n_markets, n_periods)
        share_b = np.where(demand_b > 0, b.shortfall / demand_b, 0.0).reshape(n_scenarios, n_markets, n_periods)
    target3 = targeted.reshape(n_scenarios, n_markets, n_regions)
    if detail:
        shares = np.where(target4, share_a[..., None], share_b[..., None])
        shortfall = shares * demand[None, :, None, :]
        if restraint is not None:
            shortfall = shortfall + restraint
    else:
        shortfall = np.where(target3, share_a.sum(axis=2)[..., None], share_b.sum(axis=2)[..., None]) * demand[None]
    price_a = np.where(demand_a > 0, a.price_index, np.nan).reshape(n_scenarios, n_markets, n_periods)
    price_a = np.where(target3.any(axis=2)[..., None], price_a, np.nan)
    reshape = (n_scenarios, n_markets, n_periods)
    return SimulationResult(
        price_restricted=price_a, price_open=b.price_index.reshape(reshape), targeted=target3,
        shortfall=shortfall if detail else shortfall.reshape(n_scenarios, n_markets, n_regions),
        gap=(gap_a + gap_b).reshape(reshape), lost=lost.reshape(reshape),
        diverted=diverted_total.reshape(reshape), response=(a.response + b.response).reshape(reshape),
        unsold=(a.unsold + b.unsold).reshape(reshape), demand=demand, period_months=period_months)


def _propagate_to_refining(arrays: MarketArrays, a, b, targeted: np.ndarray, per_period: float,
                           demand_a: np.ndarray, demand_b: np.ndarray, gap_a: np.ndarray, gap_b: np.ndarray,
                           n_scenarios: int, n_periods: int) -> tuple[np.ndarray, np.ndarray]:
    """Add to each linked refining market the output its refiners lose for want of ore (see module doc)."""
    n_markets, _, n_regions = arrays.supply.shape
    target3 = targeted.reshape(n_scenarios, n_markets, n_regions)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_a = np.where(demand_a > 0, np.maximum(a.shortfall, 0) / demand_a, 0.0).reshape(
            n_scenarios, n_markets, n_periods)
        share_b = np.where(demand_b > 0, np.maximum(b.shortfall, 0) / demand_b, 0.0).reshape(
            n_scenarios, n_markets, n_periods)
    gap_a = gap_a.reshape(n_scenarios, n_markets, n_periods).copy()
    gap_b = gap_b.reshape(n_scenarios, n_markets, n_periods).copy()
    for refining, mining in arrays.refining_links:
        # ore shortfall share of each region (S × T × R), then refined output lost by producer region
        ore_short = np.where(target3[:, mining, None, :], share_a[:, mining, :, None], share_b[:, mining, :, None])
        by_region = np.zeros((n_regions, n_regions))  # producer region × consuming region, t/yr
        np.add.at(by_region, arrays.producer_region, arrays.supply[refining])
        by_region *= per_period
        lost = np.einsum("stp,pr->str", ore_short, by_region)  # S × T × consuming region
        gap_a[:, refining] += (lost * target3[:, refining, None, :]).sum(axis=2)
        gap_b[:, refining] += (lost * ~target3[:, refining, None, :]).sum(axis=2)
    size = n_scenarios * n_markets
    return gap_a.reshape(size, n_periods), gap_b.reshape(size, n_periods)
