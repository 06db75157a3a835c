"""``/api/rules/…``, ``/api/commitments/…``, ``/api/invest/…``: the shared rules for outside suppliers, the
commitments register and joint investments — the CLI's ``minsec rules``, ``commitments check`` and ``invest …``
documents for the same inputs (a long portfolio optimisation is a background job)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from minsec.service.deps import Caller, Chain, Db, Runner
from minsec.service.jobs import InvestPortfolio, JobOut, job_out
from minsec.service.routers.common import ERRORS, table_rows

router = APIRouter(prefix="/api", tags=["rules, commitments, investments"])
POLICY_NAME = r"^[a-z0-9_]+$"
#: a posted policy's length: the shipped ones are 1,600-2,500 characters; any longer text, even escaped in JSON
#: at 12 bytes a character, is refused by the schema (422) before the 256 KiB body limit (413) would be reached
POLICY_CHARS = 20_000
#: a posted CSV bill of materials' length (a line per material and stage: a product of 500 rows fits)
BOM_CSV_CHARS = 100_000


class PolicyText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy_yaml: Annotated[str, Field(min_length=1, max_length=POLICY_CHARS, description="A policy file's YAML text")]


class RulesCheck(BaseModel):
    """A bill of materials checked against a policy (a shipped one by name, or your own YAML)."""

    model_config = ConfigDict(extra="forbid")
    bom: dict[str, Any] | None = Field(None, description="The bill of materials as in a .json BOM file (lines "
                                                          "with material, quantity_t, stages …; docs/rules.md)")
    bom_csv: Annotated[str | None, Field(max_length=BOM_CSV_CHARS, description=(
        "Or the bill of materials as the text of a .csv BOM file: line, material, quantity_t, value_usd, stage, "
        "country, facility, owner"))] = None
    policy: Annotated[str | None, Field(max_length=64, pattern=POLICY_NAME,
                                        description="A shipped policy (GET /api/rules/policies)")] = None
    policy_yaml: Annotated[str | None, Field(max_length=POLICY_CHARS, description="Or a policy of your own (YAML)")
                           ] = None
    date: dt.date | None = Field(None, description="Check as of this date (default today)")

    @model_validator(mode="after")
    def _one_policy(self) -> RulesCheck:
        if (self.policy is None) == (self.policy_yaml is None):
            raise ValueError("give either policy (a shipped name) or policy_yaml (your own), not both")
        if (self.bom is None) == (self.bom_csv is None):
            raise ValueError("give either bom (a JSON bill of materials) or bom_csv (a CSV one's text), not both")
        return self


def _policy_file(text: str, folder: str) -> Path:
    """The posted policy as a file for the policy loader (which names its lines); text that is not Unicode
    (lone surrogates) is refused here."""
    from minsec.errors import InputError

    path = Path(folder) / "policy.yaml"
    try:
        path.write_text(text, encoding="utf-8")
    except UnicodeEncodeError:
        raise InputError("policy_yaml: not valid Unicode text") from None
    return path


@router.get("/rules/policies", responses={401: ERRORS[401]})
def policies(caller: Caller, chain: Chain) -> list[dict[str, Any]]:
    """The shipped policies: every version with its dates, rules and file (``minsec rules list``)."""
    return table_rows(chain.rules.policies())


@router.post("/rules/validate", responses={401: ERRORS[401], 422: ERRORS[422]})
def validate(body: PolicyText, caller: Caller, chain: Chain) -> list[dict[str, Any]]:
    """A policy of your own validated (unknown fields, thresholds outside 0–100 %, overlapping dates, unknown
    countries) and its versions listed; a 422 names the line of the first problems (``minsec rules validate``)."""
    with tempfile.TemporaryDirectory() as folder:
        return table_rows(chain.rules.validate(_policy_file(body.policy_yaml, folder)))


@router.post("/rules/check", responses={401: ERRORS[401], 422: ERRORS[422]})
def check(body: RulesCheck, caller: Caller, chain: Chain) -> dict[str, Any]:
    """The verdict rule by rule (pass / fail / unknown / info) with the content percentages, the lines behind them
    and the remedy — ``minsec rules check -f json``'s document."""
    return check_document(chain, body)


def check_document(chain, body: RulesCheck) -> dict[str, Any]:
    """``minsec rules check -f json`` for a posted check (the API's and the /rules page's)."""
    from minsec.rules.bom import read_csv
    from minsec.service.jobs import _jsonable

    bom = body.bom if body.bom is not None else read_csv(body.bom_csv or "", origin="bom_csv")
    with tempfile.TemporaryDirectory() as folder:
        policy = body.policy if body.policy is not None else _policy_file(body.policy_yaml or "", folder)
        return _jsonable(chain.rules.check(bom, policy, date=body.date).to_dict())


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
    from minsec.rules.commitments import check_stock_reports
    from minsec.service.jobs import _jsonable

    result, submissions, organisations = _checked(chain, database, date)
    result.findings += check_stock_reports(result.register, submissions, organisations, result.date, chain.groups)
    return _jsonable(result.to_dict())


@router.get("/commitments/reports", responses={401: ERRORS[401], 422: ERRORS[422]})
def reports(caller: Caller, chain: Chain, database: Db, date: dt.date | None = None) -> dict[str, Any]:
    """Every stock-reporting obligation in force on ``date`` (default today): per party organisation and material
    the latest report's date, when the next is due and who is overdue or never reported.  Dates only — a
    holding's quantity is never shown to another organisation (``/api/submissions/aggregates``)."""
    from minsec.rules.commitments import stock_report_status

    result, submissions, organisations = _checked(chain, database, date)
    status = stock_report_status(result.register, submissions, organisations, result.date, chain.groups)
    return {"register": result.register.name, "date": str(result.date), "obligations": table_rows(status)}


def _checked(chain, database, date: dt.date | None):
    """The shipped register checked on ``date``, and this service's report dates and organisations."""
    from minsec.service import sharing

    result = chain.rules.commitments(date=date)
    with database.reading() as session:
        submissions, organisations = sharing.report_dates(session)
    return result, submissions, organisations


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

