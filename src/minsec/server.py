"""The partnership service's application, composed: :func:`create_app` builds the FastAPI app (lifespan,
middleware, the REST API's routers from :mod:`minsec.service.routers`, the dashboard's pages from
:mod:`minsec.web.pages`, the exception handlers and ``/api/health``), and :func:`create` is the uvicorn factory
for multi-process serving (``minsec serve --workers N`` starts ``minsec.server:create``: each worker process
builds its app from the environment that ``minsec serve`` sets).

Every decision about who may see or do what is taken on the server, from the caller's organisation, roles and
the alert's label (:mod:`minsec.service.security`); authentication is in :mod:`minsec.service.deps`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from minsec.errors import MinsecError, NoDataError
from minsec.service import sharing
from minsec.service.db import Database
from minsec.service.deps import Db
from minsec.service.middleware import MAX_BODY_BYTES, BodyLimit, SecurityHeaders
from minsec.service.routers import (
    admin,
    alerts,
    analytics,
    audit,
    auth,
    jobs,
    planning,
    policy,
    public,
    research,
    submissions,
    subscriptions,
)
from minsec.service.runtime import ServiceState
from minsec.service.schemas import Problem
from minsec.web import pages

ROUTERS = (auth, admin, alerts, public, subscriptions, submissions, audit, jobs, analytics, research, policy,
           planning)
#: what each error a caller can cause answers (the most specific class wins; any other MinsecError — an unknown
#: material, a year not in the data — is input that cannot be used: 422 with its message)
ERROR_STATUS = ((sharing.ForbiddenError, 403), (sharing.NotFoundError, 404), (sharing.InvalidError, 422),
                (NoDataError, 404), (MinsecError, 422))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    service: ServiceState = app.state.service
    await service.start()
    if app.state.warm_pages:
        threading.Thread(target=pages.warm, name="minsec-warm-pages", daemon=True).start()
    yield
    await service.stop()


def _refusal(status: int):
    """The handler answering one of :mod:`minsec.service.sharing`'s errors with ``status`` and its message."""
    def handler(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status)

    return handler


def health(database: Db) -> dict[str, str]:
    return {"status": "ok", "database": "sqlite" if database.is_sqlite else "postgresql"}


def create_app(database: Database, *, secure_cookies: bool = True, warm_pages: bool = False) -> FastAPI:
    """The service (REST API, live stream, public feed) and the dashboard.  ``warm_pages`` builds the most
    visited dashboard pages in a background thread at start-up, so that the first visitor does not wait."""
    from sqlalchemy.orm import configure_mappers

    service = ServiceState(database, secure_cookies=secure_cookies)
    configure_mappers()       # once, now, rather than inside the first request that touches the ORM
    app = FastAPI(title="minsec partnership service", version="1",
                  description="Information sharing between critical-minerals partners under TLP 2.0, with "
                              "audit, live alerts and confidential submissions. Authenticate with "
                              "`Authorization: Bearer <token>` (`minsec admin token`) or the browser session.",
                  lifespan=lifespan,
                  responses={400: {"model": Problem, "description": "Malformed request (e.g. a body that is not "
                                                                     "JSON)"},
                             413: {"model": Problem, "description": f"Request body over {MAX_BODY_BYTES} bytes"}})
    app.state.service, app.state.warm_pages = service, warm_pages
    app.state.web_assets = pages.static_assets()
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    for error, status in ERROR_STATUS:
        app.add_exception_handler(error, _refusal(status))
    app.add_exception_handler(pages.SignInRequiredError, pages.sign_in_first)
    app.add_api_route("/api/health", health, methods=["GET"], tags=["service"])
    for module in ROUTERS:
        app.include_router(module.router)
    app.include_router(pages.router)
    return app


def create() -> FastAPI:
    """The uvicorn factory (``minsec.server:create``): the app on ``MINSEC_DATABASE``."""
    from minsec.service.db import connect

    database = connect(os.environ["MINSEC_DATABASE"])
    return create_app(database, secure_cookies=os.environ.get("MINSEC_SECURE_COOKIES", "1") == "1", warm_pages=True)
