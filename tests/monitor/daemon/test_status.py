"""`pledgewatch status`: daemons, jobs, failing feeds, review queue, digests; a health check."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from feeds.models import Article, Feed
from monitor.cli import cli
from monitor.daemon.jobs import record_job_run
from monitor.daemon.status import collect_status
from monitor.store.db import Database
from monitor.store.models import DaemonHeartbeat, Digest, Flag
from monitor.store.owners import process_scope
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue

PLEDGE = "amazon-rekognition-police-moratorium"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("PLEDGEWATCH_")]:
        monkeypatch.delenv(var)


def status(db: Database, *args: str):
    return CliRunner().invoke(cli, ["--db", db.url, "status", *args], catch_exceptions=False)


def add_beat(
    db: Database, owner: str, *, seen_ago: float, every: int = 30, stopped: bool = False
) -> None:
    now = datetime.now(UTC)
    with db.write() as s:
        s.add(DaemonHeartbeat(
            id=owner, hostname=owner.split(":")[0], pid=1, heartbeat_seconds=every,
            started_at=now - timedelta(hours=1), seen_at=now - timedelta(seconds=seen_ago),
            stopped_at=now if stopped else None,
        ))  # fmt: skip


def test_no_daemon_ever_means_exit_3(db: Database) -> None:
    result = status(db)
    assert result.exit_code == 3
    assert "NO DAEMON RUNNING" in result.output


def test_a_fresh_heartbeat_means_healthy_and_exit_0(db: Database) -> None:
    add_beat(db, "host-a:10:aa", seen_ago=5, every=30)
    result = status(db, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["healthy"] is True
    assert [d["id"] for d in data["daemons"]] == ["host-a:10:aa"]
    assert data["daemons"][0]["state"] == "running"


def test_fresh_means_within_three_of_the_daemons_own_heartbeat_intervals(db: Database) -> None:
    add_beat(db, "host-a:10:aa", seen_ago=20, every=5)  # 3 x 5 s = 15 s: stale
    add_beat(db, "host-b:11:bb", seen_ago=80, every=30)  # 3 x 30 s = 90 s: fresh
    with db.session() as s:
        report = collect_status(s)
    states = {d["id"]: d["state"] for d in report.daemons}
    assert states == {"host-a:10:aa": "stale", "host-b:11:bb": "running"}
    assert report.healthy


def test_a_stopped_or_stale_daemon_is_not_healthy(db: Database) -> None:
    add_beat(db, "host-a:10:aa", seen_ago=1, stopped=True)
    add_beat(db, "host-b:11:bb", seen_ago=120, every=30)
    result = status(db, "--format", "json")
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert data["healthy"] is False
    assert sorted(d["state"] for d in data["daemons"]) == ["stale", "stopped"]


def test_a_daemon_whose_pid_is_gone_on_this_host_is_dead_at_once(db: Database) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # a daemon killed with -9, moments ago
    here = f"{socket.gethostname()}:{proc.pid}:aa@{process_scope()}"
    elsewhere = f"other-host:{proc.pid}:bb@{process_scope()}"
    add_beat(db, here, seen_ago=5, every=1)
    add_beat(db, elsewhere, seen_ago=5, every=1)
    result = status(db, "--format", "json")
    assert result.exit_code == 3
    daemons = {d["id"]: d for d in json.loads(result.output)["daemons"]}
    assert daemons[here]["state"] == "dead"
    assert daemons[here]["reason"] == f"pid {proc.pid} no longer runs on {socket.gethostname()}"
    # On another host a pid proves nothing: missing beats make it stale, then dead.
    assert daemons[elsewhere]["state"] == "stale"
    assert daemons[elsewhere]["reason"] == "no heartbeat for 5 s (5 missed)"


def test_a_daemon_silent_for_ten_minutes_and_twenty_beats_is_dead(db: Database) -> None:
    add_beat(db, "host-a:10:aa", seen_ago=9 * 60, every=30)  # 18 beats: stale
    add_beat(db, "host-b:11:bb", seen_ago=11 * 60, every=30)  # 22 beats: dead
    add_beat(db, "host-c:12:cc", seen_ago=11 * 60, every=60)  # 11 beats: stale
    with db.session() as s:
        report = collect_status(s)
    assert {d["id"]: d["state"] for d in report.daemons} == {
        "host-a:10:aa": "stale",
        "host-b:11:bb": "dead",
        "host-c:12:cc": "stale",
    }
    assert not report.healthy


def test_a_crash_loop_lists_the_live_daemon_and_only_the_newest_few_dead_ones(
    db: Database,
) -> None:
    for n in range(12):  # restarted every 10 s, each start a new heartbeat row
        add_beat(db, f"host-a:{100 + n}:aa", seen_ago=700 + 10 * n, every=30)
    add_beat(db, "host-a:99:old", seen_ago=3 * 86400, every=30)  # long gone
    add_beat(db, "host-a:200:aa", seen_ago=3, every=30)
    result = status(db, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [(d["id"], d["state"]) for d in data["daemons"]] == [
        ("host-a:200:aa", "running"),
        ("host-a:100:aa", "dead"),
        ("host-a:101:aa", "dead"),
        ("host-a:102:aa", "dead"),
    ]
    assert data["daemons_hidden"] == 10
    text = status(db).output
    assert "10 older stopped or dead daemons not shown" in text
    assert "dead" in text and "running" in text


def test_the_json_shape_only_grows(db: Database) -> None:
    """Fields scripts may read keep their names; new ones are added alongside."""
    add_beat(db, "host-a:10:aa", seen_ago=1)
    data = json.loads(status(db, "--format", "json").output)
    assert set(data) >= {
        "now", "healthy", "daemons", "jobs", "feeds", "flags_awaiting_review", "digests",
    }  # fmt: skip
    assert set(data["daemons"][0]) >= {
        "id", "hostname", "pid", "started_at", "seen_at", "stopped_at", "heartbeat_seconds",
        "fresh", "state",
    }  # fmt: skip
    assert data["daemons"][0]["reason"] is None
    assert 0 <= data["daemons"][0]["seen_seconds_ago"] < 60
    assert data["digests"] == {"unsent": 0, "by_recipient": [], "failed": [], "failed_total": 0}


def _seed(db: Database) -> None:
    now = datetime.now(UTC)
    with db.write() as s:
        sync_catalogue(session=s, pledges=load_catalogue(shipped_catalogue()))
        s.add(Feed(url="https://ok.example.org/rss", created_at=now))
        s.add(
            Feed(
                url="https://broken.example.org/rss",
                created_at=now,
                consecutive_errors=4,
                failing_since=now - timedelta(days=2),
                last_error="HTTP 503 from server",
                error_kind="http_503",
            )
        )
        arts = [
            Article(
                key=f"k{i}", title=f"story {i}", first_seen_at=now, updated_at=now, published_at=now
            )
            for i in range(4)
        ]
        s.add_all(arts)
        s.flush()
        for art, (st, active) in zip(
            arts,
            [("open", True), ("open", True), ("open", False), ("confirmed", True)],
            strict=True,
        ):
            assert art.id is not None
            s.add(
                Flag(
                    article_id=art.id,
                    pledge_id=PLEDGE,
                    kind="breach",
                    score=0.9,
                    status=st,
                    active=active,
                    first_raised_at=now,
                    updated_at=now,
                )
            )
        for period, rcpt, st in [
            ("2026-W40", "a@example.org", "sent"),
            ("2026-W41", "a@example.org", "sent"),
            ("2026-W41", "b@example.org", "sent"),
            ("2026-W42", "b@example.org", "pending"),
        ]:
            s.add(
                Digest(
                    period=period,
                    recipient=rcpt,
                    status=st,
                    created_at=now,
                    sent_at=now if st == "sent" else None,
                    attempts=1 if st == "sent" else 2,
                    last_error=None if st == "sent" else "SMTP 127.0.0.1:25 refused",
                )
            )


def test_status_reports_failing_feeds_review_queue_and_last_digest_per_recipient(
    db: Database,
) -> None:
    _seed(db)
    add_beat(db, "host-a:10:aa", seen_ago=1)
    record_job_run(
        db,
        "poll",
        last_started_at=datetime.now(UTC),
        last_ok=False,
        last_error="OperationalError: connection refused",
    )
    result = status(db, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["feeds"]["total"] == 2
    [failing] = data["feeds"]["failing"]
    assert failing["url"] == "https://broken.example.org/rss"
    assert failing["consecutive_errors"] == 4 and failing["last_error"] == "HTTP 503 from server"
    assert failing["failing_since"] is not None
    # Open and still active: the one inactive and the confirmed one are not waiting.
    assert data["flags_awaiting_review"] == 2
    by_rcpt = {d["recipient"]: d for d in data["digests"]["by_recipient"]}
    assert by_rcpt["a@example.org"]["period"] == "2026-W41"
    assert by_rcpt["a@example.org"]["status"] == "sent"
    assert by_rcpt["b@example.org"]["status"] == "pending"
    assert by_rcpt["b@example.org"]["last_sent_period"] == "2026-W41"
    assert data["digests"]["unsent"] == 1
    jobs = {j["job"]: j for j in data["jobs"]}
    assert jobs["poll"]["last_ok"] is False
    assert "connection refused" in jobs["poll"]["last_error"]
    assert jobs["digests"]["last_started_at"] is None
    assert jobs["heartbeat"]["last_ok"] is True


def test_status_as_text_shows_each_section(db: Database) -> None:
    _seed(db)
    add_beat(db, "host-a:10:aa", seen_ago=1)
    result = status(db)
    assert result.exit_code == 0
    out = result.output
    for text in (
        "healthy",
        "host-a:10:aa",
        "Jobs",
        "maintenance",
        "broken.example.org",
        "HTTP 503",
        "Flags awaiting review: 2",
        "b@example.org",
        "pending",
    ):
        assert text in out, text


def test_failed_digest_weeks_are_listed_newest_first_even_after_later_weeks_went_out(
    db: Database,
) -> None:
    """A failed week no longer holds back its recipient's later weeks, so the per-recipient
    row shows the later week sent; `failed` lists the failed weeks (the newest 20)."""
    now = datetime.now(UTC)
    with db.write() as s:
        for week in range(10, 40):
            s.add(
                Digest(
                    period=f"2026-W{week:02d}",
                    recipient="gone@example.org",
                    status="failed",
                    attempts=1,
                    last_error="SMTP 127.0.0.1:25: recipient refused: 550 no such user",
                    created_at=now,
                )
            )
        for week, st in [(44, "sent"), (45, "failed"), (46, "sent")]:
            s.add(
                Digest(
                    period=f"2026-W{week}",
                    recipient="a@example.org",
                    status=st,
                    attempts=8 if st == "failed" else 1,
                    last_error="cannot build the digest (tried 8 times)"
                    if st == "failed"
                    else None,
                    created_at=now,
                    sent_at=now if st == "sent" else None,
                )
            )
    add_beat(db, "host-a:10:aa", seen_ago=1)
    data = json.loads(status(db, "--format", "json").output)["digests"]
    by_rcpt = {d["recipient"]: d for d in data["by_recipient"]}
    assert (by_rcpt["a@example.org"]["period"], by_rcpt["a@example.org"]["status"]) == (
        "2026-W46",
        "sent",
    )
    assert data["failed_total"] == 31
    assert len(data["failed"]) == 20
    assert data["failed"][0] == {
        "recipient": "a@example.org",
        "period": "2026-W45",
        "attempts": 8,
        "last_error": "cannot build the digest (tried 8 times)",
    }
    assert [f["period"] for f in data["failed"][1:3]] == ["2026-W39", "2026-W38"]
    text = status(db).output
    assert "Failed digests (31, newest 20 shown)" in text
    assert "cannot build the digest" in text and "--retry-failed" in text
