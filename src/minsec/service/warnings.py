"""Automatic early warnings published as alerts: the detectors are pure (:mod:`minsec.signals`); this module
stores what they find as alerts authored by the early-warning organisation, once per fingerprint (running again
publishes only what is new or changed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from minsec.service.db import Alert, Database, Organisation
from minsec.signals import EarlyWarning

WARNING_ORG = "minsec-early-warning"


def collect(today: dt.date | None = None, chain=None) -> list[EarlyWarning]:
    """The warnings of ``chain`` (default: the process's :func:`minsec.load`) on ``today``."""
    import minsec
    from minsec.signals import collect as detect

    return detect(chain if chain is not None else minsec.load(), today)


def publish(database: Database, warnings: list[EarlyWarning]) -> dict[str, int]:
    """Store new warnings as alerts authored by the early-warning organisation; returns counts."""
    from minsec.service import accounts, sharing

    created = existing = 0
    with database.writing() as session:
        org = session.execute(select(Organisation).where(Organisation.slug == WARNING_ORG)).scalar_one_or_none()
        if org is None:
            org = accounts.create_organisation(session, WARNING_ORG, "minsec automatic early warnings", "platform")
        seen = set(session.execute(select(Alert.fingerprint).where(Alert.fingerprint.is_not(None))).scalars())
        for warning in warnings:
            if warning.fingerprint in seen:
                existing += 1
                continue
            sharing.create_alert(session, None, title=warning.title[:300], body=warning.body, tlp=warning.tlp,
                                 materials=warning.materials, countries=warning.countries, stage=warning.stage,
                                 severity=warning.severity, source=warning.source[:500], recipient_orgs=[],
                                 recipient_users=[], kind="early_warning", evidence=warning.evidence,
                                 fingerprint=warning.fingerprint, author_org_id=org.id)
            seen.add(warning.fingerprint)
            created += 1
    return {"created": created, "existing": existing}
