"""`pledgewatch feeds ...` and `pledgewatch poll` through the real CLI on a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlmodel import select

from feeds.models import Article, ArticleSource, Feed
from feeds.opml import read_opml
from monitor.cli import cli
from monitor.store.db import open_database
from tests.feeds.feedserver import Reply, simple_feed

DATA = Path(__file__).resolve().parents[2] / "data"
LOOPBACK_ENV = {
    "PLEDGEWATCH_FEEDS_ALLOWED_NETWORKS": "127.0.0.1/32",
    "PLEDGEWATCH_FEEDS_TOTAL_TIMEOUT": "2",
    "PLEDGEWATCH_FEEDS_READ_TIMEOUT": "1",
    "PLEDGEWATCH_FEEDS_CONNECT_TIMEOUT": "1",
}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Invoke the CLI on a fresh SQLite file in an empty working directory."""
    monkeypatch.chdir(tmp_path)
    for var in (
        "PLEDGEWATCH_CONFIG",
        "PLEDGEWATCH_DB",
        "PLEDGEWATCH_FEEDS_ALLOW_PRIVATE_ADDRESSES",
    ):
        monkeypatch.delenv(var, raising=False)
    db = f"sqlite:///{tmp_path / 'pw.db'}"

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, ["--db", db, *args], env=env or {}, catch_exceptions=False)

    invoke.db_url = db  # type: ignore[attr-defined]
    return invoke


def feeds_in(db_url: str) -> list[Feed]:
    db = open_database(db_url)
    try:
        with db.session() as session:
            return list(session.exec(select(Feed).order_by(Feed.id)).all())  # type: ignore[arg-type]
    finally:
        db.dispose()


def test_feeds_add_refuses_local_files_other_schemes_and_loopback(run, feed_server) -> None:
    url = feed_server.route("/feed", Reply(body=simple_feed("a")))
    for bad, reason in [
        ("file:///etc/hostname", "file: URLs are not fetched"),
        ("/etc/hostname", "pledgewatch ingest"),
        ("ftp://example.org/f.xml", "must be http or https"),
        (url, "loopback address"),
        ("http://169.254.169.254/latest/", "metadata"),
    ]:
        result = run("feeds", "add", bad)
        assert result.exit_code == 1, bad
        assert reason in result.output, (bad, result.output)
    assert feeds_in(run.db_url) == []


def test_feeds_add_accepts_an_allowed_address_once(run, feed_server) -> None:
    url = feed_server.route("/feed", Reply(body=simple_feed("a")))
    result = run("feeds", "add", url, "--name", "Local", "--category", "Test", env=LOOPBACK_ENV)
    assert result.exit_code == 0, result.output
    assert "added feed 1" in result.output
    again = run("feeds", "add", url, env=LOOPBACK_ENV)
    assert again.exit_code == 1 and "already subscribed as feed 1" in again.output
    (feed,) = feeds_in(run.db_url)
    assert (feed.url, feed.name, feed.category, feed.interval_seconds) == (
        url,
        "Local",
        "Test",
        1800,
    )


def test_an_unresolvable_host_is_added_with_a_note(run) -> None:
    result = run("feeds", "add", "https://news.example.invalid/rss")
    assert result.exit_code == 0
    assert "checked again at every fetch" in result.output


@pytest.mark.parametrize("name", ["miniflux.opml", "freshrss.opml", "feedly.opml", "nested.opml"])
def test_opml_import_then_export_round_trips(run, name: str) -> None:
    source = DATA / "opml" / name
    result = run("feeds", "import", str(source))
    assert result.exit_code == 0, result.output
    expected = read_opml(source.read_bytes())
    assert f"imported {len(expected)} feeds" in result.output
    exported = run("feeds", "export")
    assert exported.exit_code == 0
    assert read_opml(exported.output.encode()) == expected
    again = run("feeds", "import", str(source))
    assert f"imported 0 feeds ({len(expected)} already subscribed" in again.output


def test_opml_import_refuses_unsafe_entries_and_adds_the_rest(run, tmp_path: Path) -> None:
    opml = tmp_path / "mixed.opml"
    opml.write_text(
        '<opml version="2.0"><body>'
        '<outline text="ok" xmlUrl="https://ok.example.org/rss"/>'
        '<outline text="intranet" xmlUrl="http://10.1.2.3/rss"/>'
        '<outline text="file" xmlUrl="file:///etc/passwd"/>'
        "</body></opml>"
    )
    result = run("feeds", "import", str(opml))
    assert result.exit_code == 1
    assert "imported 1 feeds (0 already subscribed, 2 refused)" in result.output
    assert "10.1.2.3" in result.output and "file:" in result.output
    assert [f.url for f in feeds_in(run.db_url)] == ["https://ok.example.org/rss"]


def test_a_bad_opml_file_is_a_clear_error(run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_text("<html><body>not opml</body></html>")
    result = run("feeds", "import", str(bad))
    assert result.exit_code == 1 and "not an OPML document" in result.output
    assert "Traceback" not in result.output


@pytest.mark.timeout(30)
def test_opml_import_of_no_regular_file_is_one_line_not_a_hang(run, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.opml")
    (tmp_path / "zero.opml").symlink_to("/dev/zero")
    for path, what in [
        (tmp_path / "pipe.opml", "a FIFO (named pipe)"),
        (tmp_path / "zero.opml", "a character device"),
        (tmp_path, "a directory"),
    ]:
        result = run("feeds", "import", str(path))
        assert result.exit_code == 1
        assert result.output == f"Error: {path}: not a regular file ({what}); refused\n"
    missing = run("feeds", "import", str(tmp_path / "missing.opml"))
    assert missing.output == f"Error: {tmp_path / 'missing.opml'}: no such file\n"


def opml_of(hosts: list[str]) -> str:
    body = "".join(f'<outline text="{h}" xmlUrl="https://{h}/rss"/>' for h in hosts)
    return f"<opml version='2.0'><body>{body}</body></opml>"


@pytest.mark.timeout(60)
def test_an_opml_file_over_the_outline_cap_is_refused_at_once_storing_nothing(
    run, tmp_path: Path
) -> None:
    big = tmp_path / "big.opml"
    big.write_text(opml_of([f"f{i}.example.invalid" for i in range(100_000)]))
    result = run("feeds", "import", str(big))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {big}: OPML file has over 10000 outlines "
        "(raise [feeds] max_opml_outlines to import it)\n"
    )
    assert feeds_in(run.db_url) == []
    deep = tmp_path / "deep.opml"
    deep.write_text("<opml><body>" + '<outline text="a">' * 100_000 + "</outline>" * 100_000
                    + "</body></opml>")  # fmt: skip
    nested = run("feeds", "import", str(deep))
    assert nested.output == f"Error: {deep}: OPML outlines are nested over 50 deep\n"
    small = tmp_path / "small.opml"
    small.write_text(opml_of([f"f{i}.example.invalid" for i in range(6)]))
    capped = run("feeds", "import", str(small), env={"PLEDGEWATCH_FEEDS_MAX_OPML_OUTLINES": "5"})
    assert capped.exit_code == 1 and "over 5 outlines" in capped.output
    ok = run("feeds", "import", str(small), env={"PLEDGEWATCH_FEEDS_MAX_OPML_OUTLINES": "6"})
    assert ok.exit_code == 0 and "imported 6 feeds" in ok.output


@pytest.mark.timeout(120)
def test_a_large_opml_import_checks_hosts_together_and_shows_a_bar_on_a_terminal(
    tmp_path: Path,
) -> None:
    import pty
    import subprocess
    import sys
    import threading

    # 1,200 feeds in three batches; public address literals need no DNS (this test stays
    # off the network), one feed on a private address is refused.
    opml = tmp_path / "many.opml"
    hosts = [f"93.184.{i // 200}.{i % 200 + 1}" for i in range(1_199)] + ["10.0.0.1"]
    opml.write_text(opml_of(hosts))
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    leader, follower = pty.openpty()
    shown = bytearray()

    def drain() -> None:
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEDGEWATCH_")}
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--db", db, "feeds", "import", str(opml)],
        stdout=subprocess.PIPE, stderr=follower, cwd=tmp_path, timeout=100,
        env={**env, "COLUMNS": "120", "PYTHONPATH": str(Path(__file__).parents[3])},
    )  # fmt: skip
    os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    assert proc.returncode == 1, shown.decode(errors="replace")[-2000:]
    assert b"importing" in shown and b"Traceback" not in shown
    assert b"refused https://10.0.0.1/rss: 10.0.0.1 resolves to 10.0.0.1, a private" in shown
    assert f"imported 1199 feeds (0 already subscribed, 1 refused) from {opml}" in (
        proc.stdout.decode()
    )
    assert len(feeds_in(db)) == 1_199


def test_poll_prints_a_line_per_feed_and_exits_0_when_some_fail(run, feed_server) -> None:
    good = feed_server.route("/good", Reply(body=simple_feed("good"), etag='"g"'))
    bad = feed_server.route("/bad", Reply(status=500))
    for url in (good, bad):
        assert run("feeds", "add", url, env=LOOPBACK_ENV).exit_code == 0
    result = run("poll", env=LOOPBACK_ENV)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"feed_id=1 url={good} status=200 new=3 updated=0 flags=0" in lines
    assert any(line.startswith(f"feed_id=2 url={bad} status=500 error=http_500") for line in lines)
    assert (
        "polled 2 feeds" in lines[-1]
        and "1 ok (0 not modified), 1 failed; 3 new articles" in lines[-1]
    )
    # Nothing is due any more; --feed polls a feed anyway, and the 304 shows.
    assert "polled 0 feeds" in run("poll", env=LOOPBACK_ENV).output
    forced = run("poll", "--feed", "1", env=LOOPBACK_ENV)
    assert "feed_id=1" in forced.output and "not_modified" in forced.output


def test_poll_of_an_unknown_feed_id_is_an_error(run) -> None:
    result = run("poll", "--feed", "42")
    assert result.exit_code == 1 and "no feed with id 42" in result.output


def test_feeds_list_shows_health_in_every_format(run, feed_server) -> None:
    ok = feed_server.route("/ok", Reply(body=simple_feed("ok")))
    gone = feed_server.route("/gone", Reply(status=410))
    for url in (ok, gone):
        run("feeds", "add", url, env=LOOPBACK_ENV)
    run("poll", env=LOOPBACK_ENV)
    rows = json.loads(run("feeds", "list", "--format", "json").output)
    assert [(r["id"], r["state"], r["http_status"], r["entries"]) for r in rows] == [
        (1, "ok", 200, 3),
        (2, "gone", 410, 0),
    ]
    assert rows[0]["last_success"] and rows[0]["next_due"] and rows[0]["consecutive_errors"] == 0
    assert rows[1]["consecutive_errors"] == 1 and "410" in rows[1]["last_error"]
    assert rows[1]["next_due"] is None
    table = list(csv.DictReader(io.StringIO(run("feeds", "list", "--format", "csv").output)))
    assert list(table[0]) == [
        "id",
        "name",
        "state",
        "last_fetch",
        "last_success",
        "http_status",
        "consecutive_errors",
        "next_due",
        "entries",
        "last_error",
    ]
    assert table[1]["state"] == "gone"
    text = run("feeds", "list").output
    assert "ok news" in text and "gone" in text


def test_feeds_remove_by_id_or_url_keeps_articles(run, feed_server) -> None:
    a = feed_server.route("/a", Reply(body=simple_feed("a")))
    b = feed_server.route("/b", Reply(body=simple_feed("b")))
    for url in (a, b):
        run("feeds", "add", url, env=LOOPBACK_ENV)
    run("poll", env=LOOPBACK_ENV)
    assert "removed feed 1" in run("feeds", "remove", "1").output
    assert "removed feed 2" in run("feeds", "remove", b).output
    missing = run("feeds", "remove", "7")
    assert missing.exit_code == 1 and "no feed '7'" in missing.output
    db = open_database(run.db_url)
    with db.session() as session:
        assert len(session.exec(select(Article)).all()) == 6
        assert {s.feed_id for s in session.exec(select(ArticleSource)).all()} == {None}
    db.dispose()


def test_feeds_suggest_builds_news_searches_and_adds_them(run) -> None:
    assert run("catalogue", "sync").exit_code == 0
    result = run("feeds", "suggest", "amazon-rekognition-police-moratorium")
    assert result.exit_code == 0, result.output
    assert "https://news.google.com/rss/search?q=" in result.output
    assert "https://www.bing.com/news/search?q=" in result.output and "format=rss" in result.output
    assert "%22Amazon%22" in result.output
    assert feeds_in(run.db_url) == []
    added = run("feeds", "suggest", "amazon-rekognition-police-moratorium", "--add")
    assert added.output.count("added feed") == 2
    urls = [f.url for f in feeds_in(run.db_url)]
    assert urls[0].startswith("https://news.google.com/rss/search?")
    assert urls[1].startswith("https://www.bing.com/news/search?")
    again = run("feeds", "suggest", "amazon-rekognition-police-moratorium", "--add")
    assert again.output.count("already subscribed") == 2
    unknown = run("feeds", "suggest", "no-such-pledge")
    assert unknown.exit_code == 1 and "no pledge with id 'no-such-pledge'" in unknown.output


def test_recorded_news_search_answers_are_ingested(run, feed_server) -> None:
    for name in ("google-news", "bing-news"):
        body = (DATA / "news-search" / f"{name}.xml").read_bytes()
        url = feed_server.route(f"/{name}", Reply(body=body))
        run("feeds", "add", url, env=LOOPBACK_ENV)
    result = run("poll", env=LOOPBACK_ENV)
    assert "new=2" in result.output and result.output.count("new=2") == 2
    db = open_database(run.db_url)
    with db.session() as session:
        articles = session.exec(select(Article).order_by(Article.id)).all()  # type: ignore[arg-type]
    db.dispose()
    titles = {a.title for a in articles}
    assert "Amazon faces questions over police use of Rekognition" in titles
    assert any(t.startswith("Tribunal hears Amazon face-matching tool") for t in titles)
    assert all(
        a.url and a.url.startswith(("https://news.google.com/", "http://www.bing.com/"))
        for a in articles
    )
    assert all("<font" not in a.summary_html for a in articles)


SECRET = "s3cret"


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://alice:{SECRET}@", 1)


def test_feed_credentials_never_leave_through_the_cli(run, feed_server, tmp_path: Path) -> None:
    """A feed URL's password and API key are masked in output, logs, errors and exports."""
    relative = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Private</title>'
        b"<item><guid>p-1</guid><title>One</title><link>/stories/1</link>"
        b"<description>Text.</description></item></channel></rss>"
    )
    ok = with_credentials(feed_server.route(f"/ok?apikey={SECRET}", Reply(body=relative)))
    bad = with_credentials(feed_server.route(f"/bad?apikey={SECRET}", Reply(status=500)))
    outputs = [run("feeds", "add", url, env=LOOPBACK_ENV).output for url in (ok, bad)]
    outputs.append(run("--log-level", "INFO", "poll", env=LOOPBACK_ENV).output)
    outputs.append(run("feeds", "add", ok, env=LOOPBACK_ENV).output)  # already subscribed
    for fmt in ("table", "json", "csv"):
        outputs.append(run("feeds", "list", "--format", fmt).output)
    outputs.append(run("status", "--format", "json").output)
    outputs.append(run("export", "articles", "--format", "json").output)
    exported = run("feeds", "export")
    outputs.append(exported.output)
    leaked = [out for out in outputs if SECRET in out]
    assert not leaked
    assert "alice:********@" in exported.stdout and "apikey=********" in exported.stdout
    assert "masked" in exported.stderr
    # Links relative to the feed do not inherit its credentials.
    articles = json.loads(run("export", "articles", "--format", "json").output)
    assert [a["url"] for a in articles] == [feed_server.url("/stories/1")]
    # The operator can still take a full backup.
    full = run("feeds", "export", "--include-secrets").stdout
    assert [f.url for f in read_opml(full.encode())] == [ok, bad]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_mask_url_secrets_whoever_logs_them(fmt: str, capsys) -> None:
    from monitor.cli.app import setup_logging

    setup_logging("INFO", fmt)
    log = logging.getLogger("some.library")
    url = f"https://alice:{SECRET}@example.org/feed?access_token={SECRET}"
    log.warning("fetch failed url=%s", url)
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        log.exception("poll crashed")
    err = capsys.readouterr().err
    assert SECRET not in err
    # The message line and the exception line of the traceback.
    assert err.count("alice:********@example.org/feed?access_token=********") == 2
