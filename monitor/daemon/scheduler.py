"""APScheduler 3 triggers the daemon's jobs; it knows nothing of what is due or done.

The one module that imports APScheduler. Its traps (../shared/RELIABILITY.md) are avoided
by construction: an in-memory job store (never shared between processes, so nothing runs
twice), jobs that are idempotent checks against our own tables, and on every job
coalesce=True, max_instances=1 and misfire_grace_time=None, so a late run is run once,
never dropped and never stacked. There is no cron trigger (no day-of-week numbers, no DST
nights): the digest job asks the database every few minutes what is due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Settings
from monitor.daemon.jobs import JOB_DIGESTS, JOB_MAINTENANCE, JOB_POLL

log = logging.getLogger(__name__)

JOB_HEARTBEAT = "heartbeat"
SCHEDULED_JOBS = (JOB_POLL, JOB_DIGESTS, JOB_MAINTENANCE, JOB_HEARTBEAT)
# What every job gets: one run at a time, late runs merged into one and never dropped.
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


@dataclass(frozen=True)
class DaemonTasks:
    """What the scheduler triggers: plain callables, each catching its own errors."""

    poll: Callable[[], object]
    digests: Callable[[], object]
    maintenance: Callable[[], object]
    heartbeat: Callable[[], object]

    def by_job(self) -> dict[str, Callable[[], object]]:
        return {
            JOB_POLL: self.poll,
            JOB_DIGESTS: self.digests,
            JOB_MAINTENANCE: self.maintenance,
            JOB_HEARTBEAT: self.heartbeat,
        }


def job_intervals(settings: Settings) -> dict[str, timedelta]:
    """How often each job runs, from `[daemon]` settings."""
    d = settings.daemon
    return {
        JOB_POLL: timedelta(seconds=d.poll_tick_seconds),
        JOB_DIGESTS: timedelta(minutes=d.digest_check_minutes),
        JOB_MAINTENANCE: timedelta(hours=d.maintenance_hours),
        JOB_HEARTBEAT: timedelta(seconds=d.heartbeat_seconds),
    }


def first_runs(
    settings: Settings, *, now: datetime, maintenance_at: datetime | None = None
) -> dict[str, datetime]:
    """When each job first runs after start.

    Polls and the digest check run at once (a digest missed while the daemon was down
    goes out on start; the poller only takes feeds that are due). Maintenance runs when
    the database says it is next due, so frequent restarts neither skip nor repeat it.
    """
    intervals = job_intervals(settings)
    return {
        JOB_POLL: now,
        JOB_DIGESTS: now,
        JOB_MAINTENANCE: maintenance_at or now + intervals[JOB_MAINTENANCE],
        JOB_HEARTBEAT: now + intervals[JOB_HEARTBEAT],
    }


def build_scheduler(
    *,
    settings: Settings,
    tasks: DaemonTasks,
    blocking: bool = False,
    now: datetime | None = None,
    maintenance_at: datetime | None = None,
) -> Any:
    """A scheduler (not started) with the four daemon jobs on interval triggers."""
    now = now or datetime.now(UTC)
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=len(SCHEDULED_JOBS))},
        job_defaults=dict(JOB_DEFAULTS),
        timezone=UTC,
    )
    intervals = job_intervals(settings)
    starts = first_runs(settings, now=now, maintenance_at=maintenance_at)
    for job, func in tasks.by_job().items():
        scheduler.add_job(
            func,
            trigger=_trigger(intervals[job], start=starts[job]),
            id=job,
            name=job,
            next_run_time=starts[job],
            **JOB_DEFAULTS,
        )
    return scheduler


def _trigger(interval: timedelta, *, start: datetime) -> IntervalTrigger:
    return IntervalTrigger(seconds=interval.total_seconds(), start_date=start, timezone=UTC)


def reschedule_jobs(scheduler: Any, settings: Settings) -> list[str]:
    """Apply changed intervals (after a config reload); returns the jobs changed."""
    changed = []
    now = datetime.now(UTC)
    for job, interval in job_intervals(settings).items():
        current = scheduler.get_job(job)
        if current is None or current.trigger.interval == interval:
            continue
        current.reschedule(_trigger(interval, start=now + interval))
        changed.append(job)
        log.info("job %s now runs every %ss", job, interval.total_seconds())
    return changed


def next_run_times(scheduler: Any) -> Mapping[str, datetime | None]:
    """The next fire time of each job (None when paused or shut down)."""
    out: dict[str, datetime | None] = {}
    for job in SCHEDULED_JOBS:
        found = scheduler.get_job(job)
        out[job] = found.next_run_time if found is not None else None
    return out
