"""The service's ASGI middlewares, applied to every request of the app (API and pages alike): the request-body
limit (:class:`BodyLimit`) and the protective response headers (:class:`SecurityHeaders`)."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse

MAX_BODY_BYTES = 256 * 1024


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


class SecurityHeaders:
    """ASGI middleware adding the usual protective headers to every HTTP response."""

    HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
               (b"referrer-policy", b"no-referrer"))
    #: an HTML fragment (``/ui/…``, inserted by a page that carries the dashboard's policy) opened on its own runs
    #: nothing and loads nothing
    FRAGMENT_CSP = (b"content-security-policy", b"default-src 'none'; style-src 'self'; frame-ancestors 'none'")

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
                if scope["path"].startswith("/ui/") and b"content-security-policy" not in present:
                    extra.append(self.FRAGMENT_CSP)
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return await self.app(scope, receive, with_headers)
