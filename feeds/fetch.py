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
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from feeds.addresses import AddressPolicy
from feeds.connect import CheckedResolver, FreshConnector, check_literal_host, tls_context
from feeds.decode import ACCEPT_ENCODING, DEFAULT_MAX_BYTES, BodyDecoder
from feeds.errors import FetchError
from feeds.headers import retry_after_seconds
from feeds.wire import (
    URL_CACHE_SIZE,
    body_fails_on_close,
    checked_url,
    fetch_error,
    request_target,
    response_headers,
    storable,
    transfer_codings,
)

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
        key = _host_key(url)
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
        result.error = storable(str(exc))
        result.content = b""

    async def _fetch(
        self,
        session: aiohttp.ClientSession,
        result: FetchResult,
        *,
        etag: str | None,
        last_modified: str | None,
    ) -> None:
        current = checked_url(result.url)
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
                    result.headers = response_headers(resp.raw_headers)
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
                    await self._finish(result, resp, conditional=bool(conditional))
            except aiohttp.ClientError as exc:
                o = self.options
                raise fetch_error(
                    exc, current, connect_timeout=o.connect_timeout, read_timeout=o.read_timeout
                ) from exc
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
        target = request_target(url)
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
        try:
            # urljoin raises on an unclosed IPv6 bracket ("http://[::1/feed").
            return checked_url(urljoin(current, location.strip()))
        except ValueError as exc:
            raise FetchError(
                f"redirect refused: Location {storable(location.strip())!r} is not a valid URL",
                url=current,
                kind="unsafe_url",
            ) from exc
        except FetchError as exc:
            raise FetchError(f"redirect refused: {exc}", url=current, kind=exc.kind) from exc

    async def _finish(
        self, result: FetchResult, resp: aiohttp.ClientResponse, *, conditional: bool
    ) -> None:
        status = resp.status
        if status == 304 and not conditional:
            # Not modified since nothing: taken as a success, a feed that never sent a
            # body would look healthy forever.
            result.error_kind = "bad_response"
            result.error = (
                f"HTTP 304 Not Modified from {result.final_url} to a request without "
                "an ETag or Last-Modified; the feed has nothing to reuse"
            )
            return
        if status == 304:
            result.not_modified = True
            return
        if 200 <= status < 300:
            result.content = await self._read_body(resp, result.final_url)
            return
        reason = storable(resp.reason or "")
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
        if declared and declared.isascii() and declared.strip().isdigit() and int(declared) > cap:
            raise FetchError(
                f"Content-Length {int(declared)} is over the {cap} byte cap ([feeds] max_bytes)",
                url=url,
                kind="too_large",
            )
        decoder = BodyDecoder(
            resp.headers.get("Content-Encoding"),
            max_bytes=cap,
            url=url,
            transfer_codings=transfer_codings(resp.headers, url),
        )
        try:
            with body_fails_on_close(resp):
                async for chunk in resp.content.iter_any():
                    decoder.feed(chunk)
        except FetchError:
            # A body abandoned mid-way (over the cap, undecodable) leaves the server
            # sending: drop the connection now rather than when the response is released.
            resp.close()
            raise
        return decoder.finish()


@functools.lru_cache(maxsize=URL_CACHE_SIZE)
def _host_key(url: str) -> str:
    """The host a feed URL's per-host limit is counted under (cached like feeds.wire's URLs)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


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
