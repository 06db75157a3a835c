"""``/api/alerts``: alerts and reports under TLP 2.0 — publish, list and search (cached per caller), export,
the live Server-Sent Events stream, read one, relabel, add recipients.  Every read of restricted content is
audited before the content is returned (:func:`audited`)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from minsec.service import sharing, validation
from minsec.service.db import Subscription
from minsec.service.deps import Caller, Service
from minsec.service.routers.common import ERRORS, MAX_ID, IdPath
from minsec.service.runtime import ServiceState
from minsec.service.schemas import AlertIn, AlertOut, AlertPage, Problem, RelabelIn, Severity, ShareIn, Tlp
from minsec.service.security import RESTRICTED, Principal

STREAM_POLL_SECONDS = 5.0        # streams re-check on their own this often (the watcher wakes them sooner)
SUBSCRIPTION_REFRESH_SECONDS = 5.0
STREAM_KEEPALIVE_SECONDS = 15.0

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


# ---------------------------------------------------------------------------------------------- helpers
def written(service: ServiceState, alert_id: int) -> dict:
    """An alert as just committed, read outside the write transaction (which stays short)."""
    with service.database.reading() as session:
        return sharing.to_dict(session, [sharing.row_of(session, alert_id)])[0]


def audit_read(service: ServiceState, caller: Principal | None, alerts, via: str):
    """Queue the audit entry of a read of restricted content (group-committed with the reads of concurrent
    requests); returns a future to wait on before returning the content, or None if nothing is restricted."""
    restricted = [a.id for a in alerts if a.tlp in RESTRICTED]
    if caller is None or not restricted:
        return None
    return service.resources.committer.submit(
        "alert.read", actor_user_id=caller.user_id, actor_org_id=caller.org_id, object_type="alert",
        object_id=restricted[0] if len(restricted) == 1 else None, detail={"alert_ids": restricted, "via": via})


def audited(service: ServiceState, caller: Principal | None, alerts, via: str) -> None:
    """Record a read of restricted content before the content is returned (from a request thread)."""
    future = audit_read(service, caller, alerts, via)
    if future is not None:
        future.result(30)


async def audited_async(service: ServiceState, caller: Principal | None, alerts, via: str) -> None:
    future = audit_read(service, caller, alerts, via)
    if future is not None:
        await asyncio.wait_for(asyncio.wrap_future(future), 30)


# ---------------------------------------------------------------------------------------------- handlers
@router.post("", response_model=AlertOut, status_code=201,
             responses=ERRORS | {503: {"model": Problem, "description": "The database stayed busy for 30 s"}})
async def publish(body: AlertIn, caller: Caller, service: Service) -> dict:
    """Publish an alert or report with a TLP label and, for AMBER/AMBER+STRICT/RED, its recipients.  Materials
    are catalogue ids or names (``GET /api/materials``), countries ISO 3166-1 alpha-3 codes or a group (EU27):
    anything else is a 422 naming the field."""
    materials = validation.materials(body.materials, "materials")
    countries = validation.countries(body.countries, "countries")
    alert = await service.write_inline(lambda session: sharing.create_alert(
        session, caller, title=body.title, body=body.body, tlp=body.tlp, materials=materials,
        countries=countries, stage=body.stage, severity=body.severity, source=body.source,
        recipient_orgs=list(body.recipient_orgs), recipient_users=list(body.recipient_users)))
    service.notifier.notify()
    if not caller.org_slug:
        return await asyncio.to_thread(written, service, alert.id)
    return sharing.view(alert, caller.org_slug, list(body.recipient_orgs), list(body.recipient_users))


@router.get("", response_model=AlertPage, responses={401: ERRORS[401]})
async def list_alerts(caller: Caller, service: Service, material: Annotated[str | None, Query(max_length=64)] = None,
                      country: Annotated[str | None, Query(max_length=64)] = None,
                      severity: Severity | None = None, tlp: Tlp | None = None,
                      q: Annotated[str | None, Query(max_length=200, description="Text search in title and body")]
                      = None,
                      before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    """Alerts the caller may read, newest first (the TLP rule is applied in the query)."""
    key = (caller.user_id, material, country, severity, tlp, q, before_id, limit)
    pages, feed = service.listings, service.feed

    def encode(rows: list, dicts: list[dict]) -> tuple:
        body = {"alerts": dicts, "next_before_id": rows[-1].id if len(rows) == limit else None}
        return rows, dicts, json.dumps(body, default=str, separators=(",", ":")).encode()

    def build(version: int):
        with service.database.reading() as session:
            found = sharing.list_alerts(session, caller, material=material, country=country,
                                        severity=severity, tlp=tlp, q=q, before_id=before_id, limit=limit)
            built = encode(found, sharing.to_dict(session, found))
        pages.put(key, version, built)
        return built

    def advance(entry: tuple[int, Any], version: int):
        """Bring the caller's first page up to ``version`` from the shared feed when the only changes since
        are new alerts (they are newer than every alert on it); None if that does not apply."""
        if any((material, country, severity, tlp, q, before_id)):
            return None
        changes = feed.after(entry[0], version)
        if changes is None or any(c.kind != "created" for c in changes):
            return None
        rows, dicts, _ = entry[1]
        new = sorted((c for c in changes if sharing.readable(caller, c.row)), key=lambda c: -c.row.id)
        updated = encode(([c.row for c in new] + rows)[:limit], ([c.payload for c in new] + dicts)[:limit])
        pages.put(key, version, updated)
        return updated

    in_loop = service.resources.version_connection is not None
    version = service.latest_version() if in_loop else await asyncio.to_thread(service.latest_version)
    entry = pages.lookup(key)
    cached = entry[1] if entry is not None and entry[0] == version else None
    if cached is None and entry is not None:
        if version > feed.last and in_loop:
            await feed.refresh()          # catch the shared feed up first (it also wakes the streams)
        cached = advance(entry, version)
    if cached is None:
        # SQLite: a few local queries, done in the loop (a thread would queue for the GIL at each of them)
        cached = build(version) if in_loop else await asyncio.to_thread(build, version)
    await audited_async(service, caller, cached[0], "search" if q else "list")
    return Response(cached[2], media_type="application/json")


@router.get("/export", responses={401: ERRORS[401], 200: {"content": {"text/csv": {}, "application/json": {}}}})
def export(caller: Caller, service: Service, format: Literal["csv", "json"] = "csv",
           material: str | None = None, tlp: Tlp | None = None,
           limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000) -> Response:
    """The caller's readable alerts as CSV or JSON, each row with its TLP label."""
    with service.database.reading() as session:
        found = sharing.list_alerts(session, caller, material=material, tlp=tlp, limit=limit)
        rows = sharing.to_dict(session, found)
    audited(service, caller, found, "export")
    if format == "json":
        return Response(json.dumps(rows, default=str), media_type="application/json")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = ["id", "tlp", "severity", "title", "materials", "countries", "stage", "author_organisation",
               "created_at", "body"]
    writer.writerow(columns)
    for row in rows:
        writer.writerow([";".join(v) if isinstance(v, list) else v for v in (row[c] for c in columns)])
    return Response(buffer.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="minsec-alerts.csv"'})


@router.get("/stream", responses={401: ERRORS[401], 200: {"content": {"text/event-stream": {}}}})
async def stream(request: Request, caller: Caller, service: Service,
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID",
                                                             pattern=r"^\s*(0|[0-9a-f]{16})\s*$")] = None,
                 after: Annotated[str | None, Query(pattern=r"^(0|[0-9a-f]{16})$", description=(
                     "Resume after this event id — one the stream sent you — or 0 for every event from the "
                     "start (or send Last-Event-ID)"))] = None,
                 subscribed: Annotated[bool, Query(description="Only alerts matching the caller's "
                                                               "subscriptions")] = False) -> StreamingResponse:
    """Server-Sent Events: one ``alert`` event per new or changed alert the caller may read.  Each event carries
    an id, opaque and the caller's own (:mod:`minsec.service.stream_ids`: two of them tell nothing of what
    happened in between); reconnecting with ``Last-Event-ID`` delivers everything after it, so nothing is lost."""
    resume, field = (after, "after") if after is not None else (last_event_id, "Last-Event-ID")
    start = None
    if resume == "0":
        start = 0
    elif resume:
        start = service.stream_ids.decode(caller.user_id, resume)
        if start is None:
            raise HTTPException(422, f"{field}: not an event id this stream sent you")
    if start is None:
        with service.database.reading() as session:
            start = sharing.latest_event_id(session)
    events = AlertStream(service, request, caller, subscribed).events(start)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/{alert_id}", response_model=AlertOut, responses=ERRORS)
def get_alert(alert_id: IdPath, caller: Caller, service: Service) -> dict:
    with service.database.reading() as session:
        alert = sharing.get_alert(session, caller, alert_id)
        out = sharing.to_dict(session, [alert])[0]
    audited(service, caller, [alert], "get")
    return out


@router.patch("/{alert_id}/label", response_model=AlertOut, responses=ERRORS)
def relabel(alert_id: IdPath, body: RelabelIn, caller: Caller, service: Service) -> dict:
    """Change the TLP label — only the author's organisation may (a downgrade widens who can read it) — naming in
    the same call whom the new label needs: ``users`` for RED, ``organisations`` for AMBER / AMBER+STRICT.  A
    reader outside the new label loses access at once (listings, reads and the live stream)."""
    with service.database.writing() as session:
        sharing.relabel(session, caller, alert_id, body.tlp, list(body.organisations), list(body.users))
    service.notifier.notify()
    return written(service, alert_id)


@router.post("/{alert_id}/recipients", response_model=AlertOut, responses=ERRORS)
def add_recipients(alert_id: IdPath, body: ShareIn, caller: Caller, service: Service) -> dict:
    """Address the alert to further organisations (AMBER, AMBER+STRICT) or individuals (RED)."""
    with service.database.writing() as session:
        sharing.share(session, caller, alert_id, list(body.organisations), list(body.users))
    service.notifier.notify()
    return written(service, alert_id)


# ------------------------------------------------------------------------------------------- live stream
class AlertStream:
    """One caller's live stream: events from the shared feed (or, for a resumption older than the feed, from
    the database), filtered by the TLP rule and, if ``subscribed``, the caller's subscriptions."""

    def __init__(self, service: ServiceState, request: Request, caller: Principal, subscribed: bool) -> None:
        self.service, self.request, self.caller, self.subscribed = service, request, caller, subscribed
        self.cached_subscriptions: list = [None, 0.0]

    def poll(self, position: int) -> tuple[list[tuple[int, str]], int]:
        """The database path, for a resumption older than the shared feed."""
        with self.service.database.reading() as session:
            found, last = sharing.events_after(session, self.caller, position, subscriptions=self.subscriptions())
            payloads = sharing.to_dict(session, [a for _, a in found])
        audited(self.service, self.caller, [a for _, a in found], "stream")
        return [(event.id, json.dumps(p | {"event": event.kind}, default=str))
                for (event, _), p in zip(found, payloads, strict=True)], last

    def subscriptions(self):
        if not self.subscribed:
            return None
        cached = self.cached_subscriptions
        if time.monotonic() - cached[1] > SUBSCRIPTION_REFRESH_SECONDS:
            with self.service.database.reading() as session:
                cached[0] = session.execute(
                    select(Subscription).where(Subscription.user_id == self.caller.user_id)).scalars().all()
            cached[1] = time.monotonic()
        return cached[0]

    async def from_feed(self, entries) -> list[tuple[int, str]]:
        """Filter the shared feed in the event loop (microseconds per event); only the subscription refresh
        and the audit of restricted reads go to a thread."""
        subs = None
        if self.subscribed:
            fresh = time.monotonic() - self.cached_subscriptions[1] <= SUBSCRIPTION_REFRESH_SECONDS
            subs = self.cached_subscriptions[0] if fresh else await asyncio.to_thread(self.subscriptions)
        chosen = [e for e in entries if sharing.readable(self.caller, e.row)
                  and (subs is None or sharing.matches_any(e.row, subs))]
        await audited_async(self.service, self.caller, [e.row for e in chosen], "stream")
        return [(e.event_id, e.text) for e in chosen]

    async def events(self, start: int) -> AsyncIterator[str]:
        """The stream: ``id`` + ``event: alert`` for each event the caller may read, and nothing at all for the
        others — neither a line nor an id — so the stream tells neither when nor how often hidden alerts change.
        Ids are opaque and per reader, so two of them do not count the changes between; the client's
        Last-Event-ID stays on the last event it was sent (a resumption re-reads the hidden ones and passes them
        over again); keep-alives are comments every ``STREAM_KEEPALIVE_SECONDS`` from the connection, on a
        schedule no hidden change moves."""
        feed, ids, reader = self.service.feed, self.service.stream_ids, self.caller.user_id
        position = start
        yield f"retry: 2000\nid: {ids.encode(reader, position)}\n: connected\n\n"
        keep_alive = time.monotonic() + STREAM_KEEPALIVE_SECONDS
        while not await self.request.is_disconnected():
            entries = feed.after(position)
            if entries is None:
                found, position_next = await asyncio.to_thread(self.poll, position)
            elif entries:
                found, position_next = await self.from_feed(entries), entries[-1].event_id
            else:
                found, position_next = [], max(position, feed.last)
            for event_id, text in found:
                yield f"id: {ids.encode(reader, event_id)}\nevent: alert\ndata: {text}\n\n"
            if position_next != position:
                position = position_next
                continue        # more may be waiting
            # the wait ends at the next keep-alive at the latest, which then goes out on its fixed schedule: a
            # hidden change that wakes the stream earlier neither sends nor moves one
            await feed.wait(max(0.0, min(STREAM_POLL_SECONDS, keep_alive - time.monotonic())))
            if time.monotonic() >= keep_alive:
                keep_alive += STREAM_KEEPALIVE_SECONDS * (1 + (time.monotonic() - keep_alive)
                                                          // STREAM_KEEPALIVE_SECONDS)
                yield ": keep-alive\n\n"
