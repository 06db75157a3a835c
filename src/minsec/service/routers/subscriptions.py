"""``/api/subscriptions``: the caller's follows by material, country and minimum severity (used by the live
stream's ``?subscribed=true``)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from minsec.service import sharing
from minsec.service.db import Subscription
from minsec.service.deps import Caller, Db
from minsec.service.routers.common import ERRORS, IdPath
from minsec.service.schemas import SubscriptionIn, SubscriptionOut

router = APIRouter(prefix="/api/subscriptions", tags=["subscriptions"])


@router.get("", response_model=list[SubscriptionOut], responses={401: ERRORS[401]})
def my_subscriptions(caller: Caller, database: Db) -> list[dict]:
    with database.reading() as session:
        rows = session.execute(select(Subscription).where(Subscription.user_id == caller.user_id)
                               .order_by(Subscription.id)).scalars().all()
        return [_subscription(s) for s in rows]


@router.post("", response_model=SubscriptionOut, status_code=201, responses={401: ERRORS[401]})
def subscribe(body: SubscriptionIn, caller: Caller, database: Db) -> dict:
    """Follow alerts by material, country and minimum severity (stream with ``?subscribed=true``)."""
    with database.writing() as session:
        row = Subscription(user_id=caller.user_id, materials=list(body.materials),
                           countries=[c.upper() for c in body.countries], min_severity=body.min_severity)
        session.add(row)
        session.flush()
        return _subscription(row)


@router.delete("/{subscription_id}", status_code=204, responses=ERRORS)
def unsubscribe(subscription_id: IdPath, caller: Caller, database: Db) -> Response:
    with database.writing() as session:
        row = session.get(Subscription, subscription_id)
        if row is None or row.user_id != caller.user_id:
            raise sharing.NotFoundError(f"subscription {subscription_id} not found")
        session.delete(row)
    return Response(status_code=204)


def _subscription(row: Subscription) -> dict:
    return {"id": row.id, "materials": row.materials, "countries": row.countries, "min_severity": row.min_severity}
