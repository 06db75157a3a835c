"""A bill of materials checked against a policy over the service — the request (:class:`RulesCheck`, a JSON or
CSV bill and a shipped or posted policy) and the check (:func:`check_document`, the document of ``minsec rules
check -f json``) — shared by ``POST /api/rules/check`` and the dashboard's /rules page."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


def policy_file(text: str, folder: str) -> Path:
    """The posted policy as a file for the policy loader (which names its lines); text that is not Unicode
    (lone surrogates) is refused here."""
    from minsec.errors import InputError

    path = Path(folder) / "policy.yaml"
    try:
        path.write_text(text, encoding="utf-8")
    except UnicodeEncodeError:
        raise InputError("policy_yaml: not valid Unicode text") from None
    return path


def check_document(chain, body: RulesCheck) -> dict[str, Any]:
    """``minsec rules check -f json`` for a posted check (the API's and the /rules page's)."""
    from minsec.rules.bom import read_csv
    from minsec.service.jobs import _jsonable

    bom = body.bom if body.bom is not None else read_csv(body.bom_csv or "", origin="bom_csv")
    with tempfile.TemporaryDirectory() as folder:
        policy = body.policy if body.policy is not None else policy_file(body.policy_yaml or "", folder)
        return _jsonable(chain.rules.check(bom, policy, date=body.date).to_dict())


def validated(chain, body: PolicyText):
    """A posted policy validated: its versions and rules (``minsec rules validate``), or the error naming the line
    of its first problems."""
    with tempfile.TemporaryDirectory() as folder:
        return chain.rules.validate(policy_file(body.policy_yaml, folder))
