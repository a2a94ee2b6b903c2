"""`pledgewatch ingest` on a real SQLite file: exit codes, named rejections, no tracebacks,
the same result with and without worker processes, and recovery from `kill -9`."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import col, func, select

from bench.feedgen import write_feeds
from feeds.models import Article, ArticleSource
from monitor.cli import cli
from monitor.ingest.pipeline import ingest_files
from monitor.store.db import Database, open_database
from monitor.store.models import Flag
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data" / "feeds"
EXAMPLES = REPO / "examples" / "feeds"


def invoke(db: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def catalogue_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the shipped catalogue loaded (copied for each test)."""
    path = tmp_path_factory.mktemp("catalogue") / "template.db"
    result = invoke(path, "catalogue", "sync")
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def db_path(catalogue_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "pledgewatch.db"
    src = sqlite3.connect(catalogue_db)
    dst = sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    return path


def table_counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        return {
            t: con.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("articles", "article_sources", "flags")
        }
    finally:
        con.close()


def test_good_files_exit_zero_with_one_line_each(db_path: Path) -> None:
    files = [str(DATA / "rss-basic.xml"), str(DATA / "atom-basic.xml")]
    result = invoke(db_path, "ingest", *files)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"ingested source={files[0]} entries=3 new=3 updated=0 flags=0" in lines
    assert f"ingested source={files[1]} entries=2 new=2 updated=0 flags=0" in lines
    assert "ingested 2/2 inputs: 5 new articles" in result.output
    again = invoke(db_path, "ingest", *files)
    assert "ingested 2/2 inputs: 0 new articles" in again.output
    assert table_counts(db_path)["articles"] == 5


def test_entries_with_nothing_to_store_are_counted_apart(db_path: Path, tmp_path: Path) -> None:
    feed = tmp_path / "blanks.xml"
    feed.write_bytes(
        b'<rss version="2.0"><channel><title>Blanks</title><item/>'
        b"<item><title>One real story</title><link>https://news.example/one</link></item>"
        b"<item></item></channel></rss>"
    )
    result = invoke(db_path, "ingest", str(feed))
    assert result.exit_code == 0, result.output
    assert f"ingested source={feed} entries=3 empty=2 new=1 updated=0 flags=0" in (
        result.output.splitlines()
    )
    assert table_counts(db_path)["articles"] == 1


def test_the_founding_case_is_flagged_from_the_sample_feeds(db_path: Path) -> None:
    result = invoke(db_path, "ingest", str(EXAMPLES))
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(db_path)
    pledges = {r[0] for r in con.execute("select pledge_id from flags")}
    con.close()
    assert "amazon-rekognition-police-moratorium" in pledges


def test_rejected_inputs_are_named_with_their_reason_and_the_rest_are_stored(
    db_path: Path, tmp_path: Path
) -> None:
    (tmp_path / "empty.xml").write_bytes(b"")
    (tmp_path / "feed.json").write_text('{"version": "https://jsonfeed.org/version/1.1"}')
    (tmp_path / "crash.xml").write_text(
        '<rss version="2.0"><channel><title>t</title><item><title>&#xD800;</title>'
        "</item></channel></rss>"
    )
    inputs = {
        str(DATA / "billion-laughs.xml"): "unsafe_xml",
        str(DATA / "html-page.xml"): "not_a_feed",
        str(tmp_path / "empty.xml"): "empty",
        str(tmp_path / "feed.json"): "unsupported_format",
        str(tmp_path / "missing.xml"): "not_found",
        "http://10.0.0.1/feed.xml": "unsafe_url",  # fetched, refused before connecting
    }
    good = [str(DATA / "rss-basic.xml"), str(DATA / "truncated.xml"), str(tmp_path / "crash.xml")]
    result = invoke(db_path, "ingest", *inputs, *good)
    assert result.exit_code == 1
    for path, reason in inputs.items():
        assert f"ingest failed source={path} error={reason} message=" in result.stderr
    # Said once: the pipeline's own log line is not printed beside the command's.
    assert result.stderr.count(f"source={tmp_path / 'empty.xml'} ") == 1
    assert "Traceback" not in result.output
    assert "ingested 3/9 inputs: 7 new articles" in result.stdout
    truncated = DATA / "truncated.xml"
    assert f"ingested source={truncated} entries=3 new=3 updated=0 flags=0 degraded=" in (
        result.stdout
    )
    assert (
        "rejected 6 inputs: 1 empty, 1 not_a_feed, 1 not_found, 1 unsafe_url, 1 unsafe_xml, "
        "1 unsupported_format" in result.stderr
    )


@pytest.mark.timeout(30)
def test_devices_fifos_and_folders_named_as_files_are_refused_not_read(
    db_path: Path, tmp_path: Path
) -> None:
    """A FIFO without a writer must not hang ingest, /dev/zero must not be read to the end."""
    os.mkfifo(tmp_path / "pipe.xml")
    (tmp_path / "zero.xml").symlink_to("/dev/zero")
    refused = [str(tmp_path / "pipe.xml"), str(tmp_path / "zero.xml")]
    result = invoke(db_path, "ingest", *refused, str(DATA / "rss-basic.xml"))
    assert result.exit_code == 1
    for path in refused:
        assert f"ingest failed source={path} error=not_a_file message=not a regular file" in (
            result.stderr
        )
    assert "ingested 1/3 inputs" in result.stdout


def test_no_inputs_is_a_usage_error(db_path: Path) -> None:
    assert invoke(db_path, "ingest").exit_code == 2


def test_an_empty_directory_is_a_usage_error(db_path: Path, tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    result = invoke(db_path, "ingest", str(tmp_path / "nothing"))
    assert result.exit_code == 2 and "no files found" in result.output


def test_nothing_stored_carries_a_script_or_a_script_url(db_path: Path) -> None:
    result = invoke(db_path, "ingest", str(DATA))
    assert result.exit_code == 1  # the bomb and the HTML page are refused
    con = sqlite3.connect(db_path)
    for table, column in (
        ("articles", "title"),
        ("articles", "summary_html"),
        ("articles", "text"),
        ("articles", "key"),
        ("articles", "url"),
        ("article_sources", "outlet"),
        ("article_sources", "entry_id"),
    ):
        bad = con.execute(
            f"select {column} from {table} where lower({column}) like '%<script%' "
            f"or lower({column}) like '%javascript:%'"
        ).fetchall()
        assert bad == [], (table, column, bad)
    con.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_feeds(tmp_path_factory.mktemp("generated"), files=24, items=25, seed=3)


def _stored_after_ingest(
    catalogue_db: Path, path: Path, generated: list[Path], workers: int
) -> tuple[list[Any], list[Any]]:
    """Articles and flags stored by ingesting `generated` into a copy of `catalogue_db`."""
    src, dst = sqlite3.connect(catalogue_db), sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    db = open_database(f"sqlite:///{path}")
    try:
        report = ingest_files(
            db=db, paths=[str(p) for p in generated], workers=workers, batch_entries=100
        )
    finally:
        db.dispose()
    assert [s.source for s in report.sources] == [str(p) for p in generated]
    con = sqlite3.connect(path)
    stored = (
        sorted(con.execute("select key, title, text from articles")),
        sorted(con.execute(
            "select a.key, f.pledge_id, f.kind, f.score from flags f "
            "join articles a on a.id = f.article_id")),
    )  # fmt: skip
    con.close()
    return stored


def test_worker_processes_store_exactly_what_a_single_process_stores(
    catalogue_db: Path, tmp_path: Path, generated: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.ingest.parsepool

    results = {}
    # 0: one process; 2: workers parse and scan; 1: what a catalogue too big to send to
    # the workers gets (workers parse on while it compiles, workers forked once it is
    # compiled parse and scan, and scan what the first ones parsed).
    for workers in (0, 2, 1):
        if workers == 1:
            monkeypatch.setattr(monitor.ingest.parsepool, "MAX_SHIPPED_PLEDGES", 0)
        results[workers] = _stored_after_ingest(
            catalogue_db, tmp_path / f"w{workers}.db", generated, workers=workers and 2
        )
    assert len(results[0][0]) == 24 * 25
    assert results[0][1], "the generated feeds mention catalogue pledges"
    assert results[0] == results[2] == results[1]


def test_on_macos_the_parse_workers_are_spawned_and_store_the_same(
    catalogue_db: Path, tmp_path: Path, generated: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # fork is offered on macOS but not safe there; spawned workers import everything
    # afresh and must store exactly what forked ones do.
    stored = {}
    for platform in ("linux", "darwin"):
        monkeypatch.setattr(sys, "platform", platform)
        stored[platform] = _stored_after_ingest(
            catalogue_db, tmp_path / f"{platform}.db", generated, workers=2
        )
    assert stored["linux"][1], "the generated feeds mention catalogue pledges"
    assert stored["darwin"] == stored["linux"]
    from monitor.ingest.parsepool import ParsePool

    pool = ParsePool([], now=datetime.now(UTC), workers=2)  # still "darwin"
    assert pool._ctx.get_start_method() == "spawn"


def test_workers_told_the_catalogue_is_too_big_to_ship_parse_on_without_it(
    generated: list[Path],
) -> None:
    from monitor.ingest.parsepool import MAX_SHIPPED_PLEDGES, ParsePool, Scanned

    paths = [str(p) for p in generated]
    done: list[Scanned] = []

    def run() -> None:
        with ParsePool(paths, now=datetime.now(UTC), workers=2) as pool:
            pool.catalogue_size(MAX_SHIPPED_PLEDGES + 1)
            # No detector is ever sent: the workers must not wait for one.
            done.extend(pool.results())

    reader = threading.Thread(target=run, daemon=True)
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive(), "the workers waited for a catalogue that never came"
    assert [d.source for d in done] == paths
    assert all(d.feed is not None and d.feed.entries and not d.scans for d in done)


def test_files_parsed_before_a_big_catalogue_compiled_are_scanned_by_the_workers(
    generated: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.ingest.parsepool
    from monitor.ingest.parsepool import ParsePool
    from pledges.detect import Detector

    monkeypatch.setattr(monitor.ingest.parsepool, "MAX_SHIPPED_PLEDGES", 0)
    detector = Detector.compile(load_catalogue(shipped_catalogue()))
    paths = [str(p) for p in generated]
    with ParsePool(paths, now=datetime.now(UTC), workers=2) as pool:
        pool.catalogue_size(detector.size)
        # The first workers parse every file while the writer is still "compiling".
        first = [f for _, f in pool._in_flight if f is not None]
        deadline = time.monotonic() + 60
        while not all(f.done() for f in first) and time.monotonic() < deadline:
            time.sleep(0.05)
        pool.send_detector(detector)
        done = list(pool.results())
    assert [d.source for d in done] == paths
    # Every entry comes back scanned, as the writer would have scanned it.
    for d in done:
        assert d.feed is not None
        assert set(d.scans) == {e.content_hash for e in d.feed.entries}
        for e in d.feed.entries:
            published, findings = d.scans[e.content_hash]
            assert findings == detector.scan(e.title, e.text, published)
    assert any(findings for d in done for _, findings in d.scans.values())


def test_kill_9_in_the_middle_then_the_same_ingest_leaves_no_duplicates_and_no_gaps(
    db_path: Path, tmp_path: Path
) -> None:
    feeds = write_feeds(tmp_path / "feeds", files=40, items=30, seed=11)
    expected = 40 * 30
    cmd = [
        sys.executable,
        "-m",
        "monitor",
        "--db",
        str(db_path),
        "ingest",
        str(tmp_path / "feeds"),
        "--workers",
        "2",
        "--batch-entries",
        "60",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=REPO
    )
    try:
        deadline = time.monotonic() + 60
        stored = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                stored = table_counts(db_path)["articles"]
            except sqlite3.OperationalError:
                stored = 0
            if stored > 0:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "ingest finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    partial = table_counts(db_path)["articles"]
    assert 0 < partial < expected
    con = sqlite3.connect(db_path)
    assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    con.close()

    result = invoke(db_path, "ingest", *map(str, feeds))
    assert result.exit_code == 0, result.output
    after = table_counts(db_path)
    assert after["articles"] == after["article_sources"] == expected
    con = sqlite3.connect(db_path)
    dup_flags = con.execute(
        "select count(*) from (select article_id, pledge_id from flags "
        "group by article_id, pledge_id having count(*) > 1)"
    ).fetchone()[0]
    unflagged = con.execute("select count(*) from flags where incident_id is null").fetchone()[0]
    con.close()
    assert dup_flags == 0 and unflagged == 0
    assert after["flags"] > 0


def children_of(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_parse_workers_exit_when_ingest_is_killed_9(db_path: Path, tmp_path: Path) -> None:
    write_feeds(tmp_path / "feeds", files=200, items=30, seed=5)
    cmd = [sys.executable, "-m", "monitor", "--db", str(db_path), "ingest",
           str(tmp_path / "feeds"), "--workers", "2", "--batch-entries", "60"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and len(workers) < 2:
            workers = children_of(proc.pid)
            time.sleep(0.05)
        assert len(workers) == 2, "the parse workers did not start"
        proc.kill()  # the ingest alone: its workers are not told
    finally:
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(w) for w in workers):
        time.sleep(0.1)
    left = [w for w in workers if alive(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert left == [], "parse workers outlived the ingest"


def test_an_updated_entry_is_rescanned_and_flagged_without_a_duplicate(
    db_path: Path, tmp_path: Path
) -> None:
    def feed(text: str) -> Path:
        path = tmp_path / "story.xml"
        path.write_text(
            '<rss version="2.0"><channel><title>Desk</title><link>https://desk.example/</link>'
            "<item><guid>https://desk.example/rekognition</guid>"
            "<title>Amazon and facial recognition</title>"
            f"<description>{text}</description>"
            "<pubDate>Thu, 14 Nov 2024 10:00:00 GMT</pubDate></item></channel></rss>"
        )
        return path

    first = invoke(db_path, "ingest", str(feed("Amazon held a developer conference.")))
    assert "new=1 updated=0 flags=0" in first.output
    second = invoke(db_path, "ingest", str(feed(
        "A whistleblower alleges Amazon let police forces use its Rekognition facial "
        "recognition despite its moratorium on police use."
    )))  # fmt: skip
    assert "new=0 updated=1 flags=1" in second.output
    counts = table_counts(db_path)
    assert counts["articles"] == 1 and counts["flags"] == 1


def test_parallel_ingest_on_each_backend_stores_once_and_a_rerun_adds_nothing(
    db: Database, generated: list[Path]
) -> None:
    with db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
    paths = [str(p) for p in generated[:12]]
    first = ingest_files(db=db, paths=paths, workers=2, batch_entries=70)
    assert first.new == 12 * 25 and not first.rejected and first.flags > 0
    again = ingest_files(db=db, paths=paths, workers=2, batch_entries=70)
    assert again.new == 0 and again.flags == 0
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(Article)).one() == 12 * 25
        assert session.exec(select(func.count()).select_from(ArticleSource)).one() == 12 * 25
        ungrouped = select(func.count()).select_from(Flag).where(col(Flag.incident_id).is_(None))
        assert session.exec(ungrouped).one() == 0


def test_on_a_terminal_a_progress_bar_replaces_the_per_file_lines(
    db_path: Path, generated: list[Path]
) -> None:
    import pty

    leader, follower = pty.openpty()
    cmd = [sys.executable, "-m", "monitor", "--db", str(db_path), "ingest",
           *map(str, generated)]  # fmt: skip
    shown = bytearray()

    def drain() -> None:  # a full terminal buffer would block the command
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=follower, cwd=REPO, timeout=120,
                          env={**os.environ, "COLUMNS": "120"})  # fmt: skip
    os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    assert proc.returncode == 0
    assert b"ingesting" in shown and b"Traceback" not in shown
    out = proc.stdout.decode()
    assert f"ingested {len(generated)}/{len(generated)} inputs" in out
    assert str(generated[0]) not in out  # no per-file lines on a terminal


def test_a_feed_url_is_fetched_once_under_the_address_rules(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.feeds.feedserver import FeedServer, Reply

    server = FeedServer().start()
    try:
        founding = (EXAMPLES / "tech-policy-weekly.xml").read_bytes()
        url = server.route("/feed.xml", Reply(body=founding))
        missing = server.route("/gone.xml", Reply(status=404))

        # Loopback is a private address: refused unless the operator allows it.
        refused = invoke(db_path, "ingest", url)
        assert refused.exit_code == 1
        assert f"ingest failed source={url} error=unsafe_url message=" in refused.output
        assert server.hits("/feed.xml") == []

        monkeypatch.setenv("PLEDGEWATCH_FEEDS_ALLOW_PRIVATE_ADDRESSES", "1")
        result = invoke(db_path, "ingest", url, missing, str(EXAMPLES / "business-daily.xml"))
        assert result.exit_code == 1, result.output
        assert f"ingest failed source={missing} error=http_404 message=" in result.output
        assert f"ingested source={url} entries=10 new=10 " in result.output
        assert len(server.hits("/feed.xml")) == 1
        flags = invoke(
            db_path,
            "flags",
            "list",
            "--pledge",
            "amazon-rekognition-police-moratorium",
            "--format",
            "json",
        )
        assert "tribunal" in flags.output
    finally:
        server.stop()


def gzipped(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data))
    return path


def gzip_bomb(path: Path, size: int) -> Path:
    """A feed's opening and `size` bytes of whitespace, gzipped (about 1/1000 of that)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as fh:
        fh.write(z.compress(b'<rss version="2.0"><channel><title>bomb</title>'))
        for _ in range(size // 1_000_000):
            fh.write(z.compress(b" " * 1_000_000))
        fh.write(z.flush())
    return path


def test_gzipped_feed_files_are_read_like_the_plain_files(db_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    named = gzipped(folder / "rss-basic.xml.gz", (DATA / "rss-basic.xml").read_bytes())
    # Recognised by its first bytes, whatever its name.
    unnamed = gzipped(tmp_path / "download", (DATA / "atom-basic.xml").read_bytes())
    result = invoke(db_path, "ingest", str(folder), str(unnamed))
    assert result.exit_code == 0, result.output
    assert f"ingested source={named} entries=3 new=3 updated=0" in result.output
    assert f"ingested source={unnamed} entries=2 new=2 updated=0" in result.output
    assert table_counts(db_path)["articles"] == 5


def test_a_folders_bare_gz_files_are_read_whatever_the_name_inside(
    db_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    bare = gzipped(folder / "feed.gz", (DATA / "rss-basic.xml").read_bytes())
    (folder / "notes.txt").write_text("not a feed, and not gzipped: left out")
    result = invoke(db_path, "ingest", str(folder))
    assert result.exit_code == 0, result.output
    assert str(bare) in result.output
    assert "notes.txt" not in result.output
    assert "ingested 1/1 inputs: 3 new articles" in result.output
    assert table_counts(db_path)["articles"] == 3


def test_a_gzip_bomb_is_refused_at_the_cap_in_bounded_memory_and_the_rest_is_stored(
    db_path: Path, tmp_path: Path
) -> None:
    bomb = gzip_bomb(tmp_path / "bomb.xml.gz", 300_000_000)
    assert bomb.stat().st_size < 1_000_000
    good = gzipped(tmp_path / "rss-basic.xml.gz", (DATA / "rss-basic.xml").read_bytes())
    plain = DATA / "atom-basic.xml"
    tracemalloc.start()
    try:
        result = invoke(db_path, "ingest", str(bomb), str(good), str(plain))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1
    assert (
        f"ingest failed source={bomb} error=too_large "
        "message=file is over the 10000000 byte cap once decompressed" in result.stderr
    )
    assert "ingested 2/3 inputs: 5 new articles" in result.stdout
    assert peak < 60_000_000  # the cap and a copy, not the 300 MB the file inflates to


def test_when_the_parse_workers_die_every_file_is_still_read_here(
    catalogue_db: Path, tmp_path: Path, generated: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "pledgewatch.db"
    src, dst = sqlite3.connect(catalogue_db), sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    paths = [str(p) for p in generated]
    others = {p.pid for p in multiprocessing.active_children()}
    killed: list[int] = []
    opened: list[Database] = []

    def open_db_after_killing_the_workers() -> Database:
        # Called once the workers are parsing (or waiting for the detector, which they get
        # only after this returns): none of them will send a result.
        for child in multiprocessing.active_children():
            if child.pid is not None and child.pid not in others:
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)
        opened.append(open_database(f"sqlite:///{path}"))
        return opened[0]

    try:
        report = ingest_files(
            db=open_db_after_killing_the_workers, paths=paths, workers=2, batch_entries=100
        )
    finally:
        for db in opened:
            db.dispose()
    assert len(killed) == 2
    assert "parse workers unavailable" in caplog.text
    assert [s.source for s in report.sources] == paths
    assert not report.rejected and report.new == 24 * 25 and report.flags > 0
