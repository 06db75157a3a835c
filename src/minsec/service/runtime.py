"""The run-time plumbing of one service application: the per-app state (:class:`ServiceState`: database, job
runner, shared event feed, wake-ups, caches, the SQLite writer lock) and the small in-memory structures it holds
(:class:`Notifier`, :class:`EventFeed`, :class:`TokenCache`, :class:`PageCache`, :class:`LoginLimiter`).

Nothing here knows about HTTP routes: :mod:`minsec.server` builds a :class:`ServiceState` per app and starts and
stops it in the app's lifespan; the routers reach it through :mod:`minsec.service.deps`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

from minsec.service import audit, sharing
from minsec.service.db import Database, lock_held, write_lock_path
from minsec.service.jobs import JobRunner
from minsec.service.security import Principal

LOGIN_ATTEMPTS_PER_MINUTE = 20
EVENT_WATCH_SECONDS = 0.02       # how often each process looks for events written by other processes
FEED_BATCH = 1000
REQUEST_THREADS = 16
WRITE_LOCK_TIMEOUT = 30.0


class Notifier:
    """Wakes live streams when a write transaction added alert events (the database stays the source of
    truth: streams read events from it, so a missed wake-up only delays delivery by one poll)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.event = loop, asyncio.Event()

    def notify(self) -> None:
        if self.loop is not None and self.event is not None:
            self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        event, self.event = self.event, asyncio.Event()
        event.set()

    async def wait(self, timeout: float) -> None:
        if self.event is None:
            await asyncio.sleep(timeout)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), timeout)


class Resources:
    """What one run of the application holds (opened at start-up, closed at shutdown, so it can restart): the
    audit group-committer and, on SQLite, the connection for in-loop version checks (tens of microseconds; a
    cached page then never leaves the event loop; PostgreSQL checks through a thread like any query)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._committer: audit.GroupCommitter | None = None
        self.version_connection = None
        self.lock_fd: int | None = None

    @property
    def committer(self) -> audit.GroupCommitter:
        if self._committer is None:           # an app driven without its lifespan (some test harnesses)
            self._committer = audit.GroupCommitter(self.database.writing)
        return self._committer

    def open(self) -> None:
        self._committer = audit.GroupCommitter(self.database.writing)
        if self.database.is_sqlite:
            import sqlite3

            self.version_connection = sqlite3.connect(self.database.url.split("///", 1)[-1],
                                                      check_same_thread=False, isolation_level=None)
            path = write_lock_path(self.database.url)
            if path is not None:
                self.lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def close(self) -> None:
        if self._committer is not None:
            self._committer.close()
            self._committer = None
        if self.version_connection is not None:
            self.version_connection.close()
            self.version_connection = None
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


@dataclass(frozen=True)
class FeedEntry:
    event_id: int
    kind: str
    row: sharing.AlertRow
    payload: dict
    text: str


class EventFeed:
    """The recent alert events of this process, loaded once from the database and shared by every live stream
    (each stream only filters by the TLP rule and its subscriptions).  A stream that resumes from an event older
    than the buffer reads the database instead."""

    def __init__(self, database: Database, capacity: int = 10_000) -> None:
        self.database, self.capacity = database, capacity
        self.entries: deque[FeedEntry] = deque()
        self.base = self.last = 0       # the buffer holds every event in (base, last]
        self.changed: asyncio.Event | None = None
        self.executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        # its own thread: a refresh must not queue behind the page builds that every new alert also causes
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minsec-feed")
        self.entries.clear()
        with self.database.reading() as session:
            self.base = self.last = sharing.latest_event_id(session)
        self.changed = asyncio.Event()

    def stop(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)
            self.executor = None

    def _load(self, after: int) -> tuple[list[FeedEntry], int]:
        with self.database.reading() as session:
            rows, last = sharing.events_after(session, None, after, limit=FEED_BATCH, readable_only=False)
            payloads = sharing.to_dict(session, [row for _, row in rows])
        return [FeedEntry(event.id, event.kind, row, payload,
                          json.dumps(payload | {"event": event.kind}, default=str))
                for (event, row), payload in zip(rows, payloads, strict=True)], last

    async def refresh(self) -> None:
        """Append the events written since the last refresh (by any process) and wake the streams."""
        grew = False
        loop = asyncio.get_running_loop()
        while True:
            if self.database.is_sqlite:
                # a few local queries (a millisecond or two): done in the loop, a thread would wait for the GIL
                # at every one of them while the loop serves reads
                entries, last = self._load(self.last)
            else:
                entries, last = await loop.run_in_executor(self.executor, self._load, self.last)
            if last == self.last:
                break
            self.entries.extend(entries)
            while len(self.entries) > self.capacity:
                self.base = self.entries.popleft().event_id
            self.last, grew = last, True
            if len(entries) < FEED_BATCH:
                break           # caught up: no second round trip before waking the streams
        if grew and self.changed is not None:
            changed, self.changed = self.changed, asyncio.Event()
            changed.set()

    def after(self, position: int, until: int | None = None) -> list[FeedEntry] | None:
        """Buffered events in (position, until]; None if the buffer does not cover that range."""
        until = self.last if until is None else until
        if position < self.base or until > self.last:
            return None
        if position >= until:
            return []
        return [entry for entry in self.entries if position < entry.event_id <= until]

    async def wait(self, timeout: float) -> None:
        if self.changed is None:
            await asyncio.sleep(timeout)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout)


class LoginLimiter:
    """At most ``limit`` login attempts per client address per minute (sliding window, in memory)."""

    def __init__(self, limit: int = LOGIN_ATTEMPTS_PER_MINUTE) -> None:
        self.limit, self.seen, self.refused = limit, {}, set()
        self.lock = threading.Lock()     # login runs on the request threads: check and count in one step

    def allow(self, client: str) -> bool:
        return self.wait(client)[0] == 0

    def wait(self, client: str) -> tuple[int, bool]:
        """(seconds until ``client`` may try again — 0: now, the attempt is counted —, whether this is the first
        refusal of the current window: the one worth an audit entry, so a flood writes one entry a minute, not
        one per attempt)."""
        with self.lock:
            now = time.monotonic()
            window = self.seen.setdefault(client, deque())
            while window and now - window[0] > 60:
                window.popleft()
            if len(window) >= self.limit:
                first = client not in self.refused
                self.refused.add(client)
                return max(1, math.ceil(60 - (now - window[0]))), first
            self.refused.discard(client)
            window.append(now)
            return 0, False


class TokenCache:
    """Bearer token → caller for a few seconds, so that a burst of reads does not look the token up each time.
    Revoking a token clears this process's cache at once; other server processes notice within ``ttl``."""

    def __init__(self, ttl: float = 5.0, size: int = 4096) -> None:
        self.ttl, self.size, self.entries = ttl, size, {}
        self.lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        with self.lock:
            found = self.entries.get(token)
            if found is None or time.monotonic() - found[1] > self.ttl:
                return None
            return found[0]

    def put(self, token: str, principal: Principal) -> None:
        with self.lock:
            if len(self.entries) >= self.size:
                self.entries.clear()
            self.entries[token] = (principal, time.monotonic())

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


class PageCache:
    """Alert listings per caller and query, valid while no alert event happened since (the newest event id is
    a complete version of what anyone may read: creation, relabelling and sharing all add events)."""

    def __init__(self, size: int = 2048) -> None:
        self.size, self.entries = size, {}
        self.lock = threading.Lock()

    def lookup(self, key: tuple) -> tuple[int, Any] | None:
        """(version, value) as cached, current or not."""
        with self.lock:
            return self.entries.get(key)

    def put(self, key: tuple, version: int, value) -> None:
        with self.lock:
            if len(self.entries) >= self.size:
                self.entries.clear()
            self.entries[key] = (version, value)


class ServiceState:
    """Everything one application's handlers share (``app.state.service``; handlers reach it through
    :mod:`minsec.service.deps`): the database, the job runner, the shared event feed and its wake-ups, the
    token and listing caches, the login limiter and the cookie policy."""

    def __init__(self, database: Database, *, secure_cookies: bool = True) -> None:
        self.database, self.secure_cookies = database, secure_cookies
        self.notifier, self.limiter = Notifier(), LoginLimiter()
        self.runner = JobRunner(database, on_change=self.notifier.notify)
        self.resources = Resources(database)
        self.feed = EventFeed(database)
        self.token_cache, self.listings = TokenCache(), PageCache()
        self._watcher: asyncio.Task | None = None
        self._stream_ids = None

    @property
    def stream_ids(self):
        """The live stream's opaque per-reader ids (:mod:`minsec.service.stream_ids`), keyed once per database."""
        if self._stream_ids is None:
            from minsec.service import stream_ids

            with self.database.writing() as session:
                self._stream_ids = stream_ids.load(session)
        return self._stream_ids

    async def start(self) -> None:
        """Bind the wake-ups to the running loop, open the resources, load the feed and start its watcher."""
        import anyio

        # fewer request threads than anyio's default 40: with the GIL, more runnable threads only lengthen the
        # tail latency of every request
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        self.notifier.bind(asyncio.get_running_loop())
        if self.runner.stopping.is_set():                       # started again after a stop
            await asyncio.to_thread(self.runner.start)
        self.resources.open()
        await asyncio.to_thread(lambda: self.stream_ids)   # the key read (or drawn) off the event loop
        await asyncio.to_thread(self.feed.start)
        self._watcher = asyncio.create_task(self.watch_events())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        # let a refresh in flight and a running job return their connections before the database may be disposed
        await asyncio.to_thread(self.feed.stop)
        await asyncio.to_thread(self.runner.shutdown)
        self.resources.close()

    async def watch_events(self) -> None:
        """Refresh the shared feed when this process wrote events (woken at once) or any other process did
        (checked every EVENT_WATCH_SECONDS; on SQLite by a single in-loop query of the newest event id)."""
        while True:
            await self.notifier.wait(EVENT_WATCH_SECONDS)
            if self.resources.version_connection is not None and self.latest_version() == self.feed.last:
                continue
            await self.feed.refresh()

    def latest_version(self) -> int:
        """The newest alert-event id: the version of everything any caller may read."""
        connection = self.resources.version_connection
        if connection is not None:
            return int(connection.execute("SELECT max(id) FROM alert_events").fetchone()[0] or 0)
        with self.database.reading() as session:
            return sharing.latest_event_id(session)

    async def write_inline(self, work: Callable):
        """Run a short write transaction. SQLite: in the event loop, once the writer lock is free (polled
        without blocking the loop), because a thread would wait for the GIL at every statement while the loop
        serves reads; PostgreSQL: in a thread."""
        def transaction():
            with self.database.writing() as session:
                return work(session)

        lock_fd = self.resources.lock_fd
        if lock_fd is None:
            return await asyncio.to_thread(transaction)
        deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HTTPException(503, "the database is busy; try again") from None
                await asyncio.sleep(0.001)
        lock_held.value = True
        try:
            return transaction()
        finally:
            lock_held.value = False
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
