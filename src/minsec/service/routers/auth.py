"""``/api/auth``: browser login and logout (session cookie + CSRF token), the caller's own account, and API
tokens (issued, listed, revoked)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select

from minsec.service import accounts, audit
from minsec.service.db import ApiToken, User
from minsec.service.deps import CSRF_COOKIE, SESSION_COOKIE, Caller, Db, Service, client_address
from minsec.service.routers.common import ERRORS, IdPath
from minsec.service.schemas import LoginIn, LoginOut, Me, NewToken, Problem, TokenIn, TokenOut

router = APIRouter(prefix="/api/auth", tags=["authentication"])


@router.post("/login", response_model=LoginOut, responses={401: ERRORS[401], 429: {"model": Problem}})
def login(body: LoginIn, request: Request, response: Response, service: Service) -> dict:
    """Browser login: sets an HttpOnly session cookie and returns the CSRF token for changes."""
    limiter, client = service.limiter, client_address(request)
    wait, first_refusal = limiter.wait(client)
    if wait:
        if first_refusal:              # audited once a window: a flood of refusals writes one entry, not many
            with service.database.writing() as session:
                audit.append(session, "login.rate_limited", detail={"client": client, "limit_per_minute":
                                                                    limiter.limit})
        raise HTTPException(429, f"more than {limiter.limit} login attempts a minute from this address",
                            headers={"Retry-After": str(wait)})
    failure = None
    with service.database.writing() as session:
        try:
            user, cookie, csrf = accounts.login(session, body.username, body.password, client_address(request))
        except accounts.LoginFailedError as exc:
            failure = exc          # the failed attempt (and any lock) is committed before answering
    if isinstance(failure, accounts.LoginThrottledError):
        raise HTTPException(429, str(failure), headers={"Retry-After": str(failure.retry_after)})
    if failure is not None:
        raise HTTPException(401, str(failure))
    secure, max_age = service.secure_cookies, int(accounts.SESSION_LIFETIME.total_seconds())
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, secure=secure, samesite="strict", max_age=max_age,
                        path="/")
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, secure=secure, samesite="strict", max_age=max_age,
                        path="/")
    return _me(user) | {"csrf_token": csrf}


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, caller: Caller, database: Db) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with database.writing() as session:
            accounts.logout(session, cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=Me, responses={401: ERRORS[401]})
def me(caller: Caller, database: Db) -> dict:
    with database.reading() as session:
        return _me(session.get(User, caller.user_id))


@router.post("/tokens", response_model=NewToken, status_code=201, responses={401: ERRORS[401]})
def issue(body: TokenIn, caller: Caller, database: Db) -> dict:
    """A new API token for the caller (shown once)."""
    with database.writing() as session:
        user = session.get(User, caller.user_id)
        token, row = accounts.issue_token(session, user, body.name, body.expires_in_days, caller)
        return _token(row) | {"token": token}


@router.get("/tokens", response_model=list[TokenOut], responses={401: ERRORS[401]})
def tokens(caller: Caller, database: Db) -> list[dict]:
    with database.reading() as session:
        rows = session.execute(select(ApiToken).where(ApiToken.user_id == caller.user_id)
                               .order_by(ApiToken.id)).scalars().all()
        return [_token(r) for r in rows]


@router.delete("/tokens/{token_id}", response_model=TokenOut, responses=ERRORS)
def revoke(token_id: IdPath, caller: Caller, service: Service) -> dict:
    with service.database.writing() as session:
        out = _token(accounts.revoke_token(session, caller, token_id))
    service.token_cache.clear()
    return out


def _me(user: User) -> dict:
    return {"user_id": user.id, "username": user.username, "display_name": user.display_name,
            "organisation": user.organisation.slug, "organisation_name": user.organisation.name,
            "organisation_kind": user.organisation.kind, "roles": list(user.roles)}


def _token(row: ApiToken) -> dict:
    return {"id": row.id, "name": row.name, "prefix": row.prefix, "created_at": row.created_at,
            "expires_at": row.expires_at, "revoked_at": row.revoked_at}
