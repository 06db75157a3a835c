"""A demo partnership for local use: organisations, users with generated passwords, and an API token each.

The credentials are generated once per database, written next to it (``<db>.demo-credentials.txt``, mode
600) and printed — for a local trial only; deployments create organisations and users with ``minsec admin``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import func, select

from minsec.service import accounts
from minsec.service.db import Database, Organisation

ORGANISATIONS = [
    ("minsec-ops", "minsec platform operations", "platform", None),
    ("usa", "United States (DOE, State, Commerce, DoD coordination cell)", "member", "USA"),
    ("ec", "European Commission (DG GROW, JRC)", "member", "EU27"),
    ("deu", "Germany (BMWK)", "member", "DEU"),
    ("fra", "France (DGE)", "member", "FRA"),
    ("jpn", "Japan (METI, JOGMEC)", "member", "JPN"),
    ("magnet-industry", "European magnet makers' association (observer)", "observer", None),
]
USERS = [
    ("admin", "Platform administrator", "minsec-ops", ["platform_admin"]),
    ("us-analyst", "US analyst", "usa", ["viewer", "analyst"]),
    ("us-coordinator", "US coordinator", "usa", ["viewer", "analyst", "coordinator", "org_admin"]),
    ("ec-analyst", "Commission analyst", "ec", ["viewer", "analyst"]),
    ("ec-coordinator", "Commission coordinator", "ec", ["viewer", "analyst", "coordinator", "org_admin"]),
    ("de-viewer", "German ministry viewer", "deu", ["viewer"]),
    ("fr-coordinator", "French coordinator", "fra", ["viewer", "analyst", "coordinator"]),
    ("jp-coordinator", "Japanese coordinator", "jpn", ["viewer", "analyst", "coordinator"]),
    ("industry-viewer", "Industry observer", "magnet-industry", ["viewer"]),
]


def credentials_path(database: Database) -> Path:
    if database.is_sqlite:
        return Path(database.url.split("///", 1)[-1] + ".demo-credentials.txt")
    return Path("minsec.demo-credentials.txt")


def seed(database: Database) -> list[dict] | None:
    """Create the demo partnership if the database has no organisations; returns the credentials created."""
    with database.writing() as session:
        if session.execute(select(func.count()).select_from(Organisation)).scalar():
            return None
        for slug, name, kind, country in ORGANISATIONS:
            accounts.create_organisation(session, slug, name, kind, country)
        out = []
        for username, display, org, roles in USERS:
            password = secrets.token_urlsafe(12)
            user = accounts.create_user(session, username, display, org, roles, password)
            token, _ = accounts.issue_token(session, user, "demo", 30)
            out.append({"username": username, "organisation": org, "roles": ",".join(roles), "password": password,
                        "token": token})
    path = credentials_path(database)
    text = "\n".join(f"{c['username']}\t{c['organisation']}\t{c['roles']}\tpassword={c['password']}\t"
                     f"token={c['token']}" for c in out) + "\n"
    # created readable by its owner only: never, even for an instant, with the umask's wider mode
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(text)
    path.chmod(0o600)                    # a file left from an older run keeps its old mode otherwise
    return out
