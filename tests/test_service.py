"""The partnership service on SQLite and PostgreSQL: TLP 2.0 authorisation matrix, audit chain, live delivery,
submissions, authentication, bad input."""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from minsec.cli import app as cli_app
from minsec.server import create_app
from minsec.service import audit, stream_ids
from minsec.service.db import Alert, AuditEntry
from tests.service_support import PASSWORD, USERS, LiveServer, read_stream, seed_partnership

runner = CliRunner()


@pytest.fixture
def service(database):
    partnership = seed_partnership(database)
    with TestClient(create_app(database, secure_cookies=False)) as client:
        yield database, client, partnership


def publish(client, partnership, author: str, **fields) -> dict:
    body = {"title": "Gallium export licences delayed", "body": "Licences for Ga exports are delayed.",
            "materials": ["gallium"], "countries": ["CHN"], "severity": "high", **fields}
    response = client.post("/api/alerts", json=body, headers=partnership.headers(author))
    assert response.status_code == 201, response.text
    return response.json()


# ----------------------------------------------------------------------------------- the authorisation matrix
# (tlp, author, recipient organisations, recipient users)
ALERTS = [("CLEAR", "us_analyst", [], []), ("GREEN", "us_analyst", [], []),
          ("AMBER", "us_analyst", ["ec"], []), ("AMBER+STRICT", "us_analyst", ["ec"], []),
          ("RED", "us_analyst", [], ["ec_viewer"]), ("AMBER", "us_coord", ["industry"], []),
          ("RED", "us_coord", [], ["us_analyst"]), ("GREEN", "ec_coord", [], []),
          ("AMBER+STRICT", "jp_coord", ["deu", "usa"], [])]
READERS = [None, *USERS]


def oracle(reader: str | None, tlp: str, author: str, orgs: list[str], users: list[str]) -> bool:
    """The TLP table of the issue, written out independently of the service's code."""
    if tlp == "CLEAR":
        return True
    if reader is None:
        return False
    reader_org, author_org = USERS[reader][0], USERS[author][0]
    kinds = {"ops": "platform", "industry": "observer"}
    if tlp == "GREEN":
        return kinds.get(reader_org, "member") in ("member", "platform") or reader_org == author_org
    if tlp in ("AMBER", "AMBER+STRICT"):
        return reader_org == author_org or reader_org in orgs
    return reader == author or reader in users            # RED


def test_authorisation_matrix_has_no_leaks(service):
    database, client, partnership = service
    created = []
    for index, (tlp, author, orgs, users) in enumerate(ALERTS):
        alert = publish(client, partnership, author, tlp=tlp, recipient_orgs=orgs, recipient_users=users,
                        title=f"Matrix alert {index} marker{index}x")
        created.append((alert["id"], tlp, author, orgs, users))
    # a CLEAR alert last: every stream reads up to its event (a stream sends nothing for hidden alerts)
    sentinel = publish(client, partnership, "us_analyst", tlp="CLEAR", title="End of the matrix")["id"]
    checked = 0
    with LiveServer(create_app(database)) as server, httpx.Client(base_url=server.url) as live:
        for reader in READERS:
            headers = partnership.headers(reader)
            expected = {a for a, tlp, author, orgs, users in created if oracle(reader, tlp, author, orgs, users)}
            if reader is None:
                seen = {a["id"] for a in client.get("/public/alerts").json()} - {sentinel}
                assert seen == expected
                atom = ET.fromstring(client.get("/public/feed.atom").content)
                ids = {int(e.text.rsplit("/", 1)[1]) for e in atom.iter("{http://www.w3.org/2005/Atom}id")
                       if "/alerts/" in e.text} - {sentinel}
                assert ids == expected
                assert client.get("/api/alerts").status_code == 401
                continue
            listed = {a["id"] for a in client.get("/api/alerts", params={"limit": 500}, headers=headers)
                      .json()["alerts"]}
            searched = {a["id"] for a in client.get("/api/alerts", params={"q": "marker"}, headers=headers)
                        .json()["alerts"]}
            exported = {a["id"] for a in json.loads(client.get("/api/alerts/export", params={"format": "json"},
                                                               headers=headers).content)}
            csv_rows = client.get("/api/alerts/export", headers=headers).text.splitlines()[1:]
            exported_csv = {int(row.split(",", 1)[0]) for row in csv_rows}
            streamed = {e["id"] for e in read_stream(live, "/api/alerts/stream?after=0", headers, sentinel)
                        } - {sentinel}
            fetched = set()
            for alert_id, *_ in created:
                response = client.get(f"/api/alerts/{alert_id}", headers=headers)
                assert response.status_code in (200, 404)
                if response.status_code == 200:
                    fetched.add(alert_id)
            for name, seen in (("list", listed), ("search", searched), ("export", exported),
                               ("export csv", exported_csv), ("stream", streamed), ("get", fetched)):
                seen = seen - {sentinel}
                assert seen == expected, f"{reader} via {name}: saw {sorted(seen)}, expected {sorted(expected)}"
                checked += 1
    assert checked == 6 * len(USERS)
    # every read of restricted content was audited, and the chain holds
    with database.reading() as session:
        reads = session.execute(select(AuditEntry).where(AuditEntry.action == "alert.read")).scalars().all()
        assert reads and audit.verify(session).ok
    read_by = {(e.actor_user_id, tuple(e.detail["alert_ids"])) for e in reads}
    ec_viewer = partnership.user_ids["ec_viewer"]
    red_for_ec_viewer = created[4][0]
    assert any(user == ec_viewer and red_for_ec_viewer in ids for user, ids in read_by)


def test_labels_sharing_and_their_rules(service):
    database, client, p = service
    amber = publish(client, p, "us_analyst", tlp="AMBER", recipient_orgs=["ec"])
    strict = publish(client, p, "us_analyst", tlp="AMBER+STRICT", recipient_orgs=["ec"])
    # a recipient cannot relabel; the author organisation's coordinator can (downgrade audited)
    assert client.patch(f"/api/alerts/{amber['id']}/label", json={"tlp": "GREEN"},
                        headers=p.headers("ec_coord")).status_code == 403
    assert client.get(f"/api/alerts/{amber['id']}", headers=p.headers("de_viewer")).status_code == 404
    response = client.patch(f"/api/alerts/{amber['id']}/label", json={"tlp": "GREEN"}, headers=p.headers("us_coord"))
    assert response.status_code == 200 and response.json()["tlp"] == "GREEN"
    assert client.get(f"/api/alerts/{amber['id']}", headers=p.headers("de_viewer")).status_code == 200
    with database.reading() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "alert.relabel")).scalar_one()
        assert entry.detail == {"from": "AMBER", "to": "GREEN", "direction": "downgrade", "organisations": [],
                                "users": []}
    # AMBER: a recipient passes it on only to its own recorded clients (TLP 2.0); only the author widens further
    second = publish(client, p, "us_analyst", tlp="AMBER", recipient_orgs=["ec"])
    refused = client.post(f"/api/alerts/{second['id']}/recipients", json={"organisations": ["deu", "jpn"]},
                          headers=p.headers("ec_coord"))
    assert refused.status_code == 403 and "deu, jpn are not a recorded client" in refused.json()["detail"]
    assert client.get(f"/api/alerts/{second['id']}", headers=p.headers("de_viewer")).status_code == 404
    assert client.post("/api/organisations/ec/clients", json={"client": "deu"},
                       headers=p.headers("ec_coord")).status_code == 403          # platform admins record clients
    assert client.post("/api/organisations/ec/clients", json={"client": "deu"},
                       headers=p.headers("admin")).status_code == 201
    assert client.post(f"/api/alerts/{second['id']}/recipients", json={"organisations": ["deu"]},
                       headers=p.headers("ec_coord")).status_code == 200
    assert client.get(f"/api/alerts/{second['id']}", headers=p.headers("de_viewer")).status_code == 200
    assert client.post(f"/api/alerts/{second['id']}/recipients", json={"organisations": ["jpn"]},
                       headers=p.headers("ec_coord")).status_code == 403          # JPN is no client of the EC
    # one hop: Germany, a client the EC passed it on to, passes it on to none of its own clients
    assert client.post("/api/organisations/deu/clients", json={"client": "jpn"},
                       headers=p.headers("admin")).status_code == 201
    from minsec.service import accounts

    with database.writing() as session:
        de_coord = accounts.create_user(session, "de_coord", "de_coord", "deu", ["viewer", "coordinator"], PASSWORD)
        de_token = accounts.issue_token(session, de_coord, "test", 5)[0]
    onward = client.post(f"/api/alerts/{second['id']}/recipients", json={"organisations": ["jpn"]},
                         headers={"Authorization": f"Bearer {de_token}"})
    assert onward.status_code == 403 and "passes it no further" in onward.json()["detail"]
    assert client.get(f"/api/alerts/{second['id']}", headers=p.headers("jp_coord")).status_code == 404
    # raised to AMBER+STRICT, it is back to the author's choice: the client it was passed on to loses it; named by
    # the author, the client reads it again (as the author's own recipient)
    third = publish(client, p, "us_analyst", tlp="AMBER", recipient_orgs=["ec"], title="Passed on, then strict")
    assert client.post(f"/api/alerts/{third['id']}/recipients", json={"organisations": ["deu"]},
                       headers=p.headers("ec_coord")).status_code == 200
    assert client.get(f"/api/alerts/{third['id']}", headers=p.headers("de_viewer")).status_code == 200
    assert client.patch(f"/api/alerts/{third['id']}/label", json={"tlp": "AMBER+STRICT"},
                        headers=p.headers("us_coord")).status_code == 200
    assert client.get(f"/api/alerts/{third['id']}", headers=p.headers("de_viewer")).status_code == 404
    assert client.get(f"/api/alerts/{third['id']}", headers=p.headers("ec_viewer")).status_code == 200
    assert client.patch(f"/api/alerts/{third['id']}/label", json={"tlp": "AMBER+STRICT", "organisations": ["deu"]},
                        headers=p.headers("us_coord")).status_code == 200
    assert client.get(f"/api/alerts/{third['id']}", headers=p.headers("de_viewer")).status_code == 200
    assert client.post(f"/api/alerts/{second['id']}/recipients", json={"organisations": ["jpn"]},
                       headers=p.headers("us_coord")).status_code == 200          # the author widens
    # raised to RED with its individuals in one call: every organisation reader loses access at once
    assert second["id"] in [a["id"] for a in client.get("/api/alerts", headers=p.headers("ec_viewer")).json()["alerts"]]
    red = client.patch(f"/api/alerts/{second['id']}/label", json={"tlp": "RED", "users": ["us_analyst", "ec_coord"]},
                       headers=p.headers("us_coord"))
    assert red.status_code == 200 and red.json()["tlp"] == "RED"
    for outsider in ("ec_viewer", "de_viewer", "jp_coord", "us_coord"):
        assert client.get(f"/api/alerts/{second['id']}", headers=p.headers(outsider)).status_code == 404, outsider
        listed = client.get("/api/alerts", headers=p.headers(outsider)).json()["alerts"]
        assert second["id"] not in [a["id"] for a in listed], outsider
    assert client.get(f"/api/alerts/{second['id']}", headers=p.headers("ec_coord")).status_code == 200
    no_one = client.patch(f"/api/alerts/{amber['id']}/label", json={"tlp": "RED"}, headers=p.headers("us_coord"))
    assert no_one.status_code == 422 and "users" in no_one.json()["detail"]
    wrong = client.patch(f"/api/alerts/{amber['id']}/label", json={"tlp": "GREEN", "users": ["ec_coord"]},
                         headers=p.headers("us_coord"))
    assert wrong.status_code == 422 and "only a RED label" in wrong.json()["detail"]
    to_amber = client.patch(f"/api/alerts/{amber['id']}/label",
                            json={"tlp": "AMBER+STRICT", "organisations": ["jpn"]}, headers=p.headers("us_coord"))
    assert to_amber.status_code == 200 and "jpn" in to_amber.json()["recipient_orgs"]
    assert client.get(f"/api/alerts/{amber['id']}", headers=p.headers("de_viewer")).status_code == 404
    assert client.post(f"/api/alerts/{strict['id']}/recipients", json={"organisations": ["deu"]},
                       headers=p.headers("ec_coord")).status_code == 403
    assert client.get(f"/api/alerts/{strict['id']}", headers=p.headers("de_viewer")).status_code == 404
    # viewers cannot publish; RED needs named individuals; CLEAR takes no recipients
    body = {"title": "x y z", "body": "b", "tlp": "GREEN"}
    assert client.post("/api/alerts", json=body, headers=p.headers("de_viewer")).status_code == 403
    red = client.post("/api/alerts", json=body | {"tlp": "RED"}, headers=p.headers("us_analyst"))
    assert red.status_code == 422 and "recipient_users" in red.json()["detail"]
    clear = client.post("/api/alerts", json=body | {"tlp": "CLEAR", "recipient_orgs": ["ec"]},
                        headers=p.headers("us_analyst"))
    assert clear.status_code == 422


def test_nothing_is_written_when_a_request_fails(service):
    database, client, p = service
    with database.reading() as session:
        before = (session.execute(select(func.count()).select_from(Alert)).scalar(),
                  session.execute(select(func.count()).select_from(AuditEntry)).scalar())
    response = client.post("/api/alerts", json={"title": "Unknown recipient", "body": "b", "tlp": "AMBER",
                                                "recipient_orgs": ["ec", "atlantis"]}, headers=p.headers("us_analyst"))
    assert response.status_code == 422 and "atlantis" in response.json()["detail"]
    with database.reading() as session:
        after = (session.execute(select(func.count()).select_from(Alert)).scalar(),
                 session.execute(select(func.count()).select_from(AuditEntry)).scalar())
    assert after == before


@pytest.mark.parametrize("payload, field", [
    ({"title": "ok title", "body": "b", "tlp": "PURPLE"}, "tlp"),
    ({"title": "ok title", "body": "b", "tlp": "GREEN", "colour": "red"}, "colour"),
    ({"title": "ok title", "body": "b", "tlp": "GREEN", "materials": "gallium"}, "materials"),
    ({"title": "ok title", "body": "b", "tlp": "GREEN", "severity": 5}, "severity"),
    ({"body": "b", "tlp": "GREEN"}, "title"),
    ({"title": "ok title", "body": "x" * 20_001, "tlp": "GREEN"}, "body"),
])
def test_bad_input_names_the_field(service, payload, field):
    _, client, p = service
    response = client.post("/api/alerts", json=payload, headers=p.headers("us_analyst"))
    assert response.status_code == 422
    assert any(field in [str(part) for part in error["loc"]] for error in response.json()["detail"])


def test_malformed_oversized_and_hostile_bodies(service):
    _, client, p = service
    headers = p.headers("us_analyst") | {"Content-Type": "application/json"}
    assert client.post("/api/alerts", content=b"{not json", headers=headers).status_code == 422
    assert client.post("/api/alerts", content=b"x" * 300_000, headers=headers).status_code == 413
    hostile = "'; DROP TABLE alerts; -- <script>alert(1)</script>"
    alert = publish(client, p, "us_analyst", tlp="GREEN", title=hostile, body=hostile)
    assert alert["title"] == hostile                       # stored verbatim, returned as JSON data
    assert client.get("/api/alerts", params={"q": "'; DROP"}, headers=p.headers("us_analyst")).status_code == 200
    atom = client.get("/public/feed.atom")
    assert atom.status_code == 200


def test_tokens_sessions_csrf_and_lockout(service):
    database, client, p = service
    assert client.get("/api/alerts", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/alerts", headers={"Authorization": "Basic abc"}).status_code == 401
    issued = client.post("/api/auth/tokens", json={"name": "script", "expires_in_days": 1},
                         headers=p.headers("us_analyst")).json()
    token = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/auth/me", headers=token).json()["username"] == "us_analyst"
    assert client.delete(f"/api/auth/tokens/{issued['id']}", headers=p.headers("ec_coord")).status_code == 404
    assert client.delete(f"/api/auth/tokens/{issued['id']}", headers=p.headers("us_analyst")).status_code == 200
    assert client.get("/api/auth/me", headers=token).status_code == 401
    with database.writing() as session:        # an expired token
        session.execute(text("UPDATE api_tokens SET expires_at = '2000-01-01 00:00:00' WHERE id = :i"),
                        {"i": issued["id"] - 1})
    # browser login: cookie + CSRF for changes
    login = client.post("/api/auth/login", json={"username": "ec_coord", "password": PASSWORD})
    assert login.status_code == 200
    csrf = login.json()["csrf_token"]
    assert client.get("/api/auth/me").json()["organisation"] == "ec"
    body = {"title": "Cookie alert", "body": "b", "tlp": "GREEN"}
    assert client.post("/api/alerts", json=body).status_code == 403
    assert client.post("/api/alerts", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert client.get("/api/auth/me").status_code == 401


def test_failed_logins_are_throttled_per_name_and_address_never_locking_the_account(service, monkeypatch):
    """Three failures of one (user name, address) are answered at once; the fourth makes the pair wait 2 s, and
    the delay doubles.  An unknown name gets exactly the same answers (and the same scrypt work); the account
    itself is never locked: its tokens go on working and it signs in from another address meanwhile."""
    import hashlib

    from minsec.service import accounts
    from minsec.service.db import LoginThrottle

    database, client, p = service

    def attempts(username: str) -> list[tuple[int, str]]:
        out = []
        for password in ("wrong", "wrong", "wrong", "wrong", PASSWORD):
            answer = client.post("/api/auth/login", json={"username": username, "password": password})
            out.append((answer.status_code, answer.json()["detail"].replace(username, "NAME")))
        return out

    from minsec.service.security import check_password

    check_password("warm-up", None)                 # the decoy hash is made once per process
    scrypt_calls = []
    real_scrypt = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: scrypt_calls.append(1) or real_scrypt(*a, **k))
    known, unknown = attempts("de_viewer"), attempts("nobody_here")
    assert known == unknown                                         # nothing tells which names exist
    assert [code for code, _ in known] == [401, 401, 401, 401, 429]
    assert "try again in 2 s" in known[-1][1]
    assert len(scrypt_calls) == 8                   # four checked passwords each, for the real and the unknown name
    throttled = client.post("/api/auth/login", json={"username": "de_viewer", "password": PASSWORD})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] in ("1", "2")
    # the account is not locked: its token works, and from another address the right password signs in
    assert client.get("/api/auth/me", headers=p.headers("de_viewer")).status_code == 200
    with database.writing() as session:
        user, _, _ = accounts.login(session, "de_viewer", PASSWORD, "198.51.100.7")
        assert user.username == "de_viewer"
    with database.writing() as session:                  # the wait is over: the right password signs in
        session.execute(text("UPDATE login_throttle SET blocked_until = NULL"))
    assert client.post("/api/auth/login", json={"username": "de_viewer", "password": PASSWORD}).status_code == 200
    with database.reading() as session:
        assert session.get(LoginThrottle, ("de_viewer", "testclient")) is None       # forgotten on success
        assert session.get(LoginThrottle, ("nobody_here", "testclient")).failures == 4
        actions = dict(session.execute(select(AuditEntry.action, func.count()).group_by(AuditEntry.action)).all())
    assert actions["login.failed"] == 8 and actions["login.throttled"] == 3


def test_a_burst_of_failed_logins_on_one_new_pair_never_collides(database):
    """Eight simultaneous failures of a name never seen from one address: each is counted (one upsert, no key
    collision between the first inserts), none is a server error."""
    from concurrent.futures import ThreadPoolExecutor

    from minsec.service import accounts
    from minsec.service.db import LoginThrottle

    def attempt(_):
        with database.writing() as session:          # as the login route: the failure is committed, then answered
            try:
                accounts.login(session, "burst_name", "wrong", "203.0.113.9")
            except accounts.LoginFailedError as exc:
                return type(exc).__name__
        return "signed in"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert set(outcomes) <= {"LoginFailedError", "LoginThrottledError"}, outcomes
    with database.reading() as session:
        assert 1 <= session.get(LoginThrottle, ("burst_name", "203.0.113.9")).failures <= 8


def test_throttle_delay_grows_and_is_capped():
    from minsec.service.accounts import FREE_FAILURES, MAX_DELAY, throttle_delay

    delays = [throttle_delay(n).total_seconds() for n in range(1, 40)]
    assert delays[:FREE_FAILURES] == [0, 0, 0] and delays[FREE_FAILURES:FREE_FAILURES + 3] == [2, 4, 8]
    assert all(a <= b for a, b in itertools.pairwise(delays)) and max(delays) == MAX_DELAY.total_seconds()


def test_login_attempts_are_rate_limited(service):
    database, client, _ = service
    answers = [client.post("/api/auth/login", json={"username": f"ghost{i}", "password": "x"}) for i in range(25)]
    codes = [a.status_code for a in answers]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    # when to come back, and one audit entry for the flood of refusals, not one per attempt
    assert all(1 <= int(a.headers["Retry-After"]) <= 60 for a in answers[20:])
    with database.reading() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("login.rate_limited") == 1 and actions.count("login.failed") == 20


def test_the_caller_dependency_can_be_overridden(service):
    """``app.dependency_overrides`` replaces the caller: the read endpoint applies the TLP rule to the stand-in."""
    from minsec.service.deps import required_principal
    from minsec.service.security import Principal

    _, client, p = service
    publish(client, p, "us_analyst", tlp="GREEN", title="Override green")
    publish(client, p, "us_analyst", tlp="AMBER", recipient_orgs=["ec"], title="Override amber")
    assert client.get("/api/alerts").status_code == 401
    viewer = Principal(user_id=p.user_ids["de_viewer"], org_id=p.org_ids["deu"], org_kind="member",
                       roles=frozenset({"viewer"}), username="de_viewer", org_slug="deu")
    client.app.dependency_overrides[required_principal] = lambda: viewer
    try:
        titles = {a["title"] for a in client.get("/api/alerts").json()["alerts"]}      # no credentials sent
    finally:
        client.app.dependency_overrides.clear()
    assert "Override green" in titles and "Override amber" not in titles
    assert client.get("/api/alerts").status_code == 401


# ------------------------------------------------------------------------------------------------ audit chain
def test_audit_chain_detects_edits_deletions_and_a_cut_tail(service, tmp_path):
    database, client, p = service
    for tlp in ("AMBER", "GREEN", "RED"):
        alert = publish(client, p, "us_analyst", tlp=tlp, recipient_orgs=["ec"] if tlp == "AMBER" else [],
                        recipient_users=["ec_viewer"] if tlp == "RED" else [])
        client.get(f"/api/alerts/{alert['id']}", headers=p.headers("ec_viewer"))
    assert client.get("/api/audit/verify", headers=p.headers("admin")).json()["ok"]
    assert client.get("/api/audit/verify", headers=p.headers("us_coord")).status_code == 403
    with database.reading() as session:
        n = session.execute(select(func.count()).select_from(AuditEntry)).scalar()
    # 6 organisations + 8 users + 8 tokens + 3 alerts + 2 audited reads (AMBER, RED; GREEN is not audited)
    assert n == 27
    # edit one entry's content
    with database.writing() as session:
        session.execute(text("UPDATE audit_log SET action = 'alert.nothing' WHERE seq = 20"))
    result = client.get("/api/audit/verify", headers=p.headers("admin")).json()
    assert not result["ok"] and result["first_bad_seq"] == 20 and "altered" in result["problem"]
    # delete an earlier entry: the gap is found first
    with database.writing() as session:
        session.execute(text("DELETE FROM audit_log WHERE seq = 10"))
    with database.reading() as session:
        result = audit.verify(session)
    assert not result.ok and result.first_bad_seq == 10 and "missing" in result.problem


def test_audit_verify_cli_and_cut_tail(database):
    seed_partnership(database)
    url = database.url
    ok = runner.invoke(cli_app, ["audit", "verify", "--database", url, "-f", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"]
    with database.writing() as session:
        last = session.execute(select(func.max(AuditEntry.seq))).scalar()
        session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": last})
    cut = runner.invoke(cli_app, ["audit", "verify", "--database", url, "-f", "json"])
    assert cut.exit_code == 1
    assert "removed from the end" in json.loads(cut.stdout)["problem"]


# --------------------------------------------------------------------------------------------- live delivery
def test_stream_delivers_live_and_resumes_after_reconnect(service):
    database, client, p = service
    client.post("/api/subscriptions", json={"materials": ["germanium"], "min_severity": "high"},
                headers=p.headers("ec_viewer"))
    with LiveServer(create_app(database)) as server, httpx.Client(base_url=server.url) as live:
        first = publish(client, p, "us_analyst", tlp="GREEN", materials=["germanium"], title="Germanium first")
        events = read_stream(live, "/api/alerts/stream?after=0", p.headers("ec_viewer"), first["id"])
        assert [e["title"] for e in events] == ["Germanium first"]
        last_seen = events[-1]["event_id"]
        # while disconnected: three more alerts, one of which the subscription filters out
        publish(client, p, "us_analyst", tlp="GREEN", materials=["germanium"], title="Germanium second")
        publish(client, p, "us_analyst", tlp="GREEN", materials=["gallium"], title="Gallium only")
        third = publish(client, p, "us_analyst", tlp="AMBER", recipient_orgs=["ec"], materials=["germanium"],
                        title="Germanium third")
        resumed = read_stream(live, "/api/alerts/stream?subscribed=true",
                              p.headers("ec_viewer") | {"Last-Event-ID": last_seen}, third["id"])
        assert [e["title"] for e in resumed] == ["Germanium second", "Germanium third"]
        # the same through ?after=, and an id the stream never sent (or sent another reader) is refused
        again = read_stream(live, f"/api/alerts/stream?subscribed=true&after={last_seen}", p.headers("ec_viewer"),
                            third["id"])
        assert [e["title"] for e in again] == ["Germanium second", "Germanium third"]
        for forged in (last_seen[::-1], str(int(last_seen, 16) ^ 1).zfill(16)[:16]):
            assert live.get("/api/alerts/stream", headers=p.headers("ec_viewer") | {"Last-Event-ID": forged}
                            ).status_code == 422
        assert live.get("/api/alerts/stream", headers=p.headers("de_viewer") | {"Last-Event-ID": last_seen}
                        ).status_code == 422
        for malformed in ("-000000000000001", "0x00000000000001", "ABCDEF0123456789"):   # never a 500
            assert live.get("/api/alerts/stream", headers=p.headers("ec_viewer") | {"Last-Event-ID": malformed}
                            ).status_code == 422, malformed


def test_stream_sends_nothing_for_alerts_the_reader_may_not_read(service):
    """Hidden alerts leave no trace in a reader's stream — no line, and ids that are opaque and the reader's own,
    so two of them do not count the hidden changes between; the next readable alert arrives with its id."""
    database, client, p = service
    with (LiveServer(create_app(database)) as server, httpx.Client(base_url=server.url) as live,
          live.stream("GET", "/api/alerts/stream", headers=p.headers("de_viewer"), timeout=20) as response):
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")
        connected = next(lines)
        while next(lines) != "":                    # the rest of the connection's preamble (a comment)
            pass
        for i in range(4):
            publish(client, p, "us_analyst", tlp="AMBER", recipient_orgs=["ec"], title=f"Hidden {i}")
        visible = publish(client, p, "us_analyst", tlp="GREEN", title="Visible to members")
        seen = []
        for line in lines:
            seen.append(line)
            if line.startswith("data:"):
                break
    meaningful = [line for line in seen if line and not line.startswith(":")]
    with database.reading() as session:
        event_id = session.execute(text("SELECT max(id) FROM alert_events WHERE alert_id = :a"),
                                   {"a": visible["id"]}).scalar()
    with database.writing() as session:
        ids = stream_ids.load(session)
    reader = p.user_ids["de_viewer"]
    assert meaningful[:2] == [f"id: {ids.encode(reader, event_id)}", "event: alert"], seen
    assert json.loads(meaningful[2][5:])["title"] == "Visible to members"
    # four hidden alerts in between, yet the two ids the reader saw say nothing of them: 16 hex digits each,
    # decoded only with the server's key and the reader's identity
    before, after = connected[3:].strip(), meaningful[0][3:].strip()
    assert len(before) == len(after) == 16 and ids.decode(reader, after) == event_id
    assert ids.decode(reader, before) == event_id - 5 and ids.decode(p.user_ids["ec_viewer"], after) != event_id


def test_alerts_and_submissions_refuse_unknown_materials_countries_and_implausible_figures(service):
    _, client, p = service
    body = {"title": "A test alert", "body": "b", "tlp": "GREEN"}
    for extra, field, word in ((dict(materials=["unobtainium"]), "materials", "unobtainium"),
                               (dict(countries=["ZZZ"]), "countries", "ZZZ")):
        answer = client.post("/api/alerts", json=body | extra, headers=p.headers("us_analyst"))
        assert answer.status_code == 422 and answer.json()["detail"].startswith(field) and word in answer.text
    named = publish(client, p, "us_analyst", tlp="GREEN", materials=["Gallium", "rare earths"], countries=["chn"])
    assert named["materials"] == ["gallium", "rare_earths"] and named["countries"] == ["CHN"]
    report = {"kind": "stockpile_holding", "material": "gallium", "quantity_t": 50.0, "as_of": "2026-11-30"}
    headers = p.headers("us_coord")
    for change, field in (({"material": "unobtainium"}, "material"), ({"quantity_t": 1e12}, "quantity_t"),
                          ({"quantity_t": 1e6}, "quantity_t"), ({"as_of": "2099-01-01"}, "as_of"),
                          ({"as_of": "1850-01-01"}, "as_of")):
        answer = client.post("/api/submissions", json=report | change, headers=headers)
        assert answer.status_code == 422, (change, answer.text)
        assert field in json.dumps(answer.json()), (change, answer.text)
    assert client.post("/api/submissions", json=report, headers=headers).status_code == 201


# ------------------------------------------------------------------------------------------------ submissions
def test_confidential_submissions_show_only_aggregates_of_three(service):
    _, client, p = service
    figures = {"us_coord": 120.0, "ec_coord": 80.0, "jp_coord": 60.0}

    def submit(user: str, quantity: float):
        return client.post("/api/submissions", json={"kind": "stockpile_holding", "material": "gallium",
                                                     "quantity_t": quantity, "as_of": "2026-11-01"},
                           headers=p.headers(user))

    assert submit("us_coord", figures["us_coord"]).status_code == 201
    assert submit("ec_coord", figures["ec_coord"]).status_code == 201
    two = client.get("/api/submissions/aggregates", headers=p.headers("de_viewer")).json()
    assert two == [{"kind": "stockpile_holding", "material": "gallium", "contributors": 2, "total_t": None,
                    "own_t": None, "shown": False}]
    own = client.get("/api/submissions/aggregates", headers=p.headers("us_coord")).json()[0]
    assert own["own_t"] == 120.0 and own["total_t"] is None
    assert submit("jp_coord", figures["jp_coord"]).status_code == 201
    three = client.get("/api/submissions/aggregates", headers=p.headers("de_viewer")).json()[0]
    assert three["shown"] and three["total_t"] == pytest.approx(260.0)
    # a newer figure replaces the organisation's previous one
    assert submit("us_coord", 100.0).status_code == 201
    assert client.get("/api/submissions/aggregates", headers=p.headers("de_viewer")).json()[0]["total_t"] == 240.0
    assert submit("ind_viewer", 5.0).status_code == 403            # observers and viewers do not submit
    mine = client.get("/api/submissions/mine", headers=p.headers("ec_coord")).json()
    assert [m["quantity_t"] for m in mine] == [80.0]


def test_openapi_document_lists_every_route_with_models(service):
    _, client, _ = service
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path in ("/api/alerts", "/api/alerts/{alert_id}", "/api/alerts/stream", "/api/alerts/export",
                 "/api/alerts/{alert_id}/label", "/api/alerts/{alert_id}/recipients", "/public/feed.atom",
                 "/api/submissions/aggregates", "/api/audit/verify", "/api/auth/login", "/api/auth/tokens"):
        assert path in paths, path
    schemas = document["components"]["schemas"]
    assert set(schemas["AlertIn"]["properties"]) >= {"title", "body", "tlp", "recipient_orgs", "recipient_users"}
    assert schemas["AlertIn"]["additionalProperties"] is False


#: what anyone may call without signing in (the public feeds, the health check, the login itself)
ANONYMOUS = {"/api/health", "/api/auth/login"}


def test_every_api_operation_refuses_an_anonymous_caller(service):
    """The probe over the whole API, every operation the OpenAPI document lists (those added since the first
    sharing service included: risk, scenarios, markets, stockpile, invest, rules, research, jobs): without a
    session or a token each one answers 401 before it reads, computes or starts anything."""
    _, client, _ = service
    paths = client.get("/openapi.json").json()["paths"]
    checked = 0
    for path, operations in paths.items():
        if not path.startswith("/api/") or path in ANONYMOUS:
            continue
        # {alert_id} → 1, {slug} → 1: a parameter's value never matters before the caller is known
        concrete = "/".join("1" if seg.startswith("{") else seg for seg in path.split("/"))
        for method in operations:
            response = client.request(method.upper(), concrete, json={})
            assert response.status_code == 401, (method, path, response.status_code, response.text[:200])
            checked += 1
    assert checked >= 60, checked


def test_role_and_org_combinations_for_user_management(service):
    _, client, p = service
    new = {"username": "us_new", "display_name": "New", "organisation": "usa", "roles": ["viewer"],
           "password": "a long enough password"}
    assert client.post("/api/users", json=new, headers=p.headers("us_coord")).status_code == 201
    other_org = new | {"username": "ec_new", "organisation": "ec"}
    assert client.post("/api/users", json=other_org, headers=p.headers("us_coord")).status_code == 403
    assert client.post("/api/users", json=other_org, headers=p.headers("admin")).status_code == 201
    for user, allowed in itertools.product(["us_analyst", "de_viewer"], [False]):
        response = client.post("/api/organisations", json={"slug": "ita", "name": "Italy", "kind": "member"},
                               headers=p.headers(user))
        assert (response.status_code == 201) == allowed
    assert client.post("/api/organisations", json={"slug": "ita", "name": "Italy", "kind": "member"},
                       headers=p.headers("admin")).status_code == 201


# ----------------------------------------------------------------------------------- jobs and early warnings
def wait_for(client, headers, job_id: str, timeout: float = 120.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise TimeoutError(job_id)


def test_stopping_the_server_stops_the_running_job_and_frees_its_connection(database, monkeypatch):
    """A job still running when the application stops is stopped at its next progress report and marked failed
    (the worker is gone before the database can be disposed), and the restarted application runs jobs again."""
    import threading
    import time

    from minsec.service import jobs
    from minsec.service.db import Job

    def endless(params, progress, database):
        while True:
            progress(0.5)
            time.sleep(0.01)

    partnership = seed_partnership(database)
    headers = partnership.headers("us_analyst")
    monkeypatch.setitem(jobs.RUNNERS, "scenario_ensemble", endless)
    app = create_app(database, secure_cookies=False)
    with TestClient(app) as client:
        submitted = client.post("/api/jobs", json={"params": {"kind": "scenario_ensemble", "material": "gallium"}},
                                headers=headers)
        job_id = submitted.json()["id"]
        deadline = time.monotonic() + 30
        while client.get(f"/api/jobs/{job_id}", headers=headers).json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert not [t for t in threading.enumerate() if t.name.startswith("minsec-job")]
    with database.reading() as session:
        stopped = session.get(Job, job_id)
        assert (stopped.status, stopped.error) == ("failed", jobs.STOPPED)
    monkeypatch.undo()
    with TestClient(app) as client:                                    # the same application, started again
        params = {"kind": "markets_floor", "floor": 110.0, "volume": 10.0, "years": 1, "spot": 100.0,
                  "vol": 0.3, "drift": 0.0, "rate": 0.03, "paths": 1_000, "seed": 1}
        submitted = client.post("/api/jobs", json={"params": params}, headers=headers)
        assert wait_for(client, headers, submitted.json()["id"])["status"] == "done"


def test_a_worker_starting_up_fails_only_the_jobs_of_runners_that_are_gone(database, monkeypatch):
    """``minsec serve --workers 2``: each process has its job runner on the one database.  A second worker (or a
    restarted one) starting up must not fail a job the first is running; a job whose runner stopped beating (its
    process died) is failed."""
    import datetime as dt
    import threading

    from minsec.service import jobs
    from minsec.service.db import Job, JobRunnerRow
    from minsec.service.security import Principal

    release = threading.Event()

    def waits(params, progress, database):
        while not release.wait(0.01):
            progress(0.5)
        return {"ok": True}

    partnership = seed_partnership(database)
    monkeypatch.setitem(jobs.RUNNERS, "scenario_ensemble", waits)
    analyst = Principal(user_id=partnership.user_ids["us_analyst"], org_id=partnership.org_ids["usa"],
                        org_kind="member", roles=frozenset({"viewer", "analyst"}), username="us_analyst",
                        org_slug="usa")
    first = jobs.JobRunner(database)
    second = None
    try:
        job = first.submit(analyst, jobs.EnsembleOutlook(material="gallium"))
        second = jobs.JobRunner(database)                     # another worker starts while the job runs
        with database.reading() as session:
            assert session.get(Job, job.id).status in ("queued", "running")
        release.set()
        first.pool.submit(lambda: None).result(timeout=30)    # the job's turn is over
        with database.reading() as session:
            assert session.get(Job, job.id).status == "done"
        # a runner that stopped beating a minute ago is gone: its job fails at the next start-up
        release.clear()
        stale = first.submit(analyst, jobs.EnsembleOutlook(material="germanium"))
        with database.writing() as session:
            session.get(JobRunnerRow, first.runner_id).heartbeat_at = jobs.utcnow() - dt.timedelta(minutes=1)
        first.stopping.set()                                  # its process "dies": no more beats
        third = jobs.JobRunner(database)
        with database.reading() as session:
            assert (session.get(Job, stale.id).status, session.get(Job, stale.id).error) == ("failed",
                                                                                             jobs.STOPPED)
        third.shutdown()
    finally:
        release.set()
        first.shutdown()
        if second is not None:
            second.shutdown()


def test_background_jobs_run_and_report(service):
    _, client, p = service
    headers = p.headers("us_analyst")
    params = {"kind": "markets_floor", "floor": 110.0, "volume": 10.0, "years": 2, "spot": 100.0, "vol": 0.3,
              "drift": 0.0, "rate": 0.03, "paths": 2_000, "seed": 1}
    submitted = client.post("/api/jobs", json={"params": params}, headers=headers)
    assert submitted.status_code == 202
    job = wait_for(client, headers, submitted.json()["id"])
    assert job["status"] == "done" and job["progress"] == 1.0
    result = client.get(f"/api/jobs/{job['id']}/result", headers=headers).json()
    floor = result["valuation"][0]
    assert floor["mechanism"] == "price floor (CfD)"
    assert [row["mechanism"] for row in result["valuation"]][1:] == ["offtake (fixed price)", "price-gap subsidy"]
    assert abs(floor["mc_minus_analytic_in_se"]) < 4
    # other organisations do not see the job; viewers cannot start analyses; bad parameters name the field
    assert client.get(f"/api/jobs/{job['id']}", headers=p.headers("ec_coord")).status_code == 404
    assert client.post("/api/jobs", json={"params": params}, headers=p.headers("de_viewer")).status_code == 403
    bad = client.post("/api/jobs", json={"params": params | {"paths": 10**9}}, headers=headers)
    assert bad.status_code == 422 and "paths" in json.dumps(bad.json())
    unknown = client.post("/api/jobs", json={"params": {"kind": "scenario_run", "scenario": "no_such_thing"}},
                          headers=headers)
    failed = wait_for(client, headers, unknown.json()["id"])
    assert failed["status"] == "failed" and "unknown scenario" in failed["error"]
    assert client.get(f"/api/jobs/{failed['id']}/result", headers=headers).status_code == 409


def test_early_warnings_are_published_once_with_evidence(service):
    _, client, p = service
    submitted = client.post("/api/jobs", json={"params": {"kind": "early_warnings"}}, headers=p.headers("us_coord"))
    job = wait_for(client, p.headers("us_coord"), submitted.json()["id"])
    assert job["status"] == "done", job
    counts = client.get(f"/api/jobs/{job['id']}/result", headers=p.headers("us_coord")).json()
    assert counts["created"] == counts["warnings"] > 20
    alerts = client.get("/api/alerts", params={"limit": 500}, headers=p.headers("ind_viewer")).json()["alerts"]
    controls = [a for a in alerts if a["kind"] == "early_warning" and a["evidence"].get("measure_id") == "CN-2023-23"]
    assert controls and controls[0]["tlp"] == "CLEAR" and "gallium" in controls[0]["materials"]
    assert "exportcontrol.mofcom.gov.cn" in controls[0]["evidence"]["source_url"]
    # the observer sees CLEAR warnings only; members see the GREEN trade findings too
    assert {a["tlp"] for a in alerts} == {"CLEAR"}
    member = client.get("/api/alerts", params={"limit": 500}, headers=p.headers("de_viewer")).json()["alerts"]
    dumping = [a for a in member if a["evidence"] and a["evidence"].get("kind") == "dumping"]
    assert dumping and all(a["tlp"] == "GREEN" and a["evidence"]["evidence"] for a in dumping)
    again = client.post("/api/jobs", json={"params": {"kind": "early_warnings"}}, headers=p.headers("us_coord"))
    wait_for(client, p.headers("us_coord"), again.json()["id"])
    counts = client.get(f"/api/jobs/{again.json()['id']}/result", headers=p.headers("us_coord")).json()
    assert counts["created"] == 0 and counts["existing"] == counts["warnings"]
    assert client.post("/api/jobs", json={"params": {"kind": "early_warnings"}},
                       headers=p.headers("us_analyst")).status_code == 403


def test_analytics_endpoints(service):
    _, client, p = service
    headers = p.headers("de_viewer")
    rows = client.get("/api/risk/concentration", params={"material": "gallium", "stage": "refining", "year": 2023},
                      headers=headers).json()
    assert rows[0]["top_country"] == "CHN" and rows[0]["top_share"] > 0.9
    assert client.get("/api/risk/concentration", params={"material": "unobtainium"}, headers=headers).status_code \
        == 422
    assert any(s["id"] == "ga_ge_licensing_2023" for s in client.get("/api/scenarios", headers=headers).json())
    assert any(m["material"] == "gallium" for m in client.get("/api/materials", headers=headers).json())


def test_event_feed_keeps_a_bounded_buffer_and_sends_older_resumptions_to_the_database(service):
    import asyncio

    from minsec.service.runtime import EventFeed

    database, client, p = service
    feed = EventFeed(database, capacity=3)
    feed.start()
    first = feed.last
    ids = [publish(client, p, "us_analyst", tlp="GREEN", title=f"feed {k}")["id"] for k in range(5)]
    asyncio.run(feed.refresh())
    assert feed.last == first + 5 and len(feed.entries) == 3
    assert [e.row.id for e in feed.after(feed.base)] == ids[2:]
    assert feed.after(first) is None                      # evicted: the stream reads the database instead
    assert feed.after(feed.last) == []
    assert json.loads(feed.entries[-1].text)["title"] == "feed 4"
    feed.stop()


def test_the_publish_response_is_the_alert_as_stored(service):
    _, client, p = service
    for fields in ({"tlp": "AMBER", "recipient_orgs": ["jpn", "ec"]}, {"tlp": "RED", "recipient_users": ["ec_viewer"]},
                   {"tlp": "GREEN", "materials": ["germanium", "gallium", "gallium"], "countries": ["chn", "rus"]}):
        created = publish(client, p, "us_coord", **fields)      # the author reads each back, RED included
        assert created == client.get(f"/api/alerts/{created['id']}", headers=p.headers("us_coord")).json()
