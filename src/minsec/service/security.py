"""Who may do what: passwords, API tokens, roles, and the Traffic Light Protocol 2.0 read rules.

TLP 2.0 (FIRST, 2022) as the partnership applies it — enforced here, server-side, for every endpoint that
returns alert content:

==============  ===================================================================================
CLEAR           anyone, also unauthenticated (the public feed)
GREEN           every user of a member organisation (and the platform operator); others only if named
AMBER           users of the author's organisation and of the recipient organisations named
AMBER+STRICT    the same set; but only the author's organisation may add recipients (AMBER may be
                passed on by a recipient's coordinator to a further organisation, on a need-to-know
                basis — TLP 2.0's "its clients"), and AMBER+STRICT never leaves the named organisations
RED             only the named individual users (and the author)
==============  ===================================================================================

A label may be changed only by the author's organisation (coordinator or the author); every read of AMBER,
AMBER+STRICT or RED content is audited.  The predicate :func:`can_read` and the SQL filter
:func:`readable_filter` state the same rule twice — once for a single alert, once for a listing — and a
test checks they agree on every combination.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from minsec.service.db import Alert, AlertRecipientOrg, AlertRecipientUser

TLP_LEVELS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
RESTRICTED = frozenset({"AMBER", "AMBER+STRICT", "RED"})     # reads are audited
ROLES = ("viewer", "analyst", "coordinator", "org_admin", "platform_admin")
ORG_KINDS = ("member", "observer", "platform")
SEVERITIES = ("info", "low", "medium", "high", "critical")

#: what each role may do (roles accumulate: a coordinator also holds what an analyst may do only if granted
#: both; the demo data and `minsec admin` grant the usual stacks)
PERMISSIONS = {
    "read": {"viewer", "analyst", "coordinator", "org_admin", "platform_admin"},
    "publish": {"analyst", "coordinator"},
    "relabel": {"coordinator"},
    "share": {"coordinator"},
    "submit": {"coordinator"},
    "run_analysis": {"analyst", "coordinator"},
    "manage_org_users": {"org_admin", "platform_admin"},
    "manage_platform": {"platform_admin"},
    "run_warnings": {"coordinator", "platform_admin"},
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: int
    org_id: int
    org_kind: str
    roles: frozenset[str]
    username: str = ""
    via: str = "token"          # token | session
    org_slug: str = ""

    def may(self, permission: str) -> bool:
        return bool(self.roles & PERMISSIONS[permission])


# ------------------------------------------------------------------------------------------------- secrets
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str) -> str:
    """scrypt (RFC 7914) with a random salt: ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_hex(16)
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex()
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt}${digest}"


@functools.cache
def _decoy_hash() -> str:
    """A hash of a random password, checked when there is no stored hash (an unknown user, a user without a
    password), so that such a login costs the same scrypt work and time as a real one."""
    return hash_password(secrets.token_urlsafe(24))


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        check_password(password, _decoy_hash())
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        computed = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                  dklen=len(digest) // 2).hex()
    except ValueError:
        return False
    return hmac.compare_digest(computed, digest)


def new_token(prefix: str = "msk") -> tuple[str, str]:
    """A bearer token (shown once) and its SHA-256 (stored).  256 random bits make a slow hash unnecessary."""
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------- TLP
def can_read(principal: Principal | None, tlp: str, author_org_id: int, author_user_id: int | None,
             recipient_org_ids: set[int] | frozenset[int], recipient_user_ids: set[int] | frozenset[int]) -> bool:
    """The TLP 2.0 read rule of the module docstring for one alert."""
    if tlp == "CLEAR":
        return True
    if principal is None:
        return False
    if tlp == "RED":
        return principal.user_id == author_user_id or principal.user_id in recipient_user_ids
    in_circle = principal.org_id == author_org_id or principal.org_id in recipient_org_ids
    if tlp == "GREEN":
        return in_circle or principal.org_kind in ("member", "platform")
    return in_circle          # AMBER, AMBER+STRICT


def readable_filter(principal: Principal | None) -> ColumnElement[bool]:
    """The same rule as :func:`can_read`, as a SQL condition on :class:`Alert` for listings."""
    if principal is None:
        return Alert.tlp == "CLEAR"
    named_org = exists(select(AlertRecipientOrg.alert_id).where(
        and_(AlertRecipientOrg.alert_id == Alert.id, AlertRecipientOrg.org_id == principal.org_id)))
    named_user = exists(select(AlertRecipientUser.alert_id).where(
        and_(AlertRecipientUser.alert_id == Alert.id, AlertRecipientUser.user_id == principal.user_id)))
    in_circle = or_(Alert.author_org_id == principal.org_id, named_org)
    community = true() if principal.org_kind in ("member", "platform") else false()
    return or_(
        Alert.tlp == "CLEAR",
        and_(Alert.tlp == "GREEN", or_(community, in_circle)),
        and_(Alert.tlp.in_(("AMBER", "AMBER+STRICT")), in_circle),
        and_(Alert.tlp == "RED", or_(Alert.author_user_id == principal.user_id, named_user)),
    )


def can_relabel(principal: Principal, author_org_id: int, author_user_id: int | None) -> bool:
    """Only the author's organisation changes a label (its coordinators, or the author)."""
    return principal.org_id == author_org_id and (principal.may("relabel") or principal.user_id == author_user_id)


def can_share(principal: Principal, tlp: str, author_org_id: int, recipient_org_ids: set[int]) -> bool:
    """Who may add recipients: the author's organisation always (coordinators); for AMBER also the coordinator of
    a recipient organisation the author named (``recipient_org_ids``; a client it was passed on to passes it no
    further); AMBER+STRICT and RED never beyond the author's organisation."""
    if not principal.may("share"):
        return False
    if principal.org_id == author_org_id:
        return True
    return tlp == "AMBER" and principal.org_id in recipient_org_ids
