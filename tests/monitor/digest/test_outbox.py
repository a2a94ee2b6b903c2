"""The digest outbox against a real SMTP server: once per (week, recipient), never dropped.

Covers RELIABILITY rows 23 and 34-40: CR/LF in titles, daemon down over the send time,
the DST fall-back night, SMTP hung, down or refusing, and a crash between the server's 250
and the row being marked sent (resent with the same Message-ID: at-least-once delivery).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlmodel import select

from feeds.models import Article, ArticleSource
from monitor.cli import cli
from monitor.config import DigestSettings, Settings, SmtpSettings, Subscription
from monitor.digest.mailer import message_id
from monitor.digest.outbox import outbox_rows, retry_delay, send_due_digests
from monitor.digest.periods import Period
from monitor.store.db import Database, open_database
from monitor.store.models import DaemonHeartbeat, Digest, Flag
from monitor.store.owners import process_scope
from tests.conftest import REPO
from tests.monitor.digestweek import AMAZON, SEND_TIME, WEEK, ZONE, build_week, cli_env
from tests.monitor.mailservers import HungServer, Mailbox, free_port

A, B, C = "a@example.org", "b@example.org", "c@example.org"
AFTER = SEND_TIME + timedelta(minutes=1)


def _settings(
    port: int, *, to: list[str] | None = None, timeout: float = 5.0, **digest: Any
) -> Settings:
    digest.setdefault("timezone", ZONE)
    return Settings(
        digest=DigestSettings(
            to=[A, B] if to is None else to, from_addr="pw@example.org", **digest
        ),
        smtp=SmtpSettings(host="127.0.0.1", port=port, timeout=timeout),
    )


def _rows(db: Database, period: str | None = None) -> dict[tuple[str, str], Digest]:
    return {(r.period, r.recipient): r for r in outbox_rows(db, period=period)}


def _parts(msg: EmailMessage) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in msg.iter_parts()}


# --- the normal week --------------------------------------------------------------------


def test_a_due_week_goes_to_each_recipient_once_and_repeating_sends_nothing(
    db: Database,
) -> None:
    build_week(db)
    with Mailbox() as box:
        settings = _settings(box.port)
        report = send_due_digests(db=db, settings=settings, now=AFTER, owner="t")
        assert [(o.period, o.recipient, o.status) for o in report.outcomes] == [
            (WEEK, A, "sent"),
            (WEEK, B, "sent"),
        ]
        again = send_due_digests(db=db, settings=settings, now=AFTER + timedelta(minutes=5))
        assert again.outcomes == [] and again.created == 0
        assert len(box.messages) == 2
    for rcpt in (A, B):
        (msg,) = box.to(rcpt)
        assert msg["Message-ID"] == message_id(WEEK, rcpt)
        assert msg.get_content_type() == "multipart/alternative"
        parts = _parts(msg)
        assert set(parts) == {"text/plain", "text/html"}
        assert "Ex-AWS engineer tells tribunal UK police used Rekognition" in parts["text/plain"]
        assert "Ex-AWS engineer tells tribunal UK police used Rekognition" in parts["text/html"]
        assert msg["Subject"].startswith("pledgewatch 2026-W47 (16-22 Nov 2026): 3 new stories")
        assert msg["List-Unsubscribe"] == "<mailto:pw@example.org?subject=unsubscribe>"
    rows = _rows(db)
    assert {k: r.status for k, r in rows.items()} == {(WEEK, A): "sent", (WEEK, B): "sent"}
    assert all(r.attempts == 1 and r.lease_owner is None for r in rows.values())
    assert rows[(WEEK, A)].subject.startswith("pledgewatch 2026-W47")


def test_a_week_is_not_due_before_its_send_time(sqlite_db: Database) -> None:
    with Mailbox() as box:
        report = send_due_digests(
            db=sqlite_db, settings=_settings(box.port), now=SEND_TIME - timedelta(seconds=1)
        )
    assert report.periods == ["2026-W42", "2026-W43", "2026-W44", "2026-W45", "2026-W46"]
    # A new recipient starts with the newest due week, not a backlog.
    assert {o.period for o in report.outcomes} == {"2026-W46"}


def test_subscriptions_give_each_recipient_their_part(sqlite_db: Database) -> None:
    build_week(sqlite_db)
    with Mailbox() as box:
        settings = _settings(
            box.port,
            to=[A],
            subscriptions=[
                Subscription(email=B, companies=["Alphabet"]),
                Subscription(email=C, pledges=[AMAZON], min_score=0.9),
            ],
        )
        report = send_due_digests(db=sqlite_db, settings=settings, now=AFTER)
        assert len(report.sent) == 3
    everything = _parts(box.to(A)[0])["text/plain"]
    google = _parts(box.to(B)[0])["text/plain"]
    strong = _parts(box.to(C)[0])["text/plain"]
    assert "== Amazon" in everything and "== Google" in everything
    assert "== Google" in google and "== Amazon" not in google
    assert "tribunal UK police" in strong and "More forces named" not in strong
    assert "== Google" not in strong
    assert box.to(B)[0]["Subject"].startswith("pledgewatch 2026-W47 (16-22 Nov 2026): 1 new story")


def test_hostile_feed_titles_are_escaped_and_never_break_a_header(sqlite_db: Database) -> None:
    build_week(sqlite_db)
    hostile = "<script>alert(1)</script>\r\nBcc: victim@example.org <img src=x onerror=alert(2)>"
    raised = SEND_TIME - timedelta(days=3)
    with sqlite_db.write() as s:
        art = Article(
            key="hostile",
            url="javascript:alert(3)",
            title=hostile,
            text="",
            published_at=raised,
            first_seen_at=raised,
            updated_at=raised,
        )
        s.add(art)
        s.flush()
        assert art.id is not None
        s.add(
            ArticleSource(
                article_id=art.id, source="x", outlet="<b>Evil</b>\r\nOutlet", seen_at=raised
            )
        )
        s.add(
            Flag(
                article_id=art.id,
                pledge_id=AMAZON,
                kind="breach",
                score=0.99,
                reasons=[],
                evidence=[],
                first_raised_at=raised,
                updated_at=raised,
            )
        )
    with Mailbox() as box:
        send_due_digests(db=sqlite_db, settings=_settings(box.port, to=[A]), now=AFTER)
    (msg,) = box.messages[0][1:]
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"]
    html = _parts(msg)["text/html"]
    assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>Evil" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Bcc: victim@example.org" in html
    assert 'href="javascript' not in html
    plain = _parts(msg)["text/plain"]
    assert "<script>alert(1)</script> Bcc: victim@example.org <img" in plain
    assert "javascript:alert(3)" not in plain


def test_an_empty_week_sends_nothing_new_unless_configured_to_skip(sqlite_db: Database) -> None:
    with Mailbox() as box:
        send_due_digests(db=sqlite_db, settings=_settings(box.port, to=[A]), now=AFTER)
        assert "Nothing new this week" in _parts(box.messages[0][1])["text/plain"]
        assert box.messages[0][1]["Subject"].endswith(": nothing new")
        skip = _settings(box.port, to=[B], skip_empty=True)
        report = send_due_digests(db=sqlite_db, settings=skip, now=AFTER)
        assert [o.status for o in report.outcomes] == ["skipped"]
        assert send_due_digests(db=sqlite_db, settings=skip, now=AFTER).outcomes == []
        assert len(box.messages) == 1
    assert _rows(sqlite_db)[(WEEK, B)].status == "skipped"


# --- SMTP trouble -----------------------------------------------------------------------


def test_smtp_down_leaves_rows_pending_with_backoff_and_recovery_sends_each_once(
    db: Database,
) -> None:
    build_week(db)
    port = free_port()
    settings = _settings(port)
    report = send_due_digests(db=db, settings=settings, now=AFTER)
    assert report.stopped_by is not None and not report.stopped_by.permanent
    assert f"127.0.0.1:{port}" in str(report.stopped_by)
    rows = _rows(db)
    assert all(r.status == "pending" and r.sent_at is None for r in rows.values())
    first = rows[(WEEK, A)]
    assert first.attempts == 1 and f"127.0.0.1:{port}" in (first.last_error or "")
    assert first.next_attempt_at is not None
    assert first.next_attempt_at.replace(tzinfo=UTC) == AFTER + retry_delay(1)
    # The run stopped at the first connection failure: B was not tried (no 30 s each).
    assert rows[(WEEK, B)].attempts == 0

    # Still down a minute later: A waits out its delay, B gets its first try.
    later = send_due_digests(db=db, settings=settings, now=AFTER + timedelta(minutes=1))
    assert [(o.recipient, o.status) for o in later.outcomes] == [(B, "pending")]
    assert retry_delay(2) == 2 * retry_delay(1) and retry_delay(50) == timedelta(hours=6)

    with Mailbox(port=port) as box:
        early = send_due_digests(db=db, settings=settings, now=AFTER + timedelta(minutes=2))
        assert early.outcomes == []  # both inside their retry delay
        back = send_due_digests(db=db, settings=settings, now=AFTER + timedelta(minutes=7))
        assert sorted(o.recipient for o in back.sent) == [A, B]
        assert (
            send_due_digests(db=db, settings=settings, now=AFTER + timedelta(hours=1)).outcomes
            == []
        )
    assert Counter(m["Message-ID"] for _, m in box.messages) == {
        message_id(WEEK, A): 1,
        message_id(WEEK, B): 1,
    }


def test_a_temporary_refusal_keeps_going_with_other_recipients(sqlite_db: Database) -> None:
    with Mailbox(answer="451 4.3.0 greylisted, try later") as box:
        report = send_due_digests(db=sqlite_db, settings=_settings(box.port), now=AFTER)
    assert [o.status for o in report.outcomes] == ["pending", "pending"]
    assert report.stopped_by is None
    assert all("451" in (r.last_error or "") for r in _rows(sqlite_db).values())


def test_permanent_failures_are_recorded_per_recipient_without_a_retry_loop(
    sqlite_db: Database,
) -> None:
    with Mailbox() as box:
        box.refuse.add(B)
        settings = _settings(box.port)
        report = send_due_digests(db=sqlite_db, settings=settings, now=AFTER)
        assert [(o.recipient, o.status) for o in report.outcomes] == [(A, "sent"), (B, "failed")]
        assert "550" in (report.failed[0].error or "")
        for hours in (1, 7, 30):
            assert (
                send_due_digests(
                    db=sqlite_db, settings=settings, now=AFTER + timedelta(hours=hours)
                ).outcomes
                == []
            )
        row = _rows(sqlite_db)[(WEEK, B)]
        assert row.status == "failed" and row.attempts == 1
        # After the fix, the operator asks for the week again.
        box.refuse.clear()
        retry = send_due_digests(
            db=sqlite_db, settings=settings, now=AFTER, week=WEEK, retry_failed=True
        )
        assert [(o.recipient, o.status) for o in retry.outcomes] == [(B, "sent")]
    assert [len(box.to(r)) for r in (A, B)] == [1, 1]


def test_a_hung_server_is_given_up_after_the_timeout_and_the_row_stays_pending(
    sqlite_db: Database,
) -> None:
    with HungServer() as hung:
        report = send_due_digests(
            db=sqlite_db, settings=_settings(hung.port, timeout=0.5), now=AFTER
        )
    assert report.stopped_by is not None and "0.5 s" in str(report.stopped_by)
    assert {r.status for r in _rows(sqlite_db).values()} == {"pending"}


# --- crashes, restarts, races -----------------------------------------------------------


def test_a_row_left_sending_is_resent_with_the_same_message_id_once_its_lease_is_over(
    sqlite_db: Database,
) -> None:
    build_week(sqlite_db)
    lease_until = AFTER + timedelta(minutes=5)
    with sqlite_db.write() as s:
        for rcpt, until in ((A, lease_until), (B, None)):  # B: a daemon released its lease
            s.add(
                Digest(
                    period=WEEK,
                    recipient=rcpt,
                    status="sending",
                    message_id=message_id(WEEK, rcpt),
                    attempts=1,
                    lease_owner="dead",
                    lease_until=until,
                    created_at=AFTER,
                )
            )
    with Mailbox() as box:
        settings = _settings(box.port)
        during = send_due_digests(db=sqlite_db, settings=settings, now=AFTER)
        assert [o.recipient for o in during.outcomes] == [B]  # A is still leased
        after = send_due_digests(
            db=sqlite_db, settings=settings, now=lease_until + timedelta(seconds=1)
        )
        assert [o.recipient for o in after.outcomes] == [A]
    assert [m["Message-ID"] for m in box.to(A)] == [message_id(WEEK, A)]
    assert _rows(sqlite_db)[(WEEK, A)].attempts == 2


def _left_sending(db: Database, owners: dict[str, str]) -> None:
    """Rows of WEEK in `sending`, leased for an hour by the owner given per recipient."""
    with db.write() as s:
        for rcpt, owner in owners.items():
            s.add(
                Digest(
                    period=WEEK,
                    recipient=rcpt,
                    status="sending",
                    message_id=message_id(WEEK, rcpt),
                    attempts=1,
                    lease_owner=owner,
                    lease_until=AFTER + timedelta(hours=1),
                    created_at=AFTER,
                )
            )


def _gone_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_row_claimed_by_a_process_proven_dead_is_taken_back_before_its_lease_ends(
    db: Database,
) -> None:
    """Proof of death: its pid is gone in this very pid namespace on this host, or its
    daemon's heartbeat says it stopped long enough ago to have exited. Anything less
    (a live pid, another namespace or host, a merely quiet heartbeat) waits for the lease."""
    build_week(db)
    host, scope = socket.gethostname(), process_scope()
    assert scope, "needs /proc (Linux)"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    D, E, F, G = "d@example.org", "e@example.org", "f@example.org", "g@example.org"
    try:
        owners = {
            A: f"{host}:{_gone_pid()}:0badc0de@{scope}",  # killed with -9 on this host
            B: f"{host}:{live.pid}:0badc0de@{scope}",  # still running
            C: f"{host}:{_gone_pid()}:0badc0de@000000000000",  # another container
            D: "elsewhere:41:5e5e5e5e@111111111111",  # daemon stopped a minute ago
            E: "elsewhere:42:5e5e5e5e@111111111111",  # daemon stopping right now
            F: "elsewhere:43:5e5e5e5e@111111111111",  # heartbeat silent for ten minutes
            G: f"{host}:{_gone_pid()}",  # a name that does not say its namespace
        }
        _left_sending(db, owners)
        with db.write() as s:
            for rcpt, seen, stopped in (
                (D, AFTER - timedelta(minutes=1), AFTER - timedelta(minutes=1)),
                (E, AFTER - timedelta(seconds=2), AFTER - timedelta(seconds=2)),
                (F, AFTER - timedelta(minutes=10), None),
            ):
                s.add(
                    DaemonHeartbeat(
                        id=owners[rcpt], hostname="elsewhere", pid=1, started_at=seen,
                        seen_at=seen, stopped_at=stopped,
                    )
                )  # fmt: skip
        with Mailbox() as box:
            settings = _settings(box.port, to=[A, B, C, D, E, F, G])
            report = send_due_digests(db=db, settings=settings, now=AFTER, owner="restarted")
            assert sorted((o.recipient, o.status) for o in report.outcomes) == [
                (A, "sent"),
                (D, "sent"),
            ]
            rows = _rows(db)
            for rcpt in (B, C, E, F, G):
                assert rows[(WEEK, rcpt)].status == "sending"
                assert rows[(WEEK, rcpt)].lease_owner == owners[rcpt]
            # Its lease over, each of the others goes out too, once.
            after = send_due_digests(db=db, settings=settings, now=AFTER + timedelta(hours=2))
            assert sorted(o.recipient for o in after.sent) == [B, C, E, F, G]
    finally:
        live.kill()
        live.wait()
    # The resend is the same message as far as mail clients can tell.
    assert [m["Message-ID"] for m in box.to(A)] == [message_id(WEEK, A)]
    assert {r.status for r in _rows(db).values()} == {"sent"}
    assert _rows(db)[(WEEK, A)].attempts == 2


def test_a_lease_is_never_taken_from_its_own_owner_or_a_running_daemon(db: Database) -> None:
    build_week(db)
    own = f"{socket.gethostname()}:{os.getpid()}:0badc0de@{process_scope()}"
    _left_sending(db, {A: own})
    with Mailbox() as box:
        settings = _settings(box.port, to=[A])
        assert send_due_digests(db=db, settings=settings, now=AFTER, owner=own).outcomes == []
        assert send_due_digests(db=db, settings=settings, now=AFTER).outcomes == []
    assert box.messages == []


WORKER = """
import json, os, sys
from datetime import datetime
from monitor.config import Settings
from monitor.store.db import Database
from monitor.digest.outbox import send_due_digests
settings = Settings.model_validate(json.loads(os.environ["PW_SETTINGS"]))
send_due_digests(db=Database(os.environ["PW_DB"]), settings=settings,
                 now=datetime.fromisoformat(os.environ["PW_NOW"]), owner="worker")
"""


class DbLock:
    """Holds a write lock on the outbox from the test, so a sender cannot mark a row sent."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.release_fn: Any = None

    def take(self) -> None:
        if self.url.startswith("sqlite"):
            conn = sqlite3.connect(
                self.url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
            )
            conn.execute("BEGIN IMMEDIATE")
            self.release_fn = lambda: (conn.rollback(), conn.close())
        else:
            engine = create_engine(self.url)
            conn = engine.connect()
            tx = conn.begin()
            conn.execute(text("LOCK TABLE digests IN EXCLUSIVE MODE"))
            self.release_fn = lambda: (tx.rollback(), conn.close(), engine.dispose())

    def release(self) -> None:
        if self.release_fn is not None:
            self.release_fn()
            self.release_fn = None


def test_a_crash_after_the_servers_250_resends_that_recipient_with_the_same_message_id(
    db: Database,
    db_url: str,
) -> None:
    """A sender is killed after the server accepted B's digest but before B is marked
    sent; the next run resends B (same Message-ID) and finishes C; A is not resent."""
    build_week(db)
    lock = DbLock(db_url)
    with Mailbox() as box:
        settings = _settings(box.port, to=[A, B, C])

        def hold_before_250(msg: EmailMessage) -> None:
            if msg["To"] == B:
                lock.take()

        box.before_ok = hold_before_250
        env = {
            **os.environ,
            "PW_SETTINGS": settings.model_dump_json(),
            "PW_DB": db_url,
            "PW_NOW": AFTER.isoformat(),
            "PYTHONPATH": str(REPO),
        }
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            assert box.wait_for(2, timeout=60), worker.communicate(timeout=5)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            lock.release()
        box.before_ok = None
        rows = _rows(db)
        assert rows[(WEEK, A)].status == "sent"
        assert rows[(WEEK, B)].status == "sending" and rows[(WEEK, B)].lease_owner == "worker"
        assert rows[(WEEK, C)].status == "pending"

        restart = send_due_digests(db=db, settings=settings, now=AFTER + timedelta(seconds=30))
        assert [o.recipient for o in restart.outcomes] == [C]  # B's lease still runs
        lease_over = AFTER + timedelta(hours=1)
        resent = send_due_digests(db=db, settings=settings, now=lease_over)
        assert [(o.recipient, o.status) for o in resent.outcomes] == [(B, "sent")]
        assert send_due_digests(db=db, settings=settings, now=lease_over).outcomes == []
    assert [len(box.to(r)) for r in (A, B, C)] == [1, 2, 1]
    assert {m["Message-ID"] for m in box.to(B)} == {message_id(WEEK, B)}
    assert {r.status for r in _rows(db).values()} == {"sent"}


def test_daemons_racing_on_the_outbox_send_one_message_per_week_and_recipient(
    db: Database,
    db_url: str,
) -> None:
    build_week(db)
    with Mailbox() as box:
        settings = _settings(box.port, to=[A, B, C])
        start = threading.Barrier(6)
        errors: list[BaseException] = []

        def run(n: int) -> None:
            own = Database(db_url)
            try:
                start.wait(10)
                send_due_digests(db=own, settings=settings, now=AFTER, owner=f"d{n}")
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                own.dispose()

        threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        assert not box.wait_for(4, timeout=0.5)
    assert Counter(rcpts[0] for rcpts, _ in box.messages) == {A: 1, B: 1, C: 1}
    assert {r.status for r in _rows(db).values()} == {"sent"}
    assert len(_rows(db)) == 3


# --- the calendar -----------------------------------------------------------------------


def test_the_dst_fall_back_night_sends_that_weeks_digest_once(sqlite_db: Database) -> None:
    """Send time Sunday 02:30 Berlin, which happens twice on 26 October 2025."""
    with Mailbox() as box:
        settings = _settings(box.port, to=[A], weekday="sunday", time="02:30")
        now = datetime(2025, 10, 25, 12, 0, tzinfo=UTC)
        sent_at: dict[str, datetime] = {}
        while now < datetime(2025, 10, 27, 12, 0, tzinfo=UTC):
            for o in send_due_digests(db=sqlite_db, settings=settings, now=now).sent:
                assert o.period not in sent_at
                sent_at[o.period] = now
            now += timedelta(minutes=10)
    assert sorted(sent_at) == ["2025-W41", "2025-W42"]
    # The first 02:30 (CEST) is 00:30 UTC.
    assert sent_at["2025-W42"] == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    assert len(box.messages) == 2


def test_after_downtime_each_missed_week_goes_out_once_up_to_the_catch_up_limit(
    sqlite_db: Database,
) -> None:
    with Mailbox() as box:
        settings = _settings(box.port, to=[A], catch_up_weeks=3)
        first = send_due_digests(
            db=sqlite_db, settings=settings, now=datetime(2026, 9, 28, 7, 0, tzinfo=UTC)
        )
        assert [o.period for o in first.sent] == ["2026-W39"]
        # Down for seven send times; back on Wednesday of week 48.
        back = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
        report = send_due_digests(db=sqlite_db, settings=settings, now=back)
        assert [o.period for o in report.sent] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
        assert send_due_digests(db=sqlite_db, settings=settings, now=back).outcomes == []
        # A recipient added today gets this week's digest only.
        more = _settings(box.port, to=[A, B], catch_up_weeks=3)
        assert [
            (o.recipient, o.period)
            for o in send_due_digests(db=sqlite_db, settings=more, now=back).sent
        ] == [(B, "2026-W47")]
    assert Counter(m["X-Pledgewatch-Period"] for _, m in box.messages) == {
        "2026-W39": 1,
        "2026-W44": 1,
        "2026-W45": 1,
        "2026-W46": 1,
        "2026-W47": 2,
    }


def test_a_missed_week_that_fails_for_now_holds_back_the_newer_ones_for_that_recipient(
    sqlite_db: Database,
) -> None:
    """Catch-up sends oldest first, even across retries: a newer week never overtakes."""
    with Mailbox() as box:
        settings = _settings(box.port, to=[A], catch_up_weeks=3)
        send_due_digests(db=sqlite_db, settings=settings, now=datetime(2026, 9, 28, 7, tzinfo=UTC))
        back = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
        box.answer = "451 4.3.0 greylisted, try later"
        held = send_due_digests(db=sqlite_db, settings=settings, now=back)
        assert [(o.period, o.status) for o in held.outcomes] == [("2026-W44", "pending")]
        assert {p: r.status for (p, _), r in _rows(sqlite_db).items()} == {
            "2026-W39": "sent",
            "2026-W44": "pending",
            "2026-W45": "pending",
            "2026-W46": "pending",
            "2026-W47": "pending",
        }
        box.answer = None
        # Still inside W44's retry delay: nothing newer goes out meanwhile.
        assert send_due_digests(db=sqlite_db, settings=settings, now=back).outcomes == []
        later = send_due_digests(db=sqlite_db, settings=settings, now=back + timedelta(hours=1))
        assert [o.period for o in later.sent] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert [m["X-Pledgewatch-Period"] for _, m in box.messages] == [
        "2026-W39", "2026-W44", "2026-W45", "2026-W46", "2026-W47",
    ]  # fmt: skip


def test_a_waiting_week_older_than_one_already_sent_is_skipped_not_sent(
    sqlite_db: Database,
) -> None:
    """Say W46 went out by hand (`digest send --week`) while W45 waited for a retry."""
    port = free_port()
    settings = _settings(port, to=[A], catch_up_weeks=1)
    now = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # W46 is due on Monday the 16th
    with sqlite_db.write() as s:
        sent_at = now - timedelta(days=16)
        s.add(Digest(period="2026-W44", recipient=A, status="sent", created_at=sent_at))
    send_due_digests(db=sqlite_db, settings=settings, now=now)  # server down: W45, W46 wait
    with Mailbox(port=port) as box:
        by_hand = send_due_digests(
            db=sqlite_db, settings=settings, now=now, week="2026-W46", retry_now=True
        )
        assert [o.period for o in by_hand.sent] == ["2026-W46"]
        regular = send_due_digests(db=sqlite_db, settings=settings, now=now + timedelta(hours=1))
        assert regular.outcomes == []
    assert [m["X-Pledgewatch-Period"] for _, m in box.messages] == ["2026-W46"]
    w45 = _rows(sqlite_db)[("2026-W45", A)]
    assert w45.status == "skipped" and "later week was already sent" in (w45.last_error or "")


def test_a_week_skipped_as_out_of_order_is_sent_once_when_the_operator_names_it(
    db: Database,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The regular run skips A's W45 once W46 went out (it never sends out of order),
    but `digest send --week 2026-W45` sends it to whoever has not had it, once: B, who
    has it, gets nothing, and C, no longer a recipient, keeps its skipped row."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLEDGEWATCH_CONFIG", raising=False)
    port = free_port()
    settings = _settings(port, to=[A, B], catch_up_weeks=1)
    now = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # W46 is due on Monday the 16th
    with db.write() as s:
        earlier = now - timedelta(days=16)
        for period, rcpt, status in [
            ("2026-W44", A, "sent"),
            ("2026-W44", B, "sent"),
            ("2026-W45", B, "sent"),
            ("2026-W45", C, "skipped"),
        ]:
            s.add(
                Digest(
                    period=period,
                    recipient=rcpt,
                    status=status,
                    message_id=message_id(period, rcpt),
                    attempts=1,
                    created_at=earlier,
                )
            )
    send_due_digests(db=db, settings=settings, now=now)  # server down: W45 (A), W46 wait
    runner = CliRunner()
    env = cli_env(db_url, port, [A, B])
    with Mailbox(port=port) as box:
        send_due_digests(db=db, settings=settings, now=now, week="2026-W46", retry_now=True)
        regular = send_due_digests(db=db, settings=settings, now=now + timedelta(hours=1))
        assert regular.outcomes == []
        assert _rows(db)[("2026-W45", A)].status == "skipped"

        by_hand = runner.invoke(cli, ["digest", "send", "--week", "2026-W45"], env=env)
        assert by_hand.exit_code == 0, by_hand.output
        assert by_hand.output.split() == ["sent", "2026-W45", A]
        again = runner.invoke(cli, ["digest", "send", "--week", "2026-W45"], env=env)
        assert again.exit_code == 0 and "nothing to send for 2026-W45" in again.output
        later = send_due_digests(db=db, settings=settings, now=now + timedelta(hours=2))
        assert later.outcomes == []
    assert Counter((rcpts[0], m["X-Pledgewatch-Period"]) for rcpts, m in box.messages) == {
        (A, "2026-W46"): 1,
        (B, "2026-W46"): 1,
        (A, "2026-W45"): 1,
    }
    (w45,) = box.to(A)[1:]
    assert w45["Message-ID"] == message_id("2026-W45", A)
    rows = _rows(db, "2026-W45")
    assert {r: row.status for (_, r), row in rows.items()} == {
        A: "sent",
        B: "sent",
        C: "skipped",
    }
    assert rows[("2026-W45", B)].attempts == 1 and rows[("2026-W45", C)].attempts == 1


def test_a_recipient_removed_from_the_config_gets_no_pending_digest(sqlite_db: Database) -> None:
    port = free_port()
    send_due_digests(db=sqlite_db, settings=_settings(port), now=AFTER)  # down: pending
    with Mailbox(port=port) as box:
        report = send_due_digests(
            db=sqlite_db, settings=_settings(port, to=[A]), now=AFTER + timedelta(hours=1)
        )
    assert {(o.recipient, o.status) for o in report.outcomes} == {(A, "sent"), (B, "skipped")}
    assert [rcpts for rcpts, _ in box.messages] == [[A]]


def test_send_with_a_week_sends_that_week_now_whatever_the_send_time(
    sqlite_db: Database,
) -> None:
    build_week(sqlite_db)
    with Mailbox() as box:
        report = send_due_digests(
            db=sqlite_db,
            settings=_settings(box.port),
            now=SEND_TIME - timedelta(days=3),
            week=Period.parse(WEEK),
        )
        assert [o.period for o in report.sent] == [WEEK, WEEK]
        # The regular run later finds it done.
        assert (
            send_due_digests(db=sqlite_db, settings=_settings(box.port), now=AFTER).outcomes == []
        )


# --- the command line (issue 6's check) -------------------------------------------------


def _week_of(day: datetime) -> str:
    return str(Period.of(day.date()))


def test_digest_send_through_the_cli_twice_then_with_smtp_down_then_back(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLEDGEWATCH_CONFIG", raising=False)
    box = Mailbox().start()
    db_path = tmp_path / "pw.db"
    env = {
        "PLEDGEWATCH_DB": f"sqlite:///{db_path}",
        "PLEDGEWATCH_SMTP_HOST": "127.0.0.1",
        "PLEDGEWATCH_SMTP_PORT": str(box.port),
        "PLEDGEWATCH_SMTP_SECURITY": "none",
        "PLEDGEWATCH_SMTP_TIMEOUT": "5",
        "PLEDGEWATCH_DIGEST_FROM": "pledgewatch@example.org",
        "PLEDGEWATCH_DIGEST_TO": f"{A}, {B}",
    }
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, list(args), env=env)
        assert "Traceback" not in result.output
        return result

    try:
        assert run("catalogue", "sync").exit_code == 0
        feeds = sorted(str(p) for p in (REPO / "examples" / "feeds").glob("*.xml"))
        assert run("ingest", *feeds).exit_code == 0
        raised = json.loads(run("flags", "list", "--pledge", AMAZON, "--format", "json").output)
        assert raised, "the sample feeds should flag the Amazon moratorium"
        week = _week_of(datetime.fromisoformat(raised[0]["first_raised_at"]))

        first = run("digest", "send", "--week", week)
        assert first.exit_code == 0, first.output
        second = run("digest", "send", "--week", week)
        assert second.exit_code == 0 and "nothing to send" in second.output
        assert len(box.messages) == 2
        for rcpt in (A, B):
            (msg,) = box.to(rcpt)
            assert msg.get_content_type() == "multipart/alternative"
            parts = _parts(msg)
            assert set(parts) == {"text/plain", "text/html"}
            assert "tribunal" in parts["text/plain"] and "tribunal" in parts["text/html"]
            for body in parts.values():
                assert "== Amazon" in body or ">Amazon</h2>" in body
                for flag in raised:  # every Amazon flag's article is linked as a source
                    assert flag["article"]["url"] in body

        box.stop()
        previous = str(Period.parse(week).shift(-1))
        down = run("digest", "send", "--week", previous)
        assert down.exit_code == 1
        assert f"127.0.0.1:{box.port}" in down.output and "Error:" in down.output
        with open_database(env["PLEDGEWATCH_DB"]).engine.connect() as conn:
            statuses = [
                r[0]
                for r in conn.execute(
                    text("select status from digests where period = :p"), {"p": previous}
                )
            ]
        assert statuses and "sent" not in statuses

        box.start()
        back = run("digest", "send", "--week", previous)
        assert back.exit_code == 0, back.output
        assert run("digest", "send", "--week", previous).exit_code == 0
        assert Counter(m["X-Pledgewatch-Period"] for _, m in box.messages) == {week: 2, previous: 2}
        outbox = json.loads(run("digest", "outbox", "--format", "json").output)
        assert {(r["week"], r["status"]) for r in outbox} == {(week, "sent"), (previous, "sent")}
    finally:
        box.stop()


def test_digest_preview_writes_the_file_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'pw.db'}"
    db = open_database(db_url)
    build_week(db)
    db.dispose()
    runner = CliRunner()
    out = tmp_path / "out" / "digest.html"
    env = {"PLEDGEWATCH_DIGEST_TIMEZONE": ZONE}
    result = runner.invoke(
        cli,
        [
            "--db",
            db_url,
            "digest",
            "preview",
            "--week",
            WEEK,
            "--out",
            str(out),
            "--format",
            "html",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert "<!DOCTYPE html>" in out.read_text()
    text_out = runner.invoke(cli, ["--db", db_url, "digest", "preview", "--week", WEEK], env=env)
    assert "Ex-AWS engineer tells tribunal" in text_out.output
    bad = runner.invoke(cli, ["--db", db_url, "digest", "preview", "--week", "2026-47"])
    assert bad.exit_code == 2 and "2026-W47" in bad.output
    # Nothing was sent or written to the outbox.
    check = open_database(db_url)
    with check.session() as s:
        assert s.exec(select(Digest)).all() == []
    check.dispose()
