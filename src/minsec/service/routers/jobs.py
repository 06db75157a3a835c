"""``/api/jobs``: long analyses run in the background (:class:`~minsec.service.jobs.JobRunner`) — submit, list,
poll the status, fetch the result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from minsec.service.db import Job
from minsec.service.deps import Caller, Db, Runner
from minsec.service.jobs import JobIn, JobOut, job_out, owned_job
from minsec.service.routers.common import ERRORS
from minsec.service.schemas import Problem

router = APIRouter(prefix="/api/jobs", tags=["background jobs"])


@router.post("", response_model=JobOut, status_code=202, responses=ERRORS)
def submit_job(body: JobIn, caller: Caller, runner: Runner) -> dict:
    """Start a long analysis (scenario run, stockpile optimisation, price-floor valuation, surveillance,
    early-warning scan); poll ``GET /api/jobs/{id}`` and fetch ``/result`` when it is done."""
    return job_out(runner.submit(caller, body.params))


@router.get("", response_model=list[JobOut], responses={401: ERRORS[401]})
def list_jobs(caller: Caller, database: Db, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict]:
    """The caller's organisation's jobs, newest first."""
    with database.reading() as session:
        rows = session.execute(select(Job).where(Job.org_id == caller.org_id).order_by(Job.created_at.desc())
                               .limit(limit)).scalars().all()
        return [job_out(j) for j in rows]


@router.get("/{job_id}", response_model=JobOut, responses=ERRORS)
def job_status(job_id: str, caller: Caller, database: Db) -> dict:
    with database.reading() as session:
        return job_out(owned_job(session, caller, job_id))


@router.get("/{job_id}/result", responses=ERRORS | {409: {"model": Problem,
                                                           "description": "The job has not finished"}})
def job_result(job_id: str, caller: Caller, database: Db) -> dict[str, Any]:
    """The job's result (JSON; its shape depends on the kind)."""
    with database.reading() as session:
        job = owned_job(session, caller, job_id)
        if job.status != "done":
            raise HTTPException(409, f"job {job_id} is {job.status}" + (f": {job.error}" if job.error else ""))
        return job.result or {}
