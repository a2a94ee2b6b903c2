"""The Fetcher as it was on the hand-written HTTP/1.1 client (bench only; see legacy_http11).

Its fetch path, unchanged, so bench_fetch compares the two clients doing the same work.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit

from bench.legacy_http11 import ConnectionPool, Response, Timeouts
from feeds.addresses import check_url
from feeds.decode import ACCEPT_ENCODING, BodyDecoder
from feeds.errors import FetchError
from feeds.fetch import (
    ACCEPT,
    PERMANENT_REDIRECTS,
    REDIRECTS,
    RETRY_AFTER_STATUSES,
    FetchOptions,
    FetchResult,
)
from feeds.headers import retry_after_seconds

# Hosts whose idle connections are kept open between their feeds' fetches.
MAX_IDLE_HOSTS = 64


@dataclass
class _Host:
    """One host's slots and its own small connection pool, shared by its fetches."""

    slot: asyncio.Semaphore
    pool: ConnectionPool
    users: int = 0


class Fetcher:
    """An HTTP client with global and per-host limits; use as `async with Fetcher(...)`.

    Each host gets its own connection pool, used by at most `per_host` fetches at a
    time; the pools of the hosts used least recently are closed past MAX_IDLE_HOSTS.
    Connections go only to addresses the policy allows (feeds.http11); no cookies are
    kept between feeds.
    """

    def __init__(self, options: FetchOptions | None = None) -> None:
        self.options = options or FetchOptions()
        self._global = asyncio.Semaphore(self.options.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._idle: OrderedDict[str, None] = OrderedDict()
        self._open = False

    async def __aenter__(self) -> Fetcher:
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        hosts, self._hosts = list(self._hosts.values()), {}
        self._idle.clear()
        for host in hosts:
            host.pool.close()

    def _new_pool(self) -> ConnectionPool:
        return ConnectionPool(
            policy=self.options.policy,
            max_idle_per_origin=self.options.per_host,
        )

    def _request_headers(self, conditional: dict[str, str]) -> dict[str, str]:
        o = self.options
        return {
            "User-Agent": o.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
            **conditional,
        }

    def _take_host(self, url: str) -> tuple[str, _Host]:
        # The limit applies to the feed's own host; redirects elsewhere share its slot.
        try:
            key = (urlsplit(url).hostname or "").lower()
        except ValueError:
            key = ""
        host = self._hosts.get(key)
        self._idle.pop(key, None)
        if host is None:
            host = _Host(asyncio.Semaphore(self.options.per_host), self._new_pool())
            self._hosts[key] = host
        host.users += 1
        return key, host

    async def _give_host(self, key: str, host: _Host) -> None:
        host.users -= 1
        if host.users > 0:
            return
        # Keep the connections of recently used hosts for their next feeds; close the
        # least recently used beyond MAX_IDLE_HOSTS so open sockets stay bounded.
        self._idle[key] = None
        self._idle.move_to_end(key)
        while len(self._idle) > MAX_IDLE_HOSTS:
            old_key, _ = self._idle.popitem(last=False)
            old = self._hosts.get(old_key)
            if old is not None and old.users == 0:
                del self._hosts[old_key]
                old.pool.close()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch one feed URL; every failure comes back as a FetchResult with an error kind."""
        if not self._open:
            raise RuntimeError("use `async with Fetcher(...)` before fetching")
        key, host = self._take_host(url)
        try:
            # Waiting for a slot does not count against the deadline; the fetch does.
            async with host.slot, self._global:
                return await self._fetch_within_deadline(host.pool, url, etag, last_modified)
        finally:
            await self._give_host(key, host)

    async def _fetch_within_deadline(
        self,
        pool: ConnectionPool,
        url: str,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        start = time.monotonic()
        result = FetchResult(url=url, final_url=url)
        try:
            async with asyncio.timeout(self.options.total_timeout):
                await self._fetch(pool, result, etag=etag, last_modified=last_modified)
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
        result.error = str(exc)
        result.content = b""

    async def _fetch(
        self,
        pool: ConnectionPool,
        result: FetchResult,
        *,
        etag: str | None,
        last_modified: str | None,
    ) -> None:
        current = check_url(result.url)
        seen = {current}
        permanent: str | None = None
        only_permanent = True
        conditional: dict[str, str] = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        o = self.options
        timeouts = Timeouts(connect=o.connect_timeout, read=o.read_timeout, write=o.read_timeout)
        for _hop in range(self.options.max_redirects + 1):
            result.final_url = current
            response = await pool.get(current, self._request_headers(conditional), timeouts)
            try:
                status = response.status_code
                result.status = status
                result.headers = response.headers
                if status in REDIRECTS:
                    target = self._redirect_target(response, current)
                    if status in PERMANENT_REDIRECTS and only_permanent:
                        permanent = target
                    else:
                        only_permanent = False
                    if target in seen:
                        raise FetchError(
                            f"redirect loop: {target} was already visited",
                            url=result.url,
                            kind="redirect_loop",
                        )
                    seen.add(target)
                    current = target
                    continue
                await self._finish(result, response)
            finally:
                await response.aclose()
            if result.ok and permanent is not None:
                result.permanent_redirect = permanent
            return
        raise FetchError(
            f"more than {self.options.max_redirects} redirects",
            url=result.url,
            kind="redirect_loop",
        )

    def _redirect_target(self, response: Response, current: str) -> str:
        location = response.headers.get("location")
        if not location:
            raise FetchError(
                f"HTTP {response.status_code} redirect without a Location",
                url=current,
                kind=f"http_{response.status_code}",
            )
        target = urljoin(current, location.strip())
        try:
            return check_url(target)
        except FetchError as exc:
            raise FetchError(f"redirect refused: {exc}", url=current, kind=exc.kind) from exc

    async def _finish(self, result: FetchResult, response: Response) -> None:
        status = response.status_code
        if status == 304:
            result.not_modified = True  # no body read (a 304 announcing one closes its connection)
            return
        if 200 <= status < 300:
            result.content = await self._read_body(response)
            return
        reason = response.reason_phrase or ""
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

    async def _read_body(self, response: Response) -> bytes:
        cap = self.options.max_bytes
        url = str(response.url)
        declared = response.headers.get("content-length")
        if declared and declared.strip().isdigit() and int(declared) > cap:
            raise FetchError(
                f"Content-Length {int(declared)} is over the {cap} byte cap ([feeds] max_bytes)",
                url=url,
                kind="too_large",
            )
        decoder = BodyDecoder(
            response.headers.get("content-encoding"),
            max_bytes=cap,
            url=url,
            transfer_codings=response.transfer_codings,
        )
        async for chunk in response.iter_raw():
            decoder.feed(chunk)
        return decoder.finish()
