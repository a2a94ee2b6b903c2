"""Fetching feeds over HTTP: bounded, conditional, and safe about where it connects.

Each fetch holds one slot of a global limit and one of its host's limit, follows at
most five redirects itself (each hop's URL and addresses checked), sends the stored
ETag and Last-Modified, caps the decoded body, and ends by a wall-clock deadline (a
server that drips a byte a second defeats a read timeout). Every outcome is a
FetchResult; feed-level failures never raise.

HTTP itself is aiohttp's: its llhttp parser frames responses strictly, so a server
cannot make one feed's bytes be read as another feed's response. Decompression is
ours (feeds.decode), where the decoded size can be capped.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import quote, urljoin, urlsplit

import aiohttp
from aiohttp.http_exceptions import ContentLengthError, TransferEncodingError
from aiohttp.typedefs import RawHeaders
from multidict import CIMultiDictProxy
from yarl import URL

from feeds.addresses import AddressPolicy, check_url
from feeds.connect import CheckedResolver, FreshConnector, check_literal_host, tls_context
from feeds.decode import ACCEPT_ENCODING, DEFAULT_MAX_BYTES, BodyDecoder
from feeds.errors import FetchError
from feeds.headers import retry_after_seconds

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Idle connections older than this are closed instead of reused (servers drop them).
KEEPALIVE_SECONDS = 5.0
# Longest header field accepted: long Content-Security-Policy and Set-Cookie headers
# exist in the wild, and aiohttp's default (8190) would fail those feeds.
MAX_FIELD_SIZE = 32_768
# Characters left as they are in a request target; others (spaces, non-ASCII) are
# percent-encoded, and existing %XX escapes are kept.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
# Feed URLs whose parsed and checked forms are kept between polls.
URL_CACHE_SIZE = 8192


@dataclass(frozen=True)
class FetchOptions:
    """Limits and identity for fetching (built from `[feeds]` settings by the caller)."""

    concurrency: int = 32
    per_host: int = 2
    max_bytes: int = DEFAULT_MAX_BYTES
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    user_agent: str = "pledgewatch/0.1 (+https://github.com/pledgewatch/pledgewatch)"
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    max_redirects: int = 5


@dataclass
class FetchResult:
    """What one fetch gave: a body, a 304, or an error with a kind and a readable message."""

    url: str
    final_url: str
    status: int | None = None
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False
    # Where an unbroken chain of 301/308 from `url` led, when the fetch succeeded.
    permanent_redirect: str | None = None
    # Seconds the server asked us to wait (429/503 Retry-After).
    retry_after: float | None = None
    error_kind: str | None = None
    error: str | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    def raise_for_error(self) -> None:
        """Raise the FetchError this result carries, if any."""
        if self.error_kind is not None:
            raise FetchError(self.error or self.error_kind, url=self.url, kind=self.error_kind)


@dataclass
class _Host:
    """One host's slots, shared by its fetches while any is running."""

    slot: asyncio.Semaphore
    users: int = 0


class Fetcher:
    """An HTTP client with global and per-host limits; use as `async with Fetcher(...)`.

    One aiohttp session per Fetcher (per poll): its connections are kept alive between a
    host's feeds, go only to addresses the policy allows (feeds.connect), and keep no
    cookies between feeds; proxies from the environment are not used.
    """

    def __init__(self, options: FetchOptions | None = None) -> None:
        self.options = options or FetchOptions()
        self._global = asyncio.Semaphore(self.options.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        o = self.options
        connector = FreshConnector(
            limit=o.concurrency,
            limit_per_host=o.per_host,
            keepalive_timeout=KEEPALIVE_SECONDS,
            resolver=CheckedResolver(o.policy),
            ssl=tls_context(),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            auto_decompress=False,
            # The total is our own wall-clock deadline over all hops (_fetch_within_deadline);
            # a second timer per request in aiohttp would only cost CPU.
            timeout=aiohttp.ClientTimeout(
                total=None, connect=o.connect_timeout, sock_read=o.read_timeout
            ),
            headers={
                "User-Agent": o.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            max_field_size=MAX_FIELD_SIZE,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        self._hosts.clear()
        if session is not None:
            await session.close()

    def _take_host(self, url: str) -> tuple[str, _Host]:
        # The limit applies to the feed's own host; redirects elsewhere share its slot.
        try:
            key = (urlsplit(url).hostname or "").lower()
        except ValueError:
            key = ""
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(asyncio.Semaphore(self.options.per_host))
        host.users += 1
        return key, host

    def _give_host(self, key: str, host: _Host) -> None:
        host.users -= 1
        if host.users == 0:
            del self._hosts[key]

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch one feed URL; every failure comes back as a FetchResult with an error kind."""
        session = self._session
        if session is None:
            raise RuntimeError("use `async with Fetcher(...)` before fetching")
        key, host = self._take_host(url)
        try:
            # Waiting for a slot does not count against the deadline; the fetch does.
            async with host.slot, self._global:
                return await self._fetch_within_deadline(session, url, etag, last_modified)
        finally:
            self._give_host(key, host)

    async def _fetch_within_deadline(
        self,
        session: aiohttp.ClientSession,
        url: str,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        start = time.monotonic()
        result = FetchResult(url=url, final_url=url)
        try:
            async with asyncio.timeout(self.options.total_timeout):
                await self._fetch(session, result, etag=etag, last_modified=last_modified)
        except TimeoutError:
            self._fail(
                result,
                FetchError(
                    f"no complete response within {self.options.total_timeout}s "
                    "([feeds] total_timeout)",
                    url=url,
                    kind="timeout",
                ),
            )
        except FetchError as exc:
            self._fail(result, exc)
        result.elapsed = time.monotonic() - start
        return result

    @staticmethod
    def _fail(result: FetchResult, exc: FetchError) -> None:
        result.error_kind = exc.kind
        result.error = _storable(str(exc))
        result.content = b""

    async def _fetch(
        self,
        session: aiohttp.ClientSession,
        result: FetchResult,
        *,
        etag: str | None,
        last_modified: str | None,
    ) -> None:
        current = _check_url(result.url)
        seen = {current}
        permanent: str | None = None
        only_permanent = True
        conditional = _conditional_headers(etag, last_modified, url=result.url)
        for _hop in range(self.options.max_redirects + 1):
            result.final_url = current
            target = self._request_url(current)
            try:
                async with session.get(target, headers=conditional, allow_redirects=False) as resp:
                    status = resp.status
                    result.status = status
                    result.headers = _plain_headers(resp.raw_headers)
                    if status in REDIRECTS:
                        location = self._redirect_target(result.headers, status, current)
                        if status in PERMANENT_REDIRECTS and only_permanent:
                            permanent = location
                        else:
                            only_permanent = False
                        if location in seen:
                            raise FetchError(
                                f"redirect loop: {location} was already visited",
                                url=result.url,
                                kind="redirect_loop",
                            )
                        seen.add(location)
                        current = location
                        continue
                    await self._finish(result, resp)
            except aiohttp.ClientError as exc:
                raise _client_error(exc, current, self.options) from exc
            if result.ok and permanent is not None:
                result.permanent_redirect = permanent
            return
        raise FetchError(
            f"more than {self.options.max_redirects} redirects",
            url=result.url,
            kind="redirect_loop",
        )

    def _request_url(self, url: str) -> URL:
        """The URL as aiohttp will request it, refused if its host is a literal we may not reach."""
        target = _request_target(url)
        check_literal_host(target.raw_host or "", self.options.policy, url=url)
        return target

    @staticmethod
    def _redirect_target(headers: dict[str, str], status: int, current: str) -> str:
        location = headers.get("location")
        if not location:
            raise FetchError(
                f"HTTP {status} redirect without a Location",
                url=current,
                kind=f"http_{status}",
            )
        target = urljoin(current, location.strip())
        try:
            return _check_url(target)
        except FetchError as exc:
            raise FetchError(f"redirect refused: {exc}", url=current, kind=exc.kind) from exc

    async def _finish(self, result: FetchResult, resp: aiohttp.ClientResponse) -> None:
        status = resp.status
        if status == 304:
            result.not_modified = True
            return
        if 200 <= status < 300:
            result.content = await self._read_body(resp, result.final_url)
            return
        reason = _storable(resp.reason or "")
        if status in RETRY_AFTER_STATUSES:
            result.retry_after = retry_after_seconds(result.headers, now=datetime.now(UTC))
        if status == 410:
            result.error_kind = "gone"
            result.error = "HTTP 410 Gone: the publisher removed this feed"
            return
        result.error_kind = f"http_{status}"
        result.error = f"HTTP {status} {reason} from {result.final_url}".replace("  ", " ")
        if result.retry_after is not None:
            result.error += f" (retry after {result.retry_after:.0f}s)"

    async def _read_body(self, resp: aiohttp.ClientResponse, url: str) -> bytes:
        cap = self.options.max_bytes
        declared = resp.headers.get("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > cap:
            raise FetchError(
                f"Content-Length {int(declared)} is over the {cap} byte cap ([feeds] max_bytes)",
                url=url,
                kind="too_large",
            )
        decoder = BodyDecoder(
            resp.headers.get("Content-Encoding"),
            max_bytes=cap,
            url=url,
            transfer_codings=_transfer_codings(resp.headers, url),
        )
        try:
            async for chunk in resp.content.iter_any():
                decoder.feed(chunk)
        except FetchError:
            # A body abandoned mid-way (over the cap, undecodable) leaves the server
            # sending: drop the connection now rather than when the response is released.
            resp.close()
            raise
        return decoder.finish()


# The same feed URLs come back every poll: parsing and checking them once per process
# (pure work, the results immutable) saves a good part of a 304's CPU.
_check_url = functools.lru_cache(maxsize=URL_CACHE_SIZE)(check_url)


@functools.lru_cache(maxsize=URL_CACHE_SIZE)
def _request_target(url: str) -> URL:
    """A checked URL as aiohttp will request it.

    The path and query go out as stored, with only spaces and non-ASCII characters
    percent-encoded: re-quoting (yarl's default) would turn `%2F` into `/` and a space
    into `+`, which some servers read differently.
    """
    try:
        parsed = URL(url)
        parts = urlsplit(url)
        target = f"{parsed.scheme}://{parsed.raw_authority}"
        target += quote(parts.path or "/", safe=_TARGET_SAFE)
        if parts.query:
            target += "?" + quote(parts.query, safe=_TARGET_SAFE)
        return URL(target, encoded=True)
    except (ValueError, UnicodeError) as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}", url=url, kind="unsafe_url") from exc


def _storable(text: str) -> str:
    """The text with lone surrogates (aiohttp's escapes for undecodable bytes) replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _conditional_headers(
    etag: str | None, last_modified: str | None, *, url: str
) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified)):
        # aiohttp sends header text as UTF-8, so a validator with Latin-1 bytes (stored
        # as Latin-1 text) could not be sent as the server wrote it: fetch in full.
        if value and value.isascii():
            headers[name] = value
    for name, value in headers.items():
        # Stored validators come from servers: never let one inject a header line.
        if "\r" in value or "\n" in value:
            raise FetchError(
                f"refusing to send a {name} header with a line break", url=url, kind="connection"
            )
    return headers


def _plain_headers(raw: RawHeaders) -> dict[str, str]:
    """Response headers with lower-case names, repeated ones joined by ', '.

    Decoded as Latin-1, as HTTP defines field bytes: aiohttp's own decoding (UTF-8 with
    surrogate escapes) would hand lone surrogates to the database for a byte like 0xE9.
    """
    out: dict[str, str] = {}
    for raw_name, raw_value in raw:
        key = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _transfer_codings(headers: CIMultiDictProxy[str], url: str) -> tuple[str, ...]:
    """The transfer codings listed before chunked (or before the close), for BodyDecoder.

    aiohttp undoes chunked only; the others (gzip, deflate) are ours to undo, capped.
    """
    listed = ",".join(headers.getall("Transfer-Encoding", ()))
    codings = [c.partition(";")[0].strip().lower() for c in listed.split(",")]
    # "identity" (RFC 2616, since withdrawn) changes nothing; old servers still send it.
    codings = [c for c in codings if c and c != "identity"]
    if codings and codings[-1] == "chunked":
        codings.pop()
    if "chunked" in codings:
        raise FetchError(
            f"Transfer-Encoding {listed!r} is not supported: "
            "chunked must be the last coding, applied once",
            url=url,
            kind="unsupported_encoding",
        )
    return tuple(codings)


def _client_error(exc: aiohttp.ClientError, url: str, o: FetchOptions) -> FetchError:
    """The FetchError, with its kind, for what aiohttp raised."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        text = f"could not connect within {o.connect_timeout}s ([feeds] connect_timeout)"
        return FetchError(text, url=url, kind="timeout")
    if isinstance(exc, aiohttp.SocketTimeoutError):
        text = f"server sent nothing for {o.read_timeout}s ([feeds] read_timeout)"
        return FetchError(text, url=url, kind="timeout")
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return FetchError(f"timed out: {exc}", url=url, kind="timeout")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        text = f"TLS certificate not accepted: {exc.certificate_error}"
        return FetchError(text, url=url, kind="tls")
    if isinstance(exc, aiohttp.ClientSSLError):
        return FetchError(f"TLS handshake failed: {exc.os_error}", url=url, kind="tls")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        text = f"cannot resolve host {exc.host}: {exc.os_error}"
        return FetchError(text, url=url, kind="dns")
    if isinstance(exc, aiohttp.ClientConnectorError):
        text = f"could not connect to {exc.host} port {exc.port}: {exc.os_error}"
        return FetchError(text, url=url, kind="connection")
    if isinstance(exc, aiohttp.ClientResponseError):
        # Without raise_for_status, aiohttp raises this only for a response llhttp
        # cannot parse: a framing the server got wrong, not a network fault.
        text = f"the server's response is not valid HTTP/1.1: {exc.message}"
        return FetchError(text, url=url, kind="bad_response")
    if isinstance(exc, aiohttp.ClientPayloadError):
        cause = _payload_cause(exc)
        if isinstance(cause, ContentLengthError):
            text = "connection broken by the server: the body ended short of its Content-Length"
            return FetchError(text, url=url, kind="connection")
        if isinstance(cause, TransferEncodingError):
            text = f"the server's chunked body is not valid HTTP/1.1: {cause.message}"
            return FetchError(text, url=url, kind="bad_response")
        return FetchError(f"connection broken by the server: {exc}", url=url, kind="connection")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        text = "connection broken by the server: closed before the response was complete"
        return FetchError(text, url=url, kind="connection")
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError(f"invalid URL: {exc}", url=url, kind="unsafe_url")
    text = str(exc) or type(exc).__name__
    return FetchError(f"connection broken by the server: {text}", url=url, kind="connection")


def _payload_cause(exc: BaseException) -> BaseException | None:
    """The parser error behind a ClientPayloadError (aiohttp chains it as the cause)."""
    cause = exc.__cause__
    while cause is not None and not isinstance(cause, ContentLengthError | TransferEncodingError):
        cause = cause.__cause__
    return cause


async def fetch_url(
    url: str,
    *,
    options: FetchOptions | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """Fetch one URL with a client of its own (for one-off use; polls share a Fetcher)."""
    async with Fetcher(options) as fetcher:
        return await fetcher.fetch(url, etag=etag, last_modified=last_modified)
