"""``/api/audit``: the hash-chained audit log — verification (platform admins) and its entries (platform admins:
all; organisation admins: their organisation's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from minsec.service import audit, sharing
from minsec.service.deps import Caller, Db
from minsec.service.routers.common import ERRORS, MAX_ID
from minsec.service.schemas import AuditEntryOut, AuditVerification

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("/verify", response_model=AuditVerification, responses=ERRORS)
def verify(caller: Caller, database: Db) -> dict:
    """Recompute the hash chain (platform admins)."""
    if not caller.may("manage_platform"):
        raise sharing.ForbiddenError("verifying the audit log needs the platform_admin role")
    with database.reading() as session:
        return audit.verify(session).as_dict()


@router.get("", response_model=list[AuditEntryOut], responses=ERRORS)
def audit_entries(caller: Caller, database: Db, after_seq: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    """Audit entries (platform admins: all; org admins: their organisation's)."""
    from minsec.service.db import AuditEntry

    if not caller.may("manage_org_users"):
        raise sharing.ForbiddenError("reading the audit log needs the org_admin or platform_admin role")
    with database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit)
        if not caller.may("manage_platform"):
            query = query.where(AuditEntry.actor_org_id == caller.org_id)
        return [{c: getattr(e, c) for c in AuditEntryOut.model_fields} for e in session.execute(query).scalars()]
