"""``/api/organisations`` and ``/api/users``: the partnership's members and observers and their users
(platform admins manage organisations; organisation admins their own users)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select

from minsec.service import accounts, sharing
from minsec.service.db import Organisation, User
from minsec.service.deps import Caller, Db
from minsec.service.routers.common import ERRORS
from minsec.service.schemas import SLUG_PATTERN, ClientIn, OrganisationIn, OrganisationOut, UserIn, UserOut

router = APIRouter(prefix="/api", tags=["organisations and users"])


@router.get("/organisations", response_model=list[OrganisationOut], responses={401: ERRORS[401]})
def organisations(caller: Caller, database: Db) -> list[dict]:
    """Partnership members and observers (names are not confidential among authenticated users)."""
    with database.reading() as session:
        rows = session.execute(select(Organisation).order_by(Organisation.slug)).scalars().all()
        return [_org(o) for o in rows]


@router.post("/organisations", response_model=OrganisationOut, status_code=201, responses=ERRORS)
def add_organisation(body: OrganisationIn, caller: Caller, database: Db) -> dict:
    if not caller.may("manage_platform"):
        raise sharing.ForbiddenError("creating organisations needs the platform_admin role")
    with database.writing() as session:
        return _org(accounts.create_organisation(session, body.slug, body.name, body.kind, body.country, caller))


@router.post("/organisations/{slug}/clients", status_code=201, responses=ERRORS)
def add_client(slug: Annotated[str, Path(min_length=2, max_length=64, pattern=SLUG_PATTERN)], body: ClientIn,
               caller: Caller, database: Db) -> dict[str, str]:
    """Record ``body.client`` as a client of the organisation ``slug``: a recipient organisation may pass a
    TLP:AMBER alert on only to its own clients (TLP 2.0).  Platform administrators only."""
    with database.writing() as session:
        accounts.add_client(session, slug, body.client, caller)
    return {"organisation": slug, "client": body.client}


@router.get("/users", response_model=list[UserOut], responses=ERRORS)
def users(caller: Caller, database: Db) -> list[dict]:
    """Users of the caller's organisation (all organisations for a platform admin)."""
    with database.reading() as session:
        query = select(User).order_by(User.username)
        if not caller.may("manage_platform"):
            query = query.where(User.org_id == caller.org_id)
        return [_user(u) for u in session.execute(query).scalars().all()]


@router.post("/users", response_model=UserOut, status_code=201, responses=ERRORS)
def add_user(body: UserIn, caller: Caller, database: Db) -> dict:
    with database.writing() as session:
        return _user(accounts.create_user(session, body.username, body.display_name, body.organisation,
                                          list(body.roles), body.password, caller))


def _org(org: Organisation) -> dict:
    return {"id": org.id, "slug": org.slug, "name": org.name, "kind": org.kind, "country": org.country}


def _user(user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "organisation": user.organisation.slug, "roles": list(user.roles), "active": user.active}
