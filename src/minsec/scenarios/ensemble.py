"""Monte Carlo ensembles of disruption scenarios, vectorised over scenarios, chunked, on Dask distributed.

Event model (docs/methods.md, "Ensembles"; every number is an :class:`EnsembleSpec` field a user can
override):

* candidates are producer × market pairs with at least ``min_share`` of the market's output (not the element
  split of rare-earth mine output: a mine is disrupted once, in the REO market ``rare_earths.mining``, and the
  event carries to the element content of the same output, :func:`minsec.scenarios.chain.split_events`);
* each year a candidate imposes an export restriction with probability
  ``restriction_rate × instability × (history_multiplier if recorded)`` where *instability* is the
  producer's GeoPolRisk-normalised WGI political-stability score (0 = most stable, 1 = least; 0.5 where
  missing) and *recorded* means an export control or disruption of that country on that material is in the
  bundled record (MOFCOM/GAC measures, USGS MCS 2026 Table 4, the disruption history); it suffers a production outage
  with probability ``outage_rate``;
* restriction depth ~ Beta(4, 1) (mean 0.8; recorded export drops were 61–97 %: DH029/30, DH035, DH041,
  DH048), outage depth ~ Beta(1, 3) (mean 0.25), durations ~ lognormal with median ``duration_median``
  months (recorded: 2, 7.8 and 11 months — DH001, DH012, DH044), capped at the horizon;
* a restriction targets the partnership with probability ``partnership_target_share``, else every
  destination outside the restricting country's region.

Chunk *c* draws from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(c,)))`` and chunk sizes do not
depend on the executor, so a run is reproducible from its seed and the Dask and single-process runs agree.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from minsec.data import catalogue, countries
from minsec.errors import InputError
from minsec.model.records import records
from minsec.scenarios.baseline import REST_OF_WORLD, UNNAMED_PRODUCERS
from minsec.scenarios.chain import split_events, split_markets
from minsec.scenarios.engine import EventTable, MarketArrays, SparseOutcome, simulate
from minsec.scenarios.run import ScenarioContext
from minsec.scenarios.tail import Tail

THRESHOLDS_PCT = (1.0, 5.0, 10.0, 25.0)
#: stored tail values (over all cells) above which the per-cell k largest are pruned: bounds the memory of a
#: million-scenario run (float32 + uint16 per value: 20 million ≈ 120 MB); a 100,000-scenario run stays below it
TAIL_BUFFER = 20_000_000



class EnsembleSpec(BaseModel):
    """Size, seed and event-model parameters of an ensemble (defaults documented in the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    n_scenarios: int = Field(10_000, ge=1, le=100_000_000)
    seed: int = Field(0, ge=0)
    chunk_size: int = Field(10_000, ge=1, le=1_000_000)
    horizon_months: float = Field(12.0, gt=0, le=120)
    period_months: float = Field(3.0, gt=0, le=12)
    min_share: float = Field(0.02, ge=0, le=1)
    restriction_rate: float = Field(0.05, ge=0, le=1)
    history_multiplier: float = Field(3.0, ge=1)
    outage_rate: float = Field(0.02, ge=0, le=1)
    restriction_depth: tuple[float, float] = (4.0, 1.0)
    outage_depth: tuple[float, float] = (1.0, 3.0)
    duration_median: float = Field(8.0, gt=0)
    duration_sigma: float = Field(0.7, ge=0)
    partnership_target_share: float = Field(0.5, ge=0, le=1)
    cvar_level: float = Field(0.95, gt=0, lt=1)

    @property
    def n_periods(self) -> int:
        return math.ceil(self.horizon_months / self.period_months)

    @property
    def tail_size(self) -> int:
        """Number of worst scenarios averaged by the CVaR (Rockafellar & Uryasev 2000, discrete form)."""
        return max(1, math.ceil((1 - self.cvar_level) * self.n_scenarios))

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.n_scenarios / self.chunk_size)

    def chunk_bounds(self, chunk: int) -> tuple[int, int]:
        start = chunk * self.chunk_size
        return start, min(start + self.chunk_size, self.n_scenarios)


def recorded_restrictions(context: ScenarioContext, as_of: dt.date | None = None) -> pd.DataFrame:
    """Country × material pairs with a recorded export control or supply disruption, and the record.

    An export control counts once it has been announced and has applied or been suspended by ``as_of``
    (default today): its status from :func:`minsec.data.control_status.status_on` (shared with the warnings,
    briefs and rules) is anything but ``not_yet_in_force``; a lifted or suspended measure still shows that its
    country restricts.  Suspension instruments are not restrictions."""
    from minsec.data.control_status import status_on

    controls = context.chain.export_controls
    status = status_on(controls, as_of or dt.date.today())
    rows = []
    for measure, now in zip(controls.itertuples(), status.itertuples(), strict=True):
        if now.is_suspension or now.computed_status == "not_yet_in_force":
            continue
        for material in catalogue.control_materials(measure.elements, measure.materials_scope):
            rows.append((now.imposing_country, material, measure.measure_id))
    facts = context.chain.parameter_facts
    history = facts[(facts["file"] == "disruption_history") & (facts["event_id"] != "")]
    names = {m: row["name"].lower() for m, row in catalogue.materials().iterrows()}
    for event in history.drop_duplicates("event_id").itertuples():
        place = re.split(r"[(;]", str(event.country))[0].strip()
        try:
            code = countries.iso3_from_name(place)
        except countries.UnknownCountryError:
            continue
        text = str(event.material).lower()
        for material, name in names.items():
            if name.split(" ")[0].split("/")[0] in text or material.replace("_", " ") in text:
                rows.append((code, material, event.event_id))
    table = pd.DataFrame(rows, columns=["country", "material", "record"]).drop_duplicates(["country", "material"])
    return table.reset_index(drop=True)


@dataclass(frozen=True)
class Candidates:
    """Producer × market pairs that can be disrupted, with their annual event probabilities."""

    market: np.ndarray
    producer: np.ndarray
    restriction_probability: np.ndarray
    outage_probability: np.ndarray
    targets_all: np.ndarray          # K × R: every region but the producer's own
    targets_partnership: np.ndarray  # K × R: partnership regions but the producer's own
    table: pd.DataFrame = field(repr=False)
    #: REO mine market → its element markets, and supply market × producer × region, to carry mine events to
    #: the element content of the same output
    splits: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    supply: np.ndarray | None = field(default=None, repr=False)


def candidates(context: ScenarioContext, spec: EnsembleSpec) -> Candidates:
    """The candidate table with probabilities (see the module docstring)."""
    baseline = context.baseline
    production = baseline.production.values  # M × P
    share = production / np.maximum(production.sum(axis=1, keepdims=True), 1e-300)
    producers = [str(p) for p in baseline.supply.producer.values]
    market_idx, producer_idx = np.nonzero(share >= spec.min_share)
    # element content of rare-earth mine output is a split of the REO market, not a mine of its own: a mine's
    # outage or export stop is sampled once, on rare_earths.mining (sampling each element too would count one
    # event fifteen times); element markets from separation on are candidates (controls name elements)
    parents = catalogue.materials()["parent"]
    split = np.array([m.endswith(".mining") and parents.get(m.split(".")[0]) == "rare_earths"
                      for m in baseline.markets])
    keep = np.array([producers[p] != UNNAMED_PRODUCERS for p in producer_idx], dtype=bool) & ~split[market_idx]
    market_idx, producer_idx = market_idx[keep], producer_idx[keep]
    stability = context.chain.governance.sel(indicator="pv_gpr", drop=True)
    latest = stability.sel(year=stability.year.values[stability.notnull().any("country").values].max())
    instability = latest.to_series().reindex(producers).fillna(0.5).to_numpy()
    recorded = recorded_restrictions(context)
    recorded_keys = set(zip(recorded["country"], recorded["material"], strict=True))
    materials = [m.split(".")[0] for m in baseline.markets]
    history = np.array([(producers[p], materials[m]) in recorded_keys
                        for m, p in zip(market_idx, producer_idx, strict=True)], dtype=bool)
    p_restrict = np.clip(spec.restriction_rate * instability[producer_idx]
                         * np.where(history, spec.history_multiplier, 1.0), 0, 1)
    p_outage = np.clip(np.full(len(market_idx), spec.outage_rate), 0, 1 - p_restrict)
    regions = list(baseline.regions)
    own = baseline.producer_region()[producer_idx]
    not_own = np.ones((len(own), len(regions)), dtype=bool)
    named = own != regions.index(REST_OF_WORLD)  # ROW pools many markets: its restrictors target it too
    not_own[np.flatnonzero(named), own[named]] = False
    partnership = context.regions("partnership", "ensemble") if "partnership" in context.chain.groups else \
        np.array([r != REST_OF_WORLD for r in regions])
    table = pd.DataFrame({"market": [baseline.markets[m] for m in market_idx],
                          "producer": [producers[p] for p in producer_idx], "share": share[market_idx, producer_idx],
                          "instability": instability[producer_idx], "recorded": history,
                          "p_restriction": p_restrict, "p_outage": p_outage})
    return Candidates(market_idx, producer_idx, p_restrict, p_outage, not_own, not_own & partnership[None], table,
                      split_markets(baseline.markets), baseline.supply.values)


def sample_events(spec: EnsembleSpec, cands: Candidates, chunk: int, leakage: np.ndarray) -> tuple[EventTable, int]:
    """Draw the events of one chunk (scenario indices local to the chunk)."""
    start, stop = spec.chunk_bounds(chunk)
    n = stop - start
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(chunk,)))
    draws = rng.random((n, len(cands.market)), dtype=np.float32)
    restrict = draws < cands.restriction_probability[None].astype(np.float32)
    outage = ~restrict & (draws < (cands.restriction_probability + cands.outage_probability)[None].astype(np.float32))
    scenario, k = np.nonzero(restrict | outage)
    is_restriction = restrict[scenario, k]
    count = len(k)
    depth = np.where(is_restriction, rng.beta(*spec.restriction_depth, count), rng.beta(*spec.outage_depth, count))
    duration = np.minimum(rng.lognormal(math.log(spec.duration_median), spec.duration_sigma, count),
                          spec.horizon_months)
    to_partnership = rng.random(count) < spec.partnership_target_share
    targets = np.where(is_restriction[:, None],
                       np.where(to_partnership[:, None], cands.targets_partnership[k], cands.targets_all[k]), True)
    market = cands.market[k]
    events = EventTable(scenario=scenario.astype(np.int64), market=market, producer=cands.producer[k],
                        restriction=is_restriction, fraction=depth, start=np.zeros(count), duration=duration,
                        targets=targets, leakage=leakage[market])
    if cands.supply is not None:
        events = split_events(events, cands.splits, cands.supply, leakage)
    return events, n


@dataclass(frozen=True)
class ChunkResult:
    """One chunk's tidy rows (scenarios with a shortfall) and its partial summaries per (market, region).

    The partial summaries are reduced on the worker so that only small arrays travel to the driver.
    """

    chunk: int
    n_scenarios: int
    rows: pa.Table
    sum_pct: np.ndarray           # M × R Σ over the chunk's scenarios of the shortfall (% of demand)
    exceed: np.ndarray            # thresholds × M × R count of scenarios above each threshold
    tail: Tail                    # the chunk's k largest shortfalls (%) per cell with demand, sparse
    sum_loss: np.ndarray          # M Σ over scenarios of the value at risk (USD)


def horizon_demand(arrays: MarketArrays, spec: EnsembleSpec) -> np.ndarray:
    """Demand over the horizon, market × region (t)."""
    return arrays.supply.sum(axis=1) * spec.horizon_months / 12.0


def demand_cells(annual: np.ndarray) -> np.ndarray:
    """Flat market × region cells with demand over the horizon (the only ones that can be short)."""
    return np.flatnonzero(annual.ravel() > 0)


def run_chunk(chunk: int, spec: EnsembleSpec, arrays: MarketArrays, cands: Candidates, leakage: np.ndarray,
              markets: list[str], regions: list[str]) -> ChunkResult:
    """Sample and simulate one chunk (pure given its inputs; runs on a Dask worker or in process)."""
    events, n = sample_events(spec, cands, chunk, leakage)
    result = simulate(arrays, events, n, spec.n_periods, spec.period_months, detail=False)
    return tabulate_chunk(chunk, n, spec, arrays, result.sparse, markets, regions)


def tabulate_chunk(chunk: int, n: int, spec: EnsembleSpec, arrays: MarketArrays, outcome: SparseOutcome,
                   markets: list[str], regions: list[str]) -> ChunkResult:
    """Tidy rows and summary matrices of ``n`` scenarios from their sparse outcome (the active scenario-markets;
    shared by the vectorised and loop runs)."""
    first, _ = spec.chunk_bounds(chunk)
    shortfall = np.maximum(outcome.shortfall, 0.0)                       # K × R
    annual = horizon_demand(arrays, spec)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_demand = np.where(annual > 0, 100.0 / annual, 0.0).astype(np.float32)
    value = np.nan_to_num(arrays.price * arrays.value_multiplier)
    k, r = np.nonzero(shortfall > 1e-9)
    flat = outcome.rows[k]
    s, m = flat // len(markets), flat % len(markets)
    row_short = shortfall[k, r]
    row_pct = row_short.astype(np.float32) * per_demand[m, r]             # % of horizon demand (float32: stored)
    targeted = outcome.targeted[k, r]
    peak = np.where(targeted, outcome.peak_restricted[k], outcome.peak_open[k])
    materials = sorted({x.split(".")[0] for x in markets})
    material_of = np.array([materials.index(x.split(".")[0]) for x in markets], dtype=np.int32)
    stages = list(catalogue.STAGES)
    stage_of = np.array([stages.index(x.rsplit(".", 1)[1]) for x in markets], dtype=np.int32)
    rows = pa.table({
        "scenario": pa.array((s + first).astype(np.int64)),
        "material": pa.DictionaryArray.from_arrays(pa.array(material_of[m]), pa.array(materials)),
        "stage": pa.DictionaryArray.from_arrays(pa.array(stage_of[m]), pa.array(stages)),
        "importer": pa.DictionaryArray.from_arrays(pa.array(r.astype(np.int32)), pa.array(regions)),
        "targeted": pa.array(targeted),
        "shortfall_t": pa.array(row_short.astype(np.float32)),
        "shortfall_pct": pa.array(row_pct),
        "value_at_risk_usd": pa.array((row_short * value[m]).astype(np.float32)),
        "peak_price_index": pa.array(peak.astype(np.float32)),
    })
    # sums, counts and the k largest per cell from the tidy rows (the cells short in a scenario), not the dense
    # S × M × R array; a cell with demand is the only kind that can be short
    cells, shape = m * len(regions) + r, annual.shape
    cell_of = np.full(shape[0] * shape[1], -1, dtype=np.int64)
    with_demand = demand_cells(annual)
    cell_of[with_demand] = np.arange(len(with_demand))
    tail = Tail.of(cell_of[cells], row_pct, min(spec.tail_size, n))
    size = shape[0] * shape[1]
    sum_pct = np.bincount(cells, weights=row_pct, minlength=size).reshape(shape)
    exceed = np.stack([np.bincount(cells[row_pct > threshold], minlength=size).reshape(shape)
                       for threshold in THRESHOLDS_PCT])
    loss = np.bincount(m, weights=row_short * value[m], minlength=len(markets))
    return ChunkResult(chunk, n, rows, sum_pct, exceed, tail, loss)


class Summary:
    """Streaming summaries over chunks: expected shortfall, exceedance probabilities, CVaR, expected loss."""

    def __init__(self, spec: EnsembleSpec, markets: list[str], regions: list[str], cells: np.ndarray) -> None:
        self.spec, self.markets, self.regions = spec, markets, regions
        shape = (len(markets), len(regions))
        self.n = 0
        self.sum_pct = np.zeros(shape)
        self.exceed = np.zeros((len(THRESHOLDS_PCT), *shape))
        self.tail_k = spec.tail_size
        self.cells = cells   # flat market × region cells with demand: only they can be short
        self.tails: list[Tail] = []
        self.stored = 0
        self.limit = TAIL_BUFFER
        # per cell, the k-th largest shortfall so far once a cell holds k (−∞ before): smaller values never enter
        self.threshold = np.full(len(cells), -np.inf, dtype=np.float32)
        self.sum_loss = np.zeros(len(markets))
        self.sum_short_t = np.zeros(shape)

    def add(self, chunk: ChunkResult, annual_demand: np.ndarray) -> None:
        self.n += chunk.n_scenarios
        self.sum_pct += chunk.sum_pct
        self.sum_short_t += chunk.sum_pct * annual_demand / 100
        self.exceed += chunk.exceed
        tail = chunk.tail
        keep = tail.values > self.threshold[tail.cells]
        if not keep.all():   # (the order within the tail, grouped by cell, is kept)
            tail = Tail(tail.cells[keep], tail.values[keep])
        self.tails.append(tail)
        self.stored += len(tail.values)
        if self.stored > self.limit:   # bounded memory: keep only each cell's k largest so far
            merged = Tail.merge(self.tails, self.tail_k, len(self.cells))
            self.tails, self.stored = [merged], len(merged.values)
            starts = merged.bounds(len(self.cells))
            for cell in np.flatnonzero(np.diff(starts) >= self.tail_k):
                self.threshold[cell] = merged.values[starts[cell]:starts[cell + 1]].min()
            # at most k per cell stay; the next compaction when a quarter as much again has come in (geometric:
            # the work of all compactions stays proportional to the values stored)
            self.limit = self.stored + max(TAIL_BUFFER, self.stored // 4)
        self.sum_loss += chunk.sum_loss

    def tables(self) -> dict[str, pd.DataFrame]:
        index = pd.MultiIndex.from_product([self.markets, self.regions], names=["market", "importer"])
        frame = pd.DataFrame({"expected_shortfall_pct": (self.sum_pct / self.n).ravel(),
                              "expected_shortfall_t": (self.sum_short_t / self.n).ravel()}, index=index)
        for i, threshold in enumerate(THRESHOLDS_PCT):
            frame[f"p_shortfall_gt_{threshold:g}pct"] = (self.exceed[i] / self.n).ravel()
        # CVaR: the mean of each cell's k largest shortfalls over all scenarios (zeros where fewer are short)
        cvar = np.zeros(self.sum_pct.size)
        if self.tails:
            cvar[self.cells] = Tail.top_sums(self.tails, self.tail_k, len(self.cells))[0] / self.tail_k
        frame[f"cvar{round(self.spec.cvar_level * 100)}_shortfall_pct"] = cvar
        frame = frame.reset_index()
        frame.insert(1, "material", frame["market"].str.split(".").str[0])
        ranking = pd.DataFrame({"market": self.markets, "expected_loss_usd": self.sum_loss / self.n})
        ranking["material"] = ranking["market"].str.split(".").str[0]
        ranking = (ranking.groupby("material", as_index=False)["expected_loss_usd"].sum()
                   .sort_values("expected_loss_usd", ascending=False, ignore_index=True))
        ranking.insert(0, "rank", np.arange(1, len(ranking) + 1))
        return {"by_market_importer": frame, "ranking": ranking}


@dataclass
class EnsembleResult:
    spec: EnsembleSpec
    path: Path | None
    rows_written: int
    summary: dict[str, pd.DataFrame]
    candidates: pd.DataFrame
    executor: str

    def to_dict(self) -> dict:
        """JSON-ready (``minsec scenario ensemble -f json``): the spec, where the rows went, the summary tables."""
        return {"spec": self.spec.model_dump(), "executor": self.executor, "rows_written": self.rows_written,
                "out": str(self.path) if self.path else None,
                **{k: records(v) for k, v in self.summary.items()}}


def run_ensemble(context: ScenarioContext, spec: EnsembleSpec, out: str | Path | None = None,
                 scheduler: str | None = "local", progress: Callable[[int], None] | None = None,
                 keep_rows: bool = False) -> EnsembleResult:
    """Run the ensemble and stream its tidy rows to Parquet (``out``), in chunk order.

    ``scheduler``: ``None`` = single process; ``"local"`` = a Dask LocalCluster of worker processes on this
    machine; ``"threads"`` = a Dask cluster of threads in this process (no start-up of processes, no copies);
    otherwise the address of a running Dask scheduler (``tcp://host:8786``).  ``progress`` is called with the number
    of scenarios finished after each chunk.  The file is written to a temporary name and renamed at the end,
    so a failed run leaves nothing behind.
    """
    arrays = MarketArrays.from_baseline(context.baseline, context.parameters)
    cands = candidates(context, spec)
    leakage = context.parameters.reindex(context.baseline.markets)["leakage"].to_numpy(float)
    markets, regions = context.baseline.markets, list(context.baseline.regions)
    annual = horizon_demand(arrays, spec)
    summary = Summary(spec, markets, regions, demand_cells(annual))
    path = Path(out) if out is not None else None
    partial = path.with_name(path.name + ".partial") if path is not None else None
    writer: pq.ParquetWriter | None = None
    kept: list[pa.Table] = []
    written = 0
    args = (spec, arrays, cands, leakage, markets, regions)
    # Parquet encoding releases the GIL: one writer thread overlaps it with receiving the next chunk,
    # and waiting on the previous write before the next keeps the file in chunk order.
    io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minsec-parquet")
    pending: Future | None = None
    try:
        for result in _execute(args, spec.n_chunks, scheduler):
            if partial is not None:
                if writer is None:
                    partial.parent.mkdir(parents=True, exist_ok=True)
                    writer = pq.ParquetWriter(partial, result.rows.schema, compression="zstd")
                if pending is not None:
                    pending.result()
                pending = io.submit(writer.write_table, result.rows)
            if keep_rows:
                kept.append(result.rows)
            written += result.rows.num_rows
            summary.add(result, annual)
            if progress is not None:
                progress(result.n_scenarios)
        if pending is not None:
            pending.result()
            pending = None
        if writer is not None:
            writer.close()
            writer = None
            partial.replace(path)  # type: ignore[union-attr]
    finally:
        if pending is not None:
            pending.exception()  # wait for the last write before closing; its error is already propagating
        io.shutdown(wait=True)
        if writer is not None:
            writer.close()
        if partial is not None and partial.exists():
            partial.unlink()
    result = EnsembleResult(spec, path, written, summary.tables(), cands.table,
                            "single process" if scheduler is None else f"dask ({scheduler})")
    if keep_rows:
        result.summary["rows"] = pa.concat_tables(kept).to_pandas() if kept else pd.DataFrame()
    return result


def _execute(args: tuple, n_chunks: int, scheduler: str | None):
    """Yield chunk results in chunk order, in process or on Dask (bounded number of chunks in flight)."""
    if scheduler is None:
        for chunk in range(n_chunks):
            yield run_chunk(chunk, *args)
        return
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    elif scheduler == "threads":
        # Dask in this process, one thread per core: NumPy releases the GIL in the clearing and tabulation, so
        # two chunks run at once without starting worker processes or copying the inputs to them
        cluster = LocalCluster(n_workers=1, threads_per_worker=max(os.cpu_count() or 1, 2), processes=False,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        shared = [client.scatter(a, broadcast=True) for a in args]
        workers = client.scheduler_info()["workers"].values()
        in_flight = max(2, 2 * len(workers), sum(w["nthreads"] for w in workers) + 1)
        futures = {}
        submitted = 0
        for chunk in range(n_chunks):
            while submitted < n_chunks and submitted < chunk + in_flight:
                futures[submitted] = client.submit(run_chunk, submitted, *shared, pure=False)
                submitted += 1
            yield futures.pop(chunk).result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def material_outlook(context: ScenarioContext, spec: EnsembleSpec, material: str,
                     progress: Callable[[int], None] | None = None) -> dict[str, pd.DataFrame]:
    """One material's ensemble as the dashboard draws it: fan charts over time and exceedance curves.

    Runs ``spec`` in this process (the dashboard's ensembles are thousands of scenarios, seconds of work; the
    full-size ensembles go through :func:`run_ensemble` on Dask) with the same sampling, so a seed gives the
    same scenarios as :func:`run_ensemble`.  Returns

    * ``fan``: per market × region (partner regions) × period, quantiles ``FAN_QUANTILES`` and mean of the
      shortfall (% of the region's demand in that period) across scenarios — the fan chart;
    * ``price_fan``: per market × period, the same quantiles of the price index buyers in restricted markets
      pay (the open-market index where no restriction is in force);
    * ``exceedance``: per market × region, P(shortfall over the horizon > x %) on a grid x = 0…100 %
      (the empirical survival function, 1/N per scenario).
    """
    markets = [i for i, m in enumerate(context.baseline.markets) if m.split(".")[0] == material]
    if not markets:
        known = sorted({m.split(".")[0] for m in context.baseline.markets})
        raise InputError(f"material: {material!r} has no market in the scenario baseline; known: "
                         f"{', '.join(known)}")
    arrays = MarketArrays.from_baseline(context.baseline, context.parameters)
    cands = candidates(context, spec)
    leakage = context.parameters.reindex(context.baseline.markets)["leakage"].to_numpy(float)
    regions = list(context.baseline.regions)
    partners = context.regions("partnership", "outlook")
    n_periods = spec.n_periods
    per_period_demand = arrays.supply.sum(axis=1)[markets] * spec.period_months / 12.0       # m × R
    horizon_demand = per_period_demand * n_periods
    period_pct, total_pct, prices = [], [], []
    for chunk in range(spec.n_chunks):
        events, n = sample_events(spec, cands, chunk, leakage)
        result = simulate(arrays, events, n, n_periods, spec.period_months, detail=True)
        shortfall = np.maximum(result.shortfall[:, markets], 0.0)                       # n × m × T × R
        with np.errstate(invalid="ignore", divide="ignore"):
            period_pct.append(np.where(per_period_demand[None, :, None] > 0,
                                       100 * shortfall / per_period_demand[None, :, None], 0.0).astype(np.float32))
            total_pct.append(np.where(horizon_demand[None] > 0, 100 * shortfall.sum(axis=2) / horizon_demand[None],
                                      0.0).astype(np.float32))
        restricted = result.price_restricted[:, markets]
        prices.append(np.where(np.isnan(restricted), result.price_open[:, markets], restricted).astype(np.float32))
        if progress is not None:
            progress(n)
    pct, total, price = (np.concatenate(period_pct), np.concatenate(total_pct), np.concatenate(prices))
    names = [context.baseline.markets[m] for m in markets]
    months = (np.arange(n_periods) + 1) * spec.period_months
    q = np.quantile(pct, FAN_QUANTILES, axis=0)                                              # Q × m × T × R
    index = pd.MultiIndex.from_product([names, months, regions], names=["market", "month", "region"])
    fan = pd.DataFrame({f"q{round(x * 100):02d}": q[i].ravel() for i, x in enumerate(FAN_QUANTILES)}, index=index)
    fan["mean"] = pct.mean(axis=0).ravel()
    # partner regions whose demand is known (a region pooled in the rest of the world has none of its own)
    shown = pd.DataFrame([(names[i], r) for i in range(len(markets)) for j, r in enumerate(regions)
                          if partners[j] and per_period_demand[i, j] > 0], columns=["market", "region"])
    fan = fan.reset_index().merge(shown, on=["market", "region"])
    qp = np.quantile(price, FAN_QUANTILES, axis=0)                                           # Q × m × T
    price_fan = pd.DataFrame({f"q{round(x * 100):02d}": qp[i].ravel() for i, x in enumerate(FAN_QUANTILES)},
                             index=pd.MultiIndex.from_product([names, months], names=["market", "month"]))
    price_fan["mean"] = price.mean(axis=0).ravel()
    grid = np.linspace(0.0, 100.0, 101)
    exceed = (total[..., None] > grid).mean(axis=0)                                          # m × R × G
    exceedance = pd.DataFrame({"probability": exceed.ravel()},
                              index=pd.MultiIndex.from_product([names, regions, grid],
                                                               names=["market", "region", "shortfall_pct"]))
    exceedance = exceedance.reset_index().merge(shown, on=["market", "region"])
    return {"fan": fan, "price_fan": price_fan.reset_index(), "exceedance": exceedance}
