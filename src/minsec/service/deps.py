"""The dependencies shared by the service's routers and the dashboard's pages: the per-app service state
(:class:`~minsec.service.runtime.ServiceState`, kept on ``app.state.service``) and its parts, the caller
(``optional_principal`` / ``required_principal`` and the ``Viewer`` / ``Caller`` parameter types), and the
process's supply chain (``supply_chain``).  Handlers take them as parameters, so a test may replace any of them
through ``app.dependency_overrides``.

Authentication: ``Authorization: Bearer <token>`` (API tokens, stored hashed, expiring, revocable) or the
browser session cookie set by ``POST /api/auth/login``; cookie-authenticated requests that change anything
must carry the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request

from minsec.service import accounts
from minsec.service.db import Database
from minsec.service.jobs import JobRunner
from minsec.service.runtime import ServiceState
from minsec.service.security import Principal

SESSION_COOKIE, CSRF_COOKIE = "minsec_session", "minsec_csrf"


# -------------------------------------------------------------------------------------------- service state
# async, like every dependency here that does no I/O: a plain function would be run in a worker thread
async def get_service(request: Request) -> ServiceState:
    """The state of the application serving the request."""
    return request.app.state.service


async def get_database(service: Annotated[ServiceState, Depends(get_service)]) -> Database:
    return service.database


async def get_runner(service: Annotated[ServiceState, Depends(get_service)]) -> JobRunner:
    return service.runner


Service = Annotated[ServiceState, Depends(get_service)]
Db = Annotated[Database, Depends(get_database)]
Runner = Annotated[JobRunner, Depends(get_runner)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --------------------------------------------------------------------------------------------- the caller
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


async def optional_principal(request: Request, service: Service,
                             authorization: Annotated[str | None, Header()] = None,
                             x_csrf_token: Annotated[str | None, Header()] = None) -> Principal | None:
    """The caller from a bearer token or the session cookie (CSRF-checked for changes); None if anonymous.
    Async, with the database lookups in a thread: a cached token costs no thread hand-off."""
    database = service.database
    if authorization:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "Authorization must be 'Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
        cache = service.token_cache
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


Viewer = Annotated[Principal | None, Depends(optional_principal)]
Caller = Annotated[Principal, Depends(required_principal)]


# --------------------------------------------------------------------------------------------- the data
def supply_chain() -> Any:
    """The service's supply chain (:func:`minsec.service.jobs.analytics_chain`: the bundled dataset unless
    ``minsec --data DIR serve``), loaded once per process on first use; a plain function, so the first load
    runs in a worker thread rather than in the event loop."""
    from minsec.service.jobs import analytics_chain

    return analytics_chain()


Chain = Annotated[Any, Depends(supply_chain)]
