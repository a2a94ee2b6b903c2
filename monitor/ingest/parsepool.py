"""Reading, parsing and scanning feed files in worker processes (the slow part of ingest).

`ParsePool` forks its workers first thing, before the database is opened, and they start
parsing at once; the compiled detector follows through a queue as soon as the caller has
it, and each worker scans its entries with it. Results come back in input order with a
bounded number of files in flight, so memory stays flat however many files there are.
If the workers cannot start or die, the files not yet done are read in this process.

Gzip files (`feed.xml.gz`, or any file starting with the gzip magic bytes) are
decompressed under the same cap on decoded bytes as a gzip response body.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_all_start_methods, get_context
from types import TracebackType
from typing import Any

from feeds.decode import DEFAULT_MAX_BYTES, BodyDecoder
from feeds.errors import FeedError
from feeds.parse import ParsedFeed, parse
from feeds.parseworker import exit_with_parent
from localfiles import LocalFileError, read_local_file
from monitor.flags.detection import Scans
from pledges.detect import Detector

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50_000_000
GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK = 1 << 16
# Files per task: enough to amortise the hand-over, few enough to keep both cores busy.
MAX_CHUNK = 8
# Tasks in flight per worker.
WINDOW = 3
# Tasks in flight per worker while the caller compiles a catalogue too big to ship: it
# takes no results for a second or two, and the workers should not run dry meanwhile.
WINDOW_COMPILING = 8
# Catalogues bigger than this are not sent to workers. A 10,000-pledge detector pickles
# to 21 MB: 0.7 s to pickle for each worker and 1.0 s to unpickle in each, where scanning
# 10,000 items in one process takes 0.3 s. Where workers fork, new ones forked once it is
# compiled hold it already: they scan the files not yet begun, and those the first
# workers parsed without it (sent back to them); the writer scans only what is left.
MAX_SHIPPED_PLEDGES = 2_000


def shippable(detector: Detector) -> bool:
    """Whether worker processes should scan with this detector: not one too big to ship,
    nor one with the semantic layer (its encoder stays in the process that loaded it)."""
    return 0 < detector.size <= MAX_SHIPPED_PLEDGES and detector.semantic_version is None


@dataclass
class Scanned:
    """One file, parsed and scanned (what a worker sends back)."""

    source: str
    feed: ParsedFeed | None = None
    error: str | None = None
    # content hash -> the publication time the scan assumed, and its findings.
    scans: Scans = field(default_factory=dict)


def read_source(path_or_url: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a local feed file, gunzipped if it is gzip (URLs are fetched by the feeds package).

    Only regular files are read (localfiles: no device, FIFO or directory, at most
    MAX_FILE_BYTES); `max_bytes` caps what a gzip file decompresses to, as for a gzip
    response body.
    """
    if path_or_url.lower().startswith(("http://", "https://")):
        raise FeedError(
            "ingest reads local files; add URLs with `feeds add` to poll them",
            url=path_or_url,
            kind="not_a_file",
        )
    try:
        data = read_local_file(path_or_url, max_bytes=MAX_FILE_BYTES)
    except LocalFileError as exc:
        raise FeedError(exc.reason, url=path_or_url, kind=exc.kind) from exc
    if not data.startswith(GZIP_MAGIC):
        return data
    # Decompressed in steps: a gzip bomb stops at the cap, never held whole in memory.
    decoder = BodyDecoder("gzip", max_bytes=max_bytes, url=path_or_url, what="file")
    for start in range(0, len(data), READ_CHUNK):
        decoder.feed(data[start : start + READ_CHUNK])
    return decoder.finish()


def parse_file(path: str, now: datetime, max_bytes: int = DEFAULT_MAX_BYTES) -> Scanned:
    """Read and parse one file; every failure becomes a reason, never an exception."""
    res = Scanned(source=path)
    try:
        res.feed = parse(read_source(path, max_bytes), url=path, now=now)
    except FeedError as exc:
        res.error = f"{exc.kind}: {exc}"
    except OSError as exc:
        res.error = f"unreadable: {exc.strerror or exc}"
    except RecursionError as exc:
        res.error = f"parse_crash: feed could not be parsed ({type(exc).__name__})"
    return res


# How many entries are scanned between two progress reports.
PROGRESS_EVERY = 250


def scan_entries(
    res: Scanned,
    detector: Detector,
    now: datetime,
    on_entries: Callable[[int, int], None] | None = None,
) -> Scanned:
    """Run detection over a parsed file's entries (undated ones as of `now`).

    `on_entries(done, total)` hears how far the scan is, every few hundred entries.
    """
    if res.feed is not None and detector.size:
        total = len(res.feed.entries)
        for n, e in enumerate(res.feed.entries, 1):
            published = e.published or now
            res.scans[e.content_hash] = (published, detector.scan(e.title, e.text, published))
            if on_entries is not None and (n % PROGRESS_EVERY == 0 or n == total):
                on_entries(n, total)
    return res


def default_workers() -> int:
    """Worker processes for parsing: the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Per worker process, set by the pool initializer (not an import-time setting).
_worker: dict[str, Any] = {}


def _init_worker(
    queue: Any, now: datetime, max_bytes: int, parent_pid: int, detector: Detector | None = None
) -> None:
    # Ctrl-C is for the parent, which stops the pool; workers print no tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker waiting for work never sees the queue close when the ingest is
    # killed (its siblings hold the pipe open too): it watches its parent instead.
    exit_with_parent(parent_pid)
    if detector is not None:
        # Forked with the compiled catalogue: the collector must not walk (and so copy)
        # what the parent built.
        gc.freeze()
    _worker.update(
        queue=queue, now=now, max_bytes=max_bytes, detector=detector, waited=detector is not None
    )


def _worker_detector() -> Detector | None:
    if not _worker["waited"]:
        # Blocks until the parent has compiled the catalogue (None: it gave up).
        _worker["detector"] = _worker["queue"].get()
        _worker["waited"] = True
    detector: Detector | None = _worker["detector"]
    return detector


def _work(paths: Sequence[str]) -> list[Scanned]:
    now: datetime = _worker["now"]
    parsed = [parse_file(p, now, _worker["max_bytes"]) for p in paths]
    return _scan_all(parsed, _worker_detector(), now)


def _scan_parsed(parsed: list[Scanned]) -> list[Scans]:
    """Scan files another worker parsed before the catalogue was compiled (what goes
    back is the findings alone, not the entries again)."""
    scanned = _scan_all(parsed, _worker_detector(), _worker["now"])
    return [s.scans for s in scanned]


def _scan_all(parsed: list[Scanned], detector: Detector | None, now: datetime) -> list[Scanned]:
    if detector is not None:
        for res in parsed:
            scan_entries(res, detector, now)
    return parsed


def fork_is_safe() -> bool:
    """Whether worker processes may be forked here: the fork start method is offered and
    this is not macOS, where a forked child of a process that has used the system
    frameworks can crash (Python starts processes by spawn there for that reason)."""
    return "fork" in get_all_start_methods() and sys.platform != "darwin"


class ParsePool:
    """Worker processes reading, parsing and scanning files; see the module docstring."""

    def __init__(
        self,
        paths: Sequence[str],
        *,
        now: datetime,
        workers: int,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        # fork starts workers in milliseconds with everything imported; elsewhere, spawn.
        method = "fork" if fork_is_safe() else "spawn"
        ctx = get_context(method)
        self._ctx = ctx
        self._forks = method == "fork"
        self._workers = workers
        self._now = now
        self._max_bytes = max_bytes
        self._queue = ctx.Queue()
        self._sent = False
        self._detector: Detector | None = None
        # Set once worker processes failed: every file not yet done is read here instead.
        self._here = False
        chunk = max(1, min(MAX_CHUNK, len(paths) // (workers * 8)))
        self._tasks = iter([paths[i : i + chunk] for i in range(0, len(paths), chunk)])
        # Each task with its future (None: to be read in this process).
        self._in_flight: deque[tuple[Sequence[str], Future[list[Scanned]] | None]] = deque()
        # Tasks the first workers parse without a catalogue too big to ship: their results
        # are handed to the workers forked holding it (the executor by then) to scan.
        self._unscanned: set[Future[list[Scanned]]] = set()
        self._rescans: dict[Future[list[Scanned]], tuple[list[Scanned], Future[Any]]] = {}
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(self._queue, now, max_bytes, os.getpid()),
        )
        # Pools replaced by one forked with the compiled catalogue (finishing their tasks).
        self._retired: list[ProcessPoolExecutor] = []
        for _ in range(workers * WINDOW):
            if not self._submit():
                break

    def _submit(self) -> bool:
        task = next(self._tasks, None)
        if task is None:
            return False
        future = None
        if not self._here:
            try:
                future = self._executor.submit(_work, task)
            except (BrokenProcessPool, RuntimeError, OSError) as exc:  # fork failed, or died
                self._give_up_workers(exc)
        self._in_flight.append((task, future))
        return True

    def send_detector(self, detector: Detector | None) -> None:
        """Hand the compiled catalogue to every worker (None: parse without scanning).

        A big catalogue is kept here: shipping it costs more than the scans it saves.
        Told beforehand it would be big (`catalogue_size`), the pool takes it when it
        comes and, where workers fork, forks new ones that hold it.
        """
        if self._sent and self._detector is None and detector is not None:
            self._detector = detector
            # With the semantic layer the writer scans everything: workers forked from a
            # process holding the encoder would run its numpy code after a fork.
            semantic = detector.semantic_version is not None
            if (
                detector.size > MAX_SHIPPED_PLEDGES
                and not semantic
                and self._forks
                and not self._here
            ):
                self._fork_scanning_workers(detector)
            return
        if not self._sent:
            self._sent = True
            self._detector = detector
            if detector is not None and not shippable(detector):
                detector = None  # the writer scans what comes back unscanned
            if not self._here:
                for _ in range(self._workers):
                    self._queue.put(detector)

    def _fork_scanning_workers(self, detector: Detector) -> None:
        """Go on with new workers forked from here, which have the catalogue for nothing.

        Tasks the old workers have not begun move to the new ones; the old workers
        finish theirs unscanned, and exit, and what they parsed goes to the new ones to
        scan (`_hand_over`).
        """
        try:
            fresh = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=self._ctx,
                initializer=_init_worker,
                initargs=(self._queue, self._now, self._max_bytes, os.getpid(), detector),
            )
            moved = [
                (task, fresh.submit(_work, task) if future and future.cancel() else future)
                for task, future in self._in_flight
            ]
        except (BrokenProcessPool, RuntimeError, OSError) as exc:  # fork failed
            log.warning("scanning workers unavailable (%s); the writer scans", exc)
            return
        # Tasks the first workers had begun stay theirs, and come back unscanned.
        self._unscanned = {
            future
            for (_, future), (_, before) in zip(moved, self._in_flight, strict=True)
            if future is not None and future is before
        }
        self._in_flight = deque(moved)
        self._executor.shutdown(wait=False)
        self._retired.append(self._executor)
        self._executor = fresh

    def catalogue_size(self, pledges: int) -> None:
        """Say how big the catalogue being compiled is, before it is compiled.

        One too big to ship is not waited for: the workers go on parsing, further ahead
        than usual, while the caller loads and compiles it (and then scans what they send
        back).
        """
        if pledges > MAX_SHIPPED_PLEDGES:
            self.send_detector(None)
            while len(self._in_flight) < self._workers * WINDOW_COMPILING and self._submit():
                pass

    def results(self) -> Iterator[Scanned]:
        """Scanned files in input order."""
        while self._in_flight:
            self._hand_over()
            task, future = self._in_flight.popleft()
            done = self._result(task, future)
            self._submit()
            yield from done

    def _hand_over(self) -> None:
        """Send files parsed without the catalogue to the workers that hold it, as soon as
        they are back: scanned there, in parallel, not one by one by the writer."""
        if self._here or not self._unscanned:
            return
        for _, future in self._in_flight:
            if future is None or future not in self._unscanned or not future.done():
                continue
            self._unscanned.discard(future)
            try:
                parsed = future.result()
                self._rescans[future] = (parsed, self._executor.submit(_scan_parsed, parsed))
            except (BrokenProcessPool, CancelledError, RuntimeError, OSError):
                continue  # read or scanned by the writer when its turn comes

    def _result(self, task: Sequence[str], future: Future[list[Scanned]] | None) -> list[Scanned]:
        self._unscanned.discard(future)
        rescan = self._rescans.pop(future, None) if future is not None else None
        if rescan is not None:
            parsed, scanning = rescan
            try:
                for item, scans in zip(parsed, scanning.result(), strict=True):
                    item.scans = scans
            except (BrokenProcessPool, CancelledError) as exc:
                self._give_up_workers(exc)  # the writer scans what is left unscanned
            return parsed
        # After a failure, results already back are kept; the rest are not waited for.
        if future is not None and (not self._here or future.done()):
            try:
                return future.result()
            except (BrokenProcessPool, CancelledError) as exc:
                self._give_up_workers(exc)
        parsed = [parse_file(p, self._now, self._max_bytes) for p in task]
        return _scan_all(parsed, self._detector, self._now)

    def _give_up_workers(self, exc: BaseException) -> None:
        if not self._here:
            self._here = True
            log.warning("parse workers unavailable (%s); parsing in this process", exc)
            self._executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (releasing any still waiting for a detector)."""
        self.send_detector(None)
        self._executor.shutdown(wait=True, cancel_futures=True)
        for old in self._retired:
            old.shutdown(wait=True, cancel_futures=True)
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
