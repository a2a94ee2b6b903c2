"""Reading, parsing and scanning feed files in worker processes (the slow part of ingest).

`ParsePool` forks its workers first thing, before the database is opened, and they start
parsing at once; the compiled detector follows through a queue as soon as the caller has
it, and each worker scans its entries with it. Results come back in input order with a
bounded number of files in flight, so memory stays flat however many files there are.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from types import TracebackType
from typing import Any

from feeds.errors import FeedError
from feeds.parse import ParsedFeed, parse
from pledges.detect import Detector, Finding

MAX_FILE_BYTES = 50_000_000
# Files per task: enough to amortise the hand-over, few enough to keep both cores busy.
MAX_CHUNK = 8
# Tasks in flight per worker.
WINDOW = 3


@dataclass
class Scanned:
    """One file, parsed and scanned (what a worker sends back)."""

    source: str
    feed: ParsedFeed | None = None
    error: str | None = None
    # content hash -> the publication time the scan assumed, and its findings.
    scans: dict[str, tuple[datetime, list[Finding]]] = field(default_factory=dict)


def read_source(path_or_url: str) -> bytes:
    """Read a local feed file (URLs are fetched by the feeds package)."""
    if path_or_url.lower().startswith(("http://", "https://")):
        raise FeedError(
            "ingest reads local files; add URLs with `feeds add` to poll them",
            url=path_or_url,
            kind="not_a_file",
        )
    path = Path(path_or_url)
    if not path.is_file():
        raise FeedError("no such file", url=path_or_url, kind="not_found")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FeedError(
            f"file is {size} bytes, over the {MAX_FILE_BYTES} byte cap",
            url=path_or_url,
            kind="too_large",
        )
    return path.read_bytes()


def parse_file(path: str, now: datetime) -> Scanned:
    """Read and parse one file; every failure becomes a reason, never an exception."""
    res = Scanned(source=path)
    try:
        res.feed = parse(read_source(path), url=path, now=now)
    except FeedError as exc:
        res.error = f"{exc.kind}: {exc}"
    except OSError as exc:
        res.error = f"unreadable: {exc.strerror or exc}"
    except RecursionError as exc:
        res.error = f"parse_crash: feed could not be parsed ({type(exc).__name__})"
    return res


def scan_entries(res: Scanned, detector: Detector, now: datetime) -> Scanned:
    """Run detection over a parsed file's entries (undated ones as of `now`)."""
    if res.feed is not None and detector.size:
        for e in res.feed.entries:
            published = e.published or now
            res.scans[e.content_hash] = (published, detector.scan(e.title, e.text, published))
    return res


def default_workers() -> int:
    """Worker processes for parsing: the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Per worker process, set by the pool initializer (not an import-time setting).
_worker: dict[str, Any] = {}


def _init_worker(queue: Any, now: datetime) -> None:
    # Ctrl-C is for the parent, which stops the pool; workers print no tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker.update(queue=queue, now=now, detector=None, waited=False)


def _worker_detector() -> Detector | None:
    if not _worker["waited"]:
        # Blocks until the parent has compiled the catalogue (None: it gave up).
        _worker["detector"] = _worker["queue"].get()
        _worker["waited"] = True
    detector: Detector | None = _worker["detector"]
    return detector


def _work(paths: Sequence[str]) -> list[Scanned]:
    now: datetime = _worker["now"]
    parsed = [parse_file(p, now) for p in paths]
    detector = _worker_detector()
    if detector is not None:
        for res in parsed:
            scan_entries(res, detector, now)
    return parsed


class ParsePool:
    """Worker processes reading, parsing and scanning files; see the module docstring."""

    def __init__(self, paths: Sequence[str], *, now: datetime, workers: int) -> None:
        # fork starts workers in milliseconds with everything imported; elsewhere, spawn.
        method = "fork" if "fork" in get_all_start_methods() else None
        ctx = get_context(method)
        self._workers = workers
        self._queue = ctx.Queue()
        self._sent = False
        chunk = max(1, min(MAX_CHUNK, len(paths) // (workers * 8)))
        self._tasks = iter([paths[i : i + chunk] for i in range(0, len(paths), chunk)])
        self._in_flight: deque[Future[list[Scanned]]] = deque()
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(self._queue, now),
        )
        for _ in range(workers * WINDOW):
            if not self._submit():
                break

    def _submit(self) -> bool:
        task = next(self._tasks, None)
        if task is None:
            return False
        self._in_flight.append(self._executor.submit(_work, task))
        return True

    def send_detector(self, detector: Detector | None) -> None:
        """Hand the compiled catalogue to every worker (None: parse without scanning)."""
        if not self._sent:
            self._sent = True
            for _ in range(self._workers):
                self._queue.put(detector)

    def results(self) -> Iterator[Scanned]:
        """Scanned files in input order."""
        while self._in_flight:
            done = self._in_flight.popleft().result()
            self._submit()
            yield from done

    def close(self) -> None:
        """Stop the workers (releasing any still waiting for a detector)."""
        self.send_detector(None)
        self._executor.shutdown(wait=True, cancel_futures=True)
        # Detectors no worker took (fewer tasks than workers) need not be flushed.
        self._queue.cancel_join_thread()
        self._queue.close()

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
