"""Public read answers kept until the database changes (SQLite), so busy reads stay cheap.

SQLite's `PRAGMA data_version` changes whenever another connection commits. A dedicated
read-only connection asks it before every lookup (about 10 µs), so a cached answer is
never stale: any write, by this process, another worker, the daemon or the CLI, retires
every cached answer. Only successful GET requests under /api/ are kept, and only when
reads are public (then every caller gets the same answer). PostgreSQL has no such cheap
counter, so there the cache is off.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-pledgewatch-cache"
MAX_BODY = 2_000_000


class DataVersion:
    """The database's change counter, read through its own read-only connection."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
        )
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


class ReadCache:
    """Pure ASGI middleware: cached GET /api/ answers, valid for one database version."""

    def __init__(self, app: ASGIApp, *, version: DataVersion, max_entries: int) -> None:
        self.app = app
        self.version = version
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, tuple[list[tuple[bytes, bytes]], bytes]] = OrderedDict()
        self._at = -1
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith("/api/")
        ):
            await self.app(scope, receive, send)
            return
        key = scope["path"].encode() + b"?" + scope.get("query_string", b"")
        current = self.version()
        with self._lock:
            if current != self._at:
                self._entries.clear()
                self._at = current
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
        if hit is not None:
            headers, body = hit
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [*headers, (HEADER, b"hit")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self._fill(scope, receive, send, key, current)

    async def _fill(
        self, scope: Scope, receive: Receive, send: Send, key: bytes, version: int
    ) -> None:
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        keep = True

        async def capture(message: Message) -> None:
            nonlocal headers, keep
            if message["type"] == "http.response.start":
                keep = message["status"] == 200
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, b"miss")]}
            elif message["type"] == "http.response.body" and keep:
                chunks.append(message.get("body", b""))
                keep = sum(map(len, chunks)) <= MAX_BODY
                if keep and not message.get("more_body", False):
                    # Kept before the last byte goes out, so the client's next request
                    # finds it.
                    self._store(key, version, headers, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)

    def _store(
        self, key: bytes, version: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        with self._lock:
            # Stored under the version read before the query ran: a write that landed
            # meanwhile changes the version, so this answer is never served stale.
            if version == self._at:
                self._entries[key] = (headers, body)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
