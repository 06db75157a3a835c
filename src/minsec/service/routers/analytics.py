"""``/api/materials``, ``/api/risk/concentration``, ``/api/scenarios``: read-only analytics over the service's
supply chain (:func:`minsec.service.deps.supply_chain`) through the Python API's accessors."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from minsec.service.deps import Caller, Chain
from minsec.service.routers.common import ERRORS

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
    frame = chain.risk.concentration(material=material, stage=stage, year=year, source=source)
    return json.loads(frame.to_json(orient="records"))


@router.get("/scenarios", responses={401: ERRORS[401]})
def scenarios(caller: Caller) -> list[dict[str, Any]]:
    """The shipped scenario library (run one with a ``scenario_run`` job)."""
    from minsec.scenarios.schema import library, load_scenario

    return [load_scenario(path).model_dump(mode="json") | {"id": name} for name, path in library().items()]
