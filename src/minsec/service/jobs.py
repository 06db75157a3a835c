"""Long analyses as background jobs: a scenario run, a stockpile optimisation over an ensemble, a price-floor
valuation, trade surveillance, the early-warning scan.  A job is a database row (queued → running → done |
failed, with progress and a JSON result); one worker thread runs them in order so that an analysis never
competes with another for the two cores.  Jobs left running by a stopped server are marked failed on start.
"""

from __future__ import annotations

import json
import math
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select, update

from minsec.errors import MinsecError, UnknownNameError
from minsec.scenarios.schema import Scenario
from minsec.service import audit
from minsec.service.db import Database, Job, JobRunnerRow, utcnow
from minsec.service.schemas import UtcDatetime
from minsec.service.security import Principal


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScenarioRun(_Params):
    kind: Literal["scenario_run"] = "scenario_run"
    scenario: Annotated[str | None, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+$",
                                          description="A scenario of the shipped library (`GET /api/scenarios`).")
                        ] = None
    definition: Scenario | None = Field(None, description="Or a scenario of your own (the YAML scenario format as "
                                                          "JSON: events, responses, parameters).")
    sensitivity: bool = True

    @model_validator(mode="after")
    def _one_scenario(self) -> ScenarioRun:
        if (self.scenario is None) == (self.definition is None):
            raise ValueError("give either scenario (a library name) or definition (a scenario), not both")
        return self


class EnsembleOutlook(_Params):
    kind: Literal["scenario_ensemble"] = "scenario_ensemble"
    material: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
    n_scenarios: int = Field(5_000, ge=100, le=50_000)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    horizon_months: int = Field(24, ge=3, le=60, multiple_of=3, description="months, in whole quarters")


class StockpileOptimisation(_Params):
    kind: Literal["stockpile_optimize"] = "stockpile_optimize"
    budget: float = Field(ge=0, le=1e13, description="USD")
    holders: Annotated[str, Field(max_length=100)] = "US,EU,joint"
    ensemble: int = Field(2_000, ge=10, le=50_000, description="Scenarios of the minsec ensemble")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    cvar: float | None = Field(None, gt=0.5, lt=1)
    method: Literal["auto", "lp", "fast"] = "auto"
    materials: Annotated[str | None, Field(max_length=500, pattern=r"^[A-Za-z0-9_, -]+$",
                                           description="only these materials or families, e.g. "
                                                       "'rare_earths,magnets'")] = None


class StockpileFrontier(_Params):
    kind: Literal["stockpile_frontier"] = "stockpile_frontier"
    budgets: list[Annotated[float, Field(ge=0, le=1e13)]] = Field(
        default_factory=lambda: [0, 5e8, 1e9, 2e9, 5e9, 1.2e10], min_length=1, max_length=20, description="USD")
    split: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: {"US": 0.5, "EU": 0.5}, min_length=1, max_length=10,
        description="Separate stockpiles: each party's share of the budget (sums to 1); the joint pool has the "
                    "same members")
    ensemble: int = Field(2_000, ge=10, le=50_000)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    method: Literal["auto", "lp", "fast"] = "auto"


Price = Annotated[float, Field(gt=0, le=1e9, description="USD/t")]
PRICE_MODEL_OPTIONS = ("spot", "drift", "vol", "kappa", "long_run_price", "jump_rate", "jump_mean", "jump_vol")


class _PriceModel(_Params):
    """The price model and Monte Carlo options of ``minsec markets floor|tariff`` (minsec.markets.inputs.RANGES);
    parameters not given are calibrated on the job's ``material`` series."""
    spot: Price | None = None
    drift: float | None = Field(None, ge=-1, le=1, description="GBM drift per year")
    vol: float | None = Field(None, ge=0, le=5, description="volatility per √year")
    kappa: float | None = Field(None, ge=0, le=50)
    long_run_price: Price | None = None
    jump_rate: float | None = Field(None, ge=0, le=50)
    jump_mean: float | None = Field(None, ge=-5, le=5)
    jump_vol: float | None = Field(None, ge=0, le=5)
    rate: float | None = Field(None, ge=-0.1, le=0.5)
    settlement: Literal["monthly", "quarterly", "annual"] | None = None
    paths: int = Field(100_000, ge=100, le=1_000_000)
    seed: int = Field(0, ge=0, le=2**31 - 1)


class FloorValuation(_PriceModel):
    """``minsec markets floor`` (and ``markets tariff`` with ``tariff_reference``): the same options; price-model
    parameters not given are calibrated on the ``material`` series (maximum likelihood)."""
    kind: Literal["markets_floor"] = "markets_floor"
    floor: Price | None = None
    volume: float | None = Field(None, ge=0, le=1e9, description="t per year")
    years: int | None = Field(None, ge=1, le=40)
    example: Literal["mp-materials"] | None = Field(None, description="start from the DoD–MP Materials NdPr floor")
    material: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")] | None = Field(
        None, description="bundled price series that calibrates the parameters not given")
    since: int | None = Field(None, ge=1960, le=2100, description="calibrate on prices from this year on")
    model: Literal["gbm", "ou-jump"] | None = None
    cap: Price | None = None
    upside_share: float = Field(0.0, ge=0, le=1)
    variants: bool = True
    gap_cap: Price | None = None
    dumping: Annotated[str, Field(max_length=40, pattern=r"^[0-9.]+:[0-9.]+:[0-9.]+$")] | None = None
    unit_cost: float = Field(0.0, ge=0, le=1e9)
    debt_service: float = Field(0.0, ge=0, le=1e13)
    tariff_reference: Price | None = Field(None, description="Also value a variable tariff: imports pay max(0, "
                                           "reference − price) per tonne (USD/t)")
    tariff_volume: float | None = Field(None, ge=0, le=1e9, description="Imports the tariff applies to, t per "
                                        "year (default: volume)")
    tariff_years: int | None = Field(None, ge=1, le=40, description="default: years")


class Surveillance(_Params):
    kind: Literal["surveillance"] = "surveillance"
    importer: Annotated[str, Field(min_length=3, max_length=20)] = "partnership"
    year: int | None = Field(None, ge=1990, le=2100)


class EarlyWarnings(_Params):
    kind: Literal["early_warnings"] = "early_warnings"


class EconomicImpact(_Params):
    kind: Literal["economic_impact"] = "economic_impact"
    importer: Annotated[str, Field(min_length=3, max_length=60, pattern=r"^[A-Za-z0-9, ]+$",
                                   description="A region of the model (USA, EU27, JPN, KOR, GBR, CAN, AUS, CHN), "
                                               "several separated by commas, or 'partnership'")] = "partnership"
    n_scenarios: int = Field(10_000, ge=100, le=200_000, description="Year-long disruption scenarios")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    levers: bool = Field(False, description="Also the loss with the partnership's stocks, sharing and investments")
    invest_budget: float = Field(5e9, ge=0, le=1e12, description="USD, the joint portfolio evaluated with levers")


class EmergencyAllocation(_Params):
    kind: Literal["emergency_allocate"] = "emergency_allocate"
    scenario: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+$",
                                   description="A scenario of the shipped library (`GET /api/scenarios`)")]
    stock_days: dict[Annotated[str, Field(pattern=r"^[A-Z0-9]{2,5}$")], Annotated[float, Field(ge=0, le=3650)]] = \
        Field(default_factory=dict, max_length=20, description="national stocks: region → days of its consumption "
                                                               "of every affected market (e.g. JPN: 60)")
    joint_days: float = Field(0.0, ge=0, le=3650, description="joint pool, days of the partners' consumption")
    sharing: bool = True
    restraint: bool = True


class InvestPortfolio(_Params):
    kind: Literal["invest_portfolio"] = "invest_portfolio"
    budget: float = Field(ge=0, le=1e13, description="USD")
    objective: Literal["benchmarks", "shortfall"] = "benchmarks"
    regions: Annotated[str, Field(max_length=60, pattern=r"^[A-Za-z0-9, ]+$")] = "EU27,USA"
    split: Annotated[str | None, Field(max_length=100, pattern=r"^[A-Za-z0-9=.,]+$",
                                       description="each partner's share of the budget, e.g. 'US=0.5,EU=0.5'")] = None
    funding: Literal["home", "pro-rata", "pooled"] = Field(
        "home", description="who may pay for which project: home (own territory and third countries), pro-rata "
                            "(every project in the budget shares) or pooled (any budget, any project)")
    ensemble: int = Field(2_000, ge=100, le=50_000)
    seed: int = Field(0, ge=0, le=2**31 - 1)


class ResearchGaps(_Params):
    kind: Literal["research_gaps"] = "research_gaps"
    n_scenarios: int = Field(4_000, ge=100, le=200_000, description="Year-long scenarios for the expected GDP loss")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class TariffValuation(_PriceModel):
    """``minsec markets tariff``: the same options; price-model parameters not given are calibrated on the
    ``material`` series."""
    kind: Literal["markets_tariff"] = "markets_tariff"
    reference: Price = Field(description="imports below it pay the difference, USD/t")
    volume: float = Field(ge=0, le=1e9, description="imports from outside suppliers, t per year")
    years: int = Field(10, ge=1, le=40)
    material: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")] | None = None
    since: int | None = Field(None, ge=1960, le=2100)
    model: Literal["gbm", "ou-jump"] = "gbm"
    dumping: Annotated[str, Field(max_length=40, pattern=r"^[0-9.]+:[0-9.]+:[0-9.]+$")] | None = None


class EnsembleSummary(_Params):
    """``minsec scenario ensemble``: every material's year-long disruption ensemble, in this process (the numbers
    do not depend on the scheduler)."""
    kind: Literal["ensemble_summary"] = "ensemble_summary"
    n: int = Field(10_000, ge=100, le=200_000, description="scenarios")
    seed: int = Field(0, ge=0, le=2**31 - 1)


JobParams = Annotated[ScenarioRun | EnsembleOutlook | StockpileOptimisation | StockpileFrontier | FloorValuation
                      | Surveillance | EarlyWarnings | EconomicImpact | ResearchGaps | InvestPortfolio
                      | EmergencyAllocation | TariffValuation | EnsembleSummary,
                      Field(discriminator="kind")]


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: JobParams


class JobOut(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    error: str | None
    params: dict[str, Any]
    created_at: UtcDatetime
    finished_at: UtcDatetime | None


def job_out(job: Job) -> dict:
    return {"id": job.id, "kind": job.kind, "status": job.status, "progress": job.progress, "error": job.error,
            "params": job.params, "created_at": job.created_at, "finished_at": job.finished_at}


def owned_job(session, caller: Principal, job_id: str) -> Job:
    """The job if the caller's organisation submitted it (jobs are private to their organisation)."""
    from minsec.service.sharing import NotFoundError

    job = session.get(Job, job_id)
    if job is None or job.org_id != caller.org_id:
        raise NotFoundError(f"job {job_id} not found")
    return job


def _jsonable(value: Any) -> Any:
    def clean(obj):
        if isinstance(obj, float) and not math.isfinite(obj):
            return None
        if isinstance(obj, dict):
            return {str(k): clean(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [clean(v) for v in obj]
        return obj

    return clean(json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o))))


def _records(frame) -> list[dict]:
    return frame.to_dict(orient="records")


# ------------------------------------------------------------------------------------------------ analyses
# Each runner is a thin layer over the Python API: the process's one SupplyChain (minsec.load(), cached, shared
# with the analytics endpoints and the dashboard) and its accessors; the scenario context is built once per
# process too (sc.scenarios.context()).
DATA_ENV, GROUPS_ENV = "MINSEC_DATA", "MINSEC_GROUPS"


def analytics_chain():
    """The supply chain the service analyses: :func:`minsec.load` of ``$MINSEC_DATA`` with ``$MINSEC_GROUPS``
    (``minsec --data DIR --groups FILE serve`` sets them, for every worker process), else the bundled dataset;
    loaded once per process and shared by the jobs, the analytics endpoints and the dashboard."""
    import os

    import minsec

    return minsec.load(os.environ.get(DATA_ENV) or None, groups=os.environ.get(GROUPS_ENV) or None)


def _scaled(progress: Callable[[float], None], total: int, share: float = 1.0) -> Callable[[int], None]:
    """A per-item progress callback reporting ``share`` of the job as the items finish."""
    done = [0]

    def advance(k: int) -> None:
        done[0] += k
        progress(share * done[0] / total)

    return advance


def run_scenario(params: ScenarioRun, progress: Callable[[float], None], database: Database) -> dict:
    from minsec.scenarios.schema import library

    if params.definition is None and params.scenario not in library():
        raise UnknownNameError(f"scenario: unknown scenario {params.scenario!r}; known: "
                               f"{', '.join(sorted(library()))}")
    progress(0.1)
    chosen = params.definition if params.definition is not None else params.scenario
    return analytics_chain().scenarios.run(chosen, sensitivity=params.sensitivity).to_dict()


def run_outlook(params: EnsembleOutlook, progress: Callable[[float], None], database: Database) -> dict:
    tables = analytics_chain().scenarios.outlook(params.material, params.n_scenarios, params.seed,
                                                 params.horizon_months, _scaled(progress, params.n_scenarios))
    return {"material": params.material, "n_scenarios": params.n_scenarios, "seed": params.seed,
            "horizon_months": params.horizon_months} | {k: _records(v) for k, v in tables.items()}


def run_stockpile(params: StockpileOptimisation, progress: Callable[[float], None], database: Database) -> dict:
    # a joint pool alone serves the US and the EU (members); national holders are sampled themselves
    result = analytics_chain().stockpile.optimize(
        params.budget, method=params.method, ensemble=params.ensemble, seed=params.seed, holders=params.holders,
        members="US,EU", cvar=params.cvar, materials=params.materials,
        progress=_scaled(progress, params.ensemble, 0.8))
    progress(0.85)
    return {"summary": result.summary, "plan": _records(result.plan), "by_party": _records(result.by_party),
            "warnings": result.warnings}


def run_frontier(params: StockpileFrontier, progress: Callable[[float], None], database: Database) -> dict:
    table, split, warnings = analytics_chain().stockpile.cooperation_frontier(
        params.budgets, params.split, ensemble=params.ensemble, seed=params.seed, method=params.method,
        progress=_scaled(progress, params.ensemble, 0.8))
    progress(0.85)
    return {"frontier": _records(table), "split": split, "warnings": warnings}


def run_floor(params: FloorValuation, progress: Callable[[float], None], database: Database) -> dict:
    """``valuation``: ``minsec markets floor -f json`` for the same options; ``tariff``: ``minsec markets tariff
    -f json`` on the floor's price model; each with the distribution of its present value for charts."""
    markets = analytics_chain().markets
    model_options = {name: getattr(params, name) for name in PRICE_MODEL_OPTIONS}
    floor = markets.floor(params.floor, params.volume, params.years, example=params.example,
                          material=params.material, since=params.since, model=params.model, rate=params.rate,
                          settlement=params.settlement, paths=params.paths, seed=params.seed, cap=params.cap,
                          upside_share=params.upside_share, variants=params.variants, gap_cap=params.gap_cap,
                          dumping=params.dumping, unit_cost=params.unit_cost, debt_service=params.debt_service,
                          **model_options)
    out = {"valuation": _records(floor), "floor_pv_histogram": floor.attrs["pv_histogram"]}
    if params.tariff_reference is not None:
        progress(0.5)
        first = floor.iloc[0]           # the floor's model, spot, rate and settlement, calibrated or given
        tariff = markets.tariff(
            params.tariff_reference,
            params.tariff_volume if params.tariff_volume is not None else float(first["volume_t_per_year"]),
            params.tariff_years or int(first["years"]), material=params.material, since=params.since,
            model=params.model or str(first["model"]).replace("_", "-"), rate=float(first["rate"]),
            settlement=str(first["settlement"]), paths=params.paths, seed=params.seed, dumping=params.dumping,
            **model_options)
        out |= {"tariff": _records(tariff), "tariff_revenue_histogram": tariff.attrs["pv_histogram"]}
    return out


def run_tariff(params: TariffValuation, progress: Callable[[float], None], database: Database) -> dict:
    """``minsec markets tariff -f json`` (``valuation``) and the distribution of the revenue's present value."""
    options = {name: getattr(params, name) for name in PRICE_MODEL_OPTIONS}
    tariff = analytics_chain().markets.tariff(
        params.reference, params.volume, params.years, material=params.material, since=params.since,
        model=params.model, rate=params.rate, settlement=params.settlement, paths=params.paths, seed=params.seed,
        dumping=params.dumping, **options)
    return {"valuation": _records(tariff), "revenue_histogram": tariff.attrs["pv_histogram"]}


def run_ensemble_summary(params: EnsembleSummary, progress: Callable[[float], None], database: Database) -> dict:
    """``minsec scenario ensemble -f json``."""
    result = analytics_chain().scenarios.ensemble(params.n, params.seed, scheduler="none",
                                                  progress=_scaled(progress, params.n))
    return result.to_dict()


def run_surveillance(params: Surveillance, progress: Callable[[float], None], database: Database) -> dict:
    findings = analytics_chain().markets.surveillance(importer=params.importer, year=params.year)
    return {"importer": params.importer, "year": findings.attrs["year"], "findings": _records(findings)}


def run_warnings(params: EarlyWarnings, progress: Callable[[float], None], database: Database) -> dict:
    from minsec.service import warnings

    found = warnings.collect(chain=analytics_chain())
    progress(0.7)
    return warnings.publish(database, found) | {"warnings": len(found)}


def run_economic_impact(params: EconomicImpact, progress: Callable[[float], None], database: Database) -> dict:
    """The CLI's ``minsec risk economic-impact -f json`` (same numbers for the same parameters)."""
    from minsec.investment.levers import impact_with_levers

    result, described = impact_with_levers(analytics_chain(), params.importer, params.n_scenarios, params.seed,
                                           levers=params.levers, invest_budget=params.invest_budget,
                                           progress=_scaled(progress, params.n_scenarios))
    return {**result.to_dict(), "levers_assumed": described}


def run_allocation(params: EmergencyAllocation, progress: Callable[[float], None], database: Database) -> dict:
    """The CLI's ``minsec emergency allocate -f json``."""
    from minsec.scenarios.schema import library

    if params.scenario not in library():
        raise UnknownNameError(f"scenario: unknown scenario {params.scenario!r}; known: "
                               f"{', '.join(sorted(library()))}")
    return analytics_chain().scenarios.allocate(params.scenario, stock_days=params.stock_days,
                                                joint_days=params.joint_days, sharing=params.sharing,
                                                restraint=params.restraint).to_dict()


def run_invest_portfolio(params: InvestPortfolio, progress: Callable[[float], None], database: Database) -> dict:
    """The CLI's ``minsec invest optimize -f json``."""
    result = analytics_chain().invest.optimize(params.budget, params.objective, regions=params.regions,
                                               split=params.split, ensemble=params.ensemble, seed=params.seed,
                                               funding=params.funding)
    return result.to_dict()


def run_research_gaps(params: ResearchGaps, progress: Callable[[float], None], database: Database) -> dict:
    """The CLI's ``minsec research gaps -f json``."""
    table = analytics_chain().research.gaps(params.n_scenarios, params.seed,
                                            progress=_scaled(progress, params.n_scenarios))
    return {"gaps": _records(table), "general_programmes": table.attrs.get("general_programmes")}


RUNNERS: dict[str, Callable] = {"scenario_run": run_scenario, "scenario_ensemble": run_outlook,
                                "stockpile_optimize": run_stockpile, "stockpile_frontier": run_frontier,
                                "markets_floor": run_floor, "surveillance": run_surveillance,
                                "early_warnings": run_warnings, "economic_impact": run_economic_impact,
                                "research_gaps": run_research_gaps, "invest_portfolio": run_invest_portfolio,
                                "emergency_allocate": run_allocation, "markets_tariff": run_tariff,
                                "ensemble_summary": run_ensemble_summary}
PERMISSION = {"early_warnings": "run_warnings"}
UNCACHED = {"early_warnings"}


def data_version() -> str:
    """A short digest of the analysed dataset's manifest: a new build (or another ``--data``) is a new version."""
    import hashlib

    manifest = analytics_chain().manifest
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()[:16]


STOPPED = "the server stopped before the job finished"
#: a runner writes its heartbeat this often; one silent for ``RUNNER_TIMEOUT_SECONDS`` is gone (its process died)
RUNNER_HEARTBEAT_SECONDS, RUNNER_TIMEOUT_SECONDS = 5.0, 30.0


class _ServerStoppingError(MinsecError):
    """Raised inside a running job, at its next progress report, when the server stops."""


class JobRunner:
    """Runs jobs one at a time in a worker thread; ``on_change`` is called after alerts may have changed.

    One runner per server process (``--workers N``: N runners on one database), each with its id and a heartbeat
    (``job_runners``); a job records its runner, so a process starting up fails only the jobs of runners that are
    gone, never another live worker's."""

    def __init__(self, database: Database, on_change: Callable[[], None] | None = None) -> None:
        self.database, self.on_change = database, on_change
        self.runner_id = str(uuid.uuid4())
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.start()

    def start(self) -> None:
        """Record this runner, fail what gone runners (and this one, before a restart) left queued or running,
        and open the worker and the heartbeat (again, after :meth:`shutdown`: an app can start more than once)."""
        from datetime import timedelta

        from sqlalchemy import delete, or_

        now = utcnow()
        gone = now - timedelta(seconds=RUNNER_TIMEOUT_SECONDS)
        with self.database.writing() as session:
            session.merge(JobRunnerRow(id=self.runner_id, heartbeat_at=now))
            alive = select(JobRunnerRow.id).where(JobRunnerRow.heartbeat_at >= gone,
                                                  JobRunnerRow.id != self.runner_id)
            session.execute(update(Job).where(Job.status.in_(("queued", "running")),
                                              or_(Job.runner_id.is_(None), Job.runner_id.not_in(alive)))
                            .values(status="failed", error=STOPPED, finished_at=now))
            session.execute(delete(JobRunnerRow).where(JobRunnerRow.heartbeat_at < gone))
        self.stopping.clear()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minsec-job")
        self.heartbeat = threading.Thread(target=self._beat, name="minsec-job-heartbeat", daemon=True)
        self.heartbeat.start()

    def _beat(self) -> None:
        while not self.stopping.wait(RUNNER_HEARTBEAT_SECONDS):
            try:             # merge, not update: a row another process removed (a late beat) comes back
                with self.database.writing() as session:
                    session.merge(JobRunnerRow(id=self.runner_id, heartbeat_at=utcnow()))
            except Exception:  # a busy or restarting database: the next beat tries again
                continue

    def submit(self, principal: Principal, params: BaseModel) -> Job:
        """Queue an analysis — or, when the organisation already has it done on the same inputs and the same
        data (``data_version``, the dataset manifest's digest), answer with that job: results are cached per
        input and data version (every analysis is seeded, so the same inputs give the same result).  The early-
        warning scan is never cached: it publishes."""
        permission = PERMISSION.get(params.kind, "run_analysis")
        if not principal.may(permission):
            from minsec.service.sharing import ForbiddenError

            raise ForbiddenError(f"{params.kind} jobs need a role with the {permission} permission")
        stored = params.model_dump(mode="json") | {"data_version": data_version()}
        if params.kind not in UNCACHED:
            done = self._done_with(principal.org_id, params.kind, stored)
            if done is not None:
                with self.database.writing() as session:
                    audit.append(session, "job.submit", actor_user_id=principal.user_id,
                                 actor_org_id=principal.org_id, object_type="job", object_id=done.id,
                                 detail={"kind": params.kind, "cached": True})
                return done
        with self.database.writing() as session:
            job = Job(id=str(uuid.uuid4()), kind=params.kind, params=stored, status="queued", progress=0.0,
                      user_id=principal.user_id, org_id=principal.org_id, runner_id=self.runner_id)
            session.add(job)
            audit.append(session, "job.submit", actor_user_id=principal.user_id, actor_org_id=principal.org_id,
                         object_type="job", object_id=job.id, detail={"kind": params.kind})
        self.pool.submit(self._run, job.id, params)
        return job

    def _done_with(self, org_id: int, kind: str, stored: dict) -> Job | None:
        """The organisation's newest finished job of this kind on exactly these inputs and data, if any."""
        with self.database.reading() as session:
            rows = session.execute(select(Job).where(Job.org_id == org_id, Job.kind == kind, Job.status == "done")
                                   .order_by(Job.created_at.desc()).limit(200)).scalars().all()
            return next((row for row in rows if row.params == stored), None)

    def _set(self, job_id: str, **values) -> bool:
        """Update this runner's job while it is still queued or running (a job another process has marked failed
        stays failed); whether it was."""
        with self.database.writing() as session:
            changed = session.execute(update(Job).where(Job.id == job_id, Job.runner_id == self.runner_id,
                                                        Job.status.in_(("queued", "running"))).values(**values))
            return bool(changed.rowcount)

    def _run(self, job_id: str, params: BaseModel) -> None:
        if not self._set(job_id, status="running", progress=0.0):
            return                   # no longer this runner's to run
        last = [0.0]

        def progress(fraction: float) -> None:
            if self.stopping.is_set():
                raise _ServerStoppingError
            now = time.monotonic()
            if now - last[0] >= 0.5:
                last[0] = now
                self._set(job_id, progress=round(min(max(fraction, 0.0), 0.99), 3))

        try:
            result = _jsonable(RUNNERS[params.kind](params, progress, self.database))
        except _ServerStoppingError:
            self._set(job_id, status="failed", error=STOPPED, finished_at=utcnow())
            return
        except Exception as exc:  # the job fails with the reason; the server goes on
            expected = isinstance(exc, MinsecError)       # bad input: its message; anything else is a bug
            message = str(exc) if expected else f"{exc.__class__.__name__}: {exc}"
            self._set(job_id, status="failed", error=message[:2000], finished_at=utcnow())
            if not expected:
                traceback.print_exc()
            return
        self._set(job_id, status="done", progress=1.0, result=result, finished_at=utcnow())
        if params.kind == "early_warnings" and self.on_change is not None:
            self.on_change()

    def shutdown(self) -> None:
        """Drop the queued jobs and stop the running one at its next progress report, then wait for it, so no
        worker still holds a database connection once the application has stopped (queued and stopped jobs are
        marked failed, here or at the next start)."""
        self.stopping.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.heartbeat.join()            # at most one beat's write away: a restart never runs two
        try:          # this runner's queued jobs and itself, now rather than at a next start
            from sqlalchemy import delete

            with self.database.writing() as session:
                session.execute(update(Job).where(Job.runner_id == self.runner_id,
                                                  Job.status.in_(("queued", "running")))
                                .values(status="failed", error=STOPPED, finished_at=utcnow()))
                session.execute(delete(JobRunnerRow).where(JobRunnerRow.id == self.runner_id))
        except Exception:  # a database already gone: the next start marks them
            pass
