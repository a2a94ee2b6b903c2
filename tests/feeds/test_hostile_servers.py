"""Hostile framing from a raw server on 127.0.0.1: it fails only its own feed, never the next.

Two feeds on one server, fetched one after the other so the second would reuse the
first's connection: /one gets the hostile answer, /two its own feed. Whatever /one's
bytes do, /two must be fetched correctly, with its own content, never a response forged
inside /one's. Checked at the fetcher, and end to end through `pledgewatch poll` with
the articles it stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import col, select

from feeds.fetch import Fetcher, FetchResult
from feeds.models import Article, ArticleSource, Feed
from monitor.cli import cli
from monitor.store.db import open_database
from tests.feeds.conftest import fast_options
from tests.feeds.feedserver import simple_feed
from tests.feeds.rawserver import Answer, Conn, RawServer, ok

FEED_ONE = simple_feed("one", 2)
FEED_TWO = simple_feed("two", 2)
FORGED = simple_feed("forged", 2)
Serve = Callable[..., RawServer]


@dataclass(frozen=True)
class Hostile:
    """What /one answers, and how its own fetch must end (kind None: it succeeds)."""

    reply: bytes
    kind: str | None
    not_modified: bool = False


def chunk_sized(size: str) -> bytes:
    """A chunked 200 whose first chunk size is written as `size` (16 bytes follow)."""
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + size.encode() + b"\r\n" + b"<rss>forged</rs>\r\n0\r\n\r\n"


NOT_MODIFIED = b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n'
BARE_LF_HEAD = f"HTTP/1.1 200 OK\nContent-Length: {len(FEED_ONE)}\n\n".encode() + FEED_ONE
BARE_LF_CHUNKED = b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n"

CASES = {
    # (a) The bytes past Content-Length are a whole forged response: /one's own body is
    # what its Content-Length frames, and the forgery goes with the connection.
    "body-past-content-length": Hostile(ok(FEED_ONE) + ok(FORGED), kind=None),
    # (b) A 304 ends at its head (RFC 9112 6.3): bytes after it are not its body.
    "304-then-stray-body": Hostile(NOT_MODIFIED + b"<rss>stray</rss>", kind="bad_response"),
    "304-then-forged-response": Hostile(NOT_MODIFIED + ok(FORGED), kind=None, not_modified=True),
    # (c) Chunk sizes are hex digits only (RFC 9112 7.1), not what Python's int() takes.
    "chunk-size-0x10": Hostile(chunk_sized("0x10"), kind="bad_response"),
    "chunk-size-+10": Hostile(chunk_sized("+10"), kind="bad_response"),
    "chunk-size-1_0": Hostile(chunk_sized("1_0"), kind="bad_response"),
    # (d) Digits that str.isdigit() accepts but HTTP does not: SUPERSCRIPT TWO, as the
    # one byte of Latin-1 and as the two of UTF-8.
    "status-2\u00b20-latin-1": Hostile(
        "HTTP/1.1 2\u00b20 OK\r\nContent-Length: 5\r\n\r\nhello".encode("latin-1"),
        kind="bad_response",
    ),
    "status-2\u00b20-utf-8": Hostile(
        "HTTP/1.1 2\u00b20 OK\r\nContent-Length: 5\r\n\r\nhello".encode(), kind="bad_response"
    ),
    "content-length-\u00b2-latin-1": Hostile(
        "HTTP/1.1 200 OK\r\nContent-Length: \u00b2\r\n\r\nhe".encode("latin-1"),
        kind="bad_response",
    ),
    "content-length-\u00b2-utf-8": Hostile(
        "HTTP/1.1 200 OK\r\nContent-Length: \u00b2\r\n\r\nhe".encode(), kind="bad_response"
    ),
    # (e) RFC 9112 2.2 lets a client take a bare LF as the end of a head line; chunk
    # framing has no such allowance.
    "bare-lf-head": Hostile(BARE_LF_HEAD, kind=None),
    "bare-lf-chunked": Hostile(BARE_LF_CHUNKED, kind="bad_response"),
}


def two_feeds(hostile: Hostile, armed: bool = True, late: bytes = b"") -> Answer:
    """/one answers `hostile` (once armed, else its feed with an ETag); /two its own feed.

    `late` is sent a moment after /one's answer, while the connection sits idle.
    """
    state = {"armed": armed}

    async def answer(conn: Conn) -> None:
        while head := await conn.read_request():
            path = head.split(b" ", 2)[1]
            if path == b"/one" and state["armed"]:
                await conn.send(hostile.reply)
                if late:
                    await asyncio.sleep(0.1)
                    await conn.send(late)
            elif path == b"/one":
                await conn.send(ok(FEED_ONE, 'ETag: "v1"\r\n'))
            else:
                await conn.send(ok(FEED_TWO))

    answer.arm = lambda: state.update(armed=True)  # type: ignore[attr-defined]
    return answer


def fetch_both(server: RawServer, pause: float = 0.0) -> tuple[FetchResult, FetchResult]:
    async def run() -> tuple[FetchResult, FetchResult]:
        # One slot per host: /two waits for /one and then reuses its connection if it can.
        async with Fetcher(fast_options(per_host=1)) as fetcher:
            one = await fetcher.fetch(server.url("/one"), etag='"v1"')
            await asyncio.sleep(pause)
            return one, await fetcher.fetch(server.url("/two"))

    return asyncio.run(run())


def check_first(one: FetchResult, hostile: Hostile) -> None:
    assert one.error_kind == hostile.kind, one.error
    if hostile.kind == "bad_response":
        assert "not valid HTTP/1.1" in (one.error or "")
        assert "\n" not in (one.error or "")  # one line per feed in `poll` output
    elif hostile.not_modified:
        assert one.not_modified and one.content == b""
    else:
        assert one.content == FEED_ONE


@pytest.mark.parametrize("hostile", CASES.values(), ids=CASES.keys())
def test_a_hostile_answer_fails_only_its_own_feed(serve: Serve, hostile: Hostile) -> None:
    server = serve(two_feeds(hostile))
    one, two = fetch_both(server)
    check_first(one, hostile)
    assert two.ok, two.error
    assert two.content == FEED_TWO
    assert server.paths() == ["/one", "/two"]


def test_a_response_forged_while_the_connection_is_idle_is_never_read(serve: Serve) -> None:
    # The forgery arrives after /one's answer was read and before /two is asked for:
    # that connection is closed rather than reused, so /two's answer is its own.
    server = serve(two_feeds(CASES["body-past-content-length"], late=ok(FORGED)))
    one, two = fetch_both(server, pause=0.3)
    assert one.ok and one.content == FEED_ONE
    assert two.ok, two.error
    assert two.content == FEED_TWO
    assert server.connections == 2


def test_bare_lf_heads_keep_the_connection_in_use(serve: Serve) -> None:
    server = serve(two_feeds(CASES["bare-lf-head"]))
    one, two = fetch_both(server)
    assert (one.content, two.content) == (FEED_ONE, FEED_TWO)
    assert server.connections == 1


# End to end: the same servers through `pledgewatch poll`, one fetch at a time per host.
POLL_ENV = {
    "PLEDGEWATCH_FEEDS_ALLOWED_NETWORKS": "127.0.0.1/32",
    "PLEDGEWATCH_FEEDS_PER_HOST": "1",
    "PLEDGEWATCH_FEEDS_TOTAL_TIMEOUT": "2",
    "PLEDGEWATCH_FEEDS_READ_TIMEOUT": "1",
    "PLEDGEWATCH_FEEDS_CONNECT_TIMEOUT": "1",
}


def stored_titles(db_url: str) -> dict[int, set[str]]:
    """The titles of the articles stored per feed id."""
    db = open_database(db_url)
    try:
        with db.session() as session:
            rows = session.exec(
                select(ArticleSource.feed_id, Article.title).join(
                    Article, col(Article.id) == col(ArticleSource.article_id)
                )
            ).all()
        out: dict[int, set[str]] = {}
        for feed_id, title in rows:
            out.setdefault(int(feed_id or 0), set()).add(title)
        return out
    finally:
        db.dispose()


def feed_errors(db_url: str) -> dict[int, str | None]:
    db = open_database(db_url)
    try:
        with db.session() as session:
            return {f.id or 0: f.error_kind for f in session.exec(select(Feed)).all()}
    finally:
        db.dispose()


@pytest.mark.parametrize("hostile", CASES.values(), ids=CASES.keys())
def test_poll_stores_the_second_feeds_own_articles_whatever_the_first_sends(
    serve: Serve, hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in (
        "PLEDGEWATCH_CONFIG",
        "PLEDGEWATCH_DB",
        "PLEDGEWATCH_FEEDS_ALLOW_PRIVATE_ADDRESSES",
    ):
        monkeypatch.delenv(var, raising=False)
    db_url = f"sqlite:///{tmp_path / 'pw.db'}"

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--db", db_url, *args], env=POLL_ENV)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        return result.output

    answer = two_feeds(hostile, armed=False)
    server = serve(answer)
    run("feeds", "add", server.url("/one"))
    run("feeds", "add", server.url("/two"))
    # A first poll stores both feeds (and /one's ETag, so its next request is conditional).
    run("poll")
    answer.arm()  # type: ignore[attr-defined]
    output = run("poll", "--feed", "1", "--feed", "2")
    assert server.paths()[-2:] == ["/one", "/two"]

    assert stored_titles(db_url) == {
        1: {"one story 0", "one story 1"},
        2: {"two story 0", "two story 1"},
    }
    assert feed_errors(db_url) == {1: hostile.kind, 2: None}
    if hostile.kind is not None:
        assert f"feed_id=1 url={server.url('/one')} status=" in output
        assert f"error={hostile.kind}: " in output
