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
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
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
           detail: dict[str, Any] | None = None) -> None:
    """Append one entry inside the caller's write transaction (it commits or rolls back with it)."""
    append_many(session, [(action, {"actor_user_id": actor_user_id, "actor_org_id": actor_org_id,
                                    "object_type": object_type, "object_id": object_id, "detail": detail})])


def append_many(session: Session, entries: list[tuple[str, dict[str, Any]]]) -> None:
    """Append entries in order: the anchor is locked and read once, the chain computed in Python, the rows
    inserted in one statement and the anchor moved once."""
    anchor = session.execute(select(AuditAnchor.length, AuditAnchor.head).where(AuditAnchor.id == 1)
                             .with_for_update()).one()
    seq, head = anchor.length, anchor.head
    rows = []
    for action, fields in entries:
        seq += 1
        at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        # JSON round trip so that what is hashed is exactly what the database gives back
        detail = json.loads(canonical(fields.get("detail"))) if fields.get("detail") is not None else None
        object_id = str(fields["object_id"]) if fields.get("object_id") is not None else None
        row = {"seq": seq, "at": at, "actor_user_id": fields.get("actor_user_id"),
               "actor_org_id": fields.get("actor_org_id"), "action": action,
               "object_type": fields.get("object_type"), "object_id": object_id, "detail": detail,
               "prev_hash": head}
        head = entry_hash(**row)
        rows.append(row | {"hash": head})
    if rows:
        session.execute(insert(AuditEntry), rows)
        session.execute(update(AuditAnchor).where(AuditAnchor.id == 1).values(length=seq, head=head))


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


class GroupCommitter:
    """Audit entries for reads, appended by one writer thread in shared transactions (group commit).

    A request calls :meth:`record` and waits until its entry is committed, so restricted content is never
    returned before its read is on record; the entries of concurrent requests share one transaction, so the
    audit does not serialise every read on the database's write lock.
    """

    def __init__(self, open_transaction, max_batch: int = 500, window: float = 0.005) -> None:
        import queue
        import threading

        # after the first entry of a batch, wait ``window`` seconds for more: fewer, larger transactions and far
        # fewer thread wake-ups under load, for a few milliseconds more per audited read
        self.open_transaction, self.max_batch, self.window = open_transaction, max_batch, window
        self.queue: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="minsec-audit", daemon=True)
        self.thread.start()

    def submit(self, action: str, **fields: Any):
        """Queue an entry; the returned ``concurrent.futures.Future`` completes when it is committed."""
        from concurrent.futures import Future

        future: Future = Future()
        self.queue.put((action, fields, future))
        return future

    def record(self, action: str, timeout: float = 30.0, **fields: Any) -> None:
        """Queue an entry and wait until it is committed."""
        self.submit(action, **fields).result(timeout)

    def _loop(self) -> None:
        import queue

        while True:
            item = self.queue.get()
            if item is None:
                return
            batch = [item]
            deadline = time.monotonic() + self.window
            while len(batch) < self.max_batch:
                try:
                    more = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    self.queue.put(None)
                    break
                batch.append(more)
            try:
                with self.open_transaction() as session:
                    append_many(session, [(action, fields) for action, fields, _ in batch])
            except Exception as exc:  # every waiting request fails with the reason (nothing returned unaudited)
                for _, _, future in batch:
                    future.set_exception(exc)
                continue
            for _, _, future in batch:
                future.set_result(None)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=10)
