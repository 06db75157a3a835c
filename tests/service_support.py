"""Helpers for the service tests: a small partnership with known tokens, and a live uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

ORGS = [("ops", "platform", None), ("usa", "member", "USA"), ("ec", "member", "EU27"), ("deu", "member", "DEU"),
        ("jpn", "member", "JPN"), ("industry", "observer", None)]
USERS = {  # username: (organisation, roles)
    "admin": ("ops", ["platform_admin"]),
    "us_analyst": ("usa", ["viewer", "analyst"]),
    "us_coord": ("usa", ["viewer", "analyst", "coordinator", "org_admin"]),
    "ec_coord": ("ec", ["viewer", "analyst", "coordinator"]),
    "ec_viewer": ("ec", ["viewer"]),
    "de_viewer": ("deu", ["viewer"]),
    "jp_coord": ("jpn", ["viewer", "analyst", "coordinator"]),
    "ind_viewer": ("industry", ["viewer"]),
}
PASSWORD = "correct horse battery staple"


@dataclass
class Partnership:
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    org_ids: dict[str, int] = field(default_factory=dict)

    def headers(self, username: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"} if username else {}


def seed_partnership(database) -> Partnership:
    from minsec.service import accounts

    out = Partnership()
    with database.writing() as session:
        for slug, kind, country in ORGS:
            out.org_ids[slug] = accounts.create_organisation(session, slug, slug.upper(), kind, country).id
        for username, (org, roles) in USERS.items():
            user = accounts.create_user(session, username, username, org, roles, PASSWORD)
            out.user_ids[username] = user.id
            out.tokens[username] = accounts.issue_token(session, user, "test", 5)[0]
    return out


class LiveServer:
    """uvicorn serving ``app`` on a free loopback port in a background thread."""

    def __init__(self, app) -> None:
        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def read_stream(client, url: str, headers: dict, until_alert: int, timeout: float = 10.0) -> list[dict]:
    """Read Server-Sent Events until the event of alert ``until_alert``; returns the alert payloads, each with the
    (opaque) ``event_id`` the stream gave it."""
    import json

    events, current = [], {}
    deadline = time.monotonic() + timeout
    with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("id:"):
                current["id"] = line[3:].strip()
            elif line.startswith("data:"):
                current["data"] = json.loads(line[5:].strip())
            elif line == "":
                if "data" in current:
                    events.append(current["data"] | {"event_id": current["id"]})
                    if current["data"]["id"] == until_alert:
                        return events
                current = {}
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream did not reach alert {until_alert}")
    return events
