"""Where a poll parses feed bodies: worker processes for big polls, else a few threads.

A poll of many feeds on a machine with two cores or more parses in worker processes, one
per usable core (the poll's own process mostly waits on the network and the writer).
`parse_pool` makes a pool for one poll; `ParseWorkers` keeps one for a daemon's life and
lends it to each big poll, since every spawn worker starts a fresh interpreter (about
0.15 s of CPU here, given the script's light entry point in `monitor.__main__`) and a
daemon's workers also import the detector, to scan first polls (monitor.poll.scanning;
half a second more).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from feeds.parseworker import exit_with_parent, warm_up
from monitor.ingest.parsepool import default_workers
from monitor.poll import scanning

log = logging.getLogger(__name__)

PARSE_THREADS = 2
# Polls with at least this many feeds parse in worker processes (when cores allow).
PROCESS_POOL_MIN_FEEDS = 64
MAX_PARSE_PROCESSES = 4

P = ParamSpec("P")
T = TypeVar("T")


def parse_threads() -> Executor:
    return ThreadPoolExecutor(max_workers=PARSE_THREADS, thread_name_prefix="poll-parse")


def _wants_processes(feeds: int) -> bool:
    # default_workers: the cores this process may use (affinity, cpusets).
    return feeds >= PROCESS_POOL_MIN_FEEDS and default_workers() >= 2


def _workers() -> int:
    return min(MAX_PARSE_PROCESSES, default_workers())


@contextmanager
def signal_mask_kept() -> Iterator[None]:
    """Give the calling thread back its signal mask on the way out.

    The first spawn pool starts multiprocessing's resource tracker, which then unblocks
    SIGINT and SIGTERM in the calling thread. A daemon blocks them in every thread so
    that only its main thread's sigtimedwait sees them; an unblocked thread would take
    SIGTERM's default action and end the process at once, leases held.
    """
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _process_pool() -> ProcessPoolExecutor:
    # One worker per core, not one fewer. (500 new feeds on 2 cores: 5.7-6.7 s with one
    # worker, 4.8-5.6 s with two.) spawn: workers start clean, never from a fork of this
    # process (which may hold locks in other threads, e.g. a daemon's scheduler), and
    # leave if this process dies. The pool's manager thread starts on the first submit,
    # after the mask is back, so it inherits the caller's mask.
    with signal_mask_kept():
        return ProcessPoolExecutor(
            max_workers=_workers(),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        )


def parse_pool(feeds: int) -> Executor:
    """A pool for one poll of `feeds` feeds: worker processes for a big poll, else threads."""
    return _process_pool() if _wants_processes(feeds) else parse_threads()


def warm(pool: Executor, task: Callable[[], None] = warm_up) -> list[Future[None]]:
    """Start a pool's workers now, before the first body arrives; a future per worker.

    (A spawn pool starts a worker for a task only when none is idle: one task each.)
    """
    return [pool.submit(task) for _ in range(_workers())]


def scans_ahead(pool: Executor) -> bool:
    """Whether a poll's first-time feeds are scanned in `pool`'s workers.

    Only in workers kept for a daemon's life: they import the detector's modules once.
    The workers of a one-off poll would each pay that (about half a second of CPU),
    more than the scans take off the writer in a poll of a few hundred feeds.
    """
    return isinstance(pool, _Lent)


class _Lent(Executor):
    """A kept pool as one poll sees it: the poll's shutdown leaves the workers running."""

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


class ParseWorkers:
    """Parse worker processes kept for a daemon's life and lent to each big poll.

    Call it as a poll's `parse_executor`. Small polls get threads as before. Workers that
    died are replaced on the next big poll.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _live_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            pool = self._pool
            # _broken: set by the pool once a worker died; it takes no more work.
            if pool is None or getattr(pool, "_broken", False):
                if pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
                pool = self._pool = _process_pool()
            return pool

    def start(self, feeds: int) -> list[Future[None]]:
        """Start the workers now (at a daemon's start) if a poll of `feeds` would use them.

        Returns a future per worker, done once it is ready.
        """
        if not _wants_processes(feeds):
            return []
        try:
            return warm(self._live_pool(), scanning.warm_up)
        except (BrokenProcessPool, RuntimeError, OSError) as exc:
            # Not fatal: each poll tries again, and parses in threads if workers fail.
            log.warning("parse workers could not start (%s)", exc)
            return []

    def __call__(self, feeds: int) -> Executor:
        return _Lent(self._live_pool()) if _wants_processes(feeds) else parse_threads()

    def close(self, *, wait: bool = False) -> None:
        """Stop the workers; with `wait`, return once they have exited.

        A multiprocessing child must wait before it exits: its exit joins the workers,
        perhaps before they were told to stop.
        """
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
