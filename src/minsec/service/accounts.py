"""Organisations, users, API tokens and browser sessions; login throttled per (user name, client address) with
growing delays after repeated failures — never an account lockout, which would let anyone lock any account from
anywhere and tell which names exist."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from minsec.errors import MinsecError
from minsec.service import audit
from minsec.service.db import (
    ApiToken,
    BrowserSession,
    LoginThrottle,
    Organisation,
    OrganisationClient,
    User,
    utcnow,
)
from minsec.service.security import (
    ORG_KINDS,
    ROLES,
    Principal,
    check_password,
    hash_password,
    new_token,
    token_hash,
)
from minsec.service.sharing import ForbiddenError, InvalidError, NotFoundError

#: failed logins of one (user name, address) answered at once; then each waits twice as long as the one before,
#: from FIRST_DELAY up to MAX_DELAY (OWASP Authentication Cheat Sheet: throttle, do not lock out)
FREE_FAILURES = 3
FIRST_DELAY = dt.timedelta(seconds=2)
MAX_DELAY = dt.timedelta(minutes=15)
#: a pair's failures are forgotten this long after its last one (and at once after a successful login)
FAILURE_MEMORY = dt.timedelta(hours=24)
SESSION_LIFETIME = dt.timedelta(hours=12)


def principal_of(user: User, via: str = "token") -> Principal:
    return Principal(user.id, user.org_id, user.organisation.kind, frozenset(user.roles), user.username, via,
                     user.organisation.slug)


def create_organisation(session: Session, slug: str, name: str, kind: str, country: str | None = None,
                        actor: Principal | None = None) -> Organisation:
    if kind not in ORG_KINDS:
        raise InvalidError(f"kind: must be one of {', '.join(ORG_KINDS)}")
    if session.execute(select(Organisation).where(Organisation.slug == slug)).scalar_one_or_none():
        raise InvalidError(f"slug: organisation {slug!r} exists already")
    org = Organisation(slug=slug, name=name, kind=kind, country=country)
    session.add(org)
    session.flush()
    audit.append(session, "organisation.create", actor_user_id=actor.user_id if actor else None,
                 actor_org_id=actor.org_id if actor else None, object_type="organisation", object_id=org.id,
                 detail={"slug": slug, "kind": kind})
    return org


def add_client(session: Session, organisation: str, client: str, actor: Principal | None = None
               ) -> OrganisationClient:
    """Record ``client`` as a client of ``organisation`` (by slug): a recipient organisation may pass TLP:AMBER
    alerts on only to its own clients (TLP 2.0).  Platform administrators record the relation."""
    if actor is not None and not actor.may("manage_platform"):
        raise ForbiddenError("recording an organisation's clients needs the platform_admin role")
    slugs = {slug: session.execute(select(Organisation).where(Organisation.slug == slug)).scalar_one_or_none()
             for slug in (organisation, client)}
    unknown = [slug for slug, org in slugs.items() if org is None]
    if unknown:
        raise InvalidError(f"unknown organisation(s) {', '.join(repr(u) for u in unknown)}")
    if organisation == client:
        raise InvalidError("client: an organisation is not its own client")
    row = session.get(OrganisationClient, (slugs[organisation].id, slugs[client].id))
    if row is None:
        row = OrganisationClient(org_id=slugs[organisation].id, client_org_id=slugs[client].id)
        session.add(row)
        audit.append(session, "organisation.client", actor_user_id=actor.user_id if actor else None,
                     actor_org_id=actor.org_id if actor else None, object_type="organisation",
                     object_id=slugs[organisation].id, detail={"client": client})
    return row


def create_user(session: Session, username: str, display_name: str, organisation: str, roles: list[str],
                password: str | None = None, actor: Principal | None = None) -> User:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidError(f"roles: unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")
    org = session.execute(select(Organisation).where(Organisation.slug == organisation)).scalar_one_or_none()
    if org is None:
        raise InvalidError(f"organisation: unknown organisation {organisation!r}")
    if actor is not None:
        if not actor.may("manage_org_users"):
            raise ForbiddenError("managing users needs the org_admin or platform_admin role")
        if "platform_admin" not in actor.roles and (org.id != actor.org_id or "platform_admin" in roles):
            raise ForbiddenError("an org_admin manages users of its own organisation only (and cannot make platform "
                            "admins)")
    if session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise InvalidError(f"username: {username!r} is taken")
    user = User(org_id=org.id, username=username, display_name=display_name, roles=sorted(set(roles)),
                password_hash=hash_password(password) if password else None, organisation=org)
    session.add(user)
    session.flush()
    audit.append(session, "user.create", actor_user_id=actor.user_id if actor else None,
                 actor_org_id=actor.org_id if actor else None, object_type="user", object_id=user.id,
                 detail={"username": username, "organisation": organisation, "roles": sorted(set(roles))})
    return user


def issue_token(session: Session, user: User, name: str, days: int = 90,
                actor: Principal | None = None) -> tuple[str, ApiToken]:
    token, digest = new_token()
    row = ApiToken(user_id=user.id, name=name, token_hash=digest, prefix=token[:8],
                   expires_at=utcnow() + dt.timedelta(days=days))
    session.add(row)
    session.flush()
    audit.append(session, "token.issue", actor_user_id=actor.user_id if actor else user.id,
                 actor_org_id=actor.org_id if actor else user.org_id, object_type="token", object_id=row.id,
                 detail={"user": user.username, "name": name, "expires_at": row.expires_at.isoformat()})
    return token, row


def revoke_token(session: Session, principal: Principal, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"token {token_id} not found")
    owner = session.get(User, row.user_id)
    own = row.user_id == principal.user_id
    admin = principal.may("manage_platform") or (principal.may("manage_org_users") and owner.org_id == principal.org_id)
    if not (own or admin):
        raise NotFoundError(f"token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append(session, "token.revoke", actor_user_id=principal.user_id, actor_org_id=principal.org_id,
                     object_type="token", object_id=row.id, detail={"user": owner.username})
    return row


def user_for_token(session: Session, token: str) -> User | None:
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def user_for_session(session: Session, cookie: str) -> tuple[User, BrowserSession] | None:
    row = session.execute(select(BrowserSession).where(BrowserSession.token_hash == token_hash(cookie))
                          ).scalar_one_or_none()
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return (user, row) if user is not None and user.active else None


class LoginFailedError(MinsecError):
    """Wrong credentials (the message never says which of user name or password, nor whether the name exists)."""


class LoginThrottledError(LoginFailedError):
    """Too many recent failures of this user name from this address: ``retry_after`` seconds to wait."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def throttle_delay(failures: int) -> dt.timedelta:
    """The wait after the ``failures``-th consecutive failure of a (user name, address): none for the first
    :data:`FREE_FAILURES`, then FIRST_DELAY, doubling, at most MAX_DELAY."""
    if failures <= FREE_FAILURES:
        return dt.timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - FREE_FAILURES - 1, 20), MAX_DELAY)


def login(session: Session, username: str, password: str, client: str) -> tuple[User, str, str]:
    """Check the password; returns the user, a new session cookie value and its CSRF token.

    Failures are counted per (submitted user name, client address) — the same for a name that does not exist,
    with the same answer and the same work (a password hash checked either way) — and a pair past
    :data:`FREE_FAILURES` waits :func:`throttle_delay` before its next attempt.  Nothing happens to the account:
    its sessions and tokens go on working, and it can sign in from any other address.  Every failure and every
    throttled attempt is audited."""
    now = utcnow()
    client = client[:64]
    pair = session.get(LoginThrottle, (username, client))
    if pair is not None and pair.blocked_until is not None and pair.blocked_until > now:
        wait = max(1, int((pair.blocked_until - now).total_seconds() + 0.999))
        audit.append(session, "login.throttled", detail={"username": username, "client": client,
                                                         "failures": pair.failures, "retry_after_s": wait})
        raise LoginThrottledError(f"too many failed logins for this user name from this address; try again in "
                                  f"{wait} s", wait)
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    # the hash is checked whether or not the user exists or is active: the same work, the same time
    password_ok = check_password(password, user.password_hash if user is not None else None)
    if user is None or not user.active or not password_ok:
        failures = (pair.failures if pair is not None and now - pair.last_failure_at < FAILURE_MEMORY else 0) + 1
        delay = throttle_delay(failures)
        blocked = now + delay if delay else None
        _record_failure(session, username, client, failures, now, blocked)
        audit.append(session, "login.failed", actor_user_id=user.id if user else None,
                     actor_org_id=user.org_id if user else None,
                     detail={"username": username, "client": client, "failures": failures,
                             "delay_s": int(delay.total_seconds()),
                             "reason": "unknown user" if user is None else "wrong password or inactive"})
        raise LoginFailedError("wrong username or password")
    if pair is not None:
        session.delete(pair)
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(BrowserSession(token_hash=token_hash(cookie), user_id=user.id, csrf_token=csrf,
                               expires_at=now + SESSION_LIFETIME))
    audit.append(session, "login", actor_user_id=user.id, actor_org_id=user.org_id, detail={"client": client})
    return user, cookie, csrf


def _record_failure(session: Session, username: str, client: str, failures: int, now: dt.datetime,
                    blocked: dt.datetime | None) -> None:
    """Insert or update the pair's row in one statement: concurrent failures of a new pair (an attacker's burst)
    must not collide on its key (``INSERT … ON CONFLICT DO UPDATE``, SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = {"failures": failures, "last_failure_at": now, "blocked_until": blocked}
    statement = insert(LoginThrottle).values(username=username, client=client, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["username", "client"], set_=values))


def logout(session: Session, cookie: str) -> None:
    row = session.execute(select(BrowserSession).where(BrowserSession.token_hash == token_hash(cookie))
                          ).scalar_one_or_none()
    if row is not None:
        session.delete(row)
