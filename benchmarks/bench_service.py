"""Load test of the partnership service (issue: partnership service).  Loopback only, bounded in time.

200 concurrent clients for 60 s against `minsec serve` on SQLite (a separate process, ``--workers 2``):
160 readers paced to offer 600 alert-list reads a second in all (each with its own member's token), 20
publishers posting a GREEN alert every 10 s each (2 alerts a second, 7,200 an hour: far above what a
partnership's analysts write, and every alert invalidates the servers' page caches), and 20 subscribers on
the live stream.  Printed: reads/s
achieved, read latency p50/p95/p99, publish latency, publish → subscriber delivery latency p50/p95/p99 over
every (alert, subscriber) pair, and alerts lost or delivered twice.

Targets (2 cores, SQLite): ≥ 500 reads/s with p95 < 50 ms; delivery p95 < 100 ms; nothing lost or duplicated.

    python3 make.py bench benchmarks/bench_service.py            # or: python benchmarks/bench_service.py 20
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import numpy as np

from minsec.service import accounts, sharing
from minsec.service.db import connect, upgrade

READERS, PUBLISHERS, SUBSCRIBERS = 160, 20, 20
OFFERED_READS_PER_SECOND = float(os.environ.get("MINSEC_LOAD_READS", "600"))
PUBLISH_INTERVAL = 10.0
WARM_UP = 5.0
TARGET_READS, TARGET_READ_P95_MS, TARGET_DELIVERY_P95_MS = 500.0, 50.0, 100.0
MEMBERS = ["usa", "ec", "deu", "fra", "jpn", "ita", "nld", "kor"]


def seed(url: str) -> dict[str, str]:
    """Members with one coordinator each, tokens, and 300 alerts at mixed labels."""
    database = connect(url)
    upgrade(database)
    tokens = {}
    with database.writing() as session:
        for slug in MEMBERS:
            accounts.create_organisation(session, slug, slug.upper(), "member")
        for slug in MEMBERS:
            user = accounts.create_user(session, f"{slug}-coord", slug, slug, ["viewer", "analyst", "coordinator"])
            tokens[slug] = accounts.issue_token(session, user, "load", 1)[0]
            principal = accounts.principal_of(user)
            for k in range(300 // len(MEMBERS)):
                labels = ["GREEN", "GREEN", "CLEAR", "AMBER"]
                tlp = labels[k % len(labels)]
                sharing.create_alert(session, principal, title=f"{slug} background alert {k}", body="x" * 400, tlp=tlp,
                                     materials=["gallium", "germanium"][k % 2:k % 2 + 1], countries=["CHN"],
                                     stage=None, severity="medium", source=None,
                                     recipient_orgs=[MEMBERS[(MEMBERS.index(slug) + 1) % len(MEMBERS)]]
                                     if tlp == "AMBER" else [], recipient_users=[])
    database.dispose()
    return tokens


def start(url: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "minsec.cli", "serve", "--database", url, "--port", str(port),
                                "--no-demo", "--workers", os.environ.get("MINSEC_LOAD_WORKERS", "2")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    import urllib.request

    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=1):
                return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


async def read_load(base: str, tokens: dict[str, str], begin_at: float, seconds: float) -> dict:
    """The readers (run in their own process, so that their work does not delay the subscribers' clocks)."""
    reads: list[float] = []
    errors = [0]
    members = list(tokens)
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=0)) as session:

        async def reader(index: int, stop: float, record: bool) -> None:
            headers = {"Authorization": f"Bearer {tokens[members[index % len(members)]]}"}
            interval = READERS / OFFERED_READS_PER_SECOND
            next_at = time.time() + (index / READERS) * interval
            while next_at < stop:
                await asyncio.sleep(max(0.0, next_at - time.time()))
                began = time.perf_counter()
                try:
                    async with session.get("/api/alerts", params={"limit": "20"}, headers=headers) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                if record:
                    if ok:
                        reads.append(time.perf_counter() - began)
                    else:
                        errors[0] += 1
                next_at += interval

        await asyncio.gather(*[reader(i, begin_at, False) for i in range(READERS)])      # warm-up
        started = time.perf_counter()
        await asyncio.gather(*[reader(i, begin_at + seconds, True) for i in range(READERS)])
        return {"reads": reads, "errors": errors[0], "elapsed": time.perf_counter() - started}


def readers_process(base: str, tokens: dict[str, str], begin_at: float, seconds: float, out) -> None:
    out.put(asyncio.run(read_load(base, tokens, begin_at, seconds)))


async def live_load(base: str, tokens: dict[str, str], begin_at: float, seconds: float) -> dict:
    """Publishers and subscribers: every published alert must reach every subscriber exactly once."""
    published: dict[str, float] = {}            # title → time the publish request was sent
    acknowledged: dict[str, float] = {}         # title → time the server's 201 arrived
    publish_latency: list[float] = []
    errors = [0]
    received: list[dict[str, float]] = [{} for _ in range(SUBSCRIBERS)]
    duplicates = [0]
    members = list(tokens)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
        ready = asyncio.Event()
        subscribed = [0]

        async def subscriber(index: int) -> None:
            token = tokens[members[index % len(members)]]
            seen = received[index]
            async with session.get("/api/alerts/stream", headers={"Authorization": f"Bearer {token}"}) as response:
                subscribed[0] += 1
                if subscribed[0] == SUBSCRIBERS:
                    ready.set()
                async for raw in response.content:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("data:"):
                        title = json.loads(line[5:])["title"]
                        if title in seen:
                            duplicates[0] += 1
                        seen[title] = time.perf_counter()

        async def publisher(index: int, stop: float, record: bool) -> None:
            headers = {"Authorization": f"Bearer {tokens[members[index % len(members)]]}"}
            next_at = time.time() + (index / PUBLISHERS) * PUBLISH_INTERVAL
            while next_at < stop:
                await asyncio.sleep(max(0.0, next_at - time.time()))
                title = f"load {uuid.uuid4().hex}"
                began = time.perf_counter()
                async with session.post("/api/alerts", headers=headers, json={
                        "title": title, "body": "live", "tlp": "GREEN", "materials": ["gallium"],
                        "severity": "high"}) as response:
                    await response.read()
                    if response.status == 201:
                        if record:
                            published[title] = began
                            acknowledged[title] = time.perf_counter()
                            publish_latency.append(acknowledged[title] - began)
                    else:
                        errors[0] += 1
                next_at += PUBLISH_INTERVAL

        streams = [asyncio.create_task(subscriber(i)) for i in range(SUBSCRIBERS)]
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.gather(*[publisher(i, begin_at, False) for i in range(PUBLISHERS)])     # warm-up
        await asyncio.gather(*[publisher(i, begin_at + seconds - 1, True) for i in range(PUBLISHERS)])
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline and not all(set(published) <= set(r) for r in received):
            await asyncio.sleep(0.05)
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    delivery = [seen[t] - published[t] for seen in received for t in published if t in seen]
    after_ack = [seen[t] - acknowledged[t] for seen in received for t in published if t in seen]
    lost = sum(1 for seen in received for t in published if t not in seen)
    return {"publish": publish_latency, "published": len(published), "delivery": delivery, "lost": lost,
            "after_ack": after_ack,
            "duplicates": duplicates[0], "errors": errors[0]}


def run(base: str, tokens: dict[str, str], seconds: float) -> dict:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    begin_at = time.time() + 3 + WARM_UP            # both processes measure the same wall-clock window
    readers = context.Process(target=readers_process, args=(base, tokens, begin_at, seconds, out))
    readers.start()
    live = asyncio.run(live_load(base, tokens, begin_at, seconds))
    read = out.get(timeout=seconds + 120)
    readers.join(timeout=30)
    return read | live | {"errors": {"read": read["errors"], "publish": live["errors"]}}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q)) if values else float("nan")


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    directory = Path(tempfile.mkdtemp(prefix="minsec-load-"))
    url = f"sqlite:///{directory / 'load.db'}"
    tokens = seed(url)
    process, base = start(url)
    try:
        result = run(base, tokens, seconds)
    finally:
        process.terminate()
        process.wait(timeout=20)
    reads, delivery = result["reads"], result["delivery"]
    rate = len(reads) / result["elapsed"]
    workers = os.environ.get("MINSEC_LOAD_WORKERS", "2")
    print(f"{READERS + PUBLISHERS + SUBSCRIBERS} clients for {result['elapsed']:.0f} s on SQLite ({workers} server "
          "processes; loopback; the clients run in 2 processes on the same 2 cores)")
    print(f"  reads: {len(reads):,} ({rate:,.0f}/s, offered {OFFERED_READS_PER_SECOND:,.0f}/s); latency p50 "
          f"{pct(reads, 50):.1f} ms, p95 {pct(reads, 95):.1f} ms, p99 {pct(reads, 99):.1f} ms; "
          f"errors {result['errors']}")
    print(f"  publishes: {result['published']:,}; latency p50 {pct(result['publish'], 50):.1f} ms, "
          f"p95 {pct(result['publish'], 95):.1f} ms")
    print(f"  delivery to {SUBSCRIBERS} subscribers ({len(delivery):,} alert × subscriber pairs): p50 "
          f"{pct(delivery, 50):.1f} ms, p95 {pct(delivery, 95):.1f} ms, p99 {pct(delivery, 99):.1f} ms; "
          f"lost {result['lost']}, duplicated {result['duplicates']}; after the publisher's 201: p50 "
          f"{pct(result['after_ack'], 50):.1f} ms, p95 {pct(result['after_ack'], 95):.1f} ms")
    ok = (rate >= TARGET_READS and pct(reads, 95) < TARGET_READ_P95_MS and pct(delivery, 95) < TARGET_DELIVERY_P95_MS
          and result["lost"] == 0 and result["duplicates"] == 0 and sum(result["errors"].values()) == 0)
    print(f"  targets ≥ {TARGET_READS:g} reads/s, read p95 < {TARGET_READ_P95_MS:g} ms, delivery p95 < "
          f"{TARGET_DELIVERY_P95_MS:g} ms, none lost or duplicated: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
