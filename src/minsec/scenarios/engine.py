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
* downstream markets lose, in each producing region, the share of output that the region's shortfall of an
  input represents, stage by stage after the upstream markets are cleared (:attr:`MarketBaseline.links`:
  ore → refined product → metal → magnets; a product with several inputs, NdFeB from Nd, Pr, Dy and Tb, loses
  the largest of ``weight × input shortfall share``: inputs are complements, Leontief);
* each region's shortfall is its demand × its segment's shortfall share (+ its own demand restraint).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minsec.data import catalogue
from minsec.scenarios.baseline import MarketBaseline
from minsec.scenarios.market import SegmentOutcome, active_share, clear_segment, ramp

#: order in which stages clear (the catalogue's stage order): a stage's outcome feeds the next
LEVEL = {stage: i for i, stage in enumerate(catalogue.STAGES)}


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
    trade_friction: np.ndarray
    links: tuple[tuple[int, int, float, int], ...]  # (downstream, upstream, weight, level) by level
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
        links = tuple(sorted(((markets.index(d), markets.index(u), float(w), LEVEL[d.rsplit(".", 1)[1]])
                              for d, u, w in baseline.links), key=lambda link: (link[3], link[0], link[1])))
        return cls(supply=supply, spare=spare, price=baseline.price.values,
                   demand_elasticity=table["demand_elasticity"].to_numpy(float),
                   supply_elasticity=table["supply_elasticity"].to_numpy(float),
                   ramp_up_months=table["ramp_up_months"].to_numpy(float),
                   diversion=table["diversion"].to_numpy(float),
                   value_multiplier=table["value_multiplier"].to_numpy(float),
                   price_floor=table["price_floor"].to_numpy(float),
                   trade_friction=table["trade_friction"].to_numpy(float),
                   links=links, feedstock=baseline.feedstock.values,
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


@dataclass(frozen=True)
class SparseOutcome:
    """An ensemble chunk's outcome on the scenario-markets that can leave the baseline only (``rows``: flat
    ``scenario · M + market``, ascending): each region's shortfall over the horizon (t), whether a restriction
    targets it, and the highest price index of the period in each segment.  Every other scenario-market is the
    baseline (no shortfall, price index 1), so nothing dense is built."""

    rows: np.ndarray               # K int64
    shortfall: np.ndarray          # K × R, t over the horizon
    targeted: np.ndarray           # K × R bool
    peak_restricted: np.ndarray    # K (NaN: no restricted price in any period)
    peak_open: np.ndarray          # K

    @classmethod
    def from_dense(cls, shortfall: np.ndarray, price_restricted: np.ndarray, price_open: np.ndarray,
                   targeted: np.ndarray) -> SparseOutcome:
        """From dense S × M (× T or R) arrays (the per-scenario loop of the benchmark), keeping every
        scenario-market with a shortfall or a target."""
        n_regions = shortfall.shape[-1]
        flat_short, flat_target = shortfall.reshape(-1, n_regions), targeted.reshape(-1, n_regions)
        rows = np.flatnonzero((flat_short != 0).any(axis=1) | flat_target.any(axis=1))
        periods = price_open.shape[-1]
        return cls(rows, flat_short[rows], flat_target[rows],
                   np.fmax.reduce(price_restricted.reshape(-1, periods)[rows], axis=1),
                   np.fmax.reduce(price_open.reshape(-1, periods)[rows], axis=1))


@dataclass
class SimulationResult:
    """Outcome arrays (S = scenarios, M = markets, T = periods, R = regions); tonnes per period.  With
    ``detail=False`` (ensembles) only ``sparse``, ``demand`` and ``period_months`` are set."""

    price_restricted: np.ndarray | None   # S × M × T price index of the restricted segment (NaN: no restriction)
    price_open: np.ndarray | None         # S × M × T
    targeted: np.ndarray | None           # S × M × R bool
    shortfall: np.ndarray | None          # S × M × T × R
    gap: np.ndarray | None         # S × M × T total net gap (these five: ``detail=True`` only)
    lost: np.ndarray | None        # S × M × T supply withheld or lost
    diverted: np.ndarray | None    # S × M × T
    response: np.ndarray | None    # S × M × T
    unsold: np.ndarray | None      # S × M × T
    redirected: np.ndarray | None  # S × M × T moved by outside producers from open to restricted buyers
    demand: np.ndarray             # M × R per period
    period_months: float
    sparse: SparseOutcome | None = None   # ``detail=False``: the active scenario-markets only


def _segment_sums(values: np.ndarray, index: np.ndarray, size: int, active: np.ndarray) -> np.ndarray:
    """Σ over events of ``values[e] · active[e, t]`` per row index → size × T."""
    out = np.empty((size, active.shape[1]))
    for t in range(active.shape[1]):  # a handful of periods; events are summed with bincount
        out[:, t] = np.bincount(index, weights=values * active[:, t], minlength=size)
    return out


def _scatter(values: np.ndarray, rows: np.ndarray, size: int, fill: float | bool = 0.0) -> np.ndarray:
    """Dense ``size × …`` array equal to ``values`` on ``rows`` and ``fill`` elsewhere."""
    out = np.full((size, *values.shape[1:]), fill, dtype=values.dtype)
    out[rows] = values
    return out


def simulate(arrays: MarketArrays, events: EventTable, n_scenarios: int, n_periods: int,
             period_months: float, exogenous: Exogenous | None = None, detail: bool = True) -> SimulationResult:
    """Clear every (scenario, market, period); see the module docstring. Pure: no I/O, no globals.

    Only scenario-markets with an event (or, with ``exogenous``, all of them) can leave the baseline, so the
    arithmetic runs on those rows alone ("active rows") and the results are scattered back to dense arrays.
    """
    n_markets = arrays.supply.shape[0]
    per_period = period_months / 12.0
    demand = arrays.supply.sum(axis=1) * per_period                          # M × R per period
    rows = _active_rows(arrays, events, n_scenarios, exogenous is not None)
    local = np.searchsorted(rows, events.scenario * n_markets + events.market)   # each event's active row
    row_market = rows % n_markets
    targeted, gap_a, gap_b, lost, diverted = _event_gaps(arrays, events, local, len(rows), n_periods, period_months)
    capacity = _spare_capacity(arrays, events, local, row_market, n_periods, period_months)
    restraint = None
    if exogenous is not None:
        net = exogenous.net_gap().reshape(len(rows), n_periods, -1)
        gap_a += (net * targeted[:, None, :]).sum(axis=2)
        gap_b += (net * ~targeted[:, None, :]).sum(axis=2)
        restraint = exogenous.restraint

    demand_a = (demand[row_market] * targeted).sum(axis=1)[:, None]
    demand_b = demand.sum(axis=1)[row_market][:, None] - demand_a
    eps_d = arrays.demand_elasticity[row_market][:, None]
    eps_s = arrays.supply_elasticity[row_market][:, None]
    floor = arrays.price_floor[row_market][:, None]
    friction = arrays.trade_friction[row_market][:, None]
    outsiders = _outsiders_open(arrays, events, local, row_market, targeted, per_period, demand_b)
    a = SegmentOutcome(np.ones((len(rows), n_periods)), *(np.zeros((len(rows), n_periods)) for _ in range(3)))
    b = SegmentOutcome(np.ones((len(rows), n_periods)), *(np.zeros((len(rows), n_periods)) for _ in range(3)))
    moved = np.zeros((len(rows), n_periods))

    def clear(sel: np.ndarray) -> None:
        """Clear the given active rows in place, the two segments linked by producers outside the restrictions
        (:func:`redirected`)."""
        cap = capacity[sel]
        # a segment cannot lose more than all it buys: a direct event and lost inputs on the same rows (magnets
        # restricted and short of Dy) add up to at most the segment's demand
        gap_r, gap_o = np.minimum(gap_a[sel], demand_a[sel]), np.minimum(gap_b[sel], demand_b[sel])
        shift = redirected(gap_r, gap_o, demand_a[sel], demand_b[sel], friction[sel], outsiders[sel])
        ra = clear_segment(gap_r - shift, demand_a[sel], cap, eps_d[sel], eps_s[sel], floor[sel])
        rb = clear_segment(gap_o + shift, demand_b[sel], cap - np.maximum(ra.response, 0.0), eps_d[sel], eps_s[sel],
                           floor[sel])
        # the output the restrictor cuts as its home price falls is volume it withholds (unsold, clear_segment),
        # not a supply response of producers who sell to the restricted buyers at more
        # the restricted buyers are never cheaper than the open ones (a restriction over, substitution going on):
        # then they buy from the same producers, and the two segments clear as one market
        pool = (demand_a[sel] > 0) & (rb.price_index > ra.price_index)
        if pool.any():
            ra, rb = _pooled(ra, rb, pool, gap_r + gap_o, demand_a[sel], demand_b[sel], cap, eps_d[sel], eps_s[sel],
                             floor[sel])
            shift = np.where(pool, 0.0, shift)
        moved[sel] = shift
        for full, part in ((a, ra), (b, rb)):
            for name in ("price_index", "response", "shortfall", "unsold"):
                getattr(full, name)[sel] = getattr(part, name)

    # markets fed by others are cleared at their stage, on their inputs' outcome (below): clearing them here too
    # would be overwritten
    fed = np.zeros(n_markets, dtype=bool)
    fed[[link[0] for link in arrays.links]] = True
    clear(np.flatnonzero(~fed[row_market]))
    # the active rows of each market, by one stable sort (ascending within a market, as np.flatnonzero gives)
    by_market = np.argsort(row_market, kind="stable")
    grouping = (by_market, np.searchsorted(row_market[by_market], np.arange(n_markets + 1)))
    for level in sorted({link[3] for link in arrays.links}):  # stage by stage: each clears on its inputs' outcome
        clear(_propagate(arrays, [k for k in arrays.links if k[3] == level], a, b, rows, targeted, per_period,
                         demand_a, demand_b, gap_a, gap_b, grouping))
    return _results(a, b, rows, targeted, demand, demand_a, demand_b, restraint, (n_scenarios, n_markets, n_periods),
                    detail, period_months, {"gap": gap_a + gap_b, "lost": lost, "diverted": diverted,
                                            "response": a.response + b.response, "unsold": a.unsold + b.unsold,
                                            "redirected": moved})


def _active_rows(arrays: MarketArrays, events: EventTable, n_scenarios: int, everything: bool) -> np.ndarray:
    """Flat scenario × market rows that can leave the baseline: those with an event and the markets downstream
    of them (every row when exogenous volumes are given)."""
    n_markets = arrays.supply.shape[0]
    if everything:
        return np.arange(n_scenarios * n_markets)
    hit = np.zeros((n_scenarios, n_markets), dtype=bool)
    hit.ravel()[events.scenario * n_markets + events.market] = True
    for downstream, upstream, _weight, _level in arrays.links:  # in level order: hits travel down the chain
        hit[:, downstream] |= hit[:, upstream]
    return np.flatnonzero(hit)


def redirected(gap_r: np.ndarray, gap_o: np.ndarray, demand_r: np.ndarray, demand_o: np.ndarray,
               friction: np.ndarray, outsiders: np.ndarray) -> np.ndarray:
    """Volume that producers outside the restrictions move from open to restricted buyers (t per period).

    They sell where they are paid most, so the open segment's price rise is (1 − φ) of the restricted one's,
    φ = ``trade_friction`` (the share of the premium lost to freight, qualification and broken contracts).  With
    both segments priced by the incidence formula (same elasticities), x − 1 = gap / (k·D), the condition

        (G_o + T) / D_o = (1 − φ)·(G_r − T) / D_r   ⇒   T = ((1 − φ)·G_r·D_o − G_o·D_r) / (D_r + (1 − φ)·D_o)

    and T lies between 0 and what those producers deliver to open buyers (``outsiders``).  Then
    G_r − T = D_r·(G_r + G_o) / (D_r + (1 − φ)·D_o): the restricted price falls only in a world glut.  Without
    restricted buyers T = 0."""
    denominator = demand_r + (1.0 - friction) * demand_o
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(denominator > 0, ((1.0 - friction) * gap_r * demand_o - gap_o * demand_r) / denominator, 0.0)
    return np.clip(np.where(demand_r > 0, shift, 0.0), 0.0, outsiders)


def _pooled(ra: SegmentOutcome, rb: SegmentOutcome, pool: np.ndarray, gap: np.ndarray, demand_r: np.ndarray,
            demand_o: np.ndarray, capacity: np.ndarray, eps_d: np.ndarray, eps_s: np.ndarray, floor: np.ndarray
            ) -> tuple[SegmentOutcome, SegmentOutcome]:
    """Where ``pool``: both segments cleared as one market (the sum of their gaps over the sum of their demand),
    its volumes shared in proportion to each segment's demand."""
    at = np.flatnonzero(pool.any(axis=1))      # only the rows with a pooled period are cleared again
    demand = demand_r[at] + demand_o[at]
    one = clear_segment(gap[at], demand, capacity[at], eps_d[at], eps_s[at], floor[at])
    with np.errstate(invalid="ignore", divide="ignore"):
        share_r = np.where(demand > 0, demand_r[at] / demand, 0.0)
    where = pool[at]
    for part, share in ((ra, share_r), (rb, 1.0 - share_r)):
        part.price_index[at] = np.where(where, one.price_index, part.price_index[at])
        for name in ("response", "shortfall", "unsold"):
            getattr(part, name)[at] = np.where(where, share * getattr(one, name), getattr(part, name)[at])
    return ra, rb


def _outsiders_open(arrays: MarketArrays, events: EventTable, local: np.ndarray, row_market: np.ndarray,
                    targeted: np.ndarray, per_period: float, demand_open: np.ndarray) -> np.ndarray:
    """Per active row (× 1): what producers restricting nothing in the row deliver to the buyers no restriction
    targets, per period — the volume they can move to restricted buyers (:func:`redirected`)."""
    restricting = np.flatnonzero(events.restriction)
    if len(restricting) == 0:
        return np.zeros_like(demand_open)
    n_producers = arrays.supply.shape[1]
    pairs = np.unique(local[restricting] * n_producers + events.producer[restricting])   # each (row, producer) once
    row, producer = pairs // n_producers, pairs % n_producers
    flows = (arrays.supply[row_market[row], producer] * ~targeted[row]).sum(axis=1) * per_period
    held = np.bincount(row, weights=flows, minlength=len(row_market))
    return np.maximum(demand_open - held[:, None], 0.0)


def _event_gaps(arrays: MarketArrays, events: EventTable, local: np.ndarray, n_rows: int, n_periods: int,
                period_months: float) -> tuple[np.ndarray, ...]:
    """Per active row: the regions a restriction targets, and per period the supply gap of the restricted
    (``a``) and open (``b``) segments, the volume withheld or lost, and the volume diverted to open buyers."""
    per_period = period_months / 12.0
    flows = arrays.supply[events.market, events.producer] * per_period       # E × R
    active = active_share(events.start, events.duration, n_periods, period_months)  # E × T
    restriction = events.restriction
    kept = np.where(restriction, 1.0 - events.leakage, 1.0)
    lost_by_region = events.fraction[:, None] * flows * events.targets * kept[:, None]
    withheld = lost_by_region.sum(axis=1)
    diverted = np.where(restriction, arrays.diversion[events.market] * withheld, 0.0)
    targeted = np.zeros((n_rows, flows.shape[1]), dtype=bool)
    restricting = np.flatnonzero(restriction)
    for region in range(flows.shape[1]):  # a region is targeted if any restriction of its row targets it
        targeted[local[restricting[events.targets[restricting, region]]], region] = True
    lost_restricted = (lost_by_region * targeted[local]).sum(axis=1)
    lost_open = withheld - lost_restricted
    return (targeted, _segment_sums(lost_restricted, local, n_rows, active),
            _segment_sums(lost_open - diverted, local, n_rows, active), _segment_sums(withheld, local, n_rows, active),
            _segment_sums(diverted, local, n_rows, active))


def _spare_capacity(arrays: MarketArrays, events: EventTable, local: np.ndarray, row_market: np.ndarray,
                    n_periods: int, period_months: float) -> np.ndarray:
    """Spare capacity of the producers not disrupted, ramping up from the first event of each row (t/period).

    A producer's spare capacity is lost once, whatever the number of its events on the row: by its largest
    event, as events of one producer follow each other (DRC cobalt 2025: a suspension, 100 %, then a quota, 56 %,
    takes its spare capacity away, not 156 % of it, which also took the other producers' — their supply response
    was 0 at a price ×4)."""
    n_rows = len(row_market)
    n_producers = arrays.spare.shape[1]
    pair, where = np.unique(local * n_producers + events.producer, return_inverse=True)
    fraction = np.zeros(len(pair))
    np.maximum.at(fraction, where, np.minimum(events.fraction, 1.0))
    row, producer = pair // n_producers, pair % n_producers
    spare_lost = np.bincount(row, weights=fraction * arrays.spare[row_market[row], producer], minlength=n_rows)
    spare = np.maximum(arrays.spare.sum(axis=1)[row_market] - spare_lost, 0.0)
    first_start = np.full(n_rows, np.inf)
    np.minimum.at(first_start, local, events.start)
    return spare[:, None] * ramp(first_start, arrays.ramp_up_months[row_market], n_periods,
                                 period_months) * (period_months / 12.0)


def _results(a: SegmentOutcome, b: SegmentOutcome, rows: np.ndarray, targeted: np.ndarray, demand: np.ndarray,
             demand_a: np.ndarray, demand_b: np.ndarray, restraint: np.ndarray | None, shape: tuple[int, int, int],
             detail: bool, period_months: float, flows: dict[str, np.ndarray]) -> SimulationResult:
    """Scatter the active rows back to dense scenario × market (× period × region) arrays (``detail``), or keep
    them sparse, summed over periods (:class:`SparseOutcome`)."""
    size = shape[0] * shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        share_a = np.where(demand_a > 0, a.shortfall / demand_a, 0.0)
        share_b = np.where(demand_b > 0, b.shortfall / demand_b, 0.0)
    price_a = np.where((demand_a > 0) & targeted.any(axis=1)[:, None], a.price_index, np.nan)
    # no price where a segment has (next to) no buyers: a restriction on everyone leaves the restrictor's own
    # market, where nothing is bought (the DRC's cobalt) — its glut price would say nothing
    b = SegmentOutcome(np.where(demand_b > 1e-6 * (demand_a + demand_b), b.price_index, np.nan), b.response,
                       b.shortfall, b.unsold)
    if not detail:  # summed over periods, on the active rows only (K × R, not S × M × R)
        market = rows % shape[1]
        shortfall = np.where(targeted, share_a.sum(axis=1)[:, None], share_b.sum(axis=1)[:, None]) * demand[market]
        sparse = SparseOutcome(rows, shortfall, targeted, np.fmax.reduce(price_a, axis=1),
                               np.fmax.reduce(b.price_index, axis=1))
        return SimulationResult(price_restricted=None, price_open=None, targeted=None, shortfall=None, gap=None,
                                lost=None, diverted=None, response=None, unsold=None, redirected=None, demand=demand,
                                period_months=period_months, sparse=sparse)
    target3 = _scatter(targeted, rows, size, False).reshape(shape[0], shape[1], targeted.shape[1])
    share_a = _scatter(share_a, rows, size).reshape(shape)
    share_b = _scatter(share_b, rows, size).reshape(shape)
    shortfall = np.where(target3[:, :, None, :], share_a[..., None], share_b[..., None]) * demand[None, :, None, :]
    if restraint is not None:
        shortfall = shortfall + restraint
    # flows per scenario-market-period are only materialised for detailed (single-scenario) runs
    dense = {k: _scatter(v, rows, size).reshape(shape) for k, v in flows.items()}
    return SimulationResult(
        price_restricted=_scatter(price_a, rows, size, np.nan).reshape(shape),
        price_open=_scatter(b.price_index, rows, size, 1.0).reshape(shape), targeted=target3,
        shortfall=shortfall, demand=demand, period_months=period_months, **dense)


def _propagate(arrays: MarketArrays, links: list[tuple[int, int, float, int]], a: SegmentOutcome, b: SegmentOutcome,
               rows: np.ndarray, targeted: np.ndarray, per_period: float, demand_a: np.ndarray, demand_b: np.ndarray,
               gap_a: np.ndarray, gap_b: np.ndarray, grouping: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Add to each downstream market of one level the output its producers lose for want of inputs (module doc).

    The producers of a region lose ``max_inputs(weight × the region's shortfall share of the input)`` of their
    output (rows × T × producing region), spread over their buyers by the baseline supply matrix.  Works on active
    rows; updates ``gap_a``/``gap_b`` in place and returns the downstream rows to re-clear.
    """
    n_regions = targeted.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        share_a = np.where(demand_a > 0, np.maximum(a.shortfall, 0) / demand_a, 0.0)
        share_b = np.where(demand_b > 0, np.maximum(b.shortfall, 0) / demand_b, 0.0)
    by_market, bounds = grouping
    touched = []
    for downstream in dict.fromkeys(link[0] for link in links):
        down_rows = by_market[bounds[downstream]:bounds[downstream + 1]]
        if len(down_rows) == 0:
            continue
        input_short = np.zeros((len(down_rows), share_a.shape[1], n_regions))
        for _, upstream, weight, _ in (k for k in links if k[0] == downstream):
            up_flat = rows[down_rows] - downstream + upstream
            position = np.minimum(np.searchsorted(rows, up_flat), len(rows) - 1)
            present = (rows[position] == up_flat)[:, None, None]
            short = np.where(targeted[position][:, None, :], share_a[position][..., None],
                             share_b[position][..., None]) * present
            np.maximum(input_short, np.minimum(weight * short, 1.0), out=input_short)
        by_region = np.zeros((n_regions, n_regions))  # producer region × consuming region, t/yr
        np.add.at(by_region, arrays.producer_region, arrays.supply[downstream])
        by_region *= per_period
        lost = np.einsum("ntp,pr->ntr", input_short, by_region)  # rows × T × consuming region
        target = targeted[down_rows][:, None, :]
        gap_a[down_rows] += (lost * target).sum(axis=2)
        gap_b[down_rows] += (lost * ~target).sum(axis=2)
        touched.append(down_rows)
    return np.concatenate(touched) if touched else np.zeros(0, dtype=np.int64)
