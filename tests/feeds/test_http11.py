"""The feed fetcher's HTTP/1.1 client against raw servers on 127.0.0.1 that script the bytes.

Each server runs `answer(conn)` for every connection it accepts, so a test can send
exactly the framing, interim responses, broken heads, early closes or TLS it means.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from feeds.fetch import Fetcher, FetchOptions, FetchResult, fetch_url
from tests.feeds.conftest import fast_options
from tests.feeds.feedserver import gzip_bomb

FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


class RawServer:
    """A TCP server whose every connection runs `answer` in a thread of its own."""

    def __init__(
        self, answer: Callable[[socket.socket], None], tls: ssl.SSLContext | None = None
    ) -> None:
        self.answer = answer
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str = "/feed") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self.answer(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def read_request(self, conn: socket.socket) -> bytes:
        """One request head, recorded; b'' when the client closed."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return b""
            data += chunk
        self.requests.append(data)
        return data

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(
        answer: Callable[[socket.socket], None], tls: ssl.SSLContext | None = None
    ) -> RawServer:
        server = RawServer(answer, tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def fetch(url: str, options: FetchOptions | None = None, **kw: str) -> FetchResult:
    return asyncio.run(fetch_url(url, options=options or fast_options(), **kw))  # type: ignore[arg-type]


def answer_once(server: RawServer, conn: socket.socket, reply: bytes) -> None:
    """Read one request and send `reply` as it is."""
    server.read_request(conn)
    conn.sendall(reply)


def ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


def test_a_chunked_body_is_joined_with_extensions_and_trailers_dropped(
    serve: Callable[..., RawServer],
) -> None:
    def answer(conn: socket.socket) -> None:
        server.read_request(conn)
        half = len(FEED) // 2
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{half:x};name=value\r\n".encode()
            + FEED[:half]
            + b"\r\n"
            + f"{len(FEED) - half:X}\r\n".encode()
            + FEED[half:]
            + b"\r\n0\r\nX-Trailer: yes\r\n\r\n"
        )

    server = serve(answer)
    result = fetch(server.url())
    assert result.ok, result.error
    assert result.content == FEED


def test_connections_are_kept_alive_across_a_hosts_feeds(
    serve: Callable[..., RawServer],
) -> None:
    def answer(conn: socket.socket) -> None:
        while server.read_request(conn):
            conn.sendall(ok(FEED, 'ETag: "v1"\r\n'))

    server = serve(answer)

    async def three() -> list[FetchResult]:
        async with Fetcher(fast_options()) as fetcher:
            return [await fetcher.fetch(server.url(f"/f{i}"), etag='"v0"') for i in range(3)]

    results = asyncio.run(three())
    assert [r.status for r in results] == [200, 200, 200]
    assert server.connections == 1


def test_an_idle_connection_the_server_dropped_is_replaced_without_an_error(
    serve: Callable[..., RawServer],
) -> None:
    def answer(conn: socket.socket) -> None:
        # Keep-alive by default, yet the server closes after one answer.
        if server.read_request(conn):
            conn.sendall(ok(FEED))

    server = serve(answer)

    async def two() -> list[FetchResult]:
        async with Fetcher(fast_options()) as fetcher:
            first = await fetcher.fetch(server.url("/a"))
            await asyncio.sleep(0.1)
            return [first, await fetcher.fetch(server.url("/b"))]

    results = asyncio.run(two())
    assert all(r.ok for r in results), [r.error for r in results]
    assert server.connections == 2


def test_a_304_leaves_the_connection_reusable(serve: Callable[..., RawServer]) -> None:
    def answer(conn: socket.socket) -> None:
        while server.read_request(conn):
            conn.sendall(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n')

    server = serve(answer)

    async def run() -> list[FetchResult]:
        async with Fetcher(fast_options()) as fetcher:
            return [await fetcher.fetch(server.url(f"/f{i}"), etag='"v1"') for i in range(4)]

    results = asyncio.run(run())
    assert all(r.not_modified for r in results)
    assert server.connections == 1


def test_a_body_cut_short_is_a_connection_error(serve: Callable[..., RawServer]) -> None:
    def answer(conn: socket.socket) -> None:
        server.read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + FEED)

    server = serve(answer)
    result = fetch(server.url())
    assert result.error_kind == "connection"
    assert "short" in (result.error or "")
    assert result.content == b""


def test_a_body_without_a_length_is_read_to_the_close(serve: Callable[..., RawServer]) -> None:
    def answer(conn: socket.socket) -> None:
        server.read_request(conn)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n" + FEED)

    server = serve(answer)
    result = fetch(server.url())
    assert result.ok and result.content == FEED


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (b"hello there\r\n\r\n", "not an HTTP/1.x response"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello", "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n", "middle of the response headers"),
        (b"", "without a response"),
    ],
)
def test_a_broken_response_is_a_connection_error_that_says_what_was_wrong(
    serve: Callable[..., RawServer], reply: bytes, words: str
) -> None:
    def answer(conn: socket.socket) -> None:
        server.read_request(conn)
        conn.sendall(reply)

    server = serve(answer)
    result = fetch(server.url())
    assert result.error_kind == "connection"
    assert words in (result.error or ""), result.error


def test_endless_headers_are_refused_at_the_cap(serve: Callable[..., RawServer]) -> None:
    def answer(conn: socket.socket) -> None:
        server.read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(2000):
            conn.sendall(b"X-Filler: " + b"a" * 100 + b"\r\n")

    server = serve(answer)
    result = fetch(server.url())
    assert result.error_kind == "connection"
    assert "headers are over" in (result.error or "")


def test_interim_responses_before_the_answer_are_skipped(serve: Callable[..., RawServer]) -> None:
    def answer(conn: socket.socket) -> None:
        server.read_request(conn)
        conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + ok(FEED))

    server = serve(answer)
    result = fetch(server.url())
    assert result.ok and result.content == FEED


def test_the_request_names_the_host_encodes_the_path_and_sends_url_credentials(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(lambda conn: answer_once(server, conn, ok(FEED)))
    url = f"http://reader:s%40cret@127.0.0.1:{server.port}/news feed/caf\u00e9.xml?q=a b&x=%2F"
    assert fetch(url).ok
    head = server.requests[0].decode("latin-1")
    assert head.startswith("GET /news%20feed/caf%C3%A9.xml?q=a%20b&x=%2F HTTP/1.1\r\n")
    assert f"\r\nHost: 127.0.0.1:{server.port}\r\n" in head
    token = base64.b64encode(b"reader:s@cret").decode()
    assert f"\r\nAuthorization: Basic {token}\r\n" in head


def test_a_stored_validator_with_a_line_break_is_never_sent(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(lambda conn: answer_once(server, conn, ok(FEED)))
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


def test_an_untrusted_certificate_is_a_tls_error(
    serve: Callable[..., RawServer], self_signed: ssl.SSLContext
) -> None:
    server = serve(lambda conn: answer_once(server, conn, ok(FEED)), tls=self_signed)
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
    serve: Callable[..., RawServer], bodiless: bytes
) -> None:
    def answer(conn: socket.socket) -> None:
        # Answers on one kept-alive connection: first the broken bodiless one, then feeds.
        while server.read_request(conn):
            conn.sendall(bodiless if len(server.requests) == 1 else ok(FEED))

    server = serve(answer)

    async def two() -> list[FetchResult]:
        async with Fetcher(fast_options()) as fetcher:
            return [await fetcher.fetch(server.url(f"/f{i}"), etag='"v1"') for i in range(2)]

    first, second = asyncio.run(two())
    assert first.ok and first.content == b""
    assert second.ok, second.error
    assert second.content == FEED
    # The stray bytes went with the connection: the next feed came on a new one.
    assert server.connections == 2


def chunked(body: bytes, size: int = 100) -> bytes:
    """`body` in chunked framing, `size` bytes a chunk."""
    parts = [f"{len(body[i : i + size]):x}\r\n".encode() + body[i : i + size] + b"\r\n"
             for i in range(0, len(body), size)]  # fmt: skip
    return b"".join(parts) + b"0\r\n\r\n"


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
    serve: Callable[..., RawServer], codings: str, encoded: bytes
) -> None:
    def answer(conn: socket.socket) -> None:
        while server.read_request(conn):
            conn.sendall(transfer_coded(codings, encoded))

    server = serve(answer)

    async def two() -> list[FetchResult]:
        async with Fetcher(fast_options()) as fetcher:
            return [await fetcher.fetch(server.url(f"/f{i}")) for i in range(2)]

    results = asyncio.run(two())
    assert [(r.error, r.content) for r in results] == [(None, FEED)] * 2
    # The chunked framing ended the body: the connection was kept for the next feed.
    assert server.connections == 1


def test_a_transfer_coding_is_undone_before_the_content_coding(
    serve: Callable[..., RawServer],
) -> None:
    reply = transfer_coded("gzip, chunked", gzip.compress(gzip.compress(FEED)),
                           "Content-Encoding: gzip\r\n")  # fmt: skip
    server = serve(lambda conn: answer_once(server, conn, reply))
    result = fetch(server.url())
    assert result.ok, result.error
    assert result.content == FEED


def test_a_gzip_bomb_as_a_transfer_coding_stops_at_the_cap_with_bounded_memory(
    serve: Callable[..., RawServer],
) -> None:
    reply = transfer_coded("gzip, chunked", gzip_bomb(100_000_000))
    server = serve(lambda conn: answer_once(server, conn, reply))
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
    serve: Callable[..., RawServer], codings: str
) -> None:
    def answer(conn: socket.socket) -> None:
        server.read_request(conn)
        # The body never ends: the client must refuse it from the head alone.
        conn.sendall(f"HTTP/1.1 200 OK\r\nTransfer-Encoding: {codings}\r\n\r\n".encode())
        conn.sendall(b"5\r\n\x1f\x8b\x00\x00\x00\r\n")
        time.sleep(3)

    server = serve(answer)
    t0 = time.monotonic()
    result = fetch(server.url())
    assert time.monotonic() - t0 < 1.0
    assert result.error_kind == "unsupported_encoding"
    assert "Transfer-Encoding" in (result.error or "")
    assert result.content == b""


def test_a_transfer_coding_without_chunked_last_runs_to_the_close(
    serve: Callable[..., RawServer],
) -> None:
    # RFC 9112 6.3: the Content-Length is ignored, the body ends when the server closes.
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n"
    server = serve(lambda conn: answer_once(server, conn, reply + gzip.compress(FEED)))
    result = fetch(server.url())
    assert result.ok, result.error
    assert result.content == FEED


def test_chunked_applied_before_another_transfer_coding_is_refused(
    serve: Callable[..., RawServer],
) -> None:
    reply = transfer_coded("chunked, gzip", b"")
    server = serve(lambda conn: answer_once(server, conn, reply))
    result = fetch(server.url())
    assert result.error_kind == "unsupported_encoding"
    assert "chunked" in (result.error or "")
