"""``/api/research/…``: the registry of public R&D programmes (``minsec research list``) and the research gaps
(``minsec research gaps``, a background job: it runs an ensemble for the expected GDP loss)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from minsec.service.deps import Caller, Chain, Runner
from minsec.service.jobs import JobOut, ResearchGaps, job_out
from minsec.service.routers.common import ERRORS, table_rows

router = APIRouter(prefix="/api/research", tags=["research"])

Stage = Literal["exploration", "extraction", "separation", "refining", "magnets_alloys", "substitution", "recycling"]


@router.get("/programmes", responses={401: ERRORS[401], 422: ERRORS[422]})
def programmes(caller: Caller, chain: Chain,
               material: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_ -]+$")] = None,
               stage: Stage | None = None,
               partner: Annotated[str | None, Query(min_length=3, max_length=5, pattern=r"^[A-Za-z0-9]+$")] = None
               ) -> list[dict[str, Any]]:
    """Public R&D programmes on critical-mineral supply chains with their sources (``minsec research list -f
    json``): budgets as published and in US dollars; a material's programmes include the general ones."""
    return table_rows(chain.research.programmes(material=material, stage=stage, partner=partner))


@router.get("/gaps", status_code=202, response_model=JobOut, responses={401: ERRORS[401], 403: ERRORS[403],
                                                                         422: ERRORS[422]})
def gaps(caller: Caller, runner: Runner, n_scenarios: Annotated[int, Query(ge=100, le=200_000)] = 4_000,
         seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> dict:
    """Material × stage ranked by expected GDP loss (× the stage's concentration) per research dollar, and the
    overlaps between partners (``minsec research gaps``): a background job — poll ``/api/jobs/{id}``."""
    return job_out(runner.submit(caller, ResearchGaps(n_scenarios=n_scenarios, seed=seed)))
