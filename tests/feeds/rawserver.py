"""A raw HTTP server on 127.0.0.1 whose tests script every byte of every answer.

An asyncio server runs in a thread with its own event loop, so the code under test can
run its own (`asyncio.run`, or a whole `pledgewatch poll`). For each connection it
accepts it runs `answer(conn)`, a coroutine that reads requests and writes exactly the
framing, broken heads, pauses, early closes or TLS a test means.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Awaitable, Callable

Answer = Callable[["Conn"], Awaitable[None]]
# Longest request head a test server reads (the fetcher's are a few hundred bytes).
MAX_REQUEST = 65_536


class Conn:
    """One accepted connection: read request heads, send raw bytes."""

    def __init__(
        self, server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer

    async def read_request(self) -> bytes:
        """One request head, recorded on the server; b'' when the client closed."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return b""
        self.server.record(head)
        return head

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


class RawServer:
    """Serves `answer` on 127.0.0.1 (port 0) from a thread until `close()`."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=tls, limit=MAX_REQUEST)
        )
        self.port: int = self._server.sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/feed") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def record(self, head: bytes) -> None:
        with self._lock:
            self.requests.append(head)

    def paths(self) -> list[str]:
        """The request target of every request received, in order."""
        with self._lock:
            return [r.split(b" ", 2)[1].decode("latin-1") for r in self.requests]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        with self._lock:
            self.connections += 1
        try:
            await self.answer(Conn(self, reader, writer))
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _shutdown(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


def ok(body: bytes, extra: str = "") -> bytes:
    """A 200 response framed by Content-Length, with `extra` header lines."""
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


def chunked(body: bytes, size: int = 100) -> bytes:
    """`body` in chunked framing, `size` bytes a chunk."""
    parts = [
        f"{len(body[i : i + size]):x}\r\n".encode() + body[i : i + size] + b"\r\n"
        for i in range(0, len(body), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"
