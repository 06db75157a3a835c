"""``/api/submissions``: confidential submissions (stockpile holdings, emergency needs); other organisations
see only aggregates over at least three contributors."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from minsec.service import sharing, validation
from minsec.service.deps import Caller, Db
from minsec.service.routers.common import ERRORS
from minsec.service.schemas import Aggregate, SubmissionIn, SubmissionOut

router = APIRouter(prefix="/api/submissions", tags=["confidential submissions"])


@router.post("", response_model=SubmissionOut, status_code=201, responses=ERRORS)
def submit(body: SubmissionIn, caller: Caller, database: Db) -> dict:
    """Report a stockpile holding or an emergency need; other organisations see only aggregates.  The material
    is a catalogue id or name; ``as_of`` no later than tomorrow; ``quantity_t`` at most ten years of the world's
    output of the material (docs/service.md): anything else is a 422 naming the field."""
    material = validation.materials([body.material], "material")[0]
    validation.quantity_t(material, body.quantity_t)
    validation.as_of(body.as_of)
    with database.writing() as session:
        row = sharing.submit(session, caller, kind=body.kind, material=material,
                             quantity_t=body.quantity_t, as_of=body.as_of, note=body.note)
        return _submission(row)


@router.get("/mine", response_model=list[SubmissionOut], responses={401: ERRORS[401]})
def mine(caller: Caller, database: Db) -> list[dict]:
    """The caller's organisation's own submissions."""
    from minsec.service.db import Submission

    with database.reading() as session:
        rows = session.execute(select(Submission).where(Submission.org_id == caller.org_id)
                               .order_by(Submission.id)).scalars().all()
        return [_submission(r) for r in rows]


@router.get("/aggregates", response_model=list[Aggregate], responses={401: ERRORS[401]})
def aggregates(caller: Caller, database: Db) -> list[dict]:
    """Totals per kind and material over at least three contributing organisations (never one partner's
    figure); the caller's own latest figure alongside."""
    with database.reading() as session:
        return sharing.aggregates(session, caller)


def _submission(row) -> dict:
    return {"id": row.id, "kind": row.kind, "material": row.material, "quantity_t": row.quantity_t,
            "as_of": row.as_of, "note": row.note, "created_at": row.created_at}
