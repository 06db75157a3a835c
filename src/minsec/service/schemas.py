"""Typed request and response bodies of the REST API (pydantic 2).  Requests forbid unknown fields and bound
every string and list, so a malformed or oversized request fails with a 422 that names the field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from minsec.errors import MinsecError

Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
Severity = Literal["info", "low", "medium", "high", "critical"]
Role = Literal["viewer", "analyst", "coordinator", "org_admin", "platform_admin"]
OrgKind = Literal["member", "observer", "platform"]
Stage = Literal["mining", "refining", "manufacturing", "recycling", "trade", "other"]

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                        pattern=r"^[A-Za-z0-9_.+\- ]+$")]
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
Slug = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64, pattern=SLUG_PATTERN)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64,
                                            pattern=r"^[A-Za-z0-9_.@-]+$")]


def as_utc(value: dt.datetime) -> dt.datetime:
    """Times are stored naive in UTC; the API states the zone (RFC 3339)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


UtcDatetime = Annotated[dt.datetime, AfterValidator(as_utc)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=20_000)


# ----------------------------------------------------------------------------------------------- auth
class LoginIn(Strict):
    username: Username
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Me(BaseModel):
    user_id: int
    username: str
    display_name: str
    organisation: str
    organisation_name: str
    organisation_kind: OrgKind
    roles: list[Role]


class LoginOut(Me):
    csrf_token: str


class TokenIn(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    expires_in_days: int = Field(90, ge=1, le=730, strict=True)   # JSON true is not 1 day


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: UtcDatetime
    expires_at: UtcDatetime
    revoked_at: UtcDatetime | None


class NewToken(TokenOut):
    token: str = Field(description="The bearer token; shown only once, stored hashed.")


# ------------------------------------------------------------------------------------------------ admin
class ClientIn(Strict):
    client: Slug = Field(description="The client organisation's slug")


class OrganisationIn(Strict):
    slug: Slug
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    kind: OrgKind
    country: Code | None = Field(None, description="ISO 3166-1 alpha-3 code or a group (EU27) it speaks for")

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from minsec.service.validation import countries

        try:
            return countries([value], "country")[0]
        except MinsecError as exc:
            from pydantic_core import PydanticCustomError

            raise PydanticCustomError("unknown_country", str(exc).removeprefix("country: ")) from None


class OrganisationOut(BaseModel):
    id: int
    slug: str
    name: str
    kind: OrgKind
    country: str | None


class UserIn(Strict):
    username: Username
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    organisation: Slug
    roles: list[Role] = Field(min_length=1, max_length=5)
    password: Annotated[str, StringConstraints(min_length=12, max_length=200)] | None = None


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    organisation: str
    roles: list[Role]
    active: bool


# ----------------------------------------------------------------------------------------------- alerts
class AlertIn(Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    materials: list[Code] = Field(default_factory=list, max_length=50)
    countries: list[Code] = Field(default_factory=list, max_length=50)
    stage: Stage | None = None
    severity: Severity = "medium"
    source: Annotated[str, StringConstraints(max_length=500)] | None = None
    tlp: Tlp
    recipient_orgs: list[Slug] = Field(default_factory=list, max_length=100,
                                       description="Organisations an AMBER / AMBER+STRICT alert is addressed to.")
    recipient_users: list[Username] = Field(default_factory=list, max_length=100,
                                            description="Individuals a RED alert is addressed to.")

    @field_validator("countries")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [v.upper() for v in value]

    @field_validator("body", "title")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", value):
            raise ValueError("control characters are not allowed")
        return value


class AlertOut(BaseModel):
    id: int
    title: str
    body: str
    materials: list[str]
    countries: list[str]
    stage: str | None
    severity: Severity
    source: str | None
    tlp: Tlp
    kind: Literal["report", "early_warning"]
    evidence: dict[str, Any] | None
    author_organisation: str
    recipient_orgs: list[str]
    recipient_users: list[str]
    created_at: UtcDatetime
    updated_at: UtcDatetime


class AlertPage(BaseModel):
    alerts: list[AlertOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next (older) page.")


class RelabelIn(Strict):
    tlp: Tlp
    organisations: list[Slug] = Field(default_factory=list, max_length=100, description=(
        "AMBER / AMBER+STRICT: organisations to name with the new label (added to those named)"))
    users: list[Username] = Field(default_factory=list, max_length=100, description=(
        "RED: the individuals who may read it (a RED label needs at least one)"))


class ShareIn(Strict):
    organisations: list[Slug] = Field(default_factory=list, max_length=100)
    users: list[Username] = Field(default_factory=list, max_length=100)


# ------------------------------------------------------------------------------------------ subscriptions
class SubscriptionIn(Strict):
    materials: list[Code] = Field(default_factory=list, max_length=50, description="Empty: every material.")
    countries: list[Code] = Field(default_factory=list, max_length=50, description="Empty: every country.")
    min_severity: Severity = "info"


class SubscriptionOut(SubscriptionIn):
    id: int


# ------------------------------------------------------------------------------------------- submissions
class SubmissionIn(Strict):
    kind: Literal["stockpile_holding", "emergency_need"]
    material: Code
    quantity_t: float = Field(ge=0, le=1e12, strict=True)   # a number, not true or "5"
    as_of: dt.date
    note: Annotated[str, StringConstraints(max_length=2_000)] | None = None


class SubmissionOut(BaseModel):
    id: int
    kind: str
    material: str
    quantity_t: float
    as_of: dt.date
    note: str | None
    created_at: UtcDatetime


class Aggregate(BaseModel):
    kind: str
    material: str
    contributors: int
    total_t: float | None = Field(description="Sum over contributors; null when fewer than the minimum "
                                              "(never one partner's figure).")
    own_t: float | None = Field(description="Your organisation's own latest figure.")
    shown: bool


# ------------------------------------------------------------------------------------------------- audit
class AuditVerification(BaseModel):
    ok: bool
    entries: int
    head: str
    problem: str | None
    first_bad_seq: int | None


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor_user_id: int | None
    actor_org_id: int | None
    action: str
    object_type: str | None
    object_id: str | None
    detail: dict[str, Any] | None
    prev_hash: str
    hash: str


class Problem(BaseModel):
    detail: str
