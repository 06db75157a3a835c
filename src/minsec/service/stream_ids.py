"""Opaque, per-reader event ids for the live stream.

The stream sends a reader only the events it may read.  Were their ids the global change-event positions, the gap
between two of them would count the hidden changes in between; so every id a reader sees is its position run
through a keyed pseudo-random permutation of 64-bit blocks, tweaked by the reader (Luby & Rackoff 1988: a
four-round Feistel network whose round function is a pseudo-random function — here HMAC-SHA-256, RFC 2104 —
is a pseudo-random permutation).  The block is ``position << 16``: 16 zero bits that a forged or another
reader's id fails to decrypt to (1 in 65,536 passes by chance, and then only moves where its stream resumes).
Four rounds over 32-bit halves behave as a random permutation for far fewer than 2¹⁶ ids per reader seen by an
adversary, which a reader's own stream stays well within between key changes.

The key is drawn once per database (``service_secrets``), so every server process and a restarted one read
each other's ids and a reader resumes with ``Last-Event-ID`` across them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

KEY_NAME = "stream_ids"
#: positions up to 2⁴⁸ − 1 (281 trillion change events)
POSITION_BITS = 48
_CHECK_BITS = 64 - POSITION_BITS
_HALF = 0xFFFFFFFF
_ID = re.compile(r"[0-9a-f]{16}")


class StreamIds:
    """``encode(reader, position) → 16 hex digits``; ``decode(reader, text) → position`` or None."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _round(self, reader: int, index: int, half: int) -> int:
        message = reader.to_bytes(8, "big", signed=True) + bytes([index]) + half.to_bytes(4, "big")
        return int.from_bytes(hmac.new(self.key, message, hashlib.sha256).digest()[:4], "big")

    def encode(self, reader: int, position: int) -> str:
        if not 0 <= position < 1 << POSITION_BITS:
            raise ValueError(f"position {position} outside the stream's id space")
        block = position << _CHECK_BITS
        left, right = block >> 32, block & _HALF
        for index in range(4):
            left, right = right, left ^ self._round(reader, index, right)
        return f"{(left << 32) | right:016x}"

    def decode(self, reader: int, text: str) -> int | None:
        if not _ID.fullmatch(text.strip()):        # int(…, 16) would also take signs, 0x, _ and capitals
            return None
        block = int(text.strip(), 16)
        left, right = block >> 32, block & _HALF
        for index in reversed(range(4)):
            left, right = right ^ self._round(reader, index, left), left
        plain = (left << 32) | right
        if plain & ((1 << _CHECK_BITS) - 1):
            return None
        return plain >> _CHECK_BITS


def load(session: Session) -> StreamIds:
    """The database's stream key, drawn on first use (one statement, so concurrent first starts agree)."""
    from minsec.service.db import ServiceSecret

    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(ServiceSecret).values(name=KEY_NAME, value=secrets.token_hex(32))
                    .on_conflict_do_nothing(index_elements=["name"]))
    value = session.execute(select(ServiceSecret.value).where(ServiceSecret.name == KEY_NAME)).scalar_one()
    return StreamIds(bytes.fromhex(value))
