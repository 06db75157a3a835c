"""Information sharing: alerts under TLP 2.0, their change events, subscriptions and confidential submissions.

Every function takes an open SQLAlchemy session; writes happen inside the caller's write transaction together
with their audit entries and change events, so a request either leaves all of them or none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from minsec.errors import InputError, MinsecError
from minsec.service import audit
from minsec.service.db import (
    Alert,
    AlertEvent,
    AlertRecipientOrg,
    AlertRecipientUser,
    Organisation,
    OrganisationClient,
    Submission,
    Subscription,
    User,
    utcnow,
)
from minsec.service.security import (
    SEVERITIES,
    TLP_LEVELS,
    Principal,
    can_read,
    can_relabel,
    can_share,
    readable_filter,
)

if TYPE_CHECKING:
    import pandas as pd

#: confidential submissions are shown to other organisations only as sums over at least this many
MIN_CONTRIBUTORS = 3


class ForbiddenError(MinsecError):
    """The caller may not do this (HTTP 403)."""


class NotFoundError(MinsecError):
    """No such object, or the caller may not know it exists (HTTP 404)."""


class InvalidError(InputError):
    """The request is well-formed but cannot be carried out (HTTP 422); the message names the field."""


# ---------------------------------------------------------------------------------------------- lookups
def org_slugs(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Organisation.id, Organisation.slug)).all())


def _resolve(session: Session, key, ident, names: Iterable[str], field: str, what: str) -> list[int]:
    """Ids of the named organisations (by slug) or users (by username), in order; unknown names are an error
    that names the field."""
    names = list(dict.fromkeys(names))
    if not names:
        return []
    found = dict(session.execute(select(key, ident).where(key.in_(names))).all())
    missing = [n for n in names if n not in found]
    if missing:
        raise InvalidError(f"{field}: unknown {what} {', '.join(missing)}")
    return [found[n] for n in names]


def _resolve_orgs(session: Session, slugs: Iterable[str], field: str) -> list[int]:
    return _resolve(session, Organisation.slug, Organisation.id, slugs, field, "organisation(s)")


def _resolve_users(session: Session, names: Iterable[str], field: str) -> list[int]:
    return _resolve(session, User.username, User.id, names, field, "user(s)")


@dataclass(frozen=True)
class AlertRow:
    """An alert as read for display: its columns and recipient ids (no ORM identity, cheap to load)."""

    id: int
    title: str
    body: str
    materials: list[str]
    countries: list[str]
    stage: str | None
    severity: str
    source: str | None
    tlp: str
    kind: str
    evidence: dict | None
    author_org_id: int
    author_user_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    recipient_org_ids: frozenset[int] = frozenset()
    recipient_user_ids: frozenset[int] = frozenset()


_COLUMNS = [Alert.id, Alert.title, Alert.body, Alert.materials, Alert.countries, Alert.stage, Alert.severity,
            Alert.source, Alert.tlp, Alert.kind, Alert.evidence, Alert.author_org_id, Alert.author_user_id,
            Alert.created_at, Alert.updated_at]


def load_rows(session: Session, query) -> list[AlertRow]:
    """Run a select of :data:`_COLUMNS` and attach the recipients of the alerts found (two IN queries)."""
    rows = session.execute(query).all()
    if not rows:
        return []
    ids = [r[0] for r in rows]
    orgs: dict[int, set[int]] = {}
    users: dict[int, set[int]] = {}
    for alert_id, org_id in session.execute(select(AlertRecipientOrg.alert_id, AlertRecipientOrg.org_id)
                                            .where(AlertRecipientOrg.alert_id.in_(ids))):
        orgs.setdefault(alert_id, set()).add(org_id)
    for alert_id, user_id in session.execute(select(AlertRecipientUser.alert_id, AlertRecipientUser.user_id)
                                             .where(AlertRecipientUser.alert_id.in_(ids))):
        users.setdefault(alert_id, set()).add(user_id)
    return [AlertRow(*r, frozenset(orgs.get(r[0], ())), frozenset(users.get(r[0], ()))) for r in rows]


def readable(principal: Principal | None, alert: AlertRow) -> bool:
    return can_read(principal, alert.tlp, alert.author_org_id, alert.author_user_id, alert.recipient_org_ids,
                    alert.recipient_user_ids)


def to_dict(session: Session, alerts: Sequence[AlertRow], slugs: dict[int, str] | None = None) -> list[dict]:
    """Alerts as the API returns them (organisation slugs and usernames instead of ids)."""
    if not alerts:
        return []
    slugs = slugs if slugs is not None else org_slugs(session)
    user_ids = {u for a in alerts for u in a.recipient_user_ids}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()) if user_ids \
        else {}
    return [view(a, slugs.get(a.author_org_id, "?"), [slugs.get(o, "?") for o in a.recipient_org_ids],
                  [names.get(u, "?") for u in a.recipient_user_ids]) for a in alerts]


def view(alert: Alert | AlertRow, author_organisation: str, recipient_orgs: Iterable[str],
          recipient_users: Iterable[str]) -> dict:
    """The API view of an alert (organisation slugs and usernames instead of ids; RFC 3339 times).  A request
    that has just created the alert passes what it already knows, so the write path reads nothing back."""
    return {"id": alert.id, "title": alert.title, "body": alert.body, "materials": alert.materials,
            "countries": alert.countries, "stage": alert.stage, "severity": alert.severity, "source": alert.source,
            "tlp": alert.tlp, "kind": alert.kind, "evidence": alert.evidence,
            "author_organisation": author_organisation, "recipient_orgs": sorted(set(recipient_orgs)),
            "recipient_users": sorted(set(recipient_users)), "created_at": iso(alert.created_at),
            "updated_at": iso(alert.updated_at)}


def iso(value: dt.datetime) -> str:
    """RFC 3339 text of a stored (naive, UTC) time."""
    return value.replace(tzinfo=dt.UTC).isoformat()


def row_of(session: Session, alert_id: int) -> AlertRow | None:
    found = load_rows(session, select(*_COLUMNS).where(Alert.id == alert_id))
    return found[0] if found else None


# ----------------------------------------------------------------------------------------------- alerts
def create_alert(session: Session, principal: Principal | None, *, title: str, body: str, tlp: str,
                 materials: list[str], countries: list[str], stage: str | None, severity: str,
                 source: str | None, recipient_orgs: list[str], recipient_users: list[str],
                 kind: str = "report", evidence: dict | None = None, fingerprint: str | None = None,
                 author_org_id: int | None = None) -> Alert:
    """Publish an alert (``principal`` None: an automatic early warning authored by ``author_org_id``)."""
    if principal is not None and not principal.may("publish"):
        raise ForbiddenError("publishing alerts needs the analyst or coordinator role")
    if tlp == "RED" and not recipient_users:
        raise InvalidError("recipient_users: a RED alert must name the individuals it is for")
    if tlp in ("AMBER", "AMBER+STRICT") and recipient_users:
        raise InvalidError("recipient_users: only RED alerts are addressed to individuals; name organisations")
    if tlp in ("CLEAR", "GREEN") and (recipient_orgs or recipient_users):
        raise InvalidError(f"recipient_orgs: a {tlp} alert goes to everyone it may reach; recipients apply to "
                      "AMBER, AMBER+STRICT (organisations) and RED (individuals)")
    now = utcnow()
    alert = Alert(title=title, body=body, tlp=tlp, materials=sorted(set(materials)), countries=sorted(set(countries)),
                  stage=stage, severity=severity, source=source, kind=kind, evidence=evidence,
                  fingerprint=fingerprint, author_org_id=principal.org_id if principal else author_org_id,
                  author_user_id=principal.user_id if principal else None, created_at=now, updated_at=now)
    alert.recipient_orgs = [AlertRecipientOrg(org_id=i) for i in _resolve_orgs(session, recipient_orgs,
                                                                               "recipient_orgs")]
    alert.recipient_users = [AlertRecipientUser(user_id=i) for i in _resolve_users(session, recipient_users,
                                                                                   "recipient_users")]
    session.add(alert)
    session.flush()
    audit.append(session, "alert.create", actor_user_id=principal.user_id if principal else None,
                 actor_org_id=alert.author_org_id, object_type="alert", object_id=alert.id,
                 detail={"tlp": tlp, "title": title, "recipient_orgs": sorted(recipient_orgs),
                         "recipient_users": sorted(recipient_users), "kind": kind})
    add_event(session, alert.id, "created")
    return alert


def add_event(session: Session, alert_id: int, kind: str) -> None:
    """Record a change for the live streams.  Called after the audit append, which holds the chain's lock
    until commit: event ids are then assigned in commit order, so a stream that has read event n never later
    finds a smaller id committing (PostgreSQL sequences would otherwise allow it)."""
    session.add(AlertEvent(alert_id=alert_id, kind=kind))
    session.flush()


def list_alerts(session: Session, principal: Principal | None, *, material: str | None = None,
                country: str | None = None, severity: str | None = None, tlp: str | None = None,
                q: str | None = None, before_id: int | None = None, limit: int = 50) -> list[AlertRow]:
    """Newest first, only what the caller may read (the TLP rule runs in SQL)."""
    query = select(*_COLUMNS).where(readable_filter(principal))
    if tlp:
        query = query.where(Alert.tlp == tlp)
    if severity:
        query = query.where(Alert.severity.in_(SEVERITIES[SEVERITIES.index(severity):]))
    if before_id:
        query = query.where(Alert.id < before_id)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(or_(func.lower(Alert.title).like(pattern), func.lower(Alert.body).like(pattern)))
    if material or country:
        # JSON list membership differs between SQLite and PostgreSQL: filter the page in Python, fetching more
        candidates = load_rows(session, query.order_by(Alert.id.desc()).limit(limit * 20))
        out = [a for a in candidates if (not material or material in a.materials)
               and (not country or country.upper() in a.countries)]
        return out[:limit]
    return load_rows(session, query.order_by(Alert.id.desc()).limit(limit))


def get_alert(session: Session, principal: Principal | None, alert_id: int) -> AlertRow:
    alert = row_of(session, alert_id)
    if alert is None or not readable(principal, alert):
        raise NotFoundError(f"alert {alert_id} not found")    # the same answer whether it exists or not
    return alert


def _editable(session: Session, principal: Principal, alert_id: int) -> Alert:
    """The ORM object of an alert the caller may read (to change it)."""
    get_alert(session, principal, alert_id)
    return session.get(Alert, alert_id)


def relabel(session: Session, principal: Principal, alert_id: int, tlp: str, organisations: Sequence[str] = (),
            users: Sequence[str] = ()) -> Alert:
    """Change the label, naming in the same change whom the new label needs: individuals for RED, organisations
    for AMBER and AMBER+STRICT (added to those already named).  Readers outside the new label lose access with
    this change's event (every cache is keyed on the latest event)."""
    alert = _editable(session, principal, alert_id)
    if not can_relabel(principal, alert.author_org_id, alert.author_user_id):
        raise ForbiddenError("only the author's organisation (a coordinator or the author) may change the label")
    if users and tlp != "RED":
        raise InvalidError("users: only a RED label names individuals")
    if organisations and tlp not in ("AMBER", "AMBER+STRICT"):
        raise InvalidError(f"organisations: a {tlp} label is not addressed to organisations")
    added = _add_recipients(session, alert, organisations, users)
    if tlp == alert.tlp and not added:
        return alert
    if tlp == "RED" and not alert.recipient_users:
        raise InvalidError("users: a RED label must name the individuals who may read it "
                           '(e.g. {"tlp": "RED", "users": ["us_analyst"]})')
    old = alert.tlp
    if tlp in ("AMBER+STRICT", "RED"):
        # a stricter label than AMBER never reaches beyond the author's choice: the clients a recipient passed it
        # on to lose it with this change
        for row in [r for r in alert.recipient_orgs if r.passed_on_by is not None]:
            alert.recipient_orgs.remove(row)
    alert.tlp, alert.updated_at = tlp, utcnow()
    direction = ("unchanged" if tlp == old else
                 "downgrade" if TLP_LEVELS.index(tlp) < TLP_LEVELS.index(old) else "upgrade")
    audit.append(session, "alert.relabel", actor_user_id=principal.user_id, actor_org_id=principal.org_id,
                 object_type="alert", object_id=alert.id,
                 detail={"from": old, "to": tlp, "direction": direction, "organisations": sorted(organisations),
                         "users": sorted(users)})
    add_event(session, alert.id, "relabelled")
    return alert


def _add_recipients(session: Session, alert: Alert, organisations: Sequence[str], users: Sequence[str],
                    passed_on_by: int | None = None) -> bool:
    """Name further recipient organisations and users (resolved by slug and user name; ``passed_on_by``: the
    recipient organisation passing the alert on, None for the author's own); True if any is new."""
    have_orgs = {r.org_id: r for r in alert.recipient_orgs}
    have_users = {r.user_id for r in alert.recipient_users}
    named = _resolve_orgs(session, list(organisations), "organisations")
    new_orgs = [i for i in named if i not in have_orgs]
    new_users = [i for i in _resolve_users(session, list(users), "users") if i not in have_users]
    promoted = False
    if passed_on_by is None:     # the author now names a client it had been passed on to: one of its own
        for i in named:
            if i in have_orgs and have_orgs[i].passed_on_by is not None:
                have_orgs[i].passed_on_by, promoted = None, True
    alert.recipient_orgs.extend(AlertRecipientOrg(org_id=i, passed_on_by=passed_on_by) for i in new_orgs)
    alert.recipient_users.extend(AlertRecipientUser(user_id=i) for i in new_users)
    return bool(new_orgs or new_users or promoted)


def clients_of(session: Session, org_id: int) -> set[int]:
    """The organisations recorded as clients of ``org_id`` (``minsec admin client``)."""
    return set(session.execute(select(OrganisationClient.client_org_id)
                               .where(OrganisationClient.org_id == org_id)).scalars())


def share(session: Session, principal: Principal, alert_id: int, organisations: list[str], users: list[str]
          ) -> Alert:
    """Name further recipients.  The author's organisation widens the audience as it likes; a recipient
    organisation the author named may pass a TLP:AMBER alert on only to its own recorded clients (TLP 2.0:
    "within their organisation and its clients"), and those clients no further; AMBER+STRICT and RED never
    leave the author's choice."""
    alert = _editable(session, principal, alert_id)
    recipients = {r.org_id for r in alert.recipient_orgs}
    named_by_author = {r.org_id for r in alert.recipient_orgs if r.passed_on_by is None}
    if not can_share(principal, alert.tlp, alert.author_org_id, named_by_author):
        raise ForbiddenError(f"{alert.tlp} alerts may be passed on only by "
                             + ("the author's coordinators or those of a recipient the author named "
                                "(a client it was passed on to passes it no further)" if alert.tlp == "AMBER"
                                else "the author organisation's coordinators"))
    if users and alert.tlp != "RED":
        raise InvalidError("users: only RED alerts are addressed to individuals")
    if organisations and alert.tlp not in ("AMBER", "AMBER+STRICT"):
        raise InvalidError(f"organisations: {alert.tlp} alerts are not addressed to organisations")
    if principal.org_id != alert.author_org_id:
        unique = list(dict.fromkeys(organisations))
        named = _resolve_orgs(session, unique, "organisations")
        clients = clients_of(session, principal.org_id)
        outside = sorted(slug for slug, org_id in zip(unique, named, strict=True)
                         if org_id not in clients and org_id not in recipients)
        if outside:
            raise ForbiddenError(f"organisations: a recipient passes TLP:AMBER on only to its own clients; "
                                 f"{', '.join(outside)} {'is' if len(outside) == 1 else 'are'} not a recorded "
                                 "client of your organisation (only the author's organisation widens the audience)")
    passed_on_by = None if principal.org_id == alert.author_org_id else principal.org_id
    if _add_recipients(session, alert, organisations, users, passed_on_by):
        alert.updated_at = utcnow()
        audit.append(session, "alert.share", actor_user_id=principal.user_id, actor_org_id=principal.org_id,
                     object_type="alert", object_id=alert.id,
                     detail={"organisations": sorted(organisations), "users": sorted(users)})
        add_event(session, alert.id, "shared")
    return alert


def latest_event_id(session: Session) -> int:
    return int(session.execute(select(func.max(AlertEvent.id))).scalar() or 0)


def events_after(session: Session, principal: Principal | None, after_id: int, limit: int = 200,
                 subscriptions: Sequence[Subscription] | None = None, readable_only: bool = True
                 ) -> tuple[list[tuple[AlertEvent, AlertRow]], int]:
    """Change events after ``after_id`` that the caller may read (and that match ``subscriptions`` if given;
    ``readable_only=False`` returns all, for the server's shared feed, which filters per stream); returns them
    with the last event id examined (so a reader never re-examines skipped events)."""
    events = session.execute(select(AlertEvent).where(AlertEvent.id > after_id).order_by(AlertEvent.id)
                             .limit(limit)).scalars().all()
    if not events:
        return [], after_id
    rows = {r.id: r for r in load_rows(session, select(*_COLUMNS).where(
        Alert.id.in_({e.alert_id for e in events})))}
    out = [(event, rows[event.alert_id]) for event in events
           if (not readable_only or readable(principal, rows[event.alert_id]))
           and (subscriptions is None or matches_any(rows[event.alert_id], subscriptions))]
    return out, events[-1].id


# ------------------------------------------------------------------------------------------ subscriptions
def matches(alert: AlertRow, subscription: Subscription) -> bool:
    if subscription.materials and not set(subscription.materials) & set(alert.materials):
        return False
    if subscription.countries and not {c.upper() for c in subscription.countries} & set(alert.countries):
        return False
    return SEVERITIES.index(alert.severity) >= SEVERITIES.index(subscription.min_severity)


def matches_any(alert: AlertRow, subscriptions: Sequence[Subscription]) -> bool:
    return any(matches(alert, s) for s in subscriptions)


# -------------------------------------------------------------------------------------------- submissions
def submit(session: Session, principal: Principal, *, kind: str, material: str, quantity_t: float,
           as_of: dt.date, note: str | None) -> Submission:
    if not principal.may("submit"):
        raise ForbiddenError("confidential submissions are made by an organisation's coordinators")
    if principal.org_kind != "member":
        raise ForbiddenError("only partnership members submit stockpile holdings and emergency needs")
    row = Submission(org_id=principal.org_id, user_id=principal.user_id, kind=kind, material=material,
                     quantity_t=quantity_t, as_of=as_of, note=note)
    session.add(row)
    session.flush()
    audit.append(session, "submission.create", actor_user_id=principal.user_id, actor_org_id=principal.org_id,
                 object_type="submission", object_id=row.id, detail={"kind": kind, "material": material})
    return row


def aggregates(session: Session, principal: Principal, minimum: int = MIN_CONTRIBUTORS) -> list[dict]:
    """Per kind and material: each organisation's latest figure summed over organisations, shown only when at
    least ``minimum`` organisations contributed; the caller's own figure is always returned to it."""
    latest = (select(Submission.org_id, Submission.kind, Submission.material,
                     func.max(Submission.id).label("last_id"))
              .group_by(Submission.org_id, Submission.kind, Submission.material).subquery())
    rows = session.execute(select(Submission).join(latest, Submission.id == latest.c.last_id)).scalars().all()
    groups: dict[tuple[str, str], list[Submission]] = {}
    for row in rows:
        groups.setdefault((row.kind, row.material), []).append(row)
    out = []
    for (kind, material), items in sorted(groups.items()):
        contributors = len({r.org_id for r in items})
        own = [r.quantity_t for r in items if r.org_id == principal.org_id]
        shown = contributors >= minimum
        out.append({"kind": kind, "material": material, "contributors": contributors,
                    "total_t": float(sum(r.quantity_t for r in items)) if shown else None,
                    "own_t": own[0] if own else None, "shown": shown})
    return out


def report_dates(session: Session) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Who reported what when — (org_id, kind, material, as_of) of every submission, never its quantity — and the
    organisations (id, slug, country, kind): what the commitments register's reporting check needs
    (:func:`minsec.rules.commitments.stock_report_status`)."""
    import pandas as pd

    submissions = pd.DataFrame(session.execute(select(Submission.org_id, Submission.kind, Submission.material,
                                                      Submission.as_of)).all(),
                               columns=["org_id", "kind", "material", "as_of"])
    organisations = pd.DataFrame(session.execute(select(Organisation.id, Organisation.slug, Organisation.country,
                                                        Organisation.kind)).all(),
                                 columns=["id", "slug", "country", "kind"])
    return submissions, organisations


def stock_reporting(database, check, groups) -> pd.DataFrame:
    """Every stock-reporting obligation of ``check``'s register in force on its date, with its status from this
    service's report dates (:func:`minsec.rules.commitments.stock_report_status`; never a quantity)."""
    from minsec.rules.commitments import stock_report_status

    with database.reading() as session:
        submissions, organisations = report_dates(session)
    return stock_report_status(check.register, submissions, organisations, check.date, groups)
