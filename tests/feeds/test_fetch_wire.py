"""Fetching against raw servers on 127.0.0.1 that script the bytes: framing, keep-alive, TLS.

Each server runs `answer(conn)` for every connection it accepts (tests/feeds/rawserver.py),
so a test sends exactly the framing, interim responses, broken heads or early closes it means.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import shutil
import ssl
import subprocess
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from feeds.fetch import Fetcher, FetchOptions, FetchResult, fetch_url
from tests.feeds.conftest import fast_options
from tests.feeds.feedserver import gzip_bomb
from tests.feeds.rawserver import Conn, RawServer, chunked, ok

FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
Serve = Callable[..., RawServer]


def fetch(url: str, options: FetchOptions | None = None, **kw: str) -> FetchResult:
    return asyncio.run(fetch_url(url, options=options or fast_options(), **kw))  # type: ignore[arg-type]


def fetch_in_turn(urls: list[str], **kw: str) -> list[FetchResult]:
    """Fetch `urls` one after the other with one Fetcher (so connections are reused)."""

    async def run() -> list[FetchResult]:
        async with Fetcher(fast_options()) as fetcher:
            return [await fetcher.fetch(url, **kw) for url in urls]  # type: ignore[arg-type]

    return asyncio.run(run())


def reply_once(reply: bytes) -> Callable[[Conn], object]:
    """An answer that reads one request and sends `reply` as it is."""

    async def answer(conn: Conn) -> None:
        await conn.read_request()
        await conn.send(reply)

    return answer


def reply_always(reply: bytes) -> Callable[[Conn], object]:
    """An answer that sends `reply` to every request on a kept-alive connection."""

    async def answer(conn: Conn) -> None:
        while await conn.read_request():
            await conn.send(reply)

    return answer


def test_a_chunked_body_is_joined_with_extensions_and_trailers_dropped(serve: Serve) -> None:
    half = len(FEED) // 2
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{half:x};name=value\r\n".encode()
        + FEED[:half]
        + b"\r\n"
        + f"{len(FEED) - half:X}\r\n".encode()
        + FEED[half:]
        + b"\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    server = serve(reply_once(reply))
    result = fetch(server.url())
    assert result.ok, result.error
    assert result.content == FEED


def test_connections_are_kept_alive_across_a_hosts_feeds(serve: Serve) -> None:
    server = serve(reply_always(ok(FEED, 'ETag: "v1"\r\n')))
    results = fetch_in_turn([server.url(f"/f{i}") for i in range(3)], etag='"v0"')
    assert [r.status for r in results] == [200, 200, 200]
    assert server.connections == 1


def test_an_idle_connection_the_server_dropped_is_replaced_without_an_error(
    serve: Serve,
) -> None:
    # Keep-alive by default, yet the server closes after one answer.
    server = serve(reply_once(ok(FEED)))

    async def two() -> list[FetchResult]:
        async with Fetcher(fast_options()) as fetcher:
            first = await fetcher.fetch(server.url("/a"))
            await asyncio.sleep(0.1)
            return [first, await fetcher.fetch(server.url("/b"))]

    results = asyncio.run(two())
    assert all(r.ok for r in results), [r.error for r in results]
    assert server.connections == 2


@pytest.mark.parametrize(
    "extra", [b"", b"Content-Length: 1234\r\n"], ids=["no-length", "length-of-the-full-body"]
)
def test_a_304_leaves_the_connection_reusable(serve: Serve, extra: bytes) -> None:
    # A 304 may state the length a 200 would have had; it still has no body.
    server = serve(reply_always(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n' + extra + b"\r\n"))
    results = fetch_in_turn([server.url(f"/f{i}") for i in range(4)], etag='"v1"')
    assert all(r.not_modified for r in results)
    assert server.connections == 1


def test_a_body_cut_short_is_a_connection_error(serve: Serve) -> None:
    server = serve(reply_once(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + FEED))
    result = fetch(server.url())
    assert result.error_kind == "connection"
    assert "short" in (result.error or "")
    assert result.content == b""


def test_a_body_without_a_length_is_read_to_the_close(serve: Serve) -> None:
    server = serve(
        reply_once(b"HTTP/1.0 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n" + FEED)
    )
    result = fetch(server.url())
    assert result.ok and result.content == FEED


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (b"hello there\r\n\r\n", "bad_response", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "bad_response", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello", "bad_response", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n", "connection", "closed before the response"),
        (b"", "connection", "closed before the response"),
    ],
    ids=["no-status-line", "header-without-colon", "two-lengths", "head-cut-short", "nothing"],
)
def test_a_broken_response_fails_the_feed_with_a_kind_that_says_what_was_wrong(
    serve: Serve, reply: bytes, kind: str, words: str
) -> None:
    server = serve(reply_once(reply))
    result = fetch(server.url())
    assert result.error_kind == kind, result.error
    assert words in (result.error or ""), result.error


@pytest.mark.parametrize("size", [b"0x10", b"+10", b"1_0", b"zz"])
def test_a_bad_chunk_size_after_the_head_has_arrived_is_a_bad_response(
    serve: Serve, size: bytes
) -> None:
    async def answer(conn: Conn) -> None:
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        # The head is delivered on its own; the framing fault comes with the body.
        await asyncio.sleep(0.1)
        await conn.send(size + b"\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n")

    server = serve(answer)
    result = fetch(server.url())
    assert result.error_kind == "bad_response", result.error
    assert "chunked body is not valid HTTP/1.1" in (result.error or "")


def test_endless_headers_are_refused_at_the_cap(serve: Serve) -> None:
    async def answer(conn: Conn) -> None:
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\n")
        for _ in range(2000):
            await conn.send(b"X-Filler: " + b"a" * 100 + b"\r\n")

    server = serve(answer)
    result = fetch(server.url())
    assert result.error_kind == "bad_response"
    assert "headers" in (result.error or "").lower()


def test_a_long_header_line_within_the_field_cap_is_accepted(serve: Serve) -> None:
    # Long Content-Security-Policy or Set-Cookie values exist in the wild.
    server = serve(reply_once(ok(FEED, f"Content-Security-Policy: {'a' * 20_000}\r\n")))
    result = fetch(server.url())
    assert result.ok, result.error


def test_interim_responses_before_the_answer_are_skipped(serve: Serve) -> None:
    server = serve(reply_once(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + ok(FEED)))
    result = fetch(server.url())
    assert result.ok and result.content == FEED


def test_the_request_names_the_host_encodes_the_path_and_sends_url_credentials(
    serve: Serve,
) -> None:
    server = serve(reply_once(ok(FEED)))
    url = f"http://reader:s%40cret@127.0.0.1:{server.port}/news feed/caf\u00e9.xml?q=a b&x=%2F"
    assert fetch(url).ok
    head = server.requests[0].decode("latin-1")
    assert head.startswith("GET /news%20feed/caf%C3%A9.xml?q=a%20b&x=%2F HTTP/1.1\r\n")
    assert f"\r\nHost: 127.0.0.1:{server.port}\r\n" in head
    token = base64.b64encode(b"reader:s@cret").decode()
    assert f"\r\nAuthorization: Basic {token}\r\n" in head


def test_no_cookie_is_sent_back_to_any_feed(serve: Serve) -> None:
    server = serve(reply_always(ok(FEED, "Set-Cookie: session=abc; Path=/\r\n")))
    results = fetch_in_turn([server.url("/a"), server.url("/b")])
    assert all(r.ok for r in results)
    assert all(b"cookie:" not in r.lower() for r in server.requests)


def test_header_bytes_outside_ascii_are_read_as_latin_1_and_such_a_validator_not_sent(
    serve: Serve,
) -> None:
    reply = b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nETag: "caf\xe9"\r\n\r\nabc'
    server = serve(reply_always(reply))
    first = fetch(server.url())
    # Text the database takes (no lone surrogates)...
    assert first.etag == '"caf\u00e9"'
    # ...but aiohttp would send it as UTF-8, not the server's byte: the feed is fetched in full.
    again = fetch(server.url(), etag=first.etag or "")
    assert again.ok and again.content == b"abc"
    assert all(b"if-none-match" not in r.lower() for r in server.requests)


def test_a_reason_phrase_with_bytes_outside_ascii_gives_an_error_the_database_takes(
    serve: Serve,
) -> None:
    server = serve(reply_once(b"HTTP/1.1 404 Non trouv\xe9\r\nContent-Length: 0\r\n\r\n"))
    result = fetch(server.url())
    assert result.error_kind == "http_404"
    (result.error or "").encode("utf-8")  # no lone surrogate


def test_a_stored_validator_with_a_line_break_is_never_sent(serve: Serve) -> None:
    server = serve(reply_once(ok(FEED)))
    result = fetch(server.url(), etag='"v1"\r\nX-Injected: yes')
    assert not result.ok
    assert all(b"X-Injected" not in r for r in server.requests)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    tmp: Path = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return ctx


def test_an_untrusted_certificate_is_a_tls_error(serve: Serve, self_signed: ssl.SSLContext) -> None:
    server = serve(reply_once(ok(FEED)), tls=self_signed)
    result = fetch(server.url())
    assert result.error_kind == "tls"
    assert "certificate" in (result.error or "").lower()
    assert server.requests == []


@pytest.mark.parametrize(
    "bodiless",
    [
        b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 5\r\n\r\nstray',
        b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nstray\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nstray",
    ],
    ids=["304-content-length", "304-chunked", "204-content-length"],
)
def test_a_bodiless_answer_that_sends_a_body_anyway_does_not_spoil_the_next_feed(
    serve: Serve, bodiless: bytes
) -> None:
    async def answer(conn: Conn) -> None:
        # Answers on one kept-alive connection: first the broken bodiless one, then feeds.
        while await conn.read_request():
            await conn.send(bodiless if len(conn.server.requests) == 1 else ok(FEED))

    server = serve(answer)
    first, second = fetch_in_turn([server.url(f"/f{i}") for i in range(2)], etag='"v1"')
    # A 304 or 204 ends at its head (RFC 9112 6.3): the stray bytes cannot be framed as
    # a response, so that feed fails...
    assert first.error_kind == "bad_response", first.error
    # ...and they went with its connection: the next feed came on a new one.
    assert second.ok, second.error
    assert second.content == FEED
    assert server.connections == 2


def transfer_coded(codings: str, body: bytes, extra: str = "") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nTransfer-Encoding: {codings}\r\n{extra}\r\n"
    return head.encode() + chunked(body)


@pytest.mark.parametrize(
    ("codings", "encoded"),
    [
        ("gzip, chunked", gzip.compress(FEED)),
        ("x-gzip,chunked", gzip.compress(FEED)),
        ("deflate, chunked", zlib.compress(FEED)),
        # Listed in the order applied: deflate first, so it is undone last.
        ("deflate, gzip, chunked", gzip.compress(zlib.compress(FEED))),
    ],
    ids=["gzip", "x-gzip", "deflate", "deflate-then-gzip"],
)
def test_transfer_codings_before_chunked_are_undone_in_reverse_order(
    serve: Serve, codings: str, encoded: bytes
) -> None:
    server = serve(reply_always(transfer_coded(codings, encoded)))
    results = fetch_in_turn([server.url(f"/f{i}") for i in range(2)])
    assert [(r.error, r.content) for r in results] == [(None, FEED)] * 2
    # The chunked framing ended the body: the connection was kept for the next feed.
    assert server.connections == 1


def test_a_transfer_coding_is_undone_before_the_content_coding(serve: Serve) -> None:
    reply = transfer_coded(
        "gzip, chunked", gzip.compress(gzip.compress(FEED)), "Content-Encoding: gzip\r\n"
    )
    server = serve(reply_once(reply))
    result = fetch(server.url())
    assert result.ok, result.error
    assert result.content == FEED


def test_a_gzip_bomb_as_a_transfer_coding_stops_at_the_cap_with_bounded_memory(
    serve: Serve,
) -> None:
    server = serve(reply_once(transfer_coded("gzip, chunked", gzip_bomb(100_000_000))))
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        result = fetch(server.url())
        elapsed = time.monotonic() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error_kind == "too_large", result.error
    assert "1000000 byte cap once decompressed" in (result.error or "")
    assert elapsed < 1.0
    assert peak < 8_000_000


@pytest.mark.parametrize("codings", ["br, chunked", "compress, chunked", "gzip, zstd, chunked"])
def test_a_transfer_coding_that_cannot_be_undone_fails_the_feed_at_once(
    serve: Serve, codings: str
) -> None:
    async def answer(conn: Conn) -> None:
        await conn.read_request()
        # The body never ends: the client must refuse it from the head alone.
        await conn.send(f"HTTP/1.1 200 OK\r\nTransfer-Encoding: {codings}\r\n\r\n".encode())
        await conn.send(b"5\r\n\x1f\x8b\x00\x00\x00\r\n")
        await asyncio.sleep(3)

    server = serve(answer)
    t0 = time.monotonic()
    result = fetch(server.url())
    assert time.monotonic() - t0 < 1.0
    assert result.error_kind == "unsupported_encoding"
    assert "Transfer-Encoding" in (result.error or "")
    assert result.content == b""


def test_a_transfer_coding_without_chunked_last_runs_to_the_close(serve: Serve) -> None:
    # RFC 9112 6.3: the body of a response whose codings do not end in chunked ends
    # when the server closes.
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"
    server = serve(reply_once(reply + gzip.compress(FEED)))
    result = fetch(server.url())
    assert result.ok, result.error
    assert result.content == FEED


def test_a_transfer_coding_with_a_content_length_is_refused(serve: Serve) -> None:
    # RFC 9112 6.1: both framings at once "ought to be handled as an error" (the
    # classic way to smuggle one response into another).
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n"
    server = serve(reply_once(reply + gzip.compress(FEED)))
    result = fetch(server.url())
    assert result.error_kind == "bad_response", result.error


def test_chunked_applied_before_another_transfer_coding_is_refused(serve: Serve) -> None:
    server = serve(reply_once(transfer_coded("chunked, gzip", b"")))
    result = fetch(server.url())
    assert result.error_kind == "unsupported_encoding", result.error
    assert "chunked" in (result.error or "")
