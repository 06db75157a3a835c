"""The append-only, hash-chained audit log.

Entry *n* stores ``hashₙ = SHA-256(canonical JSON of {seq, at, actor, action, object, detail, prev_hash})``
with ``prev_hash = hashₙ₋₁`` (64 zeros before the first entry), so each entry commits to every entry before
it (a hash chain, as in Schneier & Kelsey 1999 and Certificate Transparency's log).  An anchor row holds the
chain's length and head hash and is updated in the same transaction as each append, so a removed tail is
detected as well as an edited or deleted entry; the head hash printed by ``minsec audit verify`` can be
recorded elsewhere (a partner's own log) to detect a rewrite of the whole chain.

Appends are serialised: SQLite write transactions begin IMMEDIATE (one writer at a time); on PostgreSQL the
anchor row is locked ``FOR UPDATE``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from minsec.service.db import AuditAnchor, AuditEntry

GENESIS = "0" * 64


def canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(seq: int, at: str, actor_user_id: int | None, actor_org_id: int | None, action: str,
               object_type: str | None, object_id: str | None, detail: dict | None, prev_hash: str) -> str:
    payload = {"seq": seq, "at": at, "actor_user_id": actor_user_id, "actor_org_id": actor_org_id,
               "action": action, "object_type": object_type, "object_id": object_id, "detail": detail,
               "prev_hash": prev_hash}
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


def append(session: Session, action: str, *, actor_user_id: int | None = None, actor_org_id: int | None = None,
           object_type: str | None = None, object_id: str | int | None = None,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry inside the caller's write transaction (it commits or rolls back with it)."""
    anchor = session.execute(select(AuditAnchor).where(AuditAnchor.id == 1).with_for_update()).scalar_one()
    seq = anchor.length + 1
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    # JSON round trip so that what is hashed is exactly what the database gives back
    detail = json.loads(canonical(detail)) if detail is not None else None
    object_id = str(object_id) if object_id is not None else None
    digest = entry_hash(seq, at, actor_user_id, actor_org_id, action, object_type, object_id, detail, anchor.head)
    entry = AuditEntry(seq=seq, at=at, actor_user_id=actor_user_id, actor_org_id=actor_org_id, action=action,
                       object_type=object_type, object_id=object_id, detail=detail, prev_hash=anchor.head,
                       hash=digest)
    session.add(entry)
    anchor.length, anchor.head = seq, digest
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head: str
    problem: str | None = None
    first_bad_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head": self.head, "problem": self.problem,
                "first_bad_seq": self.first_bad_seq}


def verify(session: Session, batch: int = 5_000) -> Verification:
    """Recompute the chain: every hash, every link, the sequence without gaps, and the anchor."""
    previous, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.execute(select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq)
                               .limit(batch)).scalars().all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return Verification(False, count, previous, f"entry {expected_seq} is missing (next is {entry.seq})",
                                    expected_seq)
            if entry.prev_hash != previous:
                return Verification(False, count, previous, f"entry {entry.seq} does not link to entry "
                                    f"{entry.seq - 1}", entry.seq)
            recomputed = entry_hash(entry.seq, entry.at, entry.actor_user_id, entry.actor_org_id, entry.action,
                                    entry.object_type, entry.object_id, entry.detail, entry.prev_hash)
            if recomputed != entry.hash:
                return Verification(False, count, previous, f"entry {entry.seq} was altered (its content no longer "
                                    "matches its hash)", entry.seq)
            previous, expected_seq, count = entry.hash, expected_seq + 1, count + 1
            last_seq = entry.seq
    anchor = session.get(AuditAnchor, 1)
    if anchor is None:
        return Verification(False, count, previous, "the audit anchor row is missing")
    if anchor.length != count or anchor.head != previous:
        return Verification(False, count, previous,
                            f"the chain ends at entry {count} but the anchor records {anchor.length} entries "
                            "(entries were removed from the end)" if anchor.length != count
                            else "the last entry differs from the anchored head", count + 1)
    return Verification(True, count, previous)
