"""On a terminal, multi-feed polls and large ingests draw a progress bar; elsewhere they
print one line per feed with key=value fields. The CLI runs as a subprocess whose
stderr is a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from bench.feedgen import write_feeds
from tests.feeds.feedserver import FeedServer, Reply, simple_feed

REPO = Path(__file__).resolve().parents[3]
# Enough files for parsing to go to worker processes.
PROGRESS_MIN_FILES = 20
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_cli(db: Path, *args: str, tty: bool) -> tuple[int, str, str]:
    """Run `pledgewatch` with stderr on a pseudo-terminal (or a pipe); (code, out, err)."""
    env = {
        **os.environ,
        "PLEDGEWATCH_DB": f"sqlite:///{db}",
        "PLEDGEWATCH_FEEDS_ALLOW_PRIVATE_ADDRESSES": "1",
        "TERM": "xterm-256color",
        "COLUMNS": "100",
    }
    env.pop("NO_COLOR", None)
    cmd = [sys.executable, "-m", "monitor", *args]
    if not tty:
        done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    err = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        err += chunk
    out = proc.stdout.read() if proc.stdout else ""
    code = proc.wait(timeout=30)
    os.close(master)
    return code, out, err.decode("utf-8", "replace")


@pytest.fixture
def catalogue_db(tmp_path: Path) -> Path:
    db = tmp_path / "p.db"
    code, _, err = run_cli(db, "catalogue", "sync", tty=False)
    assert code == 0, err
    return db


def test_a_large_ingest_on_a_terminal_draws_a_bar_and_ends_with_the_summary(
    catalogue_db: Path, tmp_path: Path
) -> None:
    write_feeds(tmp_path / "feeds", PROGRESS_MIN_FILES + 5, 3)
    code, out, err = run_cli(catalogue_db, "ingest", str(tmp_path / "feeds"), tty=True)
    assert code == 0, err
    screen = ANSI.sub("", err)
    assert "ingesting" in screen
    assert f"/{PROGRESS_MIN_FILES + 5}" in screen  # the M/N column
    assert "━" in screen  # the bar itself
    # Per-file lines are not printed on a terminal; the summary is.
    assert " entries=" not in out
    assert "articles" in out


def test_a_large_ingest_into_a_pipe_prints_one_line_per_file_with_its_counts(
    catalogue_db: Path, tmp_path: Path
) -> None:
    write_feeds(tmp_path / "feeds", PROGRESS_MIN_FILES + 5, 3)
    code, out, err = run_cli(catalogue_db, "ingest", str(tmp_path / "feeds"), tty=False)
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith(f"ingested source={tmp_path}")]
    assert len(lines) == PROGRESS_MIN_FILES + 5
    assert all(re.search(r" entries=3 new=3 updated=0 flags=\d+$", line) for line in lines)
    assert "━" not in out + err


def test_a_poll_on_a_terminal_draws_a_bar_and_names_only_the_failures(
    catalogue_db: Path, feed_server: FeedServer
) -> None:
    for i in range(6):
        url = feed_server.route(f"/f{i}", Reply(body=simple_feed(f"f{i}")))
        assert run_cli(catalogue_db, "feeds", "add", url, tty=False)[0] == 0
    broken = feed_server.route("/broken", Reply(status=500, body=b"no"))
    assert run_cli(catalogue_db, "feeds", "add", broken, tty=False)[0] == 0
    code, out, err = run_cli(catalogue_db, "poll", tty=True)
    assert code == 0, err
    screen = ANSI.sub("", err)
    assert "polling" in screen
    assert "/7" in screen
    assert "1 failed" in screen
    assert "/broken" in screen and "http_500" in screen
    assert "url=" not in ANSI.sub("", out).replace(broken, "")


def test_one_big_file_on_a_terminal_shows_its_entries_being_scanned(
    catalogue_db: Path, tmp_path: Path
) -> None:
    (path,) = write_feeds(tmp_path / "feeds", 1, 600)
    code, out, err = run_cli(catalogue_db, "ingest", str(path), tty=True)
    assert code == 0, err
    screen = ANSI.sub("", err)
    assert f"scanning {path.name}" in screen
    assert "/600" in screen and "entries" in screen  # counted by entries, not files
    assert "ingested 1/1 inputs: 600 new articles" in out


def test_rescan_on_a_terminal_counts_articles(catalogue_db: Path, tmp_path: Path) -> None:
    write_feeds(tmp_path / "feeds", 2, 400)
    assert run_cli(catalogue_db, "ingest", str(tmp_path / "feeds"), tty=False)[0] == 0
    code, out, err = run_cli(catalogue_db, "rescan", "--dry-run", tty=True)
    assert code == 0, err
    screen = ANSI.sub("", err)
    assert "dry run" in screen and "/800" in screen and "articles" in screen
    assert "scanned 800 articles" in out
