"""Daemon benchmark: several daemons share one PostgreSQL and split a polling round.

1,000 feeds (10 items each) are served from a separate process by an asyncio HTTP/1.1
server on 50 loopback addresses (127.0.2.1-50, 20 feeds each), answering every request
after 100 ms, with an ETag (a matching If-None-Match gets 304). A "daemon" is a process
running the daemon's poll job (`monitor.daemon.jobs.run_poll`: claim due feeds with row leases,
fetch, parse, store, flag), each capped at the same concurrency (`feeds.concurrency =
16`). The pollers wait at a barrier once started (imports, catalogue compiled, parse
workers ready, as a daemon's start leaves them), so a round is timed from the go signal
until the last poller is done. For one daemon, then two, on a fresh database: a first
round (every entry new: 10,000 articles parsed, stored and scanned) and the next round
(every feed unchanged: 304, the daemon's usual round).

Targets (issue 5): two daemons finish a round at least 1.7x faster than one; one daemon
finishes a round within 10 s. The fetch-bound floor for one daemon is 1000 / 16 x 0.1 s
= 6.25 s; a first round is bound by CPU instead on a small machine (the poller CPU is
printed), where a second daemon on the same cores cannot help. So the first round is
also run with each daemon pinned to a core of its own (as on two servers; the database
and the feed server still share both cores): one daemon on one core against two on
two. Quick mode: 200 feeds.
Needs the PostgreSQL server of the test suite (PLEDGEWATCH_TEST_POSTGRES_URL, default
postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
import uuid
from multiprocessing.synchronize import Barrier
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import Result, parse_rates
from bench.feedgen import feed_xml
from bench.slowserver import DELAY, server_main

HOSTS = 50
ITEMS = 10
CONCURRENCY = 16
POSTGRES_URL = os.environ.get(
    "PLEDGEWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _poller_main(
    url: str,
    settings_json: str,
    owner: str,
    barrier: Barrier,
    out: Any,
    cpu: int | None,
    feeds: int,
) -> None:
    """One daemon's poll job, started at the barrier; reports (feeds polled, failures).

    With `cpu`, the daemon and its parse workers run on that core only, as a daemon on a
    server of its own would.
    """
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    from monitor.config import Settings
    from monitor.daemon.jobs import run_poll
    from monitor.daemon.rows import beat, mark_stopped
    from monitor.flags.detection import load_detector
    from monitor.poll.workers import ParseWorkers
    from monitor.store.db import Database

    db = Database(url)
    settings = Settings.model_validate_json(settings_json)
    with db.session() as session:
        detector = load_detector(session)
    # As a daemon does at its start: parse workers kept for its life, ready before polls.
    workers = ParseWorkers()
    for ready in workers.start(feeds):
        ready.result()
    # and a heartbeat: live daemons split each round of due feeds between them.
    beat(db, owner=owner, settings=settings, started=True)
    barrier.wait()
    outcome = run_poll(
        db=db, settings=settings, detector=detector, owner=owner, parse_executor=workers
    )
    mark_stopped(db, owner=owner)
    workers.close(wait=True)
    report = outcome.result
    polled = len(report.results) if report is not None else 0
    failed = len(report.failed) if report is not None else -1
    out.put((owner, polled, failed, outcome.error))
    db.dispose()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _fresh_database(admin_url: str, name: str, urls: list[str]) -> str:
    """Create (or empty) database `name`, load the catalogue and subscribe to `urls`."""
    from datetime import UTC, datetime

    from feeds.models import Feed
    from monitor.store.db import open_database
    from pledges.catalogue import load_catalogue, shipped_catalogue
    from pledges.store import sync_catalogue

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    db = open_database(url)
    now = datetime.now(UTC)
    with db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
        session.add_all(Feed(url=u, created_at=now) for u in urls)
    db.dispose()
    return url


def _make_all_due(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE feeds SET next_due_at = NULL, lease_owner = NULL"))
    engine.dispose()


def _round(
    url: str, settings_json: str, daemons: int, label: str, feeds: int, pinned: bool = False
) -> tuple[float, int]:
    """Seconds for `daemons` pollers to poll every due feed once, and the feeds polled."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(daemons + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=_poller_main,
            args=(url, settings_json, f"bench-{i}", barrier, out, i if pinned else None, feeds),
        )
        for i in range(daemons)
    ]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    t0 = time.perf_counter()
    cpu0 = _cpu_seconds()
    results = [out.get(timeout=300) for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join(timeout=30)
    # CPU of the pollers and their parse workers (start-up before the barrier included).
    cpu = _cpu_seconds() - cpu0
    problems = [r for r in results if r[2] != 0 or r[3]]
    if problems:
        raise RuntimeError(f"poll round with {daemons} daemon(s) had failures: {problems}")
    shares = sorted(r[1] for r in results)
    where = ", one core each" if pinned else ""
    print(
        f"  {label}, {daemons} daemon(s){where}: {elapsed:.2f}s, feeds per daemon {shares}, "
        f"poller CPU {cpu:.1f}s on {os.cpu_count()} cores (load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return elapsed, sum(shares)


def run(quick: bool) -> list[Result]:
    from monitor.config import Settings

    n_feeds = 200 if quick else 1000
    hosts = [f"127.0.2.{i + 1}" for i in range(HOSTS)]
    bodies = {f"/feed/{i}.xml": feed_xml(i, ITEMS) for i in range(n_feeds)}
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=server_main, args=(bodies, hosts, child), daemon=True
    )
    server.start()
    name = f"pledgewatch_bench_{uuid.uuid4().hex[:8]}"
    settings = Settings.model_validate(
        {"feeds": {"allow_private_addresses": True, "concurrency": CONCURRENCY}}
    )
    try:
        ports = parent.recv()
        urls = [f"http://{hosts[i % HOSTS]}:{ports[hosts[i % HOSTS]]}/feed/{i}.xml"
                for i in range(n_feeds)]  # fmt: skip
        cold: dict[int, float] = {}
        steady: dict[int, float] = {}
        pinned: dict[int, float] = {}
        for daemons in (1, 2):
            url = _fresh_database(POSTGRES_URL, name, urls)
            for label, times in (("first round, all new", cold), ("next round, all 304", steady)):
                _make_all_due(url)
                times[daemons], polled = _round(
                    url, settings.model_dump_json(), daemons, label, n_feeds // daemons
                )
                if polled != n_feeds:
                    raise RuntimeError(f"{daemons} daemon(s) polled {polled} of {n_feeds} feeds")
        if len(os.sched_getaffinity(0)) >= 2:
            # Two servers, modelled on one machine: each daemon and its parse workers get
            # a core of their own (the database and the feed server share both).
            for daemons in (1, 2):
                url = _fresh_database(POSTGRES_URL, name, urls)
                label = "first round, all new"
                pinned[daemons], polled = _round(
                    url, settings.model_dump_json(), daemons, label, n_feeds // daemons, pinned=True
                )
                if polled != n_feeds:
                    raise RuntimeError(f"{daemons} daemon(s) polled {polled} of {n_feeds} feeds")
    finally:
        parent.send("stop")
        server.join(timeout=5)
        if server.is_alive():
            server.terminate()
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    floor = n_feeds / CONCURRENCY * DELAY
    bare, ours = parse_rates(list(bodies.values()))
    cores = os.cpu_count() or 1
    parse_floor = n_feeds * ITEMS / ours / cores
    print(f"  {n_feeds} feeds, {DELAY * 1000:.0f} ms each, concurrency {CONCURRENCY} per "
          f"daemon; one daemon's fetch-bound floor {floor:.2f}s", flush=True)  # fmt: skip
    print(f"  this machine: bare feedparser {bare:.0f} items/s per core, feeds.parse {ours:.0f}; "
          "parsing a first "
          f"round's {n_feeds * ITEMS} items alone takes {parse_floor:.2f}s on all {cores} "
          "cores, whatever the number of daemons", flush=True)  # fmt: skip
    label = f"daemon {n_feeds} feeds"
    results = []
    for kind, times in (("round of unchanged feeds (304)", steady), ("first round", cold)):
        results += [
            Result(f"{label}, {kind}, one daemon", times[1], 10.0, unit="s",
                   detail=f"fetch floor {floor:.2f}s"
                   + (f", parse floor {parse_floor:.2f}s" if kind == "first round" else "")),
            Result(f"{label}, {kind}, two daemons vs one", times[1] / times[2], 1.7, op=">=",
                   detail=f"{times[1]:.2f}s vs {times[2]:.2f}s"),
        ]  # fmt: skip
    if pinned:
        results.append(
            Result(f"{label}, first round, two daemons vs one, one core per daemon",
                   pinned[1] / pinned[2], 1.7, op=">=",
                   detail=f"{pinned[1]:.2f}s vs {pinned[2]:.2f}s (as on two servers)")
        )  # fmt: skip
    return results
