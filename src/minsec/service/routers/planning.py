"""``/api/scenarios/…``, ``/api/emergency/…``, ``/api/stockpile/…``, ``/api/markets/…``: emergency planning,
stockpiles and market mechanisms — thin routes over the Python API, the CLI's numbers for the same inputs.
Quick reads answer at once; analyses that run an ensemble, an optimisation or a Monte Carlo answer 202 with a
background job (``/api/jobs``) whose result is the CLI's JSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from minsec.service.deps import Caller, Chain, Runner
from minsec.service.jobs import (
    EmergencyAllocation,
    EnsembleSummary,
    FloorValuation,
    JobOut,
    ScenarioRun,
    StockpileFrontier,
    StockpileOptimisation,
    Surveillance,
    TariffValuation,
    job_out,
)
from minsec.service.routers.common import ERRORS, table_rows

router = APIRouter(prefix="/api", tags=["emergency planning, stockpiles, markets"])
JOB_RESPONSES = {401: ERRORS[401], 403: ERRORS[403], 422: ERRORS[422]}
Material = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_ -]+$")]


@router.post("/scenarios/run", status_code=202, response_model=JobOut, responses=JOB_RESPONSES)
def run_scenario(body: ScenarioRun, caller: Caller, runner: Runner) -> dict:
    """Propagate a shipped scenario (``scenario``) or your own (``definition``): a job whose result is ``minsec
    scenario run -f json`` (price path, shortfall, value at risk and GDP loss per region and sector)."""
    return job_out(runner.submit(caller, body))


@router.post("/scenarios/ensembles", status_code=202, response_model=JobOut, responses=JOB_RESPONSES)
def ensemble(body: EnsembleSummary, caller: Caller, runner: Runner) -> dict:
    """A Monte Carlo ensemble of year-long disruptions of every material: expected shortfall, exceedance, CVaR
    per market × importer and the ranking by expected loss (``minsec scenario ensemble -f json``): a job."""
    return job_out(runner.submit(caller, body))


@router.post("/emergency/allocation", status_code=202, response_model=JobOut, responses=JOB_RESPONSES)
def allocation(body: EmergencyAllocation, caller: Caller, runner: Runner) -> dict:
    """Release orders and transfers that minimise weighted unmet demand among the partners in a shipped
    scenario's outcome, sharing the shortfall (``minsec emergency allocate``; LP, HiGHS): a job."""
    return job_out(runner.submit(caller, body))


@router.get("/scenarios/calibration", responses={401: ERRORS[401]})
def calibration(caller: Caller, chain: Chain) -> dict[str, Any]:
    """How the elasticities were calibrated and how far the model lands from each recorded disruption
    (``minsec scenario calibrate -f json``)."""
    return {"calibration": table_rows(chain.scenarios.calibration()),
            "check": table_rows(chain.scenarios.calibration_check())}


@router.post("/stockpile/plans", status_code=202, response_model=JobOut, responses=JOB_RESPONSES)
def stockpile_plan(body: StockpileOptimisation, caller: Caller, runner: Runner) -> dict:
    """What to stock, how much and held by whom under a budget (``minsec stockpile optimize``): a job."""
    return job_out(runner.submit(caller, body))


@router.post("/stockpile/frontier", status_code=202, response_model=JobOut, responses=JOB_RESPONSES)
def stockpile_frontier(body: StockpileFrontier, caller: Caller, runner: Runner) -> dict:
    """Expected loss avoided against the budget, joint and separate stockpiles (``minsec stockpile frontier``)."""
    return job_out(runner.submit(caller, body))


@router.post("/markets/floors", status_code=202, response_model=JobOut, responses=JOB_RESPONSES)
def price_floor(body: FloorValuation, caller: Caller, runner: Runner) -> dict:
    """A price floor as a contract for difference with its variants (and, with ``tariff_reference``, a variable
    tariff on the same price model): a Monte Carlo job whose ``valuation`` is ``minsec markets floor -f json``."""
    return job_out(runner.submit(caller, body))


@router.post("/markets/tariffs", status_code=202, response_model=JobOut, responses=JOB_RESPONSES)
def tariff(body: TariffValuation, caller: Caller, runner: Runner) -> dict:
    """A variable (border-adjusted) tariff: imports pay max(0, reference − price) per tonne; expected revenue, its
    distribution and the landed price (``minsec markets tariff``): a Monte Carlo job."""
    return job_out(runner.submit(caller, body))


@router.get("/markets/price-models", responses={401: ERRORS[401], 404: ERRORS[404], 422: ERRORS[422]})
def price_models(caller: Caller, chain: Chain, material: Material,
                 since: Annotated[int | None, Query(ge=1960, le=2100)] = None,
                 model: Literal["gbm", "ou", "ou-jump", "all"] = "all") -> dict[str, Any]:
    """Price models fitted by maximum likelihood on a bundled series: each parameter with its standard error,
    log-likelihood and AIC (``models``: ``minsec markets calibrate -f json``); ``skipped`` says which models the
    series is too short for."""
    table = chain.markets.calibrate(material=material, since=since, model=model)
    return {"models": table_rows(table), "skipped": list(table.attrs["skipped"])}


@router.post("/markets/surveillance", status_code=202, response_model=JobOut, responses=JOB_RESPONSES)
def surveillance(body: Surveillance, caller: Caller, runner: Runner) -> dict:
    """Dumping margins, import surges, undercutting and outside-supplier shares (``minsec markets
    surveillance``): a job whose findings carry the flows behind them."""
    return job_out(runner.submit(caller, body))


@router.get("/markets/prices", responses={401: ERRORS[401], 404: ERRORS[404], 422: ERRORS[422]})
def prices(caller: Caller, chain: Chain, material: Material | None = None,
           stage: Literal["mining", "refining", "metal", "manufacturing"] | None = None,
           since: Annotated[int | None, Query(ge=1960, le=2100)] = None, values: bool = False
           ) -> list[dict[str, Any]]:
    """The bundled price series (source, unit, frequency, first and last observation, latest price); with
    ``values=true`` and a material, its dated prices in USD/t (``minsec markets prices``)."""
    if values and material is not None:
        return table_rows(chain.markets.prices(material, stage, since))
    return table_rows(chain.markets.price_series(material, stage))


@router.get("/markets/reference-price", responses={401: ERRORS[401], 404: ERRORS[404], 422: ERRORS[422]})
def reference_price(caller: Caller, chain: Chain, material: Material,
                    method: Literal["market", "basket"] = "market",
                    window_years: Annotated[float, Query(gt=0, le=30)] = 3.0,
                    weights: Literal["supply", "world"] = "supply") -> list[dict[str, Any]]:
    """A market-based reference price, or for rare earths the basket of the oxides' references (``minsec markets
    reference-price``; a cost-based one needs your cost curve: the CLI's ``--costs``)."""
    return table_rows(chain.markets.reference_price(material, method, window_years=window_years, weights=weights))
