"""Jobs: plain functions that record each run, never raise, and do only what they say."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select

from feeds.models import Article
from monitor.config import Settings
from monitor.daemon.jobs import maintain, prune_article_text, record_job_run, run_recorded
from monitor.store.db import Database, open_database
from monitor.store.models import DaemonHeartbeat, Flag, JobRun
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue
from tests.monitor.servers import TcpProxy

PLEDGE = "amazon-rekognition-police-moratorium"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def job_run(db: Database, job: str) -> JobRun | None:
    with db.session() as s:
        return s.get(JobRun, job)


def test_a_run_is_recorded_with_start_finish_and_outcome(db: Database) -> None:
    nxt = datetime.now(UTC) + timedelta(minutes=5)
    outcome = run_recorded(db, "poll", lambda: 42, next_run_at=nxt)
    assert outcome.ok and outcome.result == 42
    row = job_run(db, "poll")
    assert row is not None and row.last_ok is True and row.last_error is None
    assert row.last_started_at is not None and row.last_finished_at is not None
    assert row.next_run_at is not None


def test_a_failing_run_is_logged_and_recorded_not_raised(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    def work() -> int:
        raise ConnectionError("smtp.example.org:25 refused the connection")

    with caplog.at_level(logging.ERROR, logger="monitor.daemon.jobs"):
        outcome = run_recorded(db, "digests", work)
    assert not outcome.ok and outcome.result is None
    assert outcome.error == "ConnectionError: smtp.example.org:25 refused the connection"
    assert "job digests failed" in caplog.text
    row = job_run(db, "digests")
    assert row is not None and row.last_ok is False
    assert row.last_error == outcome.error
    # The next good run clears the error.
    assert run_recorded(db, "digests", lambda: None).ok
    row = job_run(db, "digests")
    assert row is not None and row.last_ok is True and row.last_error is None


def test_two_recorders_racing_on_a_new_job_row_both_succeed(db: Database) -> None:
    other = Database(db.url)
    try:
        record_job_run(db, "maintenance", last_ok=True)
        record_job_run(other, "maintenance", last_ok=False, last_error="x")
    finally:
        other.dispose()
    row = job_run(db, "maintenance")
    assert row is not None and row.last_ok is False


def _articles(db: Database) -> dict[str, int]:
    """Old and new articles, flagged and not; returns title -> id."""
    old = NOW - timedelta(days=400)
    recent = NOW - timedelta(days=10)
    specs = {
        "old unflagged": (old, old),
        "old flagged": (old, old),
        "old but rewritten lately": (old, recent),
        "recent unflagged": (recent, recent),
    }
    with db.write() as s:
        sync_catalogue(session=s, pledges=load_catalogue(shipped_catalogue()))
        arts = {}
        for title, (seen, updated) in specs.items():
            art = Article(
                key=title,
                title=title,
                url=f"https://n.example.org/{len(arts)}",
                text=f"text of {title}",
                summary_html=f"<p>{title}</p>",
                first_seen_at=seen,
                updated_at=updated,
                published_at=seen,
                content_hash=f"h{len(arts)}",
            )
            s.add(art)
            arts[title] = art
        s.flush()
        flagged = arts["old flagged"]
        assert flagged.id is not None
        s.add(
            Flag(
                article_id=flagged.id,
                pledge_id=PLEDGE,
                kind="breach",
                score=0.9,
                first_raised_at=old,
                updated_at=old,
            )
        )
    return {t: a.id for t, a in arts.items() if a.id is not None}


def test_maintenance_prunes_text_of_old_unflagged_articles_only(db: Database) -> None:
    ids = _articles(db)
    settings = Settings.model_validate({"daemon": {"prune_after_days": 365}})
    outcome = maintain(db=db, settings=settings, now=NOW)
    assert outcome.ok, outcome.error
    assert outcome.result is not None and outcome.result.pruned_articles == 1
    with db.session() as s:
        arts = {a.title: a for a in s.exec(select(Article)).all()}
    pruned = arts["old unflagged"]
    assert (pruned.text, pruned.summary_html) == ("", "")
    # The row stays, with its title, link and hash: a re-poll of it adds nothing.
    assert pruned.id == ids["old unflagged"] and pruned.url and pruned.content_hash == "h0"
    for kept in ("old flagged", "old but rewritten lately", "recent unflagged"):
        assert arts[kept].text == f"text of {kept}"
    # A second run finds nothing more to do.
    again = maintain(db=db, settings=settings, now=NOW)
    assert again.result is not None and again.result.pruned_articles == 0
    row = job_run(db, "maintenance")
    assert row is not None and row.last_ok is True


def test_pruning_works_in_batches(db: Database) -> None:
    old = NOW - timedelta(days=500)
    with db.write() as s:
        s.add_all(
            Article(key=f"a{i}", title=f"t{i}", text="x" * 50, first_seen_at=old, updated_at=old)
            for i in range(2500)
        )
    assert prune_article_text(db=db, cutoff=NOW - timedelta(days=365)) == 2500
    with db.session() as s:
        assert s.execute(text("select count(*) from articles where text != ''")).scalar() == 0


def test_maintenance_removes_heartbeats_of_daemons_long_gone(db: Database) -> None:
    with db.write() as s:
        for name, ago in (("gone:1:a", timedelta(days=30)), ("recent:2:b", timedelta(hours=1))):
            s.add(DaemonHeartbeat(id=name, started_at=NOW - ago, seen_at=NOW - ago))
    outcome = maintain(db=db, settings=Settings(), now=NOW)
    assert outcome.result is not None and outcome.result.removed_heartbeats == 1
    with db.session() as s:
        assert [b.id for b in s.exec(select(DaemonHeartbeat)).all()] == ["recent:2:b"]


def test_maintenance_optimises_sqlite_and_vacuums_when_much_is_free(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    db = open_database(f"sqlite:///{path}")
    try:
        with db.write() as s:
            s.add_all(
                Article(key=f"a{i}", title="t", text="y" * 4000, first_seen_at=NOW, updated_at=NOW)
                for i in range(3000)
            )
        first = maintain(db=db, settings=Settings(), now=NOW)
        assert first.result is not None and first.result.actions == ["optimize"]
        with db.write() as s:
            s.execute(text("delete from articles"))
        size_before = path.stat().st_size
        second = maintain(db=db, settings=Settings(), now=NOW)
        assert second.result is not None
        assert any(a.startswith("vacuum") for a in second.result.actions), second.result.actions
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 2  # incremental now
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert path.stat().st_size < size_before / 2
    finally:
        db.dispose()


@pytest.mark.postgres
def test_maintenance_analyzes_postgresql(postgres_server_url: str) -> None:
    from tests.conftest import fresh_postgres_url

    db = open_database(fresh_postgres_url(postgres_server_url))
    try:
        outcome = maintain(db=db, settings=Settings(), now=NOW)
        assert outcome.ok and outcome.result is not None
        assert outcome.result.actions == ["analyze"]
    finally:
        db.dispose()


@pytest.mark.postgres
def test_jobs_fail_while_the_database_is_unreachable_and_recover_without_restart(
    postgres_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.conftest import fresh_postgres_url

    url = make_url(fresh_postgres_url(postgres_server_url))
    open_database(url.render_as_string(hide_password=False)).dispose()
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    db = Database(via_proxy)
    direct = Database(url.render_as_string(hide_password=False))
    try:
        assert maintain(db=db, settings=Settings(), now=NOW).ok
        proxy.stop()
        with caplog.at_level(logging.WARNING):
            down = maintain(db=db, settings=Settings(), now=NOW)
        assert not down.ok and down.error is not None
        assert "job maintenance failed" in caplog.text
        # Nothing was marked done: the row still shows the last good run.
        with direct.session() as s:
            row = s.get(JobRun, "maintenance")
            assert row is not None and row.last_ok is True
            before = row.last_finished_at
        proxy.start()
        up = maintain(db=db, settings=Settings(), now=NOW)
        assert up.ok, up.error
        with direct.session() as s:
            row = s.get(JobRun, "maintenance")
            assert row is not None and row.last_ok is True and row.last_finished_at != before
    finally:
        db.dispose()
        direct.dispose()
        proxy.close()


# -- the poll and digest jobs, run once as the CLI would -----------------------------------


def test_run_poll_polls_due_feeds_and_records_the_run(db: Database) -> None:
    from feeds.models import Feed
    from monitor.daemon.jobs import run_poll
    from tests.monitor.servers import NewsServer

    server = NewsServer(feeds=3, every=3600, breach_every=1)
    try:
        with db.write() as s:
            sync_catalogue(session=s, pledges=load_catalogue(shipped_catalogue()))
            s.add_all(Feed(url=server.url(n), created_at=datetime.now(UTC)) for n in range(3))
        settings = Settings.model_validate({"feeds": {"allow_private_addresses": True}})
        outcome = run_poll(db=db, settings=settings, owner="test:1:ab")
        assert outcome.ok, outcome.error
        assert outcome.result is not None and len(outcome.result.results) == 3
        with db.session() as s:
            titles = set(s.exec(select(Article.title)).all())
            flags = s.exec(select(Flag)).all()
        assert titles == server.served and len(flags) == 3
        row = job_run(db, "poll")
        assert row is not None and row.last_ok is True
        # Nothing is due any more: a second run polls nothing.
        again = run_poll(db=db, settings=settings, owner="test:1:ab")
        assert again.result is not None and again.result.results == []
    finally:
        server.close()


def _digest_settings(port: int, **digest: object) -> Settings:
    return Settings.model_validate({
        "smtp": {"host": "127.0.0.1", "port": port, "timeout": 5},
        "digest": {"to": ["analyst@example.org", "desk@example.org"], **digest},
    })  # fmt: skip


def _sent(db: Database) -> list[tuple[str, str, datetime | None]]:
    from monitor.store.db import as_utc
    from monitor.store.models import Digest

    with db.session() as s:
        rows = s.exec(select(Digest).where(Digest.status == "sent")).all()
    return sorted((r.period, r.recipient, as_utc(r.sent_at)) for r in rows)


@pytest.mark.parametrize(
    ("night", "first_utc"),
    [
        # 02:30 happens twice on the October night (00:30 and 01:30 UTC): one digest.
        (datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        # 02:30 does not happen on the March night: the digest goes out just after the gap.
        (datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    ],
    ids=["fall-back", "spring-forward"],
)
def test_a_dst_night_at_the_send_time_gives_one_digest_that_week(
    sqlite_db: Database, night: datetime, first_utc: datetime
) -> None:
    from monitor.daemon.jobs import run_digests
    from tests.monitor.servers import SmtpSink

    sink = SmtpSink()
    try:
        settings = _digest_settings(
            sink.port, weekday="sunday", time="02:30", timezone="Europe/Berlin"
        )
        now = night - timedelta(days=1)
        while now <= night + timedelta(days=1):  # the daemon's check, every 15 minutes
            assert run_digests(db=sqlite_db, settings=settings, owner="t:1:a", now=now).ok
            now += timedelta(minutes=15)
        sent = _sent(sqlite_db)
        weeks = Counter(period for period, _, _ in sent)
        # The week due that night went out once per recipient, at the first 02:30.
        that_week = [row for row in sent if row[2] is not None and row[2] >= night]
        assert [t for _, _, t in that_week] == [first_utc, first_utc]
        assert all(n == 2 for n in weeks.values()), weeks
        assert len(sink.messages) == len(sent)
    finally:
        sink.close()


def _digest_clock(db: Database, settings: Settings) -> Callable[[datetime], None]:
    from monitor.daemon.jobs import run_digests

    def check(now: datetime) -> None:
        assert run_digests(db=db, settings=settings, owner="t:1:a", now=now).ok

    return check


def test_clock_jumps_neither_repeat_nor_skip_a_week(sqlite_db: Database) -> None:
    from tests.monitor.servers import SmtpSink

    sink = SmtpSink()
    try:
        settings = _digest_settings(sink.port, weekday="monday", time="08:00", catch_up_weeks=4)
        check = _digest_clock(sqlite_db, settings)
        start = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)  # Monday, after the send time
        check(start)
        assert {p for p, _, _ in _sent(sqlite_db)} == {"2026-W23"}
        check(start - timedelta(days=3))  # the clock jumps back three days, and returns
        check(start)
        check(start + timedelta(weeks=3))  # three weeks forward at once: each week once
        check(start + timedelta(weeks=3, hours=1))
        weeks = Counter(p for p, _, _ in _sent(sqlite_db))
        assert all(n == 2 for n in weeks.values()), weeks  # never twice
        assert {f"2026-W{w}" for w in (23, 24, 25, 26)} <= set(weeks)  # none skipped
        ids = Counter(str(m["Message-ID"]) for _, m in sink.messages)
        assert all(n == 1 for n in ids.values())
    finally:
        sink.close()


def test_a_backward_clock_jump_sends_no_week_older_than_one_already_sent(
    sqlite_db: Database,
) -> None:
    from tests.monitor.servers import SmtpSink

    sink = SmtpSink()
    try:
        settings = _digest_settings(sink.port, weekday="monday", time="08:00")
        check = _digest_clock(sqlite_db, settings)
        start = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)
        check(start)
        check(start - timedelta(days=3))
        assert {p for p, _, _ in _sent(sqlite_db)} == {"2026-W23"}
    finally:
        sink.close()


def test_feeds_min_interval_seconds_sets_the_floor_on_a_feeds_interval(sqlite_db: Database) -> None:
    # Sub-minute intervals exist for tests of the daemon; the default floor is 5 minutes.
    from feeds.models import Feed
    from monitor.daemon.jobs import run_poll
    from monitor.store.db import as_utc
    from tests.monitor.servers import NewsServer

    server = NewsServer(feeds=2, every=3600)
    try:
        with sqlite_db.write() as s:
            s.add_all(Feed(url=server.url(n), created_at=NOW, interval_seconds=2) for n in range(2))
        floors = {}
        for floor in (1, 300):
            settings = Settings.model_validate(
                {"feeds": {"allow_private_addresses": True, "min_interval_seconds": floor}}
            )
            with sqlite_db.write() as s:
                s.execute(text("update feeds set next_due_at = null"))
            before = datetime.now(UTC)
            assert run_poll(db=sqlite_db, settings=settings, owner="t:1:a").ok
            with sqlite_db.session() as s:
                due = [as_utc(f.next_due_at) for f in s.exec(select(Feed)).all()]
            floors[floor] = max((d - before).total_seconds() for d in due if d is not None)
        assert floors[1] < 5  # the feed's own 2 s
        assert 299 < floors[300] < 310
    finally:
        server.close()
