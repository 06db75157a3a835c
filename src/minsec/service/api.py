"""The REST API (FastAPI): authentication, alerts under TLP 2.0, live delivery, subscriptions, confidential
submissions, the audit log.  Every decision about who may see or do what is taken here, on the server,
from the caller's organisation, roles and the alert's label (:mod:`minsec.service.security`).

Authentication: ``Authorization: Bearer <token>`` (API tokens, stored hashed, expiring, revocable) or the
browser session cookie set by ``POST /api/auth/login``; cookie-authenticated requests that change anything
must carry the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import fcntl
import io
import json
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import select

from minsec.service import accounts, audit, sharing
from minsec.service.db import ApiToken, Database, Job, Organisation, Subscription, User, lock_held, write_lock_path
from minsec.service.jobs import JobIn, JobOut, JobRunner, job_out, owned_job
from minsec.service.schemas import (
    Aggregate,
    AlertIn,
    AlertOut,
    AlertPage,
    AuditEntryOut,
    AuditVerification,
    LoginIn,
    LoginOut,
    Me,
    NewToken,
    OrganisationIn,
    OrganisationOut,
    Problem,
    RelabelIn,
    Severity,
    ShareIn,
    SubmissionIn,
    SubmissionOut,
    SubscriptionIn,
    SubscriptionOut,
    Tlp,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from minsec.service.security import RESTRICTED, Principal

SESSION_COOKIE, CSRF_COOKIE = "minsec_session", "minsec_csrf"
MAX_BODY_BYTES = 256 * 1024
LOGIN_ATTEMPTS_PER_MINUTE = 20
STREAM_POLL_SECONDS = 5.0        # streams re-check on their own this often (the watcher wakes them sooner)
EVENT_WATCH_SECONDS = 0.02       # how often each process looks for events written by other processes
SUBSCRIPTION_REFRESH_SECONDS = 5.0
FEED_BATCH = 1000
REQUEST_THREADS = 16
WRITE_LOCK_TIMEOUT = 30.0
STREAM_KEEPALIVE_SECONDS = 15.0
MAX_ID = 2**53 - 1          # ids beyond this are not ids (and overflow SQLite's 64-bit integers)
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not authenticated"},
    403: {"model": Problem, "description": "Not allowed for this organisation or role"},
    404: {"model": Problem, "description": "Not found (or not visible to the caller)"},
    422: {"description": "InvalidError input; the message names the field"},
}


# --------------------------------------------------------------------------------------------- plumbing
class Notifier:
    """Wakes live streams when a write transaction added alert events (the database stays the source of
    truth: streams read events from it, so a missed wake-up only delays delivery by one poll)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.event = loop, asyncio.Event()

    def notify(self) -> None:
        if self.loop is not None and self.event is not None:
            self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        event, self.event = self.event, asyncio.Event()
        event.set()

    async def wait(self, timeout: float) -> None:
        if self.event is None:
            await asyncio.sleep(timeout)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), timeout)


class _Resources:
    """What one run of the application holds (opened at start-up, closed at shutdown, so it can restart): the
    audit group-committer and, on SQLite, the connection for in-loop version checks (tens of microseconds; a
    cached page then never leaves the event loop; PostgreSQL checks through a thread like any query)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._committer: audit.GroupCommitter | None = None
        self.version_connection = None
        self.lock_fd: int | None = None

    @property
    def committer(self) -> audit.GroupCommitter:
        if self._committer is None:           # an app driven without its lifespan (some test harnesses)
            self._committer = audit.GroupCommitter(self.database.writing)
        return self._committer

    def open(self) -> None:
        self._committer = audit.GroupCommitter(self.database.writing)
        if self.database.is_sqlite:
            import sqlite3

            self.version_connection = sqlite3.connect(self.database.url.split("///", 1)[-1],
                                                      check_same_thread=False, isolation_level=None)
            path = write_lock_path(self.database.url)
            if path is not None:
                self.lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def close(self) -> None:
        if self._committer is not None:
            self._committer.close()
            self._committer = None
        if self.version_connection is not None:
            self.version_connection.close()
            self.version_connection = None
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


@dataclass(frozen=True)
class FeedEntry:
    event_id: int
    kind: str
    row: sharing.AlertRow
    payload: dict
    text: str


class EventFeed:
    """The recent alert events of this process, loaded once from the database and shared by every live stream
    (each stream only filters by the TLP rule and its subscriptions).  A stream that resumes from an event older
    than the buffer reads the database instead."""

    def __init__(self, database: Database, capacity: int = 10_000) -> None:
        self.database, self.capacity = database, capacity
        self.entries: deque[FeedEntry] = deque()
        self.base = self.last = 0       # the buffer holds every event in (base, last]
        self.changed: asyncio.Event | None = None
        self.executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        # its own thread: a refresh must not queue behind the page builds that every new alert also causes
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minsec-feed")
        self.entries.clear()
        with self.database.reading() as session:
            self.base = self.last = sharing.latest_event_id(session)
        self.changed = asyncio.Event()

    def stop(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)
            self.executor = None

    def _load(self, after: int) -> tuple[list[FeedEntry], int]:
        with self.database.reading() as session:
            rows, last = sharing.events_after(session, None, after, limit=FEED_BATCH, readable_only=False)
            payloads = sharing.to_dict(session, [row for _, row in rows])
        return [FeedEntry(event.id, event.kind, row, payload,
                          json.dumps(payload | {"event": event.kind}, default=str))
                for (event, row), payload in zip(rows, payloads, strict=True)], last

    async def refresh(self) -> None:
        """Append the events written since the last refresh (by any process) and wake the streams."""
        grew = False
        loop = asyncio.get_running_loop()
        while True:
            if self.database.is_sqlite:
                # a few local queries (a millisecond or two): done in the loop, a thread would wait for the GIL
                # at every one of them while the loop serves reads
                entries, last = self._load(self.last)
            else:
                entries, last = await loop.run_in_executor(self.executor, self._load, self.last)
            if last == self.last:
                break
            self.entries.extend(entries)
            while len(self.entries) > self.capacity:
                self.base = self.entries.popleft().event_id
            self.last, grew = last, True
            if len(entries) < FEED_BATCH:
                break           # caught up: no second round trip before waking the streams
        if grew and self.changed is not None:
            changed, self.changed = self.changed, asyncio.Event()
            changed.set()

    def after(self, position: int, until: int | None = None) -> list[FeedEntry] | None:
        """Buffered events in (position, until]; None if the buffer does not cover that range."""
        until = self.last if until is None else until
        if position < self.base or until > self.last:
            return None
        if position >= until:
            return []
        return [entry for entry in self.entries if position < entry.event_id <= until]

    async def wait(self, timeout: float) -> None:
        if self.changed is None:
            await asyncio.sleep(timeout)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout)


class LoginLimiter:
    """At most ``limit`` login attempts per client address per minute (sliding window, in memory)."""

    def __init__(self, limit: int = LOGIN_ATTEMPTS_PER_MINUTE) -> None:
        self.limit, self.seen = limit, {}

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        window = self.seen.setdefault(client, deque())
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.limit:
            return False
        window.append(now)
        return True


class BodyLimit:
    """ASGI middleware: requests with bodies over ``limit`` bytes get 413 before the application reads them."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await JSONResponse({"detail": f"request body over {self.limit} bytes"}, 413)(scope, receive, send)
        received = 0

        async def limited():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, f"request body over {self.limit} bytes")
            return message

        return await self.app(scope, limited, send)


class TokenCache:
    """Bearer token → caller for a few seconds, so that a burst of reads does not look the token up each time.
    Revoking a token clears this process's cache at once; other server processes notice within ``ttl``."""

    def __init__(self, ttl: float = 5.0, size: int = 4096) -> None:
        self.ttl, self.size, self.entries = ttl, size, {}
        self.lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        with self.lock:
            found = self.entries.get(token)
            if found is None or time.monotonic() - found[1] > self.ttl:
                return None
            return found[0]

    def put(self, token: str, principal: Principal) -> None:
        with self.lock:
            if len(self.entries) >= self.size:
                self.entries.clear()
            self.entries[token] = (principal, time.monotonic())

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


class PageCache:
    """Alert listings per caller and query, valid while no alert event happened since (the newest event id is
    a complete version of what anyone may read: creation, relabelling and sharing all add events)."""

    def __init__(self, size: int = 2048) -> None:
        self.size, self.entries = size, {}
        self.lock = threading.Lock()

    def lookup(self, key: tuple) -> tuple[int, Any] | None:
        """(version, value) as cached, current or not."""
        with self.lock:
            return self.entries.get(key)

    def put(self, key: tuple, version: int, value) -> None:
        with self.lock:
            if len(self.entries) >= self.size:
                self.entries.clear()
            self.entries[key] = (version, value)


class SecurityHeaders:
    """ASGI middleware adding the usual protective headers to every HTTP response."""

    HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
               (b"referrer-policy", b"no-referrer"))

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in self.HEADERS if h[0] not in present]
                if b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return await self.app(scope, receive, with_headers)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --------------------------------------------------------------------------------------- authentication
def _lookup_token(database: Database, token: str) -> Principal | None:
    with database.reading() as session:
        user = accounts.user_for_token(session, token)
        return accounts.principal_of(user, "token") if user is not None else None


def _lookup_session(database: Database, cookie: str, method: str, csrf: str | None) -> Principal | None:
    with database.reading() as session:
        found = accounts.user_for_session(session, cookie)
    if found is None:
        return None
    user, browser = found
    if method not in ("GET", "HEAD", "OPTIONS") and csrf != browser.csrf_token:
        raise HTTPException(403, "missing or wrong X-CSRF-Token for a cookie-authenticated request")
    return accounts.principal_of(user, "session")


async def optional_principal(request: Request, authorization: Annotated[str | None, Header()] = None,
                             x_csrf_token: Annotated[str | None, Header()] = None) -> Principal | None:
    """The caller from a bearer token or the session cookie (CSRF-checked for changes); None if anonymous.
    Async, with the database lookups in a thread: a cached token costs no thread hand-off."""
    database: Database = request.app.state.database
    if authorization:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "Authorization must be 'Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
        cache: TokenCache = request.app.state.token_cache
        principal = cache.get(token)
        if principal is None:
            principal = await asyncio.to_thread(_lookup_token, database, token)
            if principal is None:
                raise HTTPException(401, "invalid, expired or revoked token", headers={"WWW-Authenticate": "Bearer"})
            cache.put(token, principal)
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return await asyncio.to_thread(_lookup_session, database, cookie, request.method, x_csrf_token)
    return None


async def required_principal(caller: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if caller is None:
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
    return caller


Caller = Annotated[Principal, Depends(required_principal)]


# ------------------------------------------------------------------------------------------------ the app
def create_app(database: Database, *, secure_cookies: bool = True, warm_pages: bool = False) -> FastAPI:
    """The service (REST API, live stream, public feed) and the dashboard.  ``warm_pages`` builds the most
    visited dashboard pages in a background thread at start-up, so that the first visitor does not wait."""
    notifier, limiter = Notifier(), LoginLimiter()

    runner = JobRunner(database, on_change=notifier.notify)
    resources = _Resources(database)
    feed = EventFeed(database)
    from sqlalchemy.orm import configure_mappers

    configure_mappers()       # once, now, rather than inside the first request that touches the ORM

    async def watch_events() -> None:
        """Refresh the shared feed when this process wrote events (woken at once) or any other process did
        (checked every EVENT_WATCH_SECONDS; on SQLite by a single in-loop query of the newest event id)."""
        while True:
            await notifier.wait(EVENT_WATCH_SECONDS)
            if resources.version_connection is not None and latest_version() == feed.last:
                continue
            await feed.refresh()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        import anyio

        # fewer request threads than anyio's default 40: with the GIL, more runnable threads only lengthen the
        # tail latency of every request
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        notifier.bind(asyncio.get_running_loop())
        resources.open()
        await asyncio.to_thread(feed.start)
        watcher = asyncio.create_task(watch_events())
        if warm_pages:
            threading.Thread(target=app.state.web.warm, name="minsec-warm-pages", daemon=True).start()
        yield
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        # let a refresh in flight return its connection before the database may be disposed
        await asyncio.to_thread(feed.stop)
        resources.close()

    app = FastAPI(title="minsec partnership service", version="1",
                  description="Information sharing between critical-minerals partners under TLP 2.0, with "
                              "audit, live alerts and confidential submissions. Authenticate with "
                              "`Authorization: Bearer <token>` (`minsec admin token`) or the browser session.",
                  lifespan=lifespan,
                  responses={400: {"model": Problem, "description": "Malformed request (e.g. a body that is not "
                                                                     "JSON)"},
                             413: {"model": Problem, "description": f"Request body over {MAX_BODY_BYTES} bytes"}})
    app.state.database, app.state.notifier = database, notifier
    app.state.token_cache, pages = TokenCache(), PageCache()
    app.add_middleware(BodyLimit)

    app.add_middleware(SecurityHeaders)

    for error, status in ((sharing.ForbiddenError, 403), (sharing.NotFoundError, 404), (sharing.InvalidError, 422)):
        def handler(_request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status)
        app.add_exception_handler(error, handler)

    def alerts_out(session, alerts) -> list[dict]:
        return sharing.to_dict(session, alerts)

    async def write_inline(work: Callable):
        """Run a short write transaction. SQLite: in the event loop, once the writer lock is free (polled
        without blocking the loop), because a thread would wait for the GIL at every statement while the loop
        serves reads; PostgreSQL: in a thread."""
        def transaction():
            with database.writing() as session:
                return work(session)

        if resources.lock_fd is None:
            return await asyncio.to_thread(transaction)
        deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(resources.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HTTPException(503, "the database is busy; try again") from None
                await asyncio.sleep(0.001)
        lock_held.value = True
        try:
            return transaction()
        finally:
            lock_held.value = False
            fcntl.flock(resources.lock_fd, fcntl.LOCK_UN)

    def written(alert_id: int) -> dict:
        """An alert as just committed, read outside the write transaction (which stays short)."""
        with database.reading() as session:
            return alerts_out(session, [sharing.row_of(session, alert_id)])[0]

    def audit_read(caller: Principal | None, alerts, via: str):
        """Queue the audit entry of a read of restricted content (group-committed with the reads of concurrent
        requests); returns a future to wait on before returning the content, or None if nothing is restricted."""
        restricted = [a.id for a in alerts if a.tlp in RESTRICTED]
        if caller is None or not restricted:
            return None
        return resources.committer.submit("alert.read", actor_user_id=caller.user_id, actor_org_id=caller.org_id,
                                object_type="alert", object_id=restricted[0] if len(restricted) == 1 else None,
                                detail={"alert_ids": restricted, "via": via})

    def audited(caller: Principal | None, alerts, via: str) -> None:
        """Record a read of restricted content before the content is returned (from a request thread)."""
        future = audit_read(caller, alerts, via)
        if future is not None:
            future.result(30)

    async def audited_async(caller: Principal | None, alerts, via: str) -> None:
        future = audit_read(caller, alerts, via)
        if future is not None:
            await asyncio.wait_for(asyncio.wrap_future(future), 30)

    def latest_version() -> int:
        """The newest alert-event id: the version of everything any caller may read."""
        if resources.version_connection is not None:
            return int(resources.version_connection.execute("SELECT max(id) FROM alert_events").fetchone()[0] or 0)
        with database.reading() as session:
            return sharing.latest_event_id(session)

    auth = APIRouter(prefix="/api/auth", tags=["authentication"])

    @auth.post("/login", response_model=LoginOut, responses={401: ERRORS[401], 429: {"model": Problem}})
    def login(body: LoginIn, request: Request, response: Response) -> dict:
        """Browser login: sets an HttpOnly session cookie and returns the CSRF token for changes."""
        if not limiter.allow(_client(request)):
            raise HTTPException(429, f"more than {limiter.limit} login attempts a minute from this address")
        failure = None
        with database.writing() as session:
            try:
                user, cookie, csrf = accounts.login(session, body.username, body.password, _client(request))
            except accounts.LoginFailedError as exc:
                failure = exc          # the failed attempt (and any lock) is committed before answering
        if failure is not None:
            raise HTTPException(401, str(failure))
        response.set_cookie(SESSION_COOKIE, cookie, httponly=True, secure=secure_cookies, samesite="strict",
                            max_age=int(accounts.SESSION_LIFETIME.total_seconds()), path="/")
        response.set_cookie(CSRF_COOKIE, csrf, httponly=False, secure=secure_cookies, samesite="strict",
                            max_age=int(accounts.SESSION_LIFETIME.total_seconds()), path="/")
        return _me(user) | {"csrf_token": csrf}

    @auth.post("/logout", status_code=204)
    def logout(request: Request, response: Response, caller: Caller) -> Response:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            with database.writing() as session:
                accounts.logout(session, cookie)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        response.status_code = 204
        return response

    @auth.get("/me", response_model=Me, responses={401: ERRORS[401]})
    def me(caller: Caller) -> dict:
        with database.reading() as session:
            return _me(session.get(User, caller.user_id))

    @auth.post("/tokens", response_model=NewToken, status_code=201, responses={401: ERRORS[401]})
    def issue(body: TokenIn, caller: Caller) -> dict:
        """A new API token for the caller (shown once)."""
        with database.writing() as session:
            user = session.get(User, caller.user_id)
            token, row = accounts.issue_token(session, user, body.name, body.expires_in_days, caller)
            return _token(row) | {"token": token}

    @auth.get("/tokens", response_model=list[TokenOut], responses={401: ERRORS[401]})
    def tokens(caller: Caller) -> list[dict]:
        with database.reading() as session:
            rows = session.execute(select(ApiToken).where(ApiToken.user_id == caller.user_id)
                                   .order_by(ApiToken.id)).scalars().all()
            return [_token(r) for r in rows]

    @auth.delete("/tokens/{token_id}", response_model=TokenOut, responses=ERRORS)
    def revoke(token_id: IdPath, caller: Caller) -> dict:
        with database.writing() as session:
            out = _token(accounts.revoke_token(session, caller, token_id))
        app.state.token_cache.clear()
        return out

    # ------------------------------------------------------------------------------------------- admin
    admin = APIRouter(prefix="/api", tags=["organisations and users"])

    @admin.get("/organisations", response_model=list[OrganisationOut], responses={401: ERRORS[401]})
    def organisations(caller: Caller) -> list[dict]:
        """Partnership members and observers (names are not confidential among authenticated users)."""
        with database.reading() as session:
            rows = session.execute(select(Organisation).order_by(Organisation.slug)).scalars().all()
            return [_org(o) for o in rows]

    @admin.post("/organisations", response_model=OrganisationOut, status_code=201, responses=ERRORS)
    def add_organisation(body: OrganisationIn, caller: Caller) -> dict:
        if not caller.may("manage_platform"):
            raise sharing.ForbiddenError("creating organisations needs the platform_admin role")
        with database.writing() as session:
            return _org(accounts.create_organisation(session, body.slug, body.name, body.kind, body.country, caller))

    @admin.get("/users", response_model=list[UserOut], responses=ERRORS)
    def users(caller: Caller) -> list[dict]:
        """Users of the caller's organisation (all organisations for a platform admin)."""
        with database.reading() as session:
            query = select(User).order_by(User.username)
            if not caller.may("manage_platform"):
                query = query.where(User.org_id == caller.org_id)
            return [_user(u) for u in session.execute(query).scalars().all()]

    @admin.post("/users", response_model=UserOut, status_code=201, responses=ERRORS)
    def add_user(body: UserIn, caller: Caller) -> dict:
        with database.writing() as session:
            return _user(accounts.create_user(session, body.username, body.display_name, body.organisation,
                                              list(body.roles), body.password, caller))

    # ------------------------------------------------------------------------------------------ alerts
    alerts = APIRouter(prefix="/api/alerts", tags=["alerts"])

    @alerts.post("", response_model=AlertOut, status_code=201,
                 responses=ERRORS | {503: {"model": Problem, "description": "The database stayed busy for 30 s"}})
    async def publish(body: AlertIn, caller: Caller) -> dict:
        """Publish an alert or report with a TLP label and, for AMBER/AMBER+STRICT/RED, its recipients."""
        alert = await write_inline(lambda session: sharing.create_alert(
            session, caller, title=body.title, body=body.body, tlp=body.tlp, materials=list(body.materials),
            countries=list(body.countries), stage=body.stage, severity=body.severity, source=body.source,
            recipient_orgs=list(body.recipient_orgs), recipient_users=list(body.recipient_users)))
        notifier.notify()
        if not caller.org_slug:
            return await asyncio.to_thread(written, alert.id)
        return sharing.view(alert, caller.org_slug, list(body.recipient_orgs), list(body.recipient_users))

    @alerts.get("", response_model=AlertPage, responses={401: ERRORS[401]})
    async def list_alerts(caller: Caller, material: Annotated[str | None, Query(max_length=64)] = None,
                    country: Annotated[str | None, Query(max_length=64)] = None,
                    severity: Severity | None = None, tlp: Tlp | None = None,
                    q: Annotated[str | None, Query(max_length=200, description="Text search in title and body")]
                    = None,
                    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
        """Alerts the caller may read, newest first (the TLP rule is applied in the query)."""
        key = (caller.user_id, material, country, severity, tlp, q, before_id, limit)

        def encode(rows: list, dicts: list[dict]) -> tuple:
            body = {"alerts": dicts, "next_before_id": rows[-1].id if len(rows) == limit else None}
            return rows, dicts, json.dumps(body, default=str, separators=(",", ":")).encode()

        def build(version: int):
            with database.reading() as session:
                found = sharing.list_alerts(session, caller, material=material, country=country,
                                            severity=severity, tlp=tlp, q=q, before_id=before_id, limit=limit)
                built = encode(found, alerts_out(session, found))
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

        in_loop = resources.version_connection is not None
        version = latest_version() if in_loop else await asyncio.to_thread(latest_version)
        entry = pages.lookup(key)
        cached = entry[1] if entry is not None and entry[0] == version else None
        if cached is None and entry is not None:
            if version > feed.last and in_loop:
                await feed.refresh()          # catch the shared feed up first (it also wakes the streams)
            cached = advance(entry, version)
        if cached is None:
            # SQLite: a few local queries, done in the loop (a thread would queue for the GIL at each of them)
            cached = build(version) if in_loop else await asyncio.to_thread(build, version)
        await audited_async(caller, cached[0], "search" if q else "list")
        return Response(cached[2], media_type="application/json")

    @alerts.get("/export", responses={401: ERRORS[401], 200: {"content": {"text/csv": {}, "application/json": {}}}})
    def export(caller: Caller, format: Literal["csv", "json"] = "csv",
               material: str | None = None, tlp: Tlp | None = None,
               limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000) -> Response:
        """The caller's readable alerts as CSV or JSON, each row with its TLP label."""
        with database.reading() as session:
            found = sharing.list_alerts(session, caller, material=material, tlp=tlp, limit=limit)
            rows = alerts_out(session, found)
        audited(caller, found, "export")
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

    @alerts.get("/stream", responses={401: ERRORS[401], 200: {"content": {"text/event-stream": {}}}})
    async def stream(request: Request, caller: Caller,
                     last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
                     after: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Resume after this event id "
                                                                         "(or send Last-Event-ID)")] = None,
                     subscribed: Annotated[bool, Query(description="Only alerts matching the caller's "
                                                                   "subscriptions")] = False) -> StreamingResponse:
        """Server-Sent Events: one ``alert`` event per new or changed alert the caller may read.  Each event
        carries its id; reconnecting with ``Last-Event-ID`` delivers everything after it, so nothing is lost."""
        start = after
        if start is None and last_event_id:
            if not last_event_id.strip().isdigit() or int(last_event_id) > MAX_ID:
                raise HTTPException(422, "Last-Event-ID: not an event id this stream sent")
            start = int(last_event_id)
        if start is None:
            with database.reading() as session:
                start = sharing.latest_event_id(session)

        def poll(position: int) -> tuple[list[tuple[int, str]], int]:
            """The database path, for a resumption older than the shared feed."""
            with database.reading() as session:
                found, last = sharing.events_after(session, caller, position, subscriptions=subscriptions())
                payloads = alerts_out(session, [a for _, a in found])
            audited(caller, [a for _, a in found], "stream")
            return [(event.id, json.dumps(p | {"event": event.kind}, default=str))
                    for (event, _), p in zip(found, payloads, strict=True)], last

        cached_subscriptions: list = [None, 0.0]

        def subscriptions():
            if not subscribed:
                return None
            if time.monotonic() - cached_subscriptions[1] > SUBSCRIPTION_REFRESH_SECONDS:
                with database.reading() as session:
                    cached_subscriptions[0] = session.execute(
                        select(Subscription).where(Subscription.user_id == caller.user_id)).scalars().all()
                cached_subscriptions[1] = time.monotonic()
            return cached_subscriptions[0]

        async def from_feed(entries) -> list[tuple[int, str]]:
            """Filter the shared feed in the event loop (microseconds per event); only the subscription refresh
            and the audit of restricted reads go to a thread."""
            subs = None
            if subscribed:
                fresh = time.monotonic() - cached_subscriptions[1] <= SUBSCRIPTION_REFRESH_SECONDS
                subs = cached_subscriptions[0] if fresh else await asyncio.to_thread(subscriptions)
            chosen = [e for e in entries if sharing.readable(caller, e.row)
                      and (subs is None or sharing.matches_any(e.row, subs))]
            await audited_async(caller, [e.row for e in chosen], "stream")
            return [(e.event_id, e.text) for e in chosen]

        async def events() -> AsyncIterator[str]:
            position = start
            yield f"retry: 2000\nid: {position}\n: connected\n\n"
            idle = 0.0
            while not await request.is_disconnected():
                entries = feed.after(position)
                if entries is None:
                    found, position_next = await asyncio.to_thread(poll, position)
                elif entries:
                    found, position_next = await from_feed(entries), entries[-1].event_id
                else:
                    found, position_next = [], max(position, feed.last)
                for event_id, text in found:
                    yield f"id: {event_id}\nevent: alert\ndata: {text}\n\n"
                if position_next != position:
                    position = position_next
                    if not found or found[-1][0] != position:
                        # events the caller may not read were passed over: move its Last-Event-ID past them
                        yield f"id: {position}\n: skipped\n\n"
                    continue        # more may be waiting
                began = time.monotonic()
                await feed.wait(STREAM_POLL_SECONDS)
                idle += time.monotonic() - began
                if idle >= STREAM_KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield ": keep-alive\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @alerts.get("/{alert_id}", response_model=AlertOut, responses=ERRORS)
    def get_alert(alert_id: IdPath, caller: Caller) -> dict:
        with database.reading() as session:
            alert = sharing.get_alert(session, caller, alert_id)
            out = alerts_out(session, [alert])[0]
        audited(caller, [alert], "get")
        return out

    @alerts.patch("/{alert_id}/label", response_model=AlertOut, responses=ERRORS)
    def relabel(alert_id: IdPath, body: RelabelIn, caller: Caller) -> dict:
        """Change the TLP label; only the author's organisation may (a downgrade widens who can read it)."""
        with database.writing() as session:
            sharing.relabel(session, caller, alert_id, body.tlp)
        notifier.notify()
        return written(alert_id)

    @alerts.post("/{alert_id}/recipients", response_model=AlertOut, responses=ERRORS)
    def add_recipients(alert_id: IdPath, body: ShareIn, caller: Caller) -> dict:
        """Address the alert to further organisations (AMBER, AMBER+STRICT) or individuals (RED)."""
        with database.writing() as session:
            sharing.share(session, caller, alert_id, list(body.organisations), list(body.users))
        notifier.notify()
        return written(alert_id)

    # ------------------------------------------------------------------------------------------- public
    public = APIRouter(prefix="/public", tags=["public feed"])

    @public.get("/alerts", response_model=list[AlertOut])
    def public_alerts(limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict]:
        """TLP:CLEAR alerts, no authentication."""
        with database.reading() as session:
            return alerts_out(session, sharing.list_alerts(session, None, limit=limit))

    @public.get("/feed.atom", responses={200: {"content": {"application/atom+xml": {}}}})
    def atom(request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
        """TLP:CLEAR alerts as an Atom feed (RFC 4287)."""
        with database.reading() as session:
            rows = alerts_out(session, sharing.list_alerts(session, None, limit=limit))
        return Response(atom_feed(rows, str(request.base_url).rstrip("/")), media_type="application/atom+xml")

    # ------------------------------------------------------------------------------------ subscriptions
    subs = APIRouter(prefix="/api/subscriptions", tags=["subscriptions"])

    @subs.get("", response_model=list[SubscriptionOut], responses={401: ERRORS[401]})
    def my_subscriptions(caller: Caller) -> list[dict]:
        with database.reading() as session:
            rows = session.execute(select(Subscription).where(Subscription.user_id == caller.user_id)
                                   .order_by(Subscription.id)).scalars().all()
            return [_subscription(s) for s in rows]

    @subs.post("", response_model=SubscriptionOut, status_code=201, responses={401: ERRORS[401]})
    def subscribe(body: SubscriptionIn, caller: Caller) -> dict:
        """Follow alerts by material, country and minimum severity (stream with ``?subscribed=true``)."""
        with database.writing() as session:
            row = Subscription(user_id=caller.user_id, materials=list(body.materials),
                               countries=[c.upper() for c in body.countries], min_severity=body.min_severity)
            session.add(row)
            session.flush()
            return _subscription(row)

    @subs.delete("/{subscription_id}", status_code=204, responses=ERRORS)
    def unsubscribe(subscription_id: IdPath, caller: Caller) -> Response:
        with database.writing() as session:
            row = session.get(Subscription, subscription_id)
            if row is None or row.user_id != caller.user_id:
                raise sharing.NotFoundError(f"subscription {subscription_id} not found")
            session.delete(row)
        return Response(status_code=204)

    # -------------------------------------------------------------------------------------- submissions
    confidential = APIRouter(prefix="/api/submissions", tags=["confidential submissions"])

    @confidential.post("", response_model=SubmissionOut, status_code=201, responses=ERRORS)
    def submit(body: SubmissionIn, caller: Caller) -> dict:
        """Report a stockpile holding or an emergency need; other organisations see only aggregates."""
        with database.writing() as session:
            row = sharing.submit(session, caller, kind=body.kind, material=body.material,
                                 quantity_t=body.quantity_t, as_of=body.as_of, note=body.note)
            return _submission(row)

    @confidential.get("/mine", response_model=list[SubmissionOut], responses={401: ERRORS[401]})
    def mine(caller: Caller) -> list[dict]:
        """The caller's organisation's own submissions."""
        from minsec.service.db import Submission

        with database.reading() as session:
            rows = session.execute(select(Submission).where(Submission.org_id == caller.org_id)
                                   .order_by(Submission.id)).scalars().all()
            return [_submission(r) for r in rows]

    @confidential.get("/aggregates", response_model=list[Aggregate], responses={401: ERRORS[401]})
    def aggregates(caller: Caller) -> list[dict]:
        """Totals per kind and material over at least three contributing organisations (never one partner's
        figure); the caller's own latest figure alongside."""
        with database.reading() as session:
            return sharing.aggregates(session, caller)

    # -------------------------------------------------------------------------------------------- audit
    audit_router = APIRouter(prefix="/api/audit", tags=["audit"])

    @audit_router.get("/verify", response_model=AuditVerification, responses=ERRORS)
    def verify(caller: Caller) -> dict:
        """Recompute the hash chain (platform admins)."""
        if not caller.may("manage_platform"):
            raise sharing.ForbiddenError("verifying the audit log needs the platform_admin role")
        with database.reading() as session:
            return audit.verify(session).as_dict()

    @audit_router.get("", response_model=list[AuditEntryOut], responses=ERRORS)
    def audit_entries(caller: Caller, after_seq: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
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

    # --------------------------------------------------------------------------------------------- jobs
    jobs_router = APIRouter(prefix="/api/jobs", tags=["background jobs"])

    @jobs_router.post("", response_model=JobOut, status_code=202, responses=ERRORS)
    def submit_job(body: JobIn, caller: Caller) -> dict:
        """Start a long analysis (scenario run, stockpile optimisation, price-floor valuation, surveillance,
        early-warning scan); poll ``GET /api/jobs/{id}`` and fetch ``/result`` when it is done."""
        return job_out(runner.submit(caller, body.params))

    @jobs_router.get("", response_model=list[JobOut], responses={401: ERRORS[401]})
    def list_jobs(caller: Caller, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict]:
        """The caller's organisation's jobs, newest first."""
        with database.reading() as session:
            rows = session.execute(select(Job).where(Job.org_id == caller.org_id).order_by(Job.created_at.desc())
                                   .limit(limit)).scalars().all()
            return [job_out(j) for j in rows]

    @jobs_router.get("/{job_id}", response_model=JobOut, responses=ERRORS)
    def job_status(job_id: str, caller: Caller) -> dict:
        with database.reading() as session:
            return job_out(owned_job(session, caller, job_id))

    @jobs_router.get("/{job_id}/result", responses=ERRORS | {409: {"model": Problem,
                                                                    "description": "The job has not finished"}})
    def job_result(job_id: str, caller: Caller) -> dict[str, Any]:
        """The job's result (JSON; its shape depends on the kind)."""
        with database.reading() as session:
            job = owned_job(session, caller, job_id)
            if job.status != "done":
                raise HTTPException(409, f"job {job_id} is {job.status}" + (f": {job.error}" if job.error else ""))
            return job.result or {}

    # ---------------------------------------------------------------------------------------- analytics
    data = APIRouter(prefix="/api", tags=["analytics"])

    @data.get("/materials", responses={401: ERRORS[401]})
    def materials(caller: Caller) -> list[dict[str, Any]]:
        """The material catalogue (id, name, family, CRMA and US critical-list status)."""
        from minsec.data import catalogue

        frame = catalogue.materials().reset_index()
        return json.loads(frame.to_json(orient="records"))

    @data.get("/risk/concentration", responses={401: ERRORS[401], 422: ERRORS[422]})
    def concentration(caller: Caller, material: str | None = None,
                      stage: Literal["mining", "refining"] | None = None,
                      year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
                      source: Literal["usgs", "wmd"] = "usgs") -> list[dict[str, Any]]:
        """Shares, HHI and the CRMA 65 % test per material × stage × year (published world totals)."""
        from minsec.risk.tables import concentration_table

        try:
            frame = concentration_table(analytics.chain(), source, material, stage, year)
        except (KeyError, ValueError) as exc:
            raise sharing.InvalidError(str(exc.args[0]) if exc.args else str(exc)) from None
        return json.loads(frame.to_json(orient="records"))

    @data.get("/scenarios", responses={401: ERRORS[401]})
    def scenarios(caller: Caller) -> list[dict[str, Any]]:
        """The shipped scenario library (run one with a ``scenario_run`` job)."""
        from minsec.scenarios.schema import library, load_scenario

        return [load_scenario(path).model_dump(mode="json") | {"id": name} for name, path in library().items()]

    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok", "database": "sqlite" if database.is_sqlite else "postgresql"}

    for router in (auth, admin, alerts, public, subs, confidential, audit_router, jobs_router, data):
        app.include_router(router)
    from minsec.web.pages import mount

    app.state.web = mount(app, analytics.chain)
    return app


# ------------------------------------------------------------------------------------------------ helpers
class _Analytics:
    """The bundled supply chain, loaded once per process on first use (:func:`minsec.load`, cached)."""

    def chain(self):
        import minsec

        return minsec.load()


analytics = _Analytics()


def _me(user: User) -> dict:
    return {"user_id": user.id, "username": user.username, "display_name": user.display_name,
            "organisation": user.organisation.slug, "organisation_name": user.organisation.name,
            "organisation_kind": user.organisation.kind, "roles": list(user.roles)}


def _token(row: ApiToken) -> dict:
    return {"id": row.id, "name": row.name, "prefix": row.prefix, "created_at": row.created_at,
            "expires_at": row.expires_at, "revoked_at": row.revoked_at}


def _org(org: Organisation) -> dict:
    return {"id": org.id, "slug": org.slug, "name": org.name, "kind": org.kind, "country": org.country}


def _user(user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "organisation": user.organisation.slug, "roles": list(user.roles), "active": user.active}


def _subscription(row: Subscription) -> dict:
    return {"id": row.id, "materials": row.materials, "countries": row.countries, "min_severity": row.min_severity}


def _submission(row) -> dict:
    return {"id": row.id, "kind": row.kind, "material": row.material, "quantity_t": row.quantity_t,
            "as_of": row.as_of, "note": row.note, "created_at": row.created_at}


def atom_feed(rows: list[dict], base: str) -> bytes:
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed")
    ET.SubElement(feed, f"{{{ns}}}title").text = "minsec partnership alerts (TLP:CLEAR)"
    ET.SubElement(feed, f"{{{ns}}}id").text = f"{base}/public/feed.atom"
    ET.SubElement(feed, f"{{{ns}}}link", href=f"{base}/public/feed.atom", rel="self")
    updated = max((r["updated_at"] for r in rows), default=None)
    ET.SubElement(feed, f"{{{ns}}}updated").text = updated or "1970-01-01T00:00:00+00:00"
    for row in rows:
        entry = ET.SubElement(feed, f"{{{ns}}}entry")
        ET.SubElement(entry, f"{{{ns}}}title").text = f"[TLP:CLEAR] [{row['severity']}] {row['title']}"
        ET.SubElement(entry, f"{{{ns}}}id").text = f"{base}/public/alerts/{row['id']}"
        ET.SubElement(entry, f"{{{ns}}}updated").text = row["updated_at"]
        ET.SubElement(entry, f"{{{ns}}}published").text = row["created_at"]
        author = ET.SubElement(entry, f"{{{ns}}}author")
        ET.SubElement(author, f"{{{ns}}}name").text = row["author_organisation"]
        for material in row["materials"]:
            ET.SubElement(entry, f"{{{ns}}}category", term=material)
        ET.SubElement(entry, f"{{{ns}}}content", type="text").text = row["body"]
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
