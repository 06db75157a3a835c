"""Organisations, users, API tokens and browser sessions; login with lockout after repeated failures."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from minsec.errors import MinsecError
from minsec.service import audit
from minsec.service.db import ApiToken, BrowserSession, Organisation, User, utcnow
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

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
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
    """Wrong credentials or a locked account (the message never says which of username or password)."""


def login(session: Session, username: str, password: str, client: str) -> tuple[User, str, str]:
    """Check the password; returns the user, a new session cookie value and its CSRF token.

    After :data:`MAX_FAILED_LOGINS` consecutive failures the account is locked for :data:`LOCKOUT`; the
    failure and the lock are audited."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    now = utcnow()
    if user is None:
        check_password(password, None)
        audit.append(session, "login.failed", detail={"username": username, "client": client, "reason": "unknown"})
        raise LoginFailedError("wrong username or password")
    if user.locked_until is not None and user.locked_until > now:
        audit.append(session, "login.locked", actor_user_id=user.id, actor_org_id=user.org_id,
                     detail={"client": client})
        raise LoginFailedError(f"account locked after {MAX_FAILED_LOGINS} failed logins; try again after "
                          f"{user.locked_until.isoformat(timespec='seconds')} UTC")
    if not user.active or not check_password(password, user.password_hash):
        user.failed_logins += 1
        detail = {"client": client, "failed_logins": user.failed_logins}
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
            detail["locked_until"] = user.locked_until.isoformat()
        audit.append(session, "login.failed", actor_user_id=user.id, actor_org_id=user.org_id, detail=detail)
        raise LoginFailedError("wrong username or password")
    user.failed_logins, user.locked_until = 0, None
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(BrowserSession(token_hash=token_hash(cookie), user_id=user.id, csrf_token=csrf,
                               expires_at=now + SESSION_LIFETIME))
    audit.append(session, "login", actor_user_id=user.id, actor_org_id=user.org_id, detail={"client": client})
    return user, cookie, csrf


def logout(session: Session, cookie: str) -> None:
    row = session.execute(select(BrowserSession).where(BrowserSession.token_hash == token_hash(cookie))
                          ).scalar_one_or_none()
    if row is not None:
        session.delete(row)
