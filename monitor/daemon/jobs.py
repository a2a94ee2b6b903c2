"""The daemon's jobs as plain functions: poll, digests, maintenance.

The scheduler only triggers these; the CLI can run each once. Every job records its run
in `job_runs` (for `status`) and never raises: an error (a database outage, a bug in one
run) is logged and recorded, and the next run starts afresh. A job is recorded as ok only
when its work returned; what it did is committed by the work itself, piece by piece.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from feeds.models import Article
from monitor.config import Settings
from monitor.store.db import Database, error_line
from monitor.store.models import DaemonHeartbeat, Flag, JobRun
from pledges.detect import Detector

log = logging.getLogger(__name__)

JOB_POLL = "poll"
JOB_DIGESTS = "digests"
JOB_MAINTENANCE = "maintenance"
JOBS = (JOB_POLL, JOB_DIGESTS, JOB_MAINTENANCE)

PRUNE_BATCH = 1000
# Heartbeats of daemons gone this long are removed by maintenance (`status` stops listing
# them after a day too); a crash loop leaves one row per start.
HEARTBEAT_RETENTION = timedelta(days=2)
# An SQLite file is vacuumed when this share of its pages is free (and there are enough).
VACUUM_FREE_SHARE = 0.2
VACUUM_MIN_FREE_PAGES = 2048
MAX_ERROR_CHARS = 1000

T = TypeVar("T")


@dataclass
class JobOutcome(Generic[T]):
    """How one run of a job went: its result when ok, else the error."""

    job: str
    ok: bool
    result: T | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass
class MaintenanceReport:
    """What maintenance did."""

    pruned_articles: int = 0
    removed_heartbeats: int = 0
    actions: list[str] = field(default_factory=list)


def describe_error(exc: BaseException) -> str:
    """One line naming the exception class and its message (bounded)."""
    # Job errors are kept in the database and shown by `status`: the driver's own line
    # (not the SQL and its parameters), no URL secrets.
    text = " ".join(error_line(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"[:MAX_ERROR_CHARS]


def _upsert_job_run(db: Database, job: str, values: dict[str, Any]) -> None:
    """Insert or update one job's row; two daemons may race on the first insert."""
    dialect = postgresql if db.dialect == "postgresql" else sqlite
    stmt = dialect.insert(JobRun).values(job=job, **values)
    stmt = stmt.on_conflict_do_update(index_elements=["job"], set_=values)
    with db.write() as session:
        session.execute(stmt)


def record_job_run(db: Database, job: str, **values: Any) -> None:
    """Write run facts for `status`; a failure here is logged, never raised."""
    try:
        _upsert_job_run(db, job, values)
    except Exception as exc:
        log.warning("cannot record run of job=%s: %s", job, describe_error(exc))


def run_recorded(
    db: Database,
    job: str,
    work: Callable[[], T],
    *,
    next_run_at: datetime | None = None,
) -> JobOutcome[T]:
    """Run `work` as job `job`: record start and end, catch and log any error."""
    started = datetime.now(UTC)
    start_values: dict[str, Any] = {"last_started_at": started}
    if next_run_at is not None:
        start_values["next_run_at"] = next_run_at
    record_job_run(db, job, **start_values)
    try:
        result = work()
    except Exception as exc:
        error = describe_error(exc)
        log.error("job %s failed: %s", job, error, exc_info=log.isEnabledFor(logging.DEBUG))
        finished = datetime.now(UTC)
        record_job_run(db, job, last_finished_at=finished, last_ok=False, last_error=error)
        return JobOutcome(job, ok=False, error=error, started_at=started, finished_at=finished)
    finished = datetime.now(UTC)
    record_job_run(db, job, last_finished_at=finished, last_ok=True, last_error=None)
    # The poll and the digest check run every few seconds or minutes and log what they
    # did themselves; one line per run would bury that.
    level = logging.DEBUG if job in (JOB_POLL, JOB_DIGESTS) else logging.INFO
    log.log(level, "job %s done in %.1fs", job, (finished - started).total_seconds())
    return JobOutcome(job, ok=True, result=result, started_at=started, finished_at=finished)


def run_poll(
    *,
    db: Database,
    settings: Settings,
    detector: Detector | None = None,
    owner: str,
    now: datetime | None = None,
    next_run_at: datetime | None = None,
    parse_executor: Callable[[int], Executor] | None = None,
) -> JobOutcome[Any]:
    """Poll every due feed once (claimed with leases under `owner`), recorded as `poll`.

    `parse_executor`: where bodies are parsed (a daemon lends its kept workers).
    """

    def work() -> Any:
        from monitor.poll.cycle import poll_due_feeds
        from monitor.poll.workers import parse_pool

        return poll_due_feeds(
            db=db,
            settings=settings,
            detector=detector,
            now=now,
            owner=owner,
            parse_executor=parse_executor or parse_pool,
        )

    return run_recorded(db, JOB_POLL, work, next_run_at=next_run_at)


def run_digests(
    *,
    db: Database,
    settings: Settings,
    owner: str,
    now: datetime | None = None,
    next_run_at: datetime | None = None,
) -> JobOutcome[Any]:
    """Send every due digest not yet sent (an idempotent check), recorded as `digests`."""

    def work() -> Any:
        from monitor.digest.outbox import send_due_digests

        return send_due_digests(db=db, settings=settings, now=now, owner=owner)

    return run_recorded(db, JOB_DIGESTS, work, next_run_at=next_run_at)


def maintain(
    *,
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    next_run_at: datetime | None = None,
) -> JobOutcome[MaintenanceReport]:
    """Prune old unflagged article text, tidy daemon rows, optimise the database."""
    return run_recorded(
        db,
        JOB_MAINTENANCE,
        lambda: _maintain(db=db, settings=settings, now=now or datetime.now(UTC)),
        next_run_at=next_run_at,
    )


def _maintain(*, db: Database, settings: Settings, now: datetime) -> MaintenanceReport:
    report = MaintenanceReport()
    cutoff = now - timedelta(days=settings.daemon.prune_after_days)
    report.pruned_articles = prune_article_text(db=db, cutoff=cutoff)
    report.removed_heartbeats = _remove_old_heartbeats(db=db, cutoff=now - HEARTBEAT_RETENTION)
    if db.is_sqlite:
        report.actions += _tidy_sqlite(db)
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        report.actions.append("analyze")
    log.info(
        "maintenance pruned_articles=%d removed_heartbeats=%d actions=%s",
        report.pruned_articles,
        report.removed_heartbeats,
        ",".join(report.actions),
    )
    return report


def prune_article_text(*, db: Database, cutoff: datetime) -> int:
    """Clear text and summary of articles older than `cutoff` that no flag references.

    The row, title, link and content hash stay, so the article is still known (a re-poll
    of the same entry adds nothing); only the bulk goes. Batches keep each write short.
    """
    has_flag = exists().where(col(Flag.article_id) == col(Article.id))
    candidates = (
        select(col(Article.id))
        .where(
            col(Article.first_seen_at) < cutoff,
            # An article re-written recently is live news again, whatever its age.
            col(Article.updated_at) < cutoff,
            or_(col(Article.text) != "", col(Article.summary_html) != ""),
            ~has_flag,
        )
        .limit(PRUNE_BATCH)
    )
    total = 0
    while True:
        with db.write() as session:
            ids = list(session.execute(candidates).scalars())
            if not ids:
                break
            session.execute(
                update(Article)
                .where(and_(col(Article.id).in_(ids), ~has_flag))
                .values(text="", summary_html="")
            )
        total += len(ids)
    return total


def _remove_old_heartbeats(*, db: Database, cutoff: datetime) -> int:
    with db.write() as session:
        result = session.execute(
            delete(DaemonHeartbeat).where(col(DaemonHeartbeat.seen_at) < cutoff)
        )
    return int(getattr(result, "rowcount", 0) or 0)


def _tidy_sqlite(db: Database) -> list[str]:
    """PRAGMA optimize always; reclaim free pages only when there are many."""
    actions = ["optimize"]
    # The raw connection is in autocommit mode (see monitor.store.db): VACUUM cannot run in BEGIN.
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA optimize")
        pages = int(cur.execute("PRAGMA page_count").fetchone()[0])
        free = int(cur.execute("PRAGMA freelist_count").fetchone()[0])
        mode = int(cur.execute("PRAGMA auto_vacuum").fetchone()[0])
        if free < VACUUM_MIN_FREE_PAGES or free < pages * VACUUM_FREE_SHARE:
            return actions
        if mode == 2:
            cur.execute("PRAGMA incremental_vacuum")
            cur.fetchall()
            actions.append(f"incremental_vacuum({free} pages)")
        else:
            # Once per database: switch to incremental mode (takes one full VACUUM), so
            # later runs give pages back without rewriting the whole file.
            cur.execute("PRAGMA auto_vacuum=INCREMENTAL")
            cur.execute("VACUUM")
            actions.append(f"vacuum({free} pages, now incremental)")
        cur.close()
    finally:
        raw.close()
    return actions
