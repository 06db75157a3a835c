"""The ASGI application factory for multi-process serving (``minsec serve --workers N``): each worker process
builds its app from the environment that ``minsec serve`` sets."""

from __future__ import annotations

import os

from fastapi import FastAPI


def create() -> FastAPI:
    from minsec.service.api import create_app
    from minsec.service.db import connect

    database = connect(os.environ["MINSEC_DATABASE"])
    return create_app(database, secure_cookies=os.environ.get("MINSEC_SECURE_COOKIES", "1") == "1", warm_pages=True)
