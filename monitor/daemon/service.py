"""`pledgewatch daemon`: run the jobs on a schedule until told to stop.

Start-up: on SQLite, refuse a network filesystem and take the one-daemon lock; open and
upgrade the database; write a heartbeat row (`host:pid:random@scope`, also the owner name on
every lease this daemon takes); spread the first polls; start the scheduler.

Signals are handled in the main thread with `sigtimedwait` (they are blocked in every
other thread, and starting parse worker processes cannot unblock them: see run_daemon),
so nothing runs inside a signal handler:
- SIGTERM, SIGINT: stop scheduling, let running jobs finish for up to
  `daemon.shutdown_grace_seconds` (each feed and each digest commits on its own, so
  work already done is kept), abandon the rest (its open transaction rolls back),
  release this daemon's leases on feeds and digests, mark the heartbeat stopped, exit 0.
- SIGHUP: re-read the config file and environment, apply changed job intervals, and
  recompile the detector from the database, so a `catalogue sync` done meanwhile takes
  effect. Reload syncs nothing by itself, and a changed database URL needs a restart.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from feeds.redact import redact_url
from monitor.config import ConfigError, Settings
from monitor.daemon.instance import DaemonError, InstanceLock, check_local_filesystem, read_mounts
from monitor.daemon.jobs import JOB_MAINTENANCE, describe_error, maintain, run_digests, run_poll
from monitor.daemon.rows import beat, mark_stopped, release_leases, spread_first_polls
from monitor.daemon.scheduler import (
    JOB_HEARTBEAT,
    DaemonTasks,
    build_scheduler,
    job_intervals,
    reschedule_jobs,
)
from monitor.flags.detection import load_detector
from monitor.poll.workers import ParseWorkers
from monitor.store.db import Database, DatabaseError, as_utc, normalise_url, open_database
from monitor.store.models import JobRun
from monitor.store.owners import owner_name
from pledges.detect import Detector

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
HANDLED_SIGNALS = (*STOP_SIGNALS, signal.SIGHUP)
# After a stop signal the process is gone by then, clean or not (systemd waits 90 s,
# operators and orchestrators often 10 s).
HARD_STOP_SECONDS = 9.5
# Maintenance waits this long after start, so a crash loop does not run it every time.
MAINTENANCE_START_DELAY = timedelta(minutes=1)
MAX_OPEN_RETRY_SECONDS = 30.0


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or in-memory SQLite)."""
    sa_url = make_url(normalise_url(url))
    if sa_url.get_backend_name() != "sqlite" or sa_url.database in (None, "", ":memory:"):
        return None
    return Path(str(sa_url.database))


def new_owner_id() -> str:
    """`host:pid:random@scope`: names this daemon on its heartbeat and every lease it holds."""
    return owner_name(secrets.token_hex(4))


class Daemon:
    """A running daemon: its settings, database, scheduler and in-flight jobs."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        owner: str | None = None,
        reload_settings: Callable[[], Settings] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.owner = owner or new_owner_id()
        self.reload_settings = reload_settings
        self.detector: Detector | None = None
        # Kept between polls: starting spawn workers costs a second of CPU each time.
        self.parse_workers = ParseWorkers()
        self.scheduler: Any = None
        self._running: dict[str, float] = {}
        self._cond = threading.Condition()

    # -- jobs as the scheduler calls them ------------------------------------------------

    @contextmanager
    def _job(self, job: str) -> Iterator[datetime]:
        with self._cond:
            self._running[job] = time.monotonic()
        try:
            yield datetime.now(UTC) + job_intervals(self.settings)[job]
        finally:
            with self._cond:
                self._running.pop(job, None)
                self._cond.notify_all()

    def poll(self) -> None:
        with self._job("poll") as next_run_at:
            run_poll(
                db=self.db,
                settings=self.settings,
                detector=self.detector,
                owner=self.owner,
                next_run_at=next_run_at,
                parse_executor=self.parse_workers,
            )

    def digests(self) -> None:
        with self._job("digests") as next_run_at:
            run_digests(
                db=self.db, settings=self.settings, owner=self.owner, next_run_at=next_run_at
            )

    def maintenance(self) -> None:
        with self._job(JOB_MAINTENANCE) as next_run_at:
            maintain(db=self.db, settings=self.settings, next_run_at=next_run_at)

    def heartbeat(self) -> None:
        with self._job(JOB_HEARTBEAT):
            try:
                beat(self.db, owner=self.owner, settings=self.settings)
            except Exception as exc:
                log.error("heartbeat failed: %s", describe_error(exc))

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Announce the daemon, spread the first polls, compile the detector, start jobs."""
        now = datetime.now(UTC)
        beat(self.db, owner=self.owner, settings=self.settings, started=True)
        spread = spread_first_polls(
            db=self.db,
            now=now,
            window=timedelta(seconds=self.settings.daemon.startup_spread_seconds),
        )
        self._compile_detector()
        # Workers start while the first polls are still spread out, if polls will use them.
        self.parse_workers.start(spread)
        self.scheduler = build_scheduler(
            settings=self.settings,
            tasks=DaemonTasks(
                poll=self.poll,
                digests=self.digests,
                maintenance=self.maintenance,
                heartbeat=self.heartbeat,
            ),
            now=now,
            maintenance_at=self._first_maintenance(now),
        )
        self.scheduler.start()
        log.info(
            "daemon %s started on %s: first polls of %d feeds spread over %ss",
            self.owner,
            self.db.safe_url,
            spread,
            self.settings.daemon.startup_spread_seconds,
        )

    def _first_maintenance(self, now: datetime) -> datetime:
        try:
            with self.db.session() as session:
                row = session.get(JobRun, JOB_MAINTENANCE)
                last = as_utc(row.last_started_at) if row else None
        except Exception as exc:
            log.warning("cannot read the last maintenance run: %s", describe_error(exc))
            last = None
        earliest = now + MAINTENANCE_START_DELAY
        if last is None:
            return earliest
        return max(earliest, last + timedelta(hours=self.settings.daemon.maintenance_hours))

    def _compile_detector(self) -> None:
        try:
            with self.db.session() as session:
                detect = self.settings.detect
                self.detector = load_detector(session, detect.semantic, detect.min_score)
        except Exception as exc:
            # The poller compiles its own when given none; try again on the next reload.
            log.error("cannot compile the catalogue: %s", describe_error(exc))
            self.detector = None
            return
        log.info("catalogue compiled: %d pledges", self.detector.size)

    def reload(self) -> None:
        """SIGHUP: re-read the config, apply new intervals, recompile the catalogue."""
        if self.reload_settings is not None:
            try:
                new = self.reload_settings()
            except ConfigError as exc:
                log.error("reload: invalid configuration, keeping the running one: %s", exc)
                new = self.settings
            if new.database.url != self.settings.database.url:
                log.warning("reload: the database URL changed; restart the daemon to use it")
                new = new.model_copy(update={"database": self.settings.database})
            self.settings = new
            if self.scheduler is not None:
                reschedule_jobs(self.scheduler, new)
        self._compile_detector()
        log.info("reloaded configuration and catalogue")

    def running_jobs(self) -> list[str]:
        with self._cond:
            return sorted(self._running)

    def stop(self, *, grace: float) -> list[str]:
        """Stop scheduling, wait up to `grace` s for running jobs, then give back leases.

        Returns the jobs abandoned (still running when the grace ran out).
        """
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + grace
        with self._cond:
            while self._running and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            abandoned = sorted(self._running)
        if abandoned:
            log.warning(
                "abandoning running job(s) %s after %.1fs: their open transaction is rolled "
                "back and their claims released; the next run picks the work up",
                ",".join(abandoned),
                grace,
            )
        try:
            feeds, digests = release_leases(self.db, owner=self.owner)
            log.info("released leases: %d feeds, %d digests", feeds, digests)
        except Exception as exc:
            log.error("cannot release leases (they expire by themselves): %s", describe_error(exc))
        try:
            mark_stopped(self.db, owner=self.owner)
        except Exception as exc:
            log.error("cannot mark the heartbeat stopped: %s", describe_error(exc))
        self.parse_workers.close()
        return abandoned


# -- the process -------------------------------------------------------------------------


def run_daemon(
    settings: Settings,
    *,
    reload_settings: Callable[[], Settings] | None = None,
    hard_exit: bool = True,
) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status (0 after a clean stop).

    Raises DaemonError when the daemon cannot start (a second daemon on the same SQLite
    file, a network filesystem, a database that cannot be opened). A database server
    that does not answer yet is waited for.
    """
    # multiprocessing's resource tracker unblocks SIGINT and SIGTERM in the thread that
    # starts it (the first parse worker pool would): started here, before the signals
    # are blocked, it is already running then and no thread's mask is touched.
    resource_tracker.ensure_running()
    # Block the signals before any thread exists, so only sigtimedwait below sees them.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    # Should a library unblock one in some thread all the same, it is caught there and
    # acted on here, instead of ending the process with leases held.
    previous_handlers = _catch_stray_signals()
    lock: InstanceLock | None = None
    abandoned: list[str] = []
    try:
        db_file = sqlite_file(settings.database.url)
        if db_file is not None:
            check_local_filesystem(
                db_file,
                allow_network=settings.daemon.allow_network_filesystem,
                mounts_text=read_mounts(),
            )
            lock = InstanceLock(db_file)
            lock.acquire()
        db = _open_when_reachable(settings.database.url, wait=db_file is None)
        if db is None:
            log.info("stopped before the database could be reached")
            return 0
        daemon = Daemon(settings, db, reload_settings=reload_settings)
        try:
            daemon.start()
        except Exception as exc:
            db.dispose()
            raise DaemonError(f"cannot start: {describe_error(exc)}") from exc
        sig = _wait_for_stop(daemon)
        log.info("received %s: stopping", signal.Signals(sig).name)
        watchdog = _start_watchdog(HARD_STOP_SECONDS)
        abandoned = daemon.stop(grace=daemon.settings.daemon.shutdown_grace_seconds)
        db.dispose()
        watchdog.cancel()
        log.info("daemon %s stopped", daemon.owner)
    finally:
        if lock is not None:
            lock.release()
        # A second SIGTERM sent while stopping waits, blocked; unblocking it with the old
        # mask would end a clean stop with 143. It was answered by the stop under way.
        while signal.sigtimedwait(HANDLED_SIGNALS, 0) is not None:
            pass
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    if abandoned and hard_exit:
        # Abandoned job threads would keep the interpreter alive; their work is safe to drop.
        logging.shutdown()
        os._exit(0)
    return 0


def _open_when_reachable(url: str, *, wait: bool) -> Database | None:
    """Open and upgrade the database; wait for a database server that is not up yet.

    A server that refuses connections (PostgreSQL still starting after a reboot, a
    network outage) is retried with backoff up to 30 s, until it answers or a stop
    signal arrives (then None). Anything else (bad URL, foreign database, SQLite file
    that cannot be opened) fails at once.
    """
    delay = 1.0
    while True:
        try:
            return open_database(url)
        except DatabaseError as exc:
            if not wait or not isinstance(exc.__cause__, OperationalError):
                raise DaemonError(str(exc)) from exc
            where = redact_url(normalise_url(url))  # ?password= too, not only user:pw@
            log.error(
                "cannot reach the database %s: %s; retrying in %.0fs",
                where,
                describe_error(exc.__cause__.orig or exc.__cause__),
                delay,
            )
        deadline = time.monotonic() + delay
        while (left := deadline - time.monotonic()) > 0:
            signo = _next_signal(min(left, 1.0))
            if signo in STOP_SIGNALS:
                return None
        delay = min(delay * 2, MAX_OPEN_RETRY_SECONDS)


# Signals that reached a thread where they were not blocked (see _catch_stray_signals).
_stray: list[int] = []


def _note_stray_signal(signum: int, frame: object) -> None:
    _stray.append(signum)


def _catch_stray_signals() -> dict[int, Any]:
    """Note the handled signals instead of taking their default action; the old handlers.

    Blocked signals still wait for sigtimedwait; only one delivered to a thread that
    unblocked it lands here (run by Python in the main thread, between waits).
    """
    _stray.clear()
    if threading.current_thread() is not threading.main_thread():
        return {}  # handlers can only be set from the main thread (in-process tests)
    return {signum: signal.signal(signum, _note_stray_signal) for signum in HANDLED_SIGNALS}


def _next_signal(timeout: float) -> int | None:
    """The next handled signal within `timeout` seconds, or None."""
    if _stray:
        return _stray.pop(0)
    info = signal.sigtimedwait(HANDLED_SIGNALS, timeout)
    if info is not None:
        return info.si_signo
    return _stray.pop(0) if _stray else None


def _wait_for_stop(daemon: Daemon) -> int:
    while True:
        signo = _next_signal(1.0)
        if signo is None:
            continue
        if signo == signal.SIGHUP:
            log.info("received SIGHUP: reloading")
            daemon.reload()
            continue
        return signo


def _start_watchdog(seconds: float) -> threading.Timer:
    def expire() -> None:
        log.error("shutdown took over %.1fs; exiting now (leases expire by themselves)", seconds)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer
