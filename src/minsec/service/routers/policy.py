"""``/api/rules/…``, ``/api/commitments/…``, ``/api/invest/…``: the shared rules for outside suppliers, the
commitments register and joint investments — the CLI's ``minsec rules``, ``commitments check`` and ``invest …``
documents for the same inputs (a long portfolio optimisation is a background job)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from minsec.service import sharing
from minsec.service.deps import Caller, Chain, Db, Runner
from minsec.service.jobs import InvestPortfolio, JobOut, job_out
from minsec.service.routers.common import ERRORS, table_rows
from minsec.service.rules_check import PolicyText, RulesCheck, check_document, validated

router = APIRouter(prefix="/api", tags=["rules, commitments, investments"])
@router.get("/rules/policies", responses={401: ERRORS[401]})
def policies(caller: Caller, chain: Chain) -> list[dict[str, Any]]:
    """The shipped policies: every version with its dates, rules and file (``minsec rules list``)."""
    return table_rows(chain.rules.policies())


@router.post("/rules/validate", responses={401: ERRORS[401], 422: ERRORS[422]})
def validate(body: PolicyText, caller: Caller, chain: Chain) -> list[dict[str, Any]]:
    """A policy of your own validated (unknown fields, thresholds outside 0–100 %, overlapping dates, unknown
    countries) and its versions listed; a 422 names the line of the first problems (``minsec rules validate``)."""
    return table_rows(validated(chain, body))


@router.post("/rules/check", responses={401: ERRORS[401], 422: ERRORS[422]})
def check(body: RulesCheck, caller: Caller, chain: Chain) -> dict[str, Any]:
    """The verdict rule by rule (pass / fail / unknown / info) with the content percentages, the lines behind them
    and the remedy — ``minsec rules check -f json``'s document."""
    return check_document(chain, body)


@router.get("/rules/consumption", responses={401: ERRORS[401], 422: ERRORS[422]})
def consumption(caller: Caller, chain: Chain,
                policy: Annotated[str, Query(max_length=60, pattern=r"^[a-z0-9_]+$")] = "eu_crma",
                material: Annotated[str | None, Query(max_length=60)] = None,
                date: dt.date | None = None) -> list[dict[str, Any]]:
    """A shipped policy's single-third-country rule on what it concerns, the region's annual consumption (CRMA
    Art. 5(1)(b): no third country above 65 % of the Union's): per market, the largest third country's share,
    the unnamed producers', and exceeds / within / unknown (``minsec rules consumption -f json``)."""
    return table_rows(chain.rules.consumption(policy, date=date, material=material))


@router.get("/commitments", responses={401: ERRORS[401]})
def register(caller: Caller) -> dict[str, Any]:
    """The partnership's commitments register as shipped (parties, commitments, reporting obligations)."""
    from minsec.rules.commitments import load_register

    return load_register().model_dump(mode="json")


@router.get("/commitments/breaches", responses={401: ERRORS[401], 422: ERRORS[422]})
def breaches(caller: Caller, chain: Chain, database: Db, date: dt.date | None = None) -> dict[str, Any]:
    """The recorded export measures checked against the no-export-restriction commitment on ``date`` (default
    today), and the stock reports overdue in this service: ``minsec commitments check --database <the service's>
    -f json``."""
    from minsec.rules.commitments import overdue_reports
    from minsec.service.jobs import _jsonable

    result = chain.rules.commitments(date=date)
    result.findings += overdue_reports(sharing.stock_reporting(database, result, chain.groups))
    return _jsonable(result.to_dict())


@router.get("/commitments/reports", responses={401: ERRORS[401], 422: ERRORS[422]})
def reports(caller: Caller, chain: Chain, database: Db, date: dt.date | None = None) -> dict[str, Any]:
    """Every stock-reporting obligation in force on ``date`` (default today): per party organisation and material
    the latest report's date, when the next is due and who is overdue or never reported.  Dates only — a
    holding's quantity is never shown to another organisation (``/api/submissions/aggregates``)."""
    result = chain.rules.commitments(date=date)
    status = sharing.stock_reporting(database, result, chain.groups)
    return {"register": result.register.name, "date": str(result.date), "obligations": table_rows(status)}


@router.get("/invest/projects", responses={401: ERRORS[401]})
def projects(caller: Caller, chain: Chain, evaluable: bool = False) -> list[dict[str, Any]]:
    """The project pipeline with minsec's material, stages, converted capacity and what is missing
    (``minsec invest pipeline -f json``)."""
    from minsec.investment.accessor import PIPELINE_COLUMNS

    return table_rows(chain.invest.pipeline(evaluable=evaluable)[PIPELINE_COLUMNS])


@router.get("/invest/benchmarks", responses={401: ERRORS[401], 422: ERRORS[422]})
def benchmarks(caller: Caller, chain: Chain,
               regions: Annotated[str, Query(max_length=60, pattern=r"^[A-Za-z0-9, ]+$")] = "EU27,USA",
               years: Annotated[str, Query(pattern=r"^\d{4}:\d{4}$")] = "2026:2035") -> list[dict[str, Any]]:
    """Where each region stands against the capacity benchmarks (10 % extraction, 40 % processing, 25 %
    recycling of consumption) and when the pipeline would meet them (``minsec invest benchmarks -f json``)."""
    return table_rows(chain.invest.benchmarks(regions, years=years))


@router.post("/invest/portfolio", status_code=202, response_model=JobOut,
             responses={401: ERRORS[401], 403: ERRORS[403], 422: ERRORS[422]})
def portfolio(body: InvestPortfolio, caller: Caller, runner: Runner) -> dict:
    """Choose projects and funding shares under a joint budget (``minsec invest optimize``): a background job whose
    result is the CLI's JSON."""
    return job_out(runner.submit(caller, body))

