"""Storage of the partnership service: SQLAlchemy 2 models, engines for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout; write transactions begin ``IMMEDIATE`` (they take the write lock
up front, so a read-then-write such as appending to the audit chain cannot fail half-way), read transactions
stay deferred and run concurrently with the writer.  On PostgreSQL the audit chain is serialised by a row
lock on its anchor (see :mod:`minsec.service.audit`).  The schema is created and upgraded by Alembic
(``src/minsec/service/migrations``); :func:`upgrade` runs the migrations.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

DEFAULT_DATABASE = "sqlite:///minsec.db"
#: SQLite's WAL mode with synchronous=NORMAL keeps every committed transaction through a crash of the server
#: process (SIGKILL; tested) but not necessarily through a power cut; FULL (fsync at every commit) does, at
#: several times the cost per write.  Deployments that need that use PostgreSQL, or set this variable.
SQLITE_SYNCHRONOUS = os.environ.get("MINSEC_SQLITE_SYNCHRONOUS", "NORMAL").upper()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)   # stored naive, always UTC


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[str]: JSON}


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))            # member | observer | platform
    country: Mapped[str | None] = mapped_column(String(16))  # ISO3 or group (EU27) it speaks for
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    roles: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")


class LoginThrottle(Base):
    """Failed logins of one submitted user name from one client address (whether or not the name exists)."""
    __tablename__ = "login_throttle"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[dt.datetime] = mapped_column(DateTime)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ServiceSecret(Base):
    """A secret the server draws once per database and every process shares (the stream-id key,
    :mod:`minsec.service.stream_ids`)."""
    __tablename__ = "service_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class OrganisationClient(Base):
    """``client_org_id`` is a client of ``org_id``: the organisation may pass TLP:AMBER alerts on to it."""
    __tablename__ = "organisation_clients"
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    client_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class BrowserSession(Base):
    __tablename__ = "browser_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    materials: Mapped[list[str]] = mapped_column(JSON)
    countries: Mapped[list[str]] = mapped_column(JSON)
    stage: Mapped[str | None] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(500))
    tlp: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="report")     # report | early_warning
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True)   # automatic warnings: dedupe
    author_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recipient_orgs: Mapped[list[AlertRecipientOrg]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    recipient_users: Mapped[list[AlertRecipientUser]] = relationship(cascade="all, delete-orphan",
                                                                     lazy="selectin")
    author_org: Mapped[Organisation] = relationship(lazy="joined")


class AlertRecipientOrg(Base):
    __tablename__ = "alert_recipient_orgs"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True, index=True)
    #: null: named by the author's organisation; else the recipient that passed the alert on (AMBER, one hop)
    passed_on_by: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)


class AlertRecipientUser(Base):
    __tablename__ = "alert_recipient_users"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class AlertEvent(Base):
    """Every change a subscriber must hear about; its id is the Server-Sent-Events id (monotonic)."""

    __tablename__ = "alert_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))            # created | relabelled | shared
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    materials: Mapped[list[str]] = mapped_column(JSON)
    countries: Mapped[list[str]] = mapped_column(JSON)
    min_severity: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Submission(Base):
    """A confidential figure reported by an organisation (stockpile holding, emergency need)."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    material: Mapped[str] = mapped_column(String(64))
    quantity_t: Mapped[float] = mapped_column(Float)
    as_of: Mapped[dt.date] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[str] = mapped_column(String(40))              # ISO time, part of the hashed content
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_org_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """One row: the chain's length and head hash, updated with every append (detects a cut-off tail)."""

    __tablename__ = "audit_anchor"
    id: Mapped[int] = mapped_column(primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))          # queued | running | done | failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: the job runner (one per server process) that queued it and runs it
    runner_id: Mapped[str | None] = mapped_column(String(36), index=True)


class JobRunnerRow(Base):
    """A live job runner, one per server process: a runner whose heartbeat is older than
    ``minsec.service.jobs.RUNNER_TIMEOUT_SECONDS`` is gone, and its queued or running jobs with it."""
    __tablename__ = "job_runners"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime)


# --------------------------------------------------------------------------------------------------- engines
@dataclass
class Database:
    """A database URL with its engines: ``read`` (deferred transactions) and ``write`` (immediate on SQLite)."""

    url: str
    read_engine: Engine
    write_engine: Engine

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @contextmanager
    def reading(self):
        with Session(self.read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def writing(self):
        """A write transaction: committed when the block ends, rolled back on any error."""
        with Session(self.write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.read_engine.dispose()
        self.write_engine.dispose()


#: set by a thread that already holds the process's writer lock file (see :func:`write_lock_path`), so that its
#: transactions do not queue for the lock a second time
lock_held = threading.local()


def write_lock_path(url: str) -> str | None:
    """The lock file SQLite writers queue on (None for in-memory databases and other engines)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return f"{path}.write-lock" if path not in ("", ":memory:") else None


def _sqlite_engine(url: str, begin: str) -> Engine:
    # a connection per server thread stays open (the thread pool runs up to 40 requests at once), so that
    # requests never pay for connecting and the pragmas
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30,
                                              "isolation_level": None}, pool_size=48, max_overflow=16)
    writer = begin != "BEGIN"
    # Writers queue on an OS file lock before BEGIN IMMEDIATE: a waiting writer (in any process) is woken the
    # moment the lock is free, where SQLite's own busy handler would poll with sleeps of up to 100 ms.
    lock_path = write_lock_path(url) if writer else None

    @event.listens_for(engine, "connect")
    def _pragmas(connection, record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        if lock_path is not None:
            record.info["write_lock"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    @event.listens_for(engine, "close")
    def _close(_connection, record) -> None:
        descriptor = record.info.pop("write_lock", None)
        if descriptor is not None:
            os.close(descriptor)

    def _release(record) -> None:
        if record.info.pop("write_locked", False):
            fcntl.flock(record.info["write_lock"], fcntl.LOCK_UN)

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        record = connection.connection._connection_record
        if lock_path is not None and not record.info.get("write_locked") and not getattr(lock_held, "value", False):
            fcntl.flock(record.info["write_lock"], fcntl.LOCK_EX)
            record.info["write_locked"] = True
        connection.exec_driver_sql(begin)

    if lock_path is not None:
        # released when the connection goes back to the pool: after its COMMIT or ROLLBACK has completed
        @event.listens_for(engine, "checkin")
        def _checkin(_connection, record) -> None:
            _release(record)

    return engine


def connect(url: str | None = None) -> Database:
    """Engines for ``url`` (default: ``minsec.db`` in the working directory)."""
    url = url or DEFAULT_DATABASE
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return Database(url, _sqlite_engine(url, "BEGIN"), _sqlite_engine(url, "BEGIN IMMEDIATE"))
    engine = create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
    return Database(url, engine, engine)


def upgrade(database: Database, revision: str = "head") -> None:
    """Create or upgrade the schema with the Alembic migrations shipped in this package."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    with database.write_engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
