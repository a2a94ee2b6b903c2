"""Query speed on a large SQLite file, and API throughput.

With 1,000,000 generated articles and 10,000 flags (quick: 100,000 articles):
- a filtered `flags list` query (the function the CLI and API use) answers in under
  50 ms median, printed with its ratio to a bare indexed SQL query on the same file;
- a two-word `search` answers in under 50 ms median, with its ratio to a bare FTS5 match;
- `pledgewatch serve --workers 2` answers at least 500 requests/s of
  `/api/flags?company=...` (a concurrent httpx client on the same machine).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import Result
from monitor.query.filters import FlagFilter
from monitor.query.flags import list_flags
from monitor.query.search import search_articles
from monitor.store.db import open_database
from monitor.store.fulltext import FTS_TABLE, ensure_search_index
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue

COMPANY = "Amazon"
QUERY = "tribunal police"
# Words that make generated text look like news; a few rare ones are what people search.
COMMON = (
    "company said report market shares quarter board plans new year week government "
    "customers service data staff price sales growth investors chief executive deal "
    "policy officials statement group rules analysts business industry technology public"
).split()
RARE = ["tribunal", "moratorium", "whistleblower", "sanctions", "recognition", "police"]
PLEDGE_WORDS = ["facial", "plastic", "emissions", "Russia", "diversity", "weapons"]


def _words(rng: random.Random, n: int) -> str:
    out = rng.choices(COMMON, k=n)
    for i in range(n):
        r = rng.random()
        if r < 0.004:
            out[i] = RARE[int(r * 1500) % len(RARE)]
        elif r < 0.02:
            out[i] = PLEDGE_WORDS[int(r * 400) % len(PLEDGE_WORDS)]
    return " ".join(out)


def _articles(n: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    span = 11 * 365 * 24 * 3600
    for i in range(1, n + 1):
        when = (start + timedelta(seconds=rng.randrange(span))).strftime("%Y-%m-%d %H:%M:%S.000000")
        yield (
            i,
            f"bench-{i}",
            f"https://news.example.org/{i}",
            _words(rng, 9).capitalize(),
            "",
            _words(rng, 30),
            when,
            0,
            when,
            when,
            "",
        )


def build(path: Path, articles: int, flags: int) -> None:
    """A SQLite file with the shipped catalogue, `articles` articles and `flags` flags."""
    db = open_database(f"sqlite:///{path}")
    with db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
    pledges = [p.id for p in load_catalogue(shipped_catalogue())]
    db.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    # Bulk load without the FTS triggers, then build the index once (as for an old file).
    for trigger in ("ai", "ad", "au"):
        conn.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{trigger}")
    conn.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO articles (id, key, url, title, summary_html, text, published_at, "
        "published_estimated, first_seen_at, updated_at, content_hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _articles(articles),
    )
    rng = random.Random(11)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.000000")
    evidence = json.dumps(
        [
            {
                "sentence": "A sentence of evidence.",
                "in_title": False,
                "spans": [{"start": 2, "end": 10, "text": "sentence", "role": "subject"}],
            }
        ]
    )
    ids = rng.sample(range(1, articles + 1), flags)
    conn.executemany(
        "INSERT INTO flags (article_id, pledge_id, kind, score, reasons, evidence, status, "
        "active, detector_version, review_version, first_raised_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'bench', 0, ?, ?)",
        (
            (
                aid,
                rng.choice(pledges),
                rng.choice(("breach", "rollback")),
                round(rng.uniform(0.5, 1), 3),
                '["bench"]',
                evidence,
                rng.choices(("open", "confirmed", "dismissed"), (6, 1, 3))[0],
                now,
                now,
            )
            for aid in ids
        ),
    )
    conn.execute("COMMIT")
    conn.close()
    db = open_database(f"sqlite:///{path}")
    with db.engine.begin() as c:
        ensure_search_index(c)
        c.exec_driver_sql("ANALYZE")
    db.dispose()


def _median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm the page cache and statement cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _one_connection(host: str, port: int, target: str, stop: float) -> tuple[int, int]:
    """Keep-alive GETs on one connection until `stop`; (ok, failed) answers.

    A bare HTTP/1.1 client: the measurement is of the server, so the client should cost
    as little CPU as possible on the shared cores.
    """
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    ok = failed = 0
    try:
        while time.perf_counter() < stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if status == 200:
                ok += 1
            else:
                failed += 1
    finally:
        writer.close()
    return ok, failed


async def _hammer(url: str, seconds: float, concurrency: int) -> tuple[int, int]:
    parts = httpx.URL(url)
    target = parts.raw_path.decode()
    stop = time.perf_counter() + seconds
    results = await asyncio.gather(
        *(_one_connection(parts.host, parts.port or 80, target, stop) for _ in range(concurrency))
    )
    return sum(r[0] for r in results), sum(r[1] for r in results)


def api_throughput(path: Path, seconds: float, *, cache: bool = True) -> tuple[float, int]:
    port = _free_port()
    exe = Path(sys.executable).with_name("pledgewatch")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEDGEWATCH_")}
    if not cache:
        env["PLEDGEWATCH_API_READ_CACHE_ENTRIES"] = "0"
    proc = subprocess.Popen(
        [str(exe), "--db", str(path), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/flags?company={COMPANY}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("pledgewatch serve did not start")
            time.sleep(0.2)
        asyncio.run(_hammer(url, 1.0, 16))  # warm both workers
        done, errors = asyncio.run(_hammer(url, seconds, 16))
    finally:
        proc.terminate()
        proc.wait(20)
    return done / seconds, errors


def run(quick: bool = False) -> list[Result]:
    articles = 100_000 if quick else 1_000_000
    flags = 10_000
    runs = 30
    results = []
    with tempfile.TemporaryDirectory(prefix="pledgewatch-bench-queries-") as tmp:
        path = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        build(path, articles, flags)
        print(
            f"  built {articles:,} articles and {flags:,} flags in {time.perf_counter() - t0:.0f}s",
            flush=True,
        )
        db = open_database(f"sqlite:///{path}")
        raw = sqlite3.connect(path)
        company_id = raw.execute("SELECT id FROM companies WHERE name = ?", (COMPANY,)).fetchone()[
            0
        ]
        filt = FlagFilter(company=COMPANY, status="open", limit=50)
        with db.session() as session:
            ours = _median_ms(lambda: list_flags(session, filt), runs)
            found = len(list_flags(session, filt))
            search = _median_ms(lambda: search_articles(session, QUERY, limit=20), runs)
            hits = len(search_articles(session, QUERY, limit=20))
        bare_flags = _median_ms(
            lambda: raw.execute(
                "SELECT f.id FROM flags f JOIN pledges p ON p.id = f.pledge_id "
                "JOIN articles a ON a.id = f.article_id WHERE p.company_id = ? AND "
                "f.status = 'open' AND f.active = 1 ORDER BY a.published_at DESC LIMIT 50",
                (company_id,),
            ).fetchall(),
            runs,
        )
        bare_search = _median_ms(
            lambda: raw.execute(
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? ORDER BY rank LIMIT 20",
                (QUERY,),
            ).fetchall(),
            runs,
        )
        raw.close()
        results.append(
            Result(
                "flags list --company --status (median)",
                ours,
                50,
                unit=" ms",
                detail=f"{found} rows; bare SQL {bare_flags:.2f} ms, "
                f"ratio {ours / bare_flags:.1f}x",
            )
        )
        results.append(
            Result(
                f"search '{QUERY}' (median)",
                search,
                50,
                unit=" ms",
                detail=f"{hits} hits; bare FTS5 {bare_search:.2f} ms, "
                f"ratio {search / bare_search:.1f}x",
            )
        )
        db.dispose()
        seconds = 3.0 if quick else 10.0
        rps, errors = api_throughput(path, seconds)
        uncached, _ = api_throughput(path, seconds, cache=False)
        results.append(
            Result(
                f"GET /api/flags?company={COMPANY}, 2 workers",
                rps,
                500,
                op=">=",
                unit=" req/s",
                detail=f"{errors} errors; {uncached:.0f} req/s with the read cache off; "
                f"client on the same {os.cpu_count()} cores",
            )
        )
    return results
