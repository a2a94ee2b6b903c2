"""Real servers on 127.0.0.1 for daemon tests: news feeds, an SMTP sink, a TCP proxy.

- NewsServer: many RSS feeds (`/feed/<n>.xml`) whose entries appear over time, with an
  optional latency per response; it records every request and every entry it served.
- SmtpSink: an aiosmtpd server that keeps every message it accepts.
- TcpProxy: an asyncio TCP forwarder that can be stopped and started on the same port,
  to take a database away from a running daemon and give it back.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from aiosmtpd.controller import Controller

# Text the shipped catalogue flags as a possible breach of Amazon's police moratorium.
BREACH_TEXT = (
    "A former Amazon Web Services employee told a London employment tribunal that Amazon "
    "let UK police forces use its Rekognition facial recognition technology despite the "
    "moratorium on police use it declared in 2020."
)
PLAIN_TEXT = "The city council met on Tuesday to discuss new bicycle lanes and a park."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class NewsServer:
    """`feeds` RSS feeds; feed n gains an entry every `every` seconds (the latest `keep`)."""

    feeds: int
    every: float = 1.0
    keep: int = 20
    latency: float = 0.0
    breach_every: int = 3  # every third entry reports a breach
    requests: list[tuple[str, float]] = field(default_factory=list)
    served: set[str] = field(default_factory=set)
    frozen_at: float | None = None

    def __post_init__(self) -> None:
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.published0 = datetime.now(UTC) - timedelta(days=1)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 1024
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/feed/{n}.xml"

    def freeze(self) -> None:
        """From now on every feed keeps serving the same entries."""
        self.frozen_at = time.monotonic()

    def elapsed(self) -> float:
        return (self.frozen_at or time.monotonic()) - self.started

    def entries(self, n: int) -> list[tuple[str, str, str, datetime]]:
        count = int(self.elapsed() / self.every) + 1 if self.every > 0 else 1
        out = []
        for k in range(max(0, count - self.keep), count):
            guid = f"urn:test:feed{n}:story{k}"
            text = BREACH_TEXT if k % self.breach_every == 0 else PLAIN_TEXT
            title = f"Feed {n} story {k}"
            out.append(
                (
                    guid,
                    title,
                    f"{text} (feed {n}, story {k})",
                    self.published0 + timedelta(minutes=k),
                )
            )
        return out

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.requests.append((req.path, time.monotonic()))
        if self.latency:
            time.sleep(self.latency)
        if not (req.path.startswith("/feed/") and req.path.endswith(".xml")):
            req.send_error(404)
            return
        n = int(req.path[len("/feed/") : -len(".xml")])
        items = self.entries(n)
        body = rss(f"Feed {n}", items).encode()
        try:
            req.send_response(200)
            req.send_header("Content-Type", "application/rss+xml")
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)
        except OSError:
            return
        with self.lock:
            self.served.update(title for _, title, _, _ in items)

    def polls_of(self, n: int) -> list[float]:
        path = f"/feed/{n}.xml"
        with self.lock:
            return [t for p, t in self.requests if p == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rss(title: str, items: list[tuple[str, str, str, datetime]]) -> str:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://news.example.org/</link>",
        "<description>test news</description>",
    ]
    for guid, item_title, text, published in items:
        parts.append(
            f"<item><title>{escape(item_title)}</title>"
            f"<link>https://news.example.org/{escape(guid.rsplit(':', 2)[-2])}/"
            f"{escape(guid.rsplit(':', 1)[-1])}</link>"
            f'<guid isPermaLink="false">{escape(guid)}</guid>'
            f"<description>{escape(text)}</description>"
            f"<pubDate>{format_datetime(published)}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts)


class _Collect:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content)
        with self.sink.lock:
            self.sink.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


class SmtpSink:
    """A real SMTP server on 127.0.0.1 keeping (recipients, message) for each delivery."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for _, m in self.messages]

    def close(self) -> None:
        self.controller.stop()


class TcpProxy:
    """Forward 127.0.0.1:<port> to a target; `stop()` refuses and cuts connections."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def start(self) -> TcpProxy:
        async def go() -> None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

        self._call(go())
        return self

    def stop(self) -> None:
        async def go() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for w in list(self._writers):
                w.transport.abort()
            self._writers.clear()

        self._call(go())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def close(self) -> None:
        self.stop()

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self._call(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@contextmanager
def running(obj: Any) -> Iterator[Any]:
    try:
        yield obj
    finally:
        obj.close()
