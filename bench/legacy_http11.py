"""The hand-written HTTP/1.1 client feeds were fetched with before aiohttp (bench only).

Kept, unchanged but for this note and its resolver, only so bench_fetch can measure the
aiohttp fetcher's CPU side by side with it; it has the framing faults issue 16 lists.
Nothing outside bench/ may import it.

A small HTTP/1.1 client for feed fetching: GET, keep-alive per origin, checked addresses.

It does only what fetching feeds needs, on asyncio streams: resolve the host, check
every address it resolves to (feeds.addresses) and connect to a checked one, TLS with
certificate and host name verification, one request at a time per connection, bodies
framed by Content-Length, chunked transfer coding or the end of the connection, and
connect, read and write timeouts. Redirects, size caps, decoding (the Content-Encoding
and any transfer codings before chunked, named by `Response.transfer_codings`) and the
wall-clock deadline belong to the caller (feeds.fetch, feeds.decode).

Why not httpx: a conditional GET answered 304 cost about 3 ms of CPU through
httpx.AsyncClient on the benchmark machine, more than the request itself; a poll of
hundreds of unchanged feeds was bound by that CPU rather than by the network. Here it
costs a fraction of that. Failures raise FetchError with a kind feed health records.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import certifi

from feeds.addresses import AddressPolicy, check_addresses, ip_literal
from feeds.errors import FetchError

# Longest status line plus headers accepted (a hostile server cannot grow memory).
MAX_HEAD = 65_536
CHUNK = 65_536
# Idle connections older than this are closed instead of reused (servers drop them).
KEEPALIVE_EXPIRY = 5.0
# Characters left as they are in a request target; others (spaces, non-ASCII) are
# percent-encoded, and existing %XX escapes are kept.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"


async def resolve_async(host: str, port: int) -> list[str]:
    """Every address a host name resolves to, without blocking the event loop."""
    literal = ip_literal(host)
    if literal is not None:
        return [str(literal)]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host}: {exc}", kind="dns") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """A verifying TLS context (certifi's roots), built once: loading the roots takes 70 ms."""
    ctx = ssl.create_default_context(cafile=certifi.where())
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 10.0
    write: float = 10.0


@dataclass(frozen=True)
class Origin:
    """Where a request goes: scheme, host (IDNA, lower-case) and port."""

    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _origin_and_target(url: str) -> tuple[Origin, str, str | None]:
    """The origin, the request target and a Basic credential from a checked URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise FetchError(f"invalid host name {host!r}: {exc}", url=url, kind="dns") from exc
    port = parts.port or (443 if scheme == "https" else 80)
    target = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_TARGET_SAFE)
    credential = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        credential = base64.b64encode(pair.encode()).decode("ascii")
    return Origin(scheme, host.lower(), port), target, credential


def _header_value(name: str, value: str) -> str:
    # Stored validators come from servers: never let one inject a header line.
    if "\r" in value or "\n" in value:
        raise FetchError(f"refusing to send a {name} header with a line break", kind="connection")
    return value


class Connection:
    """One open connection to an origin."""

    def __init__(
        self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.origin = origin
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()
        self.requests = 0

    def usable(self, now: float) -> bool:
        return (
            now - self.idle_since < KEEPALIVE_EXPIRY
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def close(self) -> None:
        self.writer.transport.abort()


class Response:
    """A response whose body is read with `iter_raw` (de-chunked, not decompressed).

    `transfer_codings` are those listed before chunked (or, with no chunked, before the
    close), in the order the server applied them; the caller undoes them.
    """

    def __init__(
        self,
        *,
        url: str,
        status: int,
        reason: str,
        headers: dict[str, str],
        conn: Connection,
        pool: ConnectionPool,
        timeouts: Timeouts,
        length: int | None,
        chunked: bool,
        keep_alive: bool,
        transfer_codings: tuple[str, ...] = (),
    ) -> None:
        self.url = url
        self.status_code = status
        self.reason_phrase = reason
        self.headers = headers
        self.transfer_codings = transfer_codings
        self._conn: Connection | None = conn
        self._pool = pool
        self._timeouts = timeouts
        self._length = length
        self._chunked = chunked
        self._keep_alive = keep_alive
        self._complete = length == 0 and not chunked

    async def _read(self, n: int) -> bytes:
        assert self._conn is not None
        try:
            return await _read_within(self._timeouts.read, self.url, self._conn.reader.read(n))
        except OSError as exc:
            raise _broken(exc, self.url) from exc

    async def _line(self) -> bytes:
        assert self._conn is not None
        line = self._conn.reader.readuntil(b"\r\n")
        try:
            return await _read_within(self._timeouts.read, self.url, line)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as exc:
            raise _broken(exc, self.url) from exc

    async def iter_raw(self) -> AsyncIterator[bytes]:
        """The body as it arrives; raises FetchError when it ends early or times out."""
        if self._complete or self._conn is None:
            return
        if self._chunked:
            async for data in self._chunks():
                yield data
        elif self._length is not None:
            remaining = self._length
            while remaining:
                data = await self._read(min(remaining, CHUNK))
                if not data:
                    raise _broken(ConnectionError(f"body ended {remaining} bytes short"), self.url)
                remaining -= len(data)
                yield data
        else:
            while data := await self._read(CHUNK):
                yield data
        self._complete = True

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            line = await self._line()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _broken(ValueError(f"bad chunk size {line[:40]!r}"), self.url) from exc
            if size < 0:
                raise _broken(ValueError("negative chunk size"), self.url)
            if size == 0:
                # Trailers, if any, end with an empty line.
                while (await self._line()) != b"\r\n":
                    pass
                return
            remaining = size
            while remaining:
                data = await self._read(min(remaining, CHUNK))
                if not data:
                    raise _broken(ConnectionError("chunked body ended early"), self.url)
                remaining -= len(data)
                yield data
            if await self._line() != b"\r\n":
                raise _broken(ValueError("chunk not followed by CRLF"), self.url)

    async def aclose(self) -> None:
        """Give the connection back when the body was read to its end, else close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._complete and self._keep_alive:
            self._pool.release(conn)
        else:
            conn.close()


async def _read_within(seconds: float, url: str, read: Awaitable[bytes]) -> bytes:
    """Await a read, or fail as a timeout naming the read timeout."""
    try:
        async with asyncio.timeout(seconds):
            return await read
    except TimeoutError as exc:
        raise FetchError(f"server sent nothing for {seconds}s", url=url, kind="timeout") from exc


def _broken(exc: BaseException, url: str, *, reused: bool = False) -> Exception:
    """The error for a connection that failed; on a reused one, a stale connection to retry."""
    if reused:
        return _StaleConnection()
    text = str(exc) or type(exc).__name__
    return FetchError(f"connection broken by the server: {text}", url=url, kind="connection")


def _parse_head(head: bytes, url: str) -> tuple[str, int, str, dict[str, str]]:
    """Version, status, reason and headers (names lower-cased, repeats joined by ', ')."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise FetchError(f"not an HTTP/1.x response: {lines[0][:80]!r}", url=url, kind="connection")
    headers: dict[str, str] = {}
    last = ""
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and last:
            # An obsolete folded continuation of the previous header.
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or not name:
            raise FetchError(f"malformed header line {line[:80]!r}", url=url, kind="connection")
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
        last = name
    return version, int(code), reason.strip(), headers


def _bodiless(status: int) -> bool:
    # By rule, whatever the headers say (this client sends GET only, never HEAD).
    return status in (204, 304) or 100 <= status < 200


def _announces_body(headers: Mapping[str, str]) -> bool:
    """Whether the headers frame a body: any Transfer-Encoding, or a non-zero Content-Length."""
    if headers.get("transfer-encoding", "").strip():
        return True
    return headers.get("content-length", "0").strip().strip("0") != ""


@dataclass(frozen=True)
class _Framing:
    """How a response body ends: after `length` bytes, the last chunk, or the close."""

    length: int | None
    chunked: bool = False
    transfer_codings: tuple[str, ...] = ()


def _framing(status: int, headers: Mapping[str, str], url: str) -> _Framing:
    """The framing of a response to GET (RFC 9112 6.3); length None reads to the close."""
    if _bodiless(status):
        return _Framing(0)
    codings = [
        c.partition(";")[0].strip().lower() for c in headers.get("transfer-encoding", "").split(",")
    ]
    # "identity" (RFC 2616, since withdrawn) changes nothing; old servers still send it.
    codings = [c for c in codings if c and c != "identity"]
    if codings:
        # With a Transfer-Encoding, Content-Length is ignored; chunked frames the body
        # only when it is the last coding, else the body runs to the close.
        chunked = codings[-1] == "chunked"
        if chunked:
            codings.pop()
        if "chunked" in codings:
            raise FetchError(
                f"Transfer-Encoding {headers['transfer-encoding']!r} is not supported: "
                "chunked must be the last coding, applied once",
                url=url,
                kind="unsupported_encoding",
            )
        return _Framing(None, chunked, tuple(codings))
    declared = headers.get("content-length")
    if declared is None:
        return _Framing(None)
    values = {v.strip() for v in declared.split(",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise FetchError(f"invalid Content-Length {declared!r}", url=url, kind="connection")
    return _Framing(int(values.pop()))


class ConnectionPool:
    """Idle keep-alive connections by origin; opens new ones to checked addresses only."""

    def __init__(
        self,
        *,
        policy: AddressPolicy,
        max_idle_per_origin: int = 2,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.max_idle = max_idle_per_origin
        self.ssl_context = ssl_context
        self._idle: dict[Origin, list[Connection]] = {}

    def release(self, conn: Connection) -> None:
        idle = self._idle.setdefault(conn.origin, [])
        if len(idle) >= self.max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    def _reuse(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now):
                return conn
            conn.close()
        return None

    async def _connect(self, origin: Origin, url: str, timeouts: Timeouts) -> Connection:
        tls = origin.scheme == "https"
        ctx = (self.ssl_context or tls_context()) if tls else None
        try:
            async with asyncio.timeout(timeouts.connect):
                addresses = await resolve_async(origin.host, origin.port)
                allowed = check_addresses(origin.host, addresses, self.policy, url=url)
                last: OSError | None = None
                for ip in allowed:
                    try:
                        reader, writer = await asyncio.open_connection(
                            str(ip),
                            origin.port,
                            ssl=ctx,
                            server_hostname=origin.host if tls else None,
                            limit=MAX_HEAD,
                        )
                    except ssl.SSLError as exc:
                        raise FetchError(
                            f"TLS handshake failed: {exc}", url=url, kind="tls"
                        ) from exc
                    except OSError as exc:
                        last = exc
                        continue
                    return Connection(origin, reader, writer)
        except TimeoutError as exc:
            raise FetchError(
                f"could not connect within {timeouts.connect}s", url=url, kind="timeout"
            ) from exc
        assert last is not None
        raise FetchError(f"could not connect: {last}", url=url, kind="connection") from last

    async def get(self, url: str, headers: Mapping[str, str], timeouts: Timeouts) -> Response:
        """Send a GET for a checked http(s) URL and read the response head."""
        origin, target, credential = _origin_and_target(url)
        lines = [f"GET {target} HTTP/1.1", f"Host: {origin.host_header}"]
        lines += [f"{name}: {_header_value(name, value)}" for name, value in headers.items()]
        if credential is not None:
            lines.append(f"Authorization: Basic {credential}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")
        conn = self._reuse(origin)
        if conn is not None:
            try:
                return await self._exchange(conn, request, url, timeouts)
            except _StaleConnection:
                # A kept-alive connection the server had closed: GET is safe to resend.
                pass
        # A fresh connection is never stale: its failures are the server's own.
        conn = await self._connect(origin, url, timeouts)
        return await self._exchange(conn, request, url, timeouts)

    async def _exchange(
        self, conn: Connection, request: bytes, url: str, timeouts: Timeouts
    ) -> Response:
        try:
            head = await self._send_and_read_head(conn, request, url, timeouts)
            version, status, reason, headers = _parse_head(head, url)
            while 100 <= status < 200 and status != 101:
                # Interim responses (100 Continue, 103 Early Hints) precede the real one.
                head = await self._read_head(conn, url, timeouts)
                version, status, reason, headers = _parse_head(head, url)
            if status == 101:
                raise FetchError("server switched protocols", url=url, kind="connection")
            framing = _framing(status, headers, url)
        except BaseException:
            conn.close()
            raise
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        keep_alive = version == "HTTP/1.1" and "close" not in tokens
        keep_alive = keep_alive and (framing.chunked or framing.length is not None)
        # A 304 or 204 has no body, but a broken server may send the one its headers
        # announce: those bytes would be read as the next answer on this connection.
        keep_alive = keep_alive and not (_bodiless(status) and _announces_body(headers))
        conn.requests += 1
        return Response(
            url=url,
            status=status,
            reason=reason,
            headers=headers,
            conn=conn,
            pool=self,
            timeouts=timeouts,
            length=framing.length,
            chunked=framing.chunked,
            keep_alive=keep_alive,
            transfer_codings=framing.transfer_codings,
        )

    async def _send_and_read_head(
        self, conn: Connection, request: bytes, url: str, timeouts: Timeouts
    ) -> bytes:
        reused = conn.requests > 0
        try:
            conn.writer.write(request)
            async with asyncio.timeout(timeouts.write):
                await conn.writer.drain()
        except TimeoutError as exc:
            raise FetchError(
                f"could not send the request within {timeouts.write}s", url=url, kind="timeout"
            ) from exc
        except OSError as exc:
            raise _broken(exc, url, reused=reused) from exc
        return await self._read_head(conn, url, timeouts, reused=reused)

    async def _read_head(
        self, conn: Connection, url: str, timeouts: Timeouts, *, reused: bool = False
    ) -> bytes:
        try:
            return await _read_within(timeouts.read, url, conn.reader.readuntil(b"\r\n\r\n"))
        except asyncio.LimitOverrunError as exc:
            raise FetchError(
                f"response headers are over {MAX_HEAD} bytes", url=url, kind="connection"
            ) from exc
        except asyncio.IncompleteReadError as exc:
            if reused and not exc.partial:
                # Closed before a byte of the answer: the server dropped an idle connection.
                raise _StaleConnection() from exc
            reason = (
                "closed the connection in the middle of the response headers"
                if exc.partial
                else "closed the connection without a response"
            )
            raise FetchError(
                f"connection broken by the server: {reason}", url=url, kind="connection"
            ) from exc
        except OSError as exc:
            raise _broken(exc, url, reused=reused) from exc

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


class _StaleConnection(Exception):
    """A reused connection failed before any of the response arrived."""
