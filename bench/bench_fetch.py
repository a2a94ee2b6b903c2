"""Fetch benchmark: the aiohttp fetcher side by side with the old hand-written client.

The same slow server as the poll benchmark (500 feeds on 50 loopback hosts, 100 ms per
answer, global limit 32, 2 per host) is fetched without parsing or storing, so the
figures are the clients' own. Each round is one new Fetcher (as each poll opens one)
fetching every feed: a 200 round (10 items each) and an all-304 round (the stored ETag
sent). Rounds alternate between the two clients, so a busy neighbour on this shared
machine slows both alike; figures are medians. Target (issue 16): CPU per 304 within
1.5x of the old client. Quick mode: 50 feeds, one round each.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from bench.common import Result
from bench.feedgen import feed_xml
from bench.legacy_fetch import Fetcher as LegacyFetcher
from bench.slowserver import server_main
from feeds.addresses import AddressPolicy
from feeds.fetch import Fetcher, FetchOptions, FetchResult

FEEDS_PER_HOST = 10
ITEMS = 10
ROUNDS = 5
OPTIONS = FetchOptions(policy=AddressPolicy(allow_private=True))


class _Client(Protocol):
    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult: ...


ClientFactory = Callable[[FetchOptions], AbstractAsyncContextManager[_Client]]
CLIENTS: dict[str, ClientFactory] = {"old client": LegacyFetcher, "aiohttp": Fetcher}


@dataclass
class _Round:
    wall: float
    cpu: float


def _round(factory: ClientFactory, feeds: list[tuple[str, str]], conditional: bool) -> _Round:
    """One Fetcher fetching every (url, etag) at once; the ETag sent only if `conditional`."""

    async def run() -> list[FetchResult]:
        async with factory(OPTIONS) as client:
            return await asyncio.gather(
                *(client.fetch(url, etag=etag if conditional else None) for url, etag in feeds)
            )

    t0, cpu0 = time.perf_counter(), time.process_time()
    results = asyncio.run(run())
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    want = 304 if conditional else 200
    bad = [r for r in results if r.status != want]
    if bad:
        raise RuntimeError(f"{len(bad)} fetches were not {want}, e.g. {bad[0]}")
    return _Round(wall, cpu)


def run(quick: bool) -> list[Result]:
    n_feeds = 50 if quick else 500
    hosts = [f"127.0.1.{i + 1}" for i in range(max(1, n_feeds // FEEDS_PER_HOST))]
    bodies = {f"/feed/{i}.xml": feed_xml(i, ITEMS) for i in range(n_feeds)}
    parent, child = multiprocessing.Pipe()
    ctx = multiprocessing.get_context("fork")
    server = ctx.Process(target=server_main, args=(bodies, hosts, child), daemon=True)
    server.start()
    try:
        ports = parent.recv()
        feeds = []
        for i in range(n_feeds):
            host = hosts[i % len(hosts)]
            # The ETag the slow server gives each feed.
            feeds.append((f"http://{host}:{ports[host]}/feed/{i}.xml", f'"/feed/{i}.xml-v1"'))
        # One untimed round each first: imports, TLS roots and first-use costs are paid
        # once per process, not per poll.
        for factory in CLIENTS.values():
            _round(factory, feeds, conditional=True)
        rounds: dict[tuple[str, bool], list[_Round]] = {}
        for _ in range(1 if quick else ROUNDS):
            for conditional in (False, True):
                for name, factory in CLIENTS.items():
                    r = _round(factory, feeds, conditional)
                    rounds.setdefault((name, conditional), []).append(r)
        return _report(n_feeds, rounds)
    finally:
        parent.send("stop")
        server.join(timeout=5)
        if server.is_alive():
            server.terminate()


def _report(n_feeds: int, rounds: dict[tuple[str, bool], list[_Round]]) -> list[Result]:
    def med(name: str, conditional: bool, what: str) -> float:
        return statistics.median(getattr(r, what) for r in rounds[(name, conditional)])

    for conditional in (False, True):
        kind = "all 304" if conditional else "200s"
        for name in CLIENTS:
            runs = rounds[(name, conditional)]
            print(
                f"  {kind:7} {name:10} wall {med(name, conditional, 'wall'):.2f}s, CPU "
                f"{med(name, conditional, 'cpu'):.3f}s = "
                f"{med(name, conditional, 'cpu') / n_feeds * 1000:.2f} ms a fetch (medians of "
                f"{len(runs)}: CPU " + ", ".join(f"{r.cpu:.3f}" for r in runs) + ")"
            )
    ratio_304 = med("aiohttp", True, "cpu") / med("old client", True, "cpu")
    ratio_200 = med("aiohttp", False, "cpu") / med("old client", False, "cpu")
    label = f"{n_feeds} feeds"
    return [
        Result(
            f"fetch {label}, CPU per 304, aiohttp / old client",
            ratio_304,
            1.5,
            detail=f"{med('aiohttp', True, 'cpu') / n_feeds * 1000:.2f} ms vs "
            f"{med('old client', True, 'cpu') / n_feeds * 1000:.2f} ms",
        ),
        Result(
            f"fetch {label}, CPU per 200, aiohttp / old client",
            ratio_200,
            1.5,
            detail=f"{med('aiohttp', False, 'cpu') / n_feeds * 1000:.2f} ms vs "
            f"{med('old client', False, 'cpu') / n_feeds * 1000:.2f} ms",
        ),
    ]
