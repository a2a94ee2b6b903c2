"""The daemon as a real process: one per SQLite file, clean stops, reloads, crashes, outages.

Daemons run as `python -m monitor daemon` subprocesses with one-second intervals (set
through PLEDGEWATCH_* variables) against a real news server and SMTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select

from feeds.models import Article, Feed
from monitor.cli import cli as cli_group
from monitor.daemon.instance import (
    DaemonError,
    check_local_filesystem,
    mount_of,
    parse_mounts,
)
from monitor.daemon.status import collect_status
from monitor.digest.periods import latest_due
from monitor.store.db import Database, as_utc, open_database
from monitor.store.models import DaemonHeartbeat, Digest, Flag, JobRun
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue
from tests.conftest import REPO, fresh_postgres_url
from tests.monitor.daemons import DaemonProcess, cli, wait_for
from tests.monitor.mailservers import Mailbox
from tests.monitor.servers import NewsServer, SmtpSink, TcpProxy

RECIPIENTS = ["analyst@example.org", "desk@example.org"]
# Minutes-long versions of the crash and load tests: `PLEDGEWATCH_TEST_SLOW=1 pytest -m slow`.
SKIP_SLOW = pytest.mark.skipif(
    os.environ.get("PLEDGEWATCH_TEST_SLOW") != "1", reason="set PLEDGEWATCH_TEST_SLOW=1"
)


def slow(test: Callable[..., None]) -> Callable[..., None]:
    """Marked `slow`, and run only when asked for."""
    return pytest.mark.slow(SKIP_SLOW(test))


SHORT_LEASES = {
    "PLEDGEWATCH_DAEMON_LEASE_SECONDS": "4",
    "PLEDGEWATCH_FEEDS_TOTAL_TIMEOUT": "3",
    "PLEDGEWATCH_FEEDS_READ_TIMEOUT": "2",
}


# -- helpers -----------------------------------------------------------------------------


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pledgewatch.db'}"


def prepare(
    url: str,
    *,
    feeds: list[str] = (),
    interval: int = 1,  # type: ignore[assignment]
    catalogue: bool = True,
) -> Database:
    """An upgraded database with the shipped catalogue and the feeds given."""
    db = open_database(url)
    now = datetime.now(UTC)
    with db.write() as s:
        if catalogue:
            sync_catalogue(session=s, pledges=load_catalogue(shipped_catalogue()))
        for u in feeds:
            s.add(Feed(url=u, created_at=now, interval_seconds=interval))
    return db


def feed_env(*, interval_floor: int = 1) -> dict[str, str]:
    return {"PLEDGEWATCH_FEEDS_MIN_INTERVAL_SECONDS": str(interval_floor)}


def digest_due_env(smtp: SmtpSink) -> dict[str, str]:
    """Mail settings, with the weekly send time set to one minute ago (UTC)."""
    at = datetime.now(UTC) - timedelta(minutes=1)
    return {
        "PLEDGEWATCH_SMTP_HOST": "127.0.0.1",
        "PLEDGEWATCH_SMTP_PORT": str(smtp.port),
        "PLEDGEWATCH_SMTP_TIMEOUT": "5",
        "PLEDGEWATCH_DIGEST_TO": ",".join(RECIPIENTS),
        "PLEDGEWATCH_DIGEST_WEEKDAY": at.strftime("%A").lower(),
        "PLEDGEWATCH_DIGEST_TIME": at.strftime("%H:%M"),
        "PLEDGEWATCH_DIGEST_TIMEZONE": "UTC",
    }


def stored_titles(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.execute(text("select title from articles")).scalars())


def heartbeats(db: Database) -> list[DaemonHeartbeat]:
    with db.session() as s:
        return list(s.exec(select(DaemonHeartbeat)).all())


def owner_of(db: Database, d: DaemonProcess) -> str:
    wait_for(lambda: any(b.pid == d.pid for b in heartbeats(db)), 20, "heartbeat", d.log)
    return next(b.id for b in heartbeats(db) if b.pid == d.pid)


def status_json(url: str) -> tuple[int, dict]:
    """`pledgewatch status --format json`, run in this process against the daemon's DB."""
    result = CliRunner().invoke(cli_group, ["--db", url, "status", "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # In-process commands see no pledgewatch.toml and no PLEDGEWATCH_* from the shell.
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("PLEDGEWATCH_")]:
        monkeypatch.delenv(var)


@pytest.fixture
def smtp():
    sink = SmtpSink()
    yield sink
    sink.close()


@pytest.fixture
def daemons(tmp_path: Path):
    started: list[DaemonProcess] = []

    def make(url: str, name: str = "daemon", **kw) -> DaemonProcess:
        d = DaemonProcess(url, tmp_path, name=name, **kw)
        started.append(d)
        return d

    yield make
    for d in started:
        d.close()


@pytest.fixture
def news():
    servers: list[NewsServer] = []

    def make(**kw) -> NewsServer:
        s = NewsServer(**kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


# -- one daemon per SQLite file, and health ----------------------------------------------


def test_a_second_daemon_on_one_sqlite_file_refuses_and_status_tracks_health(
    tmp_path: Path, daemons
) -> None:
    url = sqlite_url(tmp_path)
    prepare(url).dispose()
    first = daemons(url, "first").start()
    first.wait_log("started on")
    second = cli(["daemon"], db_url=url, cwd=tmp_path, timeout=30)
    assert second.returncode == 1
    assert "another pledgewatch daemon is already running" in second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.alive()

    code, data = status_json(url)
    assert code == 0 and data["healthy"] is True

    # kill -9: the OS drops the lock; after three beats the daemon is no longer running,
    # and since its pid is gone on this host, status says it is dead.
    first.kill9()
    time.sleep(3.5)
    code, data = status_json(url)
    assert code == 3 and data["daemons"][0]["state"] == "dead"
    assert data["daemons"][0]["reason"].startswith(f"pid {first.pid} no longer runs")

    third = daemons(url, "third").start()
    third.wait_log("started on")
    assert status_json(url)[0] == 0
    rc, seconds = third.terminate()
    assert rc == 0 and seconds < 10
    code, data = status_json(url)
    assert code == 3
    assert {d["state"] for d in data["daemons"]} == {"stopped", "dead"}


def test_a_second_daemon_through_a_symlink_or_a_hard_link_refuses(tmp_path: Path, daemons) -> None:
    url = sqlite_url(tmp_path)
    prepare(url).dispose()
    first = daemons(url, "first").start()
    first.wait_log("started on")
    (tmp_path / "link.db").symlink_to(tmp_path / "pledgewatch.db")
    (tmp_path / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    for other in [tmp_path / "link.db", tmp_path / "linked-folder" / "pledgewatch.db"]:
        second = cli(["daemon"], db_url=f"sqlite:///{other}", cwd=tmp_path, timeout=30)
        assert second.returncode == 1, second.stderr
        assert "another pledgewatch daemon is already running" in second.stderr
        assert f"pid {first.pid}" in second.stderr
    # A hard link in another folder is the same file (device and inode) under a new path.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.link(tmp_path / "pledgewatch.db", elsewhere / "same.db")
    second = cli(["daemon"], db_url=f"sqlite:///{elsewhere / 'same.db'}", cwd=tmp_path, timeout=30)
    assert second.returncode == 1, second.stderr
    assert "another pledgewatch daemon is already running" in second.stderr
    assert "hard link" in second.stderr
    assert first.alive()


def test_the_daemon_refuses_a_sqlite_file_on_a_network_filesystem(tmp_path: Path) -> None:
    mounts = (
        "/dev/sda1 / ext4 rw,relatime 0 0\n"
        f"server:/export {tmp_path} nfs4 rw,relatime,vers=4.2 0 0\n"
        "//nas/share /mnt/nas cifs rw 0 0\n"
    )
    db_file = tmp_path / "sub dir" / "pledgewatch.db"
    db_file.parent.mkdir()
    with pytest.raises(DaemonError, match=r"nfs4 network filesystem .*PostgreSQL"):
        check_local_filesystem(db_file, allow_network=False, mounts_text=mounts)
    # Allowed by the operator: a warning, no refusal.
    check_local_filesystem(db_file, allow_network=True, mounts_text=mounts)
    # A local disk is fine, and the longest mount point decides.
    check_local_filesystem(Path("/var/lib/pw.db"), allow_network=False, mounts_text=mounts)
    found = mount_of(Path("/mnt/nas/x.db"), parse_mounts(mounts))
    assert found is not None and found.fstype == "cifs"
    spaced = parse_mounts("host:/a /mnt/with\\040space fuse.sshfs rw 0 0\n")
    assert spaced[0].point == "/mnt/with space"


# -- stopping and reloading --------------------------------------------------------------


def test_sigterm_during_a_poll_exits_0_within_10s_and_releases_leases(
    tmp_path: Path, daemons, news
) -> None:
    slow = news(feeds=1, latency=30)
    url = sqlite_url(tmp_path)
    db = prepare(url, feeds=[slow.url(0)], catalogue=False)
    # Timeouts longer than the stop's grace, so the poll is still running when it ends.
    slow_fetch = {"PLEDGEWATCH_FEEDS_READ_TIMEOUT": "20", "PLEDGEWATCH_FEEDS_TOTAL_TIMEOUT": "25"}
    d = daemons(url, extra={**feed_env(), **slow_fetch}, args=["--log-format", "json"]).start()
    owner = owner_of(db, d)
    # The feed is claimed and its fetch hangs on the server: a poll is in flight.
    wait_for(lambda: slow.requests, 20, "the slow fetch to start", d.log)
    with db.session() as s:
        feed = s.exec(select(Feed)).one()
        assert feed.lease_owner == owner
    with db.write() as s:  # and a digest this daemon is sending
        s.add(
            Digest(
                period="2026-W01",
                recipient="a@example.org",
                status="sending",
                lease_owner=owner,
                lease_until=datetime.now(UTC) + timedelta(hours=1),
                created_at=datetime.now(UTC),
            )
        )
    d.wait_log("maximum number of running instances reached")  # ticks skipped, and said
    rc, seconds = d.terminate()
    assert rc == 0, d.log()
    assert seconds < 10
    lines = [json.loads(line) for line in d.run_log().splitlines() if line.strip()]
    assert {"ts", "level", "logger", "msg"} <= set(lines[0])
    assert any(x["msg"].startswith("abandoning running job(s) poll") for x in lines)
    with db.session() as s:
        feed = s.exec(select(Feed)).one()
        digest = s.exec(select(Digest)).one()
        beat = s.get(DaemonHeartbeat, owner)
    assert (feed.lease_owner, feed.lease_until) == (None, None)
    assert feed.last_success_at is None  # nothing marked done that was not done
    assert (digest.lease_owner, digest.lease_until) == (None, None)
    assert beat is not None and beat.stopped_at is not None
    db.dispose()


@pytest.mark.parametrize("spread", ["3", "0"], ids=["workers-at-start", "workers-in-a-poll"])
def test_sigterm_exits_0_and_releases_leases_with_parse_workers_running(
    tmp_path: Path, daemons, news, spread: str
) -> None:
    """64 due feeds or more start parse worker processes (at start with a start spread,
    else in the first poll). Starting them spawns multiprocessing's resource tracker,
    which unblocked SIGTERM in the starting thread: the daemon died with 143, leases held."""
    server = news(feeds=70, latency=0.3)
    url = sqlite_url(tmp_path)
    db = prepare(url, feeds=[server.url(i) for i in range(70)], catalogue=False)
    env = {
        **feed_env(),
        "PLEDGEWATCH_DAEMON_STARTUP_SPREAD_SECONDS": spread,
        "PLEDGEWATCH_DAEMON_SHUTDOWN_GRACE_SECONDS": "1",
    }
    d = daemons(url, extra=env).start()
    owner = owner_of(db, d)
    d.wait_log("started on")
    wait_for(lambda: len(server.requests) >= 8, 30, "polls under way", d.log)
    d.signal(signal.SIGTERM)
    time.sleep(0.3)
    d.signal(signal.SIGTERM)  # a second one while stopping changes nothing
    rc = d.wait(15)
    assert rc == 0, d.log()
    assert f"daemon {owner} stopped" in d.run_log()
    with db.session() as s:
        leased = s.exec(select(Feed).where(Feed.lease_owner.is_not(None))).all()  # type: ignore[union-attr]
        beat = s.get(DaemonHeartbeat, owner)
    assert leased == []
    assert beat is not None and beat.stopped_at is not None
    db.dispose()


def test_sighup_reloads_the_config_file_and_recompiles_the_catalogue(
    tmp_path: Path, daemons, news
) -> None:
    server = news(feeds=1, every=0.5, breach_every=1)
    url = sqlite_url(tmp_path)
    db = prepare(url, feeds=[server.url(0)], catalogue=False)
    config = tmp_path / "pledgewatch.toml"
    config.write_text("[daemon]\nheartbeat_seconds = 1\n", encoding="utf-8")
    # The file sets the heartbeat (the environment would win over it).
    d = daemons(
        url,
        extra=feed_env(),
        args=["--config", str(config)],
        unset=("PLEDGEWATCH_DAEMON_HEARTBEAT_SECONDS",),
    ).start()
    d.wait_log("catalogue compiled: 0 pledges")
    wait_for(lambda: len(stored_titles(db)) >= 2, 20, "articles stored", d.log)

    def flagged() -> int:
        with db.session() as s:
            return len(s.exec(select(Flag)).all())

    # A catalogue sync alone does not change the running detector...
    pledges = load_catalogue(shipped_catalogue())
    with db.write() as s:
        sync_catalogue(session=s, pledges=pledges)
    seen = len(stored_titles(db))
    wait_for(lambda: len(stored_titles(db)) >= seen + 2, 20, "more articles", d.log)
    assert flagged() == 0
    # ...SIGHUP does, together with the re-read config file.
    config.write_text("[daemon]\nheartbeat_seconds = 2\n", encoding="utf-8")
    d.signal(signal.SIGHUP)
    d.wait_log(f"catalogue compiled: {len(pledges)} pledges")
    wait_for(lambda: flagged() > 0, 20, "flags from the reloaded catalogue", d.log)
    wait_for(
        lambda: any(b.heartbeat_seconds == 2 for b in heartbeats(db)),
        10,
        "the new heartbeat interval",
        d.log,
    )
    # A broken config file on reload keeps the running one.
    config.write_text("[daemon]\nheartbeat_seconds = -5\n", encoding="utf-8")
    d.signal(signal.SIGHUP)
    d.wait_log("invalid configuration, keeping the running one")
    time.sleep(1.5)
    assert d.alive()
    assert d.terminate()[0] == 0
    db.dispose()


# -- digests across downtime --------------------------------------------------------------


def test_daemon_down_over_the_digest_time_sends_that_period_once_on_start(
    tmp_path: Path, daemons, smtp: SmtpSink
) -> None:
    url = sqlite_url(tmp_path)
    db = prepare(url)
    env = digest_due_env(smtp)
    due = latest_due(
        datetime.now(UTC),
        weekday=env["PLEDGEWATCH_DIGEST_WEEKDAY"],
        at=env["PLEDGEWATCH_DIGEST_TIME"],
        zone=__import__("zoneinfo").ZoneInfo("UTC"),
    )
    # The week before went out while a daemon ran; none ran at this week's send time.
    with db.write() as s:
        for r in RECIPIENTS:
            s.add(
                Digest(
                    period=str(due.shift(-1)),
                    recipient=r,
                    status="sent",
                    created_at=datetime.now(UTC) - timedelta(days=8),
                    sent_at=datetime.now(UTC) - timedelta(days=7),
                )
            )
    first = daemons(url, extra=env).start()
    wait_for(lambda: len(smtp.messages) >= 2, 30, "two digests", first.log)
    assert first.terminate()[0] == 0
    second = daemons(url, "second", extra=env).start()
    owner_of(db, second)
    wait_for(lambda: _digest_checked_after(db, second), 20, "the start-up digest check", second.log)
    assert second.terminate()[0] == 0
    assert sorted(r for rcpts, _ in smtp.messages for r in rcpts) == RECIPIENTS
    assert all(
        str(due) in str(m["Subject"]) or str(due) in str(m["Message-ID"]) for _, m in smtp.messages
    )
    with db.session() as s:
        rows = s.exec(select(Digest).where(Digest.period == str(due))).all()
    assert sorted((r.recipient, r.status) for r in rows) == [(r, "sent") for r in RECIPIENTS]
    db.dispose()


def _digest_checked_after(db: Database, d: DaemonProcess) -> bool:
    with db.session() as s:
        beat = next(b for b in s.exec(select(DaemonHeartbeat)).all() if b.pid == d.pid)
        run = s.get(JobRun, "digests")
        finished = run.last_finished_at if run else None
    return finished is not None and as_utc(finished) >= as_utc(beat.started_at)  # type: ignore[operator]


# -- crashes -----------------------------------------------------------------------------


def test_a_digest_claimed_by_a_daemon_killed_mid_send_goes_out_on_restart_not_after_its_lease(
    tmp_path: Path, daemons
) -> None:
    url = sqlite_url(tmp_path)
    db = prepare(url)
    entered, gate = threading.Event(), threading.Event()

    def hold_the_first(msg: object) -> None:
        if not entered.is_set():
            entered.set()
            gate.wait(30)

    with Mailbox() as box:
        box.before_ok = hold_the_first
        env = digest_due_env(box)  # type: ignore[arg-type]
        d = daemons(url, extra=env).start()  # digest lease: the default 300 s
        owner = owner_of(db, d)
        assert entered.wait(30), d.log()
        with db.session() as s:
            claimed = s.exec(select(Digest).where(Digest.status == "sending")).one()
        assert claimed.lease_owner == owner
        d.kill9()
        gate.set()
        killed_at = time.monotonic()
        d.start()

        def all_sent() -> bool:
            with db.session() as s:
                return {r.status for r in s.exec(select(Digest)).all()} == {"sent"}

        wait_for(all_sent, 30, "both digests sent after the restart", d.log)
        assert time.monotonic() - killed_at < 60
        d.wait_log("taking back digests claimed by " + owner)
        assert d.terminate()[0] == 0
    # The one in flight at the kill went out again, as the same message.
    ids = Counter(str(m["Message-ID"]) for _, m in box.messages)
    assert ids[claimed.message_id] == 2 and sum(ids.values()) == 3
    db.dispose()


def _kill_nine_runs(
    tmp_path: Path, url: str, runs: int, daemons, news, smtp: SmtpSink, seed: int
) -> None:
    rng = random.Random(seed)
    server = news(feeds=4, every=1.0, keep=150)
    db = prepare(url, feeds=[server.url(n) for n in range(4)], interval=1)
    # Short leases, so a killed daemon's claims come back within a run or two.
    env = {**feed_env(), **digest_due_env(smtp), **SHORT_LEASES}
    d = daemons(url, extra=env)
    for _ in range(runs):
        d.start()
        time.sleep(rng.uniform(1.2, 4.5))  # start-up, digest check and polls all get hit
        d.kill9()
    server.freeze()
    d.start()
    d.wait_log("started on")

    def settled() -> bool:
        with db.session() as s:
            sent = s.exec(select(Digest).where(Digest.status == "sent")).all()
        return server.served <= set(stored_titles(db)) and len(sent) >= len(RECIPIENTS)

    wait_for(settled, 120, "every served entry stored and the digests sent", d.log, every=0.5)
    rc, _ = d.terminate()
    assert rc == 0, d.log()

    titles = stored_titles(db)
    assert len(titles) == len(set(titles)), "duplicate articles"
    assert server.served <= set(titles), "entries served but not stored"
    with db.session() as s:
        flags = s.exec(select(Flag)).all()
        arts = {a.id: a for a in s.exec(select(Article)).all()}
        digests = s.exec(select(Digest)).all()
        if db.is_sqlite:
            assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    pairs = Counter((f.article_id, f.pledge_id) for f in flags)
    assert all(n == 1 for n in pairs.values()), "duplicate flags"
    breach = {
        i
        for i, a in arts.items()
        if "story" in a.title and int(a.title.rsplit(" ", 1)[1]) % server.breach_every == 0
    }
    assert {a for a, _ in pairs} == breach, "every breach report flagged once, nothing else"
    per_key = Counter((r.period, r.recipient) for r in digests)
    assert all(n == 1 for n in per_key.values()), "duplicate digest rows"
    assert all(r.status == "sent" for r in digests)
    # Each (period, recipient) went out under one Message-ID. A crash between the
    # server's 250 and marking the row sent resends that same message (at least once).
    ids = Counter(smtp.message_ids())
    assert set(ids) == {r.message_id for r in digests}
    assert sum(ids.values()) - len(ids) <= runs
    db.dispose()


# A kill in the middle of sending a digest leaves its row claimed; the restarted daemon
# sees the claimer's pid gone and takes it back at once instead of waiting out the lease.
@pytest.mark.timeout(300)
def test_kill_9_at_random_points_loses_and_duplicates_nothing(
    tmp_path: Path, daemons, news, smtp: SmtpSink
) -> None:
    _kill_nine_runs(tmp_path, sqlite_url(tmp_path), 3, daemons, news, smtp, seed=5)


@slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_kill_9_at_random_points_across_20_runs(
    tmp_path: Path, daemons, news, smtp: SmtpSink, backend: str, request
) -> None:
    if backend == "sqlite":
        url = sqlite_url(tmp_path)
    else:
        url = fresh_postgres_url(request.getfixturevalue("postgres_server_url"))
    _kill_nine_runs(tmp_path, url, 20, daemons, news, smtp, seed=20)


# -- several daemons on one PostgreSQL ---------------------------------------------------


def _two_daemons_share_the_load(
    tmp_path: Path, url: str, feeds: int, interval: int, rounds: int, daemons, news, smtp: SmtpSink
) -> None:
    server = news(feeds=feeds, every=3600)
    db = prepare(url, feeds=[server.url(n) for n in range(feeds)], interval=interval)
    env = {
        **feed_env(),
        **digest_due_env(smtp),
        "PLEDGEWATCH_FEEDS_CONCURRENCY": "16",
        "PLEDGEWATCH_FEEDS_PER_HOST": "16",
    }
    a = daemons(url, "a", extra=env).start()
    b = daemons(url, "b", extra=env).start()
    a.wait_log("started on")
    b.wait_log("started on")

    def polls() -> list[list[float]]:
        return [server.polls_of(n) for n in range(feeds)]

    # However loaded the machine, wait for `rounds` polls of every feed, then stop.
    wait_for(
        lambda: min(len(p) for p in polls()) >= rounds,
        30 + 10 * rounds * interval,
        f"{rounds} polls of every feed",
        a.log,
        every=0.2,
    )
    # A stopping daemon gives back the claims of fetches it abandons, and the other one
    # takes them at once: only what happened before the stop counts.
    stop = time.monotonic()
    assert a.terminate()[0] == 0 and b.terminate()[0] == 0
    for n, times in enumerate([t for t in p if t < stop] for p in polls()):
        gaps = [y - x for x, y in zip(times, times[1:], strict=False)]
        # Never twice within an interval (the server's clock against the database's).
        assert all(g >= interval - 0.3 for g in gaps), (n, gaps)
    # And none left behind: every feed got its turn each round, except feeds whose fetch
    # failed on a starved machine (a connect timeout), which back off as they should.
    failed = set(re.findall(r"poll failed feed_id=\d+ url=(\S+)", a.log() + b.log()))
    before = [[t for t in p if t < stop] for p in polls()]
    counts = [len(p) for n, p in enumerate(before) if server.url(n) not in failed]
    assert len(counts) >= feeds * 0.8, f"{feeds - len(counts)} feeds failed"
    assert min(counts) >= rounds, counts
    # A feed is due `interval` after its last fetch and fetched on the next poll tick of
    # whichever daemon claims it; the two daemons tick out of phase, so a feed's period lies
    # between the interval and the interval plus one tick. Over the same few rounds one feed
    # can be fetched two more times than another; a feed skipped for a round falls further.
    assert max(counts) - min(counts) <= 2, counts
    assert "polled feed_id" in a.log() and "polled feed_id" in b.log(), "both daemons worked"
    # One digest per period and recipient, whichever daemon sent it.
    assert sorted(r for rcpts, _ in smtp.messages for r in rcpts) == RECIPIENTS
    db.dispose()


@pytest.mark.postgres
def test_two_daemons_on_one_postgresql_poll_every_feed_once_per_interval(
    tmp_path: Path, postgres_server_url: str, daemons, news, smtp: SmtpSink
) -> None:
    url = fresh_postgres_url(postgres_server_url)
    _two_daemons_share_the_load(tmp_path, url, 60, 2, 3, daemons, news, smtp)


@slow
@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_two_daemons_with_300_feeds_for_several_intervals(
    tmp_path: Path, postgres_server_url: str, daemons, news, smtp: SmtpSink
) -> None:
    url = fresh_postgres_url(postgres_server_url)
    _two_daemons_share_the_load(tmp_path, url, 300, 5, 5, daemons, news, smtp)


# -- the database goes away and comes back -----------------------------------------------


@pytest.mark.postgres
def test_database_outage_jobs_fail_log_and_recover_without_restart(
    tmp_path: Path, postgres_server_url: str, daemons, news
) -> None:
    direct = make_url(fresh_postgres_url(postgres_server_url))
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)  # not started yet
    via_proxy = direct.set(host="127.0.0.1", port=proxy.port)
    server = news(feeds=5, every=0.5, keep=100)
    db = prepare(
        direct.render_as_string(hide_password=False),
        feeds=[server.url(n) for n in range(5)],
        catalogue=False,
    )

    def healthy() -> bool:
        with db.session() as s:
            return collect_status(s).healthy

    d = daemons(
        via_proxy.render_as_string(hide_password=False), extra={**feed_env(), **SHORT_LEASES}
    ).start()
    try:
        # Started before the database answers (a reboot): it waits instead of exiting.
        d.wait_log("retrying in")
        assert d.alive()
        proxy.start()
        d.wait_log("started on", timeout=30)
        wait_for(lambda: len(stored_titles(db)) >= 5, 30, "first polls", d.log)
        outage = datetime.now(UTC)
        proxy.stop()
        wait_for(lambda: not healthy(), 10, "the heartbeat to go stale", d.log)
        log = d.run_log()
        assert "job poll failed" in log and "heartbeat failed" in log, log[-3000:]
        with db.session() as s:
            # Nothing is recorded as done while the database is away.
            run = s.get(JobRun, "poll")
            assert run is not None
            assert not (run.last_ok and as_utc(run.last_finished_at) >= outage)  # type: ignore[operator]
        proxy.start()
        # Same process, no restart: heartbeats and polls resume, the backlog is stored.
        wait_for(healthy, 15, "a fresh heartbeat", d.log)
        server.freeze()
        wait_for(
            lambda: server.served <= set(stored_titles(db)),
            30,
            "entries served during and after the outage stored",
            d.log,
            every=0.5,
        )
        assert d.alive() and d.runs == 1
        assert d.terminate()[0] == 0
        titles = stored_titles(db)
        assert len(titles) == len(set(titles))
    finally:
        proxy.close()
        db.dispose()


# -- deployment ---------------------------------------------------------------------------


def test_the_systemd_unit_restarts_on_failure_runs_unprivileged_and_is_hardened() -> None:
    unit = (REPO / "deploy" / "pledgewatch.service").read_text(encoding="utf-8")
    lines = {line.strip() for line in unit.splitlines() if not line.startswith("#")}
    wanted = [
        "Type=simple",
        "User=pledgewatch",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=true",
        "ProtectSystem=strict",
        "ProtectHome=true",
        "PrivateTmp=true",
        "ReadWritePaths=/var/lib/pledgewatch",
        "EnvironmentFile=-/etc/pledgewatch/pledgewatch.env",
    ]
    for directive in wanted:
        assert directive in lines, directive
    assert any(line.startswith("RestartSec=") for line in lines)
    # systemd waits longer than the daemon's own 10 s stop before it sends SIGKILL.
    stop = next(line for line in lines if line.startswith("TimeoutStopSec="))
    assert int(stop.split("=")[1]) > 10
    assert "pledgewatch --log-level INFO daemon" in unit
