"""Poll benchmark: 500 feeds from a local server that takes 100 ms per response.

The server runs in its own process, an asyncio HTTP/1.1 server listening on 50 loopback
addresses (127.0.1.1-50, ten feeds each), so the per-host limit (2) works as it would
against 50 real sites and the global limit (32) is what bounds the poll. It answers a
matching If-None-Match with 304. Targets: the first poll of 500 feeds within 2.5 s; a
second poll, every feed unchanged, all 304 and nothing parsed, within 2 s. Each
figure is the median of three runs on fresh databases. Quick mode: 50 feeds, one run.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Result, parse_rates
from bench.feedgen import feed_xml
from bench.slowserver import DELAY, server_main
from feeds.subscriptions import add_feed
from monitor.config import FeedSettings, Settings
from monitor.poll.cycle import poll_due_feeds
from monitor.store.db import open_database
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue

FEEDS_PER_HOST = 10
ITEMS = 10
TRIALS = 3
SETTINGS = Settings(feeds=FeedSettings(allow_private_addresses=True))


def _hosts(n_feeds: int) -> list[str]:
    n_hosts = max(1, n_feeds // FEEDS_PER_HOST)
    return [f"127.0.1.{i + 1}" for i in range(n_hosts)]


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the parse workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass
class _Trial:
    first: float
    first_cpu: float
    second: float
    second_cpu: float
    entries: int
    new: int
    flags: int


def run(quick: bool) -> list[Result]:
    n_feeds = 50 if quick else 500
    hosts = _hosts(n_feeds)
    bodies = {f"/feed/{i}.xml": feed_xml(i, ITEMS) for i in range(n_feeds)}
    parent, child = multiprocessing.Pipe()
    ctx = multiprocessing.get_context("fork")
    server = ctx.Process(target=server_main, args=(bodies, hosts, child), daemon=True)
    server.start()
    try:
        ports = parent.recv()
        rates = parse_rates(list(bodies.values()))
        trials = []
        # This machine's speed wanders by a fifth from one minute to the next: the median of
        # three runs, each on a fresh database, says more than one run.
        for _ in range(1 if quick else TRIALS):
            with tempfile.TemporaryDirectory() as tmp:
                trials.append(_trial(n_feeds, hosts, ports, Path(tmp) / "poll.db"))
        return _report(n_feeds, hosts, trials, rates)
    finally:
        parent.send("stop")
        server.join(timeout=5)
        if server.is_alive():
            server.terminate()


def _trial(n_feeds: int, hosts: list[str], ports: dict[str, int], path: Path) -> _Trial:
    db = open_database(f"sqlite:///{path}")
    with db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
        for i in range(n_feeds):
            host = hosts[i % len(hosts)]
            add_feed(session, url=f"http://{host}:{ports[host]}/feed/{i}.xml")
    now = datetime.now(UTC)

    t0, cpu0 = time.perf_counter(), _cpu()
    first = poll_due_feeds(db=db, settings=SETTINGS, now=now, owner="bench")
    t_first, cpu_first = time.perf_counter() - t0, _cpu() - cpu0
    failed = [r for r in first.results if not r.ok]
    if failed or len(first.results) != n_feeds:
        raise RuntimeError(f"first poll: {len(failed)} failed, e.g. {failed[:1]}")

    t0, cpu0 = time.perf_counter(), _cpu()
    second = poll_due_feeds(db=db, settings=SETTINGS, now=now + timedelta(hours=1), owner="bench")
    t_second, cpu_second = time.perf_counter() - t0, _cpu() - cpu0
    parsed = sum(r.entries for r in second.results)
    if second.not_modified != n_feeds or parsed:
        raise RuntimeError(f"second poll: {second.not_modified} of {n_feeds} were 304, {parsed}")
    db.dispose()
    print(
        f"  first poll {t_first:.2f}s (CPU {cpu_first:.2f}s), second poll all 304 "
        f"{t_second:.2f}s (CPU {cpu_second:.2f}s); load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return _Trial(
        first=t_first,
        first_cpu=cpu_first,
        second=t_second,
        second_cpu=cpu_second,
        entries=sum(r.entries for r in first.results),
        new=first.new,
        flags=first.flags,
    )


def _report(
    n_feeds: int, hosts: list[str], trials: list[_Trial], rates: tuple[float, float]
) -> list[Result]:
    entries = trials[0].entries
    floor = n_feeds / SETTINGS.feeds.concurrency * DELAY
    cores = os.cpu_count() or 1
    bare, ours = rates
    parse_floor = entries / ours / cores
    first = statistics.median(t.first for t in trials)
    second = statistics.median(t.second for t in trials)
    print(
        f"  {n_feeds} feeds on {len(hosts)} hosts, {ITEMS} items each, {DELAY * 1000:.0f} ms "
        f"per response; fetch-bound floor {floor:.2f}s; each poll {entries} entries, "
        f"{trials[0].new} new articles, {trials[0].flags} flags"
    )
    print(
        f"  this machine: bare feedparser {bare:.0f} items/s per core, feeds.parse {ours:.0f}; "
        f"parsing {entries} items alone takes {parse_floor:.2f}s on {cores} cores "
        "(the first poll's floor)"
    )
    runs = f"median of {len(trials)}" if len(trials) > 1 else "one run"
    label = f"{n_feeds} feeds"
    return [
        Result(
            f"poll {label}, first poll",
            first,
            2.5,
            unit="s",
            detail=f"{runs}: " + ", ".join(f"{t.first:.2f}" for t in trials),
        ),
        Result(
            f"poll {label}, second poll all 304",
            second,
            2.0,
            unit="s",
            detail=f"{runs}: " + ", ".join(f"{t.second:.2f}" for t in trials),
        ),
    ]
