"""Crash safety: SIGKILL the server during a burst of writes, restart it; every acknowledged write is there
and the audit chain verifies (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx2 as httpx
from sqlalchemy import select

from minsec.service import audit
from minsec.service.db import Alert
from tests.service_support import seed_partnership


def start_server(url: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "minsec.cli", "serve", "--database", url, "--port", str(port),
                                "--no-demo"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start: {process.stderr.read().decode()[-2000:]}")


def test_acknowledged_writes_survive_sigkill(database):
    partnership = seed_partnership(database)
    url = database.url
    database.dispose()
    process, base = start_server(url)
    acknowledged: list[int] = []
    stop = threading.Event()

    def writer(worker: int) -> None:
        with httpx.Client(base_url=base, headers=partnership.headers("us_analyst"), timeout=5) as client:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    response = client.post("/api/alerts", json={"title": f"burst {worker}-{n}", "body": "b",
                                                                "tlp": "AMBER", "recipient_orgs": ["ec"]})
                except httpx.TransportError:
                    return
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) > 20
    process, base = start_server(url)        # restart on the same database
    try:
        with httpx.Client(base_url=base, headers=partnership.headers("ec_viewer"), timeout=10) as client:
            # the restarted server serves the last acknowledged alerts to their recipients
            for alert_id in sorted(acknowledged)[-20:]:
                assert client.get(f"/api/alerts/{alert_id}").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()
    from minsec.service.db import connect

    reopened = connect(url)
    try:
        with reopened.reading() as session:
            stored = set(session.execute(select(Alert.id)).scalars())
            titles = list(session.execute(select(Alert.title).where(Alert.title.like("burst %"))).scalars())
            verification = audit.verify(session)
    finally:
        reopened.dispose()
    assert set(acknowledged) <= stored                          # no acknowledged alert lost
    assert len(titles) == len(set(titles)) >= len(acknowledged)   # none stored twice
    assert verification.ok, verification
