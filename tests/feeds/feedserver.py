"""A real HTTP server on 127.0.0.1 for feed tests: routes say what each path answers.

A route is a Reply (or a function of the request returning one) that can set the
status, headers and body, and misbehave: delay, stall after the headers, drip a byte at
a time, stream without a length, reset the connection, or honour ETag/Last-Modified.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before anything is sent
    stall: float = 0.0  # after the headers, before the body
    drip: float | None = None  # seconds between single bytes of the body
    chunks: Iterable[bytes] | None = None  # streamed body, no Content-Length
    reset: bool = False  # abort the connection (RST) after the headers
    content_length: int | None = None  # declared length, when it should differ
    etag: str | None = None  # answer 304 when If-None-Match matches
    last_modified: str | None = None  # answer 304 when If-Modified-Since matches


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    at: float


Route = Reply | Callable[[Request], Reply]


class FeedServer:
    """ThreadingHTTPServer on port 0 in a thread; `url(path)` gives a route's address."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        handler = _make_handler(self)
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, reply: Route) -> str:
        self.routes[path] = reply
        return self.url(path)

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


def _make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            req = Request(
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                at=time.monotonic(),
            )
            server.record(req)
            route = server.routes.get(self.path)
            if route is None:
                reply = Reply(status=404, body=b"not found")
            elif isinstance(route, Reply):
                reply = route
            else:
                reply = route(req)
            try:
                self._answer(req, reply)
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                self.close_connection = True

        def _answer(self, req: Request, reply: Reply) -> None:
            if reply.delay:
                server.stop_event.wait(reply.delay)
            if reply.status == 200 and _not_modified(req, reply):
                self.send_response(304)
                if reply.etag:
                    self.send_header("ETag", reply.etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(reply.status)
            headers = dict(reply.headers)
            if reply.etag:
                headers.setdefault("ETag", reply.etag)
            if reply.last_modified:
                headers.setdefault("Last-Modified", reply.last_modified)
            headers.setdefault("Content-Type", "application/rss+xml")
            for name, value in headers.items():
                self.send_header(name, value)
            if reply.chunks is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            elif "Content-Length" not in headers:
                length = reply.content_length
                self.send_header(
                    "Content-Length", str(len(reply.body) if length is None else length)
                )
            self.end_headers()
            self.wfile.flush()
            if reply.reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            if reply.stall:
                server.stop_event.wait(reply.stall)
            if reply.chunks is not None:
                for chunk in reply.chunks:
                    if server.stop_event.is_set():
                        break
                    self.wfile.write(chunk)
                return
            if reply.drip is not None:
                for i in range(len(reply.body)):
                    if server.stop_event.wait(reply.drip):
                        break
                    self.wfile.write(reply.body[i : i + 1])
                return
            self.wfile.write(reply.body)

    return Handler


def _not_modified(req: Request, reply: Reply) -> bool:
    if reply.etag and req.headers.get("if-none-match") == reply.etag:
        return True
    if reply.last_modified and not reply.etag:
        return req.headers.get("if-modified-since") == reply.last_modified
    return False


def rss(
    items: Iterable[tuple[str, str, str]], *, title: str = "Test feed", ttl: int | None = None
) -> bytes:
    """An RSS 2.0 document with (guid, title, description) items."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://news.example.org/</link>",
        "<description>test</description>",
    ]
    if ttl is not None:
        parts.append(f"<ttl>{ttl}</ttl>")
    for guid, item_title, text in items:
        parts.append(
            f'<item><guid isPermaLink="false">{escape(guid)}</guid>'
            f"<title>{escape(item_title)}</title>"
            f"<link>https://news.example.org/{escape(guid)}</link>"
            f"<description>{escape(text)}</description>"
            "<pubDate>Mon, 03 Jun 2024 10:00:00 GMT</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def simple_feed(prefix: str, n: int = 3) -> bytes:
    """A small valid feed whose items have ids `prefix-0`..."""
    return rss(
        [
            (f"{prefix}-{i}", f"{prefix} story {i}", f"Text of {prefix} story {i}.")
            for i in range(n)
        ],
        title=f"{prefix} news",
    )


def gzip_bomb(decompressed: int) -> bytes:
    """gzip data of `decompressed` zero bytes (about a thousandth of that on the wire)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    out = []
    left = decompressed
    while left > 0:
        n = min(left, len(block))
        out.append(comp.compress(block[:n]))
        left -= n
    out.append(comp.flush())
    return b"".join(out)


def http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)
