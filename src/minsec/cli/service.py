"""``minsec serve``, ``minsec admin …``, ``minsec audit verify``, ``minsec db upgrade``: run and administer the
partnership service."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from minsec.cli.core import Format, FormatOption, chain, emit, emit_record, fail
from minsec.errors import InputError, UnknownNameError

DatabaseOption = Annotated[str | None, typer.Option(
    "--database", envvar="MINSEC_DATABASE",
    help="SQLAlchemy URL: sqlite:///minsec.db (default) or postgresql+psycopg://user:pass@host/db.")]

admin_app = typer.Typer(help="Organisations, users and API tokens of the partnership service.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
db_app = typer.Typer(help="The service database (schema migrations).", no_args_is_help=True)
warnings_app = typer.Typer(help="Automatic early warnings from the analytics.", no_args_is_help=True)


@contextlib.contextmanager
def open_database(url: str | None):
    """The migrated database, its connections closed when the command ends; a URL that cannot be parsed, a
    driver that is not installed or a server that cannot be reached is one line naming the URL (its password
    hidden), not a traceback."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    from minsec.errors import InputError
    from minsec.service.db import connect, upgrade

    try:
        database = connect(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise InputError(f"--database {_shown(url)}: not a database URL this service can open ({_first_line(exc)}); "
                         "e.g. sqlite:///minsec.db or postgresql+psycopg://user@host/db") from None
    try:
        try:
            upgrade(database)
        except OperationalError as exc:
            raise InputError(f"--database {_shown(url)}: cannot be reached or opened "
                             f"({_first_line(exc.orig if exc.orig is not None else exc)})") from None
        yield database
    finally:
        database.dispose()


def _shown(url: str | None) -> str:
    """The URL with its password replaced by ***."""
    if url is None:
        return "(default)"
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: show it as given
        return repr(url)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:300]


def _check_port(host: str, port: int) -> None:
    """Refuse a port that is taken before anything is created (a database, demo users)."""
    import socket

    from minsec.errors import InputError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InputError(f"--host {host!r}: not an address of this machine ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise InputError(f"--port {port} on {host}: cannot listen there ({exc.strerror}); is another server "
                             "running? choose another --port") from None


def serve(database: DatabaseOption = None,
          host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
          demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Create a demo partnership (organisations, "
                                                                     "users, tokens) in an empty database.")] = True,
          workers: Annotated[int, typer.Option("--workers", min=1, max=64, help=(
              "Server processes (they share the database; live streams are woken across processes)."))] = 1,
          insecure_cookies: Annotated[bool, typer.Option(
              "--insecure-cookies", help="Session cookies without the Secure flag, for plain HTTP (automatic on a "
                                         "loopback address; behind TLS leave it off).")] = False,
          secure_cookies: Annotated[bool, typer.Option(
              "--secure-cookies", help="Session cookies with the Secure flag even on a loopback address (behind a "
                                       "TLS proxy on the same host).")] = False,
          forwarded_allow_ips: Annotated[str | None, typer.Option(
              "--forwarded-allow-ips", help="Proxies whose X-Forwarded-For gives the client's address (comma-"
                                            "separated IPs or networks; default: loopback only). Login throttling "
                                            "is per client address: behind a proxy on another host, name it.")
          ] = None,
          ) -> None:
    """Run the partnership service (REST API; OpenAPI at /docs) on SQLite by default."""

    import os

    import uvicorn

    from minsec.cli.core import State
    from minsec.server import create_app
    from minsec.service.demo import credentials_path, seed
    from minsec.service.jobs import DATA_ENV, GROUPS_ENV

    if secure_cookies and insecure_cookies:
        fail("--secure-cookies and --insecure-cookies: give one of them")
    _check_port(host, port)              # everything is checked before anything is created
    proxies = {} if forwarded_allow_ips is None else {"forwarded_allow_ips": forwarded_allow_ips}
    # the service (each of its worker processes) analyses the dataset of --data / --groups
    for name, value in ((DATA_ENV, State.data), (GROUPS_ENV, State.groups)):
        if value is not None:
            os.environ[name] = str(Path(value).resolve())
    with open_database(database) as db:
        if demo:
            created = seed(db)
            if created:
                typer.echo("Demo partnership created (local use only). Credentials, also in "
                           f"{credentials_path(db)}:", err=True)
                for c in created:
                    typer.echo(f"  {c['username']:<16} {c['organisation']:<16} password {c['password']}  "
                               f"token {c['token']}", err=True)
                from minsec.service import warnings

                counts = warnings.publish(db, warnings.collect(chain=chain()))
                typer.echo(f"Early warnings from the data: {counts['created']} alerts published",
                           err=True)
            elif credentials_path(db).exists():
                typer.echo(f"Demo credentials: {credentials_path(db)}", err=True)
        typer.echo(f"minsec service on http://{host}:{port} (API docs: /docs) — database {db.url}", err=True)
        loopback = host in ("127.0.0.1", "localhost", "::1")
        secure = secure_cookies or not (insecure_cookies or loopback)
        if workers > 1:
            os.environ["MINSEC_DATABASE"], os.environ["MINSEC_SECURE_COOKIES"] = db.url, "1" if secure else "0"
            uvicorn.run("minsec.server:create", factory=True, workers=workers, host=host, port=port,
                        log_level="warning", **proxies)
        else:
            uvicorn.run(create_app(db, secure_cookies=secure, warm_pages=True), host=host, port=port,
                        log_level="warning", **proxies)


@admin_app.command("bootstrap")
def admin_bootstrap(
    username: Annotated[str, typer.Option("--username", help="The first platform administrator.")] = "admin",
    organisation: Annotated[str, typer.Option("--organisation", help="Slug of the operator organisation.")]
    = "minsec-ops",
    database: DatabaseOption = None, fmt: FormatOption = Format.table,
) -> None:
    """Create the operator organisation and the first platform admin with a password and an API token (shown
    once).  Refuses if users exist."""

    import secrets

    from sqlalchemy import func, select

    from minsec.service import accounts
    from minsec.service.db import Organisation, User

    with open_database(database) as db, db.writing() as session:
        if session.execute(select(func.count()).select_from(User)).scalar():
            raise InputError("the database has users already; use `minsec admin user` with an admin token")
        if session.execute(select(Organisation).where(Organisation.slug == organisation)).scalar_one_or_none() \
                is None:
            accounts.create_organisation(session, organisation, "platform operations", "platform")
        password = secrets.token_urlsafe(16)
        user = accounts.create_user(session, username, "Platform administrator", organisation,
                                    ["platform_admin"], password)
        token, _ = accounts.issue_token(session, user, "bootstrap", 30)
    _print({"username": username, "organisation": organisation, "password": password, "token": token}, fmt)


@admin_app.command("org")
def admin_org(slug: Annotated[str, typer.Argument(help="Short id, e.g. 'ita'.")],
              name: Annotated[str, typer.Option("--name", help="Full name.")],
              kind: Annotated[str, typer.Option("--kind", help="member, observer or platform.")] = "member",
              country: Annotated[str | None, typer.Option("--country", help="ISO3 or group it speaks for.")] = None,
              database: DatabaseOption = None, fmt: FormatOption = Format.table) -> None:
    """Create an organisation."""

    with pydantic_errors():
        from minsec.service import accounts
        from minsec.service.schemas import OrganisationIn

        checked = OrganisationIn(slug=slug, name=name, kind=kind, country=country)
        with open_database(database) as db, db.writing() as session:
            org = accounts.create_organisation(session, checked.slug, checked.name, checked.kind, checked.country)
            _print({"id": org.id, "slug": org.slug, "name": org.name, "kind": org.kind}, fmt)


@admin_app.command("client")
def admin_client(organisation: Annotated[str, typer.Argument(help="The organisation (slug), e.g. 'ec'.")],
                 client: Annotated[str, typer.Argument(help="Its client (slug), e.g. 'deu'.")],
                 database: DatabaseOption = None, fmt: FormatOption = Format.table) -> None:
    """Record an organisation's client: a recipient of a TLP:AMBER alert may pass it on only to its own clients
    (TLP 2.0); none are recorded by default."""
    from minsec.service import accounts

    with open_database(database) as db, db.writing() as session:
        accounts.add_client(session, organisation, client)
    _print({"organisation": organisation, "client": client}, fmt)


@admin_app.command("user")
def admin_user(username: Annotated[str, typer.Argument(help="Login name.")],
               organisation: Annotated[str, typer.Option("--organisation", help="Organisation slug.")],
               roles: Annotated[str, typer.Option("--roles", help="Comma-separated: viewer, analyst, coordinator, "
                                                                 "org_admin, platform_admin.")] = "viewer",
               display_name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
               token_days: Annotated[int, typer.Option("--token-days", help="Also issue an API token valid this "
                                                                            "many days (0: none).")] = 90,
               database: DatabaseOption = None, fmt: FormatOption = Format.table) -> None:
    """Create a user with a generated password (and an API token); both are shown once."""

    with pydantic_errors():
        import secrets

        from minsec.service import accounts
        from minsec.service.schemas import UserIn

        password = secrets.token_urlsafe(16)
        checked = UserIn(username=username, display_name=display_name or username, organisation=organisation,
                         roles=[r.strip() for r in roles.split(",") if r.strip()], password=password)
        with open_database(database) as db, db.writing() as session:
            user = accounts.create_user(session, checked.username, checked.display_name, checked.organisation,
                                        list(checked.roles), password)
            token = accounts.issue_token(session, user, "cli", token_days)[0] if token_days > 0 else None
        _print({"username": username, "organisation": organisation, "roles": ",".join(checked.roles),
                "password": password, "token": token}, fmt)


@admin_app.command("token")
def admin_token(username: Annotated[str, typer.Argument(help="Whose token.")],
                name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "cli",
                days: Annotated[int, typer.Option("--days", help="Validity in days.")] = 90,
                database: DatabaseOption = None, fmt: FormatOption = Format.table) -> None:
    """Issue an API token (shown once, stored hashed)."""

    from sqlalchemy import select

    from minsec.service import accounts
    from minsec.service.db import User

    if not 1 <= days <= 730:
        raise InputError("--days must be between 1 and 730")
    with open_database(database) as db, db.writing() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            raise UnknownNameError(f"unknown user {username!r}")
        token, row = accounts.issue_token(session, user, name, days)
        _print({"id": row.id, "username": username, "token": token, "expires_at": row.expires_at}, fmt)


@admin_app.command("revoke")
def admin_revoke(token_id: Annotated[int, typer.Argument(help="Token id (from `minsec admin tokens`).")],
                 database: DatabaseOption = None, fmt: FormatOption = Format.table) -> None:
    """Revoke an API token."""

    from minsec.service import audit
    from minsec.service.db import ApiToken, utcnow

    with open_database(database) as db, db.writing() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise UnknownNameError(f"no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.append(session, "token.revoke", object_type="token", object_id=row.id, detail={"via": "cli"})
        _print({"id": row.id, "revoked_at": row.revoked_at}, fmt)


@admin_app.command("tokens")
def admin_tokens(database: DatabaseOption = None, fmt: FormatOption = Format.table) -> None:
    """List API tokens (never the tokens themselves)."""

    import pandas as pd
    from sqlalchemy import select

    from minsec.service.db import ApiToken, User

    with open_database(database) as db, db.reading() as session:
        rows = session.execute(select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                               .order_by(ApiToken.id)).all()
        frame = pd.DataFrame([{"id": t.id, "username": u, "name": t.name, "prefix": t.prefix,
                               "expires_at": t.expires_at, "revoked_at": t.revoked_at} for t, u in rows],
                             columns=["id", "username", "name", "prefix", "expires_at", "revoked_at"])
    emit(frame, fmt, "API tokens")


@audit_app.command("verify")
def audit_verify(database: DatabaseOption = None, fmt: FormatOption = Format.table) -> None:
    """Recompute the audit hash chain; exit code 1 if any entry was edited, deleted or cut off."""

    from minsec.service import audit

    with open_database(database) as db, db.reading() as session:
        result = audit.verify(session)
    _print(result.as_dict(), fmt)
    if not result.ok:
        raise typer.Exit(1)


@warnings_app.command("run")
def warnings_run(database: DatabaseOption = None, fmt: FormatOption = Format.table) -> None:
    """Scan the data for early warnings (export controls, concentration crossings, price spikes, dumping and
    surges) and publish the new ones as alerts."""

    from minsec.service import warnings

    found = warnings.collect(chain=chain())
    with open_database(database) as db:
        counts = warnings.publish(db, found)
    _print(counts | {"warnings": len(found)}, fmt)


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOption = None) -> None:
    """Create or upgrade the schema to the latest migration."""
    with open_database(database) as db:
        typer.echo(f"database schema of {db.url} is up to date", err=True)


@contextlib.contextmanager
def pydantic_errors():
    """A pydantic ValidationError as the one-line InputError of its first field."""
    from pydantic import ValidationError

    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{field}: {first['msg']}") from None


def _print(record: dict, fmt: Format) -> None:
    emit_record(record, fmt)
